package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

// uniquenessGroup is the insights group of uniqueness runs.
const uniquenessGroup = "uniqueness"

// quoteIdent quotes a dataset name for SQL text. Dataset names hold
// letters, digits, '_' and '-' only, so backquotes need no escaping.
func quoteIdent(name string) string { return "`" + name + "`" }

// freshRun reports whether the dataset has a complete run of group that
// still describes its data, and returns the run.
func freshRun(ds *db.Dataset, group string) (db.RunRecord, bool) {
	runs, err := ds.Runs()
	if err != nil {
		return db.RunRecord{}, false
	}
	run, ok := runs[group]
	if !ok || run.Status != db.RunComplete {
		return run, false
	}
	v, err := ds.Version()
	return run, err == nil && v == run.DatasetVersion
}

// DefaultSQL is the query the page starts with on a dataset: its samples
// least unique first (near-duplicates first) with their nearest
// neighbours when uniqueness is computed, in id order otherwise.
func DefaultSQL(ds *db.Dataset) string {
	if _, ok := freshRun(ds, uniquenessGroup); ok {
		return uniquenessSQL(ds)
	}
	return plainSQL(ds)
}

// uniquenessSQL is the start query with uniqueness: least unique first.
func uniquenessSQL(ds *db.Dataset) string {
	return "SELECT id, filepath, tags, insights.uniqueness.scalar, insights.uniqueness.nearest_id FROM " +
		quoteIdent(ds.Name()) + " ORDER BY insights.uniqueness.scalar ASC"
}

// plainSQL is the start query without uniqueness: in id order.
func plainSQL(ds *db.Dataset) string {
	return "SELECT id, filepath, tags FROM " + quoteIdent(ds.Name())
}

// defaultSQL is DefaultSQL, checked by reading its first row in the
// page's session: when that session cannot run it (the insights layer
// takes the run for stale, say, and the page never computes), the page
// starts on the plain query rather than on an error.
func (s *Server) defaultSQL(ctx context.Context, ds *db.Dataset) string {
	sql := DefaultSQL(ds)
	if sql == plainSQL(ds) {
		return sql
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := s.sess.Stream(ctx, sql+" LIMIT 1", nil, func(_ query.Statement, res *query.Result) error {
		return res.Each(func([]db.Value) error { return nil })
	})
	if err != nil {
		return plainSQL(ds)
	}
	return sql
}

// startSQL is what the page shows first: the last .view, or the first
// dataset's default query.
func (s *Server) startSQL(first string) string {
	if v := s.View(); v != "" {
		return v
	}
	return first
}

// handleDatasets answers the datasets with their sample counts, default
// queries and numeric fields, the saved views, and the query to start with.
func (s *Server) handleDatasets(w http.ResponseWriter, r *http.Request) {
	names, err := s.d.Store().DatasetNames()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	type dataset struct {
		Name       string   `json:"name"`
		Count      int64    `json:"count"`
		SQL        string   `json:"sql"`
		Numeric    []string `json:"numeric"`
		Embeddings bool     `json:"embeddings"`
	}
	out := []dataset{}
	for _, n := range names {
		ds, err := s.d.Store().Dataset(n)
		if err != nil {
			continue // dropped meanwhile
		}
		c, err := ds.Count()
		if err != nil {
			continue
		}
		_, emb := embeddingRun(ds)
		out = append(out, dataset{Name: n, Count: c, SQL: s.defaultSQL(r.Context(), ds), Numeric: numericFields(r.Context(), ds), Embeddings: emb})
	}
	views, err := s.d.AllViews()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if views == nil {
		views = []query.NamedView{}
	}
	first := ""
	if len(out) > 0 {
		first = out[0].SQL
	}
	writeJSON(w, map[string]any{"datasets": out, "views": views, "start": s.startSQL(first)})
}

// numericFields lists the dotted paths that hold numbers in the first
// samples of ds, insights.uniqueness.scalar first.
func numericFields(ctx context.Context, ds *db.Dataset) []string {
	seen := map[string]bool{}
	n := 0
	for smp, err := range ds.SamplesAfter(ctx, db.ID{}, false) {
		if err != nil || n == 200 {
			break
		}
		n++
		var walk func(prefix string, v db.Value)
		walk = func(prefix string, v db.Value) {
			switch {
			case v.IsNumber():
				seen[prefix] = true
			case v.Kind() == db.KindDoc:
				for _, f := range v.Fields() {
					walk(strings.TrimPrefix(prefix+"."+f.Name, "."), f.Value)
				}
			}
		}
		walk("", smp.Doc())
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	rank := func(p string) int {
		switch {
		case p == "insights.uniqueness.scalar":
			return 0
		case strings.HasPrefix(p, "insights."):
			return 1
		}
		return 2
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

// handleState is what the page polls: the .view it should show, and the
// store's commit epoch, which changes with every write (a tag from the
// shell, a new selection).
func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sql, seq := s.viewSQL, s.viewSeq
	s.mu.Unlock()
	epoch, _ := s.d.Store().Epoch()
	writeJSON(w, map[string]any{"view_seq": seq, "view_sql": sql, "epoch": strconv.FormatUint(epoch, 10)})
}

// checkSelect parses sql and returns it if it is one SELECT reading a
// dataset (without INTO OUTFILE): the only statement the page runs.
func checkSelect(sql string) (*query.Select, error) {
	if len(sql) > query.MaxStatementBytes {
		return nil, fmt.Errorf("statement too long: %d bytes, at most %d", len(sql), query.MaxStatementBytes)
	}
	sts, err := query.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(sts) != 1 {
		return nil, errors.New("one SELECT at a time")
	}
	sel, ok := sts[0].(*query.Select)
	if !ok || sel.Outfile != nil {
		return nil, errors.New("the dashboard runs SELECT statements (without INTO OUTFILE); change data with the selection's buttons or from the shell")
	}
	if sel.Dataset() == "" {
		return nil, errors.New("the SELECT must read one dataset")
	}
	return sel, nil
}

// handleQuery runs one SELECT and answers one page of its rows:
// {dataset, columns, types, rows, offset, more, ms}. The query runs with
// auto_compute off (a page never starts an embedding job) and a time
// budget.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SQL    string `json:"sql"`
		Offset int    `json:"offset"`
		Limit  int    `json:"limit"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.SQL) > query.MaxStatementBytes {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("statement too long: %d bytes, at most %d", len(req.SQL), query.MaxStatementBytes))
		return
	}
	sel, err := checkSelect(req.SQL)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if req.Limit <= 0 || req.Limit > maxPageRows {
		req.Limit = maxPageRows
	}
	req.Offset = max(req.Offset, 0)
	ctx, cancel := context.WithTimeout(r.Context(), s.budget)
	defer cancel()
	start := time.Now()
	var out map[string]any
	err = s.sess.Stream(ctx, req.SQL, nil, func(_ query.Statement, res *query.Result) error {
		var err error
		out, err = pageJSON(ctx, res, req.Offset, req.Limit)
		return err
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the query took longer than the dashboard's budget of %s; narrow it with WHERE or LIMIT, or run it in the shell", s.budget)
		}
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out["dataset"] = sel.Dataset()
	out["ms"] = time.Since(start).Milliseconds()
	if err := s.addCardFields(sel.Dataset(), out); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, out)
}

// addCardFields adds to a page of rows {cards: {id: {filepath, tags}}}
// when the query did not select both, so that every card shows them.
func (s *Server) addCardFields(dataset string, page map[string]any) error {
	cols := page["columns"].([]string)
	idCol := slices.Index(cols, db.FieldID)
	if idCol < 0 || slices.Contains(cols, db.FieldFilepath) && slices.Contains(cols, db.FieldTags) {
		return nil
	}
	ds, err := s.d.Store().Dataset(dataset)
	if err != nil {
		return err
	}
	var ids []db.ID
	for _, raw := range page["rows"].([]json.RawMessage) {
		var row []any
		if json.Unmarshal(raw, &row) != nil {
			continue
		}
		if str, ok := row[idCol].(string); ok {
			if id, err := db.ParseID(str); err == nil {
				ids = append(ids, id)
			}
		}
	}
	smps, err := ds.GetMany(ids)
	if err != nil {
		return err
	}
	type card struct {
		Filepath string   `json:"filepath"`
		Tags     []string `json:"tags"`
	}
	cards := map[string]card{}
	for _, smp := range smps {
		if smp != nil {
			cards[smp.ID.String()] = card{Filepath: smp.Filepath(), Tags: append([]string{}, smp.Tags()...)}
		}
	}
	page["cards"] = cards
	return nil
}

// pageJSON reads rows offset … offset+limit-1 of a result into
// {columns, types, rows, offset, more}; it stops early when ctx ends.
func pageJSON(ctx context.Context, res *query.Result, offset, limit int) (map[string]any, error) {
	cols := res.ColumnNames()
	types := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		types[i] = c.Type.String()
	}
	rows := []json.RawMessage{}
	more := false
	n := 0
	errEnough := errors.New("enough rows")
	err := res.Each(func(row []db.Value) error {
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if n <= offset {
			return nil
		}
		if len(rows) == limit {
			more = true
			return errEnough
		}
		rows = append(rows, rowJSON(row))
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return map[string]any{"columns": cols, "types": types, "rows": rows, "offset": offset, "more": more}, nil
}

// rowJSON is one row as a JSON array.
func rowJSON(row []db.Value) json.RawMessage {
	b := []byte{'['}
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = query.AppendJSON(b, v)
	}
	return append(b, ']')
}

// handleSample answers one sample with all its fields: {id, fields:
// [[path, value], …]} in document order, nested documents flattened to
// dotted paths.
func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	ds, smp, ok := s.sampleOf(w, r)
	if !ok {
		return
	}
	var fields [][2]json.RawMessage
	var walk func(prefix string, v db.Value)
	walk = func(prefix string, v db.Value) {
		if v.Kind() == db.KindDoc && len(v.Fields()) > 0 {
			for _, f := range v.Fields() {
				walk(strings.TrimPrefix(prefix+"."+f.Name, "."), f.Value)
			}
			return
		}
		name, _ := json.Marshal(prefix)
		fields = append(fields, [2]json.RawMessage{name, query.AppendJSON(nil, v)})
	}
	walk("", smp.Doc())
	writeJSON(w, map[string]any{"dataset": ds.Name(), "id": smp.ID.String(), "fields": fields})
}

// sampleOf finds the sample a request names by {dataset} and {id},
// answering 404 itself when there is none.
func (s *Server) sampleOf(w http.ResponseWriter, r *http.Request) (*db.Dataset, *db.Sample, bool) {
	ds, err := s.d.Store().Dataset(r.PathValue("dataset"))
	if err != nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	id, err := db.ParseID(r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	smp, err := ds.Get(id)
	if err != nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	return ds, smp, true
}

// handleTags adds or removes a tag on the samples named by id, or with
// "selection": true on the dataset's stored selection. It answers the
// number changed and the SQL statement that does the same.
func (s *Server) handleTags(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Dataset   string   `json:"dataset"`
		IDs       []string `json:"ids"`
		Selection bool     `json:"selection"`
		Tag       string   `json:"tag"`
		Remove    bool     `json:"remove"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ds, ids, ok := s.samples(w, req.Dataset, req.IDs)
	if !ok {
		return
	}
	where := "id IN (" + sqlStrings(req.IDs) + ")"
	if req.Selection {
		var err error
		if ids, err = ds.Selection(); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		where = "id IN SELECTION"
	}
	var n int
	var err error
	if req.Remove {
		n, err = ds.RemoveTags(r.Context(), ids, req.Tag)
	} else {
		n, err = ds.AddTags(r.Context(), ids, req.Tag)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	verb := "ADD"
	if req.Remove {
		verb = "REMOVE"
	}
	sql := fmt.Sprintf("UPDATE %s %s TAG %s WHERE %s", quoteIdent(ds.Name()), verb, query.QuoteString(req.Tag), where)
	writeJSON(w, map[string]any{"changed": n, "sql": sql})
}

// selectionSQL is the SELECT of a dataset's stored selection.
func selectionSQL(dataset string) string {
	return "SELECT * FROM " + quoteIdent(dataset) + " WHERE id IN SELECTION"
}

// maxSelectionIDs is the most ids GET /api/selection lists; the count is
// always whole.
const maxSelectionIDs = 20000

// handleGetSelection answers a dataset's stored selection: {count, ids,
// sql}, ids cut at maxSelectionIDs.
func (s *Server) handleGetSelection(w http.ResponseWriter, r *http.Request) {
	ds, err := s.d.Store().Dataset(r.URL.Query().Get("dataset"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	ids, err := ds.Selection()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeSelection(w, ds.Name(), ids)
}

func writeSelection(w http.ResponseWriter, dataset string, ids []db.ID) {
	list := make([]string, 0, min(len(ids), maxSelectionIDs))
	for _, id := range ids[:min(len(ids), maxSelectionIDs)] {
		list = append(list, id.String())
	}
	writeJSON(w, map[string]any{"count": len(ids), "ids": list, "sql": selectionSQL(dataset)})
}

// handleSetSelection changes a dataset's stored selection: mode "set"
// (the default) replaces it with ids, "add" and "remove" change it. It
// answers the selection as GET does.
func (s *Server) handleSetSelection(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Dataset string   `json:"dataset"`
		IDs     []string `json:"ids"`
		Mode    string   `json:"mode"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ds, ids, ok := s.samples(w, req.Dataset, req.IDs)
	if !ok {
		return
	}
	var err error
	switch req.Mode {
	case "", "set":
		err = ds.SetSelection(ids)
	case "add":
		err = ds.AddToSelection(ids)
	case "remove":
		err = ds.RemoveFromSelection(ids)
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("mode %q: want set, add or remove", req.Mode))
		return
	}
	if err != nil {
		status := http.StatusBadRequest
		if !errors.Is(err, db.ErrNotFound) {
			status = http.StatusInternalServerError
		}
		writeError(w, status, err)
		return
	}
	if ids, err = ds.Selection(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeSelection(w, ds.Name(), ids)
}

// samples checks the dataset and sample ids a request names, answering
// the error itself when they are not usable.
func (s *Server) samples(w http.ResponseWriter, dataset string, rawIDs []string) (*db.Dataset, []db.ID, bool) {
	if len(rawIDs) > maxChangeIDs {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%d samples named: at most %d at a time (tag the stored selection instead)", len(rawIDs), maxChangeIDs))
		return nil, nil, false
	}
	ds, err := s.d.Store().Dataset(dataset)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return nil, nil, false
	}
	ids := make([]db.ID, len(rawIDs))
	for i, id := range rawIDs {
		if ids[i], err = db.ParseID(id); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return nil, nil, false
		}
	}
	return ds, ids, true
}

// sqlStrings quotes each of ss as a string literal and joins them with
// commas.
func sqlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = query.QuoteString(s)
	}
	return strings.Join(q, ", ")
}

// readJSON decodes a JSON request body into v, answering 400 on failure
// and 413 when the body is larger than maxRequestBytes.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, errors.New("send JSON (Content-Type: application/json)"))
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", tooLarge.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
