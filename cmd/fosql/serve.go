package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

//go:embed dashboard.html
var dashboardHTML []byte

// maxDashboardRows is the most rows a dashboard query returns.
const maxDashboardRows = 2000

// runServe is `fosql serve`: the local web dashboard over a database.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolveDB := dbPathFlag(fs, "database directory (created when missing)")
	addr := fs.String("addr", "127.0.0.1:5151", "address to listen on (loopback by default: the dashboard has no login)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fosql serve [-db DIR] [-addr HOST:PORT]")
		fmt.Fprintln(stderr, "\nA web page over the database: run a SELECT, see its images, select some,")
		fmt.Fprintln(stderr, "tag them, and get the SQL of the selection back. It answers only requests")
		fmt.Fprintln(stderr, "addressed to it (Host the listen address, localhost, 127.0.0.1 or [::1] with its")
		fmt.Fprintln(stderr, "port) and changes data only for its own page, which holds a random token.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dbPath, err := resolveDB()
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	d, err := query.Open(dbPath, nil)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	defer d.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	dash, err := newDashboard(d, ln.Addr(), *addr)
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	srv := &http.Server{Handler: dash, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(stderr, "fosql: the dashboard of %s is at http://%s/ (Ctrl-C stops it)\n", dbPath, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	return 0
}

// Bounds on what one dashboard request may ask for.
const (
	// maxRequestBytes is the largest request body: one statement of the
	// largest size the shell reads, with room for its JSON quoting.
	maxRequestBytes = maxStatementBytes + 64<<10
	// maxChangeIDs is the most samples one tag change names: the page
	// shows at most maxDashboardRows rows to select from.
	maxChangeIDs = maxDashboardRows
	// maxMediaBytes is the largest media file served: the largest the
	// brain reads.
	maxMediaBytes = brain.DefaultMaxBytes
)

// tokenHeader is the request header that carries the page's token on
// every request that is not a GET or HEAD.
const tokenHeader = "X-Fosql-Token"

// tokenPlaceholder is replaced by the server's token in dashboard.html.
const tokenPlaceholder = "{{FOSQL_TOKEN}}"

// dashboard is the web dashboard's handler. Every request must name the
// server by an address it listens on (a page on another site that
// resolves its own name to 127.0.0.1, DNS rebinding, is refused), and
// every request that may change something must carry the token that only
// the dashboard's own page holds.
type dashboard struct {
	d     *query.DB
	hosts map[string]bool // the Host values accepted, lower case
	home  string          // the address to tell a refused request to open
	token string
	page  []byte // dashboard.html with the token
	mux   *http.ServeMux
}

// newDashboard returns the dashboard over d for a server listening on
// ln; flagAddr is the -addr the user gave (its host name is accepted
// too). It reads a fresh random token.
func newDashboard(d *query.DB, ln net.Addr, flagAddr string) (*dashboard, error) {
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("the dashboard's token: %w", err)
	}
	dash := &dashboard{d: d, hosts: allowedHosts(ln, flagAddr), home: homeAddr(ln), token: hex.EncodeToString(tok)}
	dash.page = bytes.ReplaceAll(dashboardHTML, []byte(tokenPlaceholder), []byte(dash.token))
	dash.mux = dash.routes()
	return dash, nil
}

// allowedHosts is the set of Host header values that name the server:
// its listen address, the -addr as given, and the loopback names
// localhost, 127.0.0.1 and [::1], each with the listen port.
func allowedHosts(ln net.Addr, flagAddr string) map[string]bool {
	hosts := map[string]bool{}
	_, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return hosts
	}
	hosts[strings.ToLower(ln.String())] = true
	if h, p, err := net.SplitHostPort(flagAddr); err == nil && h != "" && (p == port || p == "0") {
		hosts[strings.ToLower(net.JoinHostPort(h, port))] = true
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		hosts[net.JoinHostPort(h, port)] = true
	}
	return hosts
}

// hostAllowed reports whether a request's Host names this server. A
// Host without a port means port 80.
func (dash *dashboard) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
	}
	return dash.hosts[host]
}

// ServeHTTP checks the Host of every request, then the token of every
// request that is not a GET or HEAD, before any route runs.
func (dash *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !dash.hostAllowed(r.Host) {
		http.Error(w, fmt.Sprintf("fosql serve: Host %q is not the address of this dashboard; open http://%s/", r.Host, dash.home), http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(tokenHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(dash.token)) != 1 {
			writeError(w, http.StatusForbidden, errors.New("changes are accepted only from the dashboard's own page (the "+tokenHeader+" header is missing or wrong; reload the page)"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	}
	dash.mux.ServeHTTP(w, r)
}

// homeAddr is the address a browser should open for a server listening
// on ln: ln itself, or localhost when ln is every interface.
func homeAddr(ln net.Addr) string {
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return ln.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("localhost", port)
	}
	return ln.String()
}

// routes are the dashboard's pages and calls: the page, read-only
// queries, media by sample id, tag changes, and the SQL of a selection.
func (dash *dashboard) routes() *http.ServeMux {
	d := dash.d
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(dash.page)
	})
	mux.HandleFunc("GET /api/datasets", func(w http.ResponseWriter, r *http.Request) {
		res, err := d.Query(r.Context(), "SHOW DATASETS")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		out := resultJSON(res, len(res.Rows))
		queries := map[string]string{}
		for _, row := range res.Rows {
			name := row[0].AsString()
			queries[name] = defaultSQL(name)
		}
		out["queries"] = queries
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /api/query", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SQL string `json:"sql"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		if len(req.SQL) > maxStatementBytes {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, at most %d", errStatementTooLong, len(req.SQL), maxStatementBytes))
			return
		}
		sts, err := query.Parse(req.SQL)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if len(sts) != 1 {
			writeError(w, http.StatusBadRequest, errors.New("one SELECT at a time"))
			return
		}
		if sel, ok := sts[0].(*query.Select); !ok || sel.Outfile != nil {
			writeError(w, http.StatusBadRequest, errors.New("the dashboard runs SELECT statements (without INTO OUTFILE); change data with the selection's buttons, export from the shell"))
			return
		}
		var out map[string]any
		err = d.Stream(r.Context(), req.SQL, nil, func(_ query.Statement, res *query.Result) error {
			out = resultJSON(res, maxDashboardRows)
			return nil
		})
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /media/{dataset}/{id}", func(w http.ResponseWriter, r *http.Request) {
		ds, err := d.Store().Dataset(r.PathValue("dataset"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		id, err := db.ParseID(r.PathValue("id"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		s, err := ds.Get(id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		// The file is the one the sample names; the request only chose
		// the sample. It is opened without blocking and served only if
		// it is a regular file of bounded size.
		f, fi, err := db.OpenUserFile(s.Filepath(), maxMediaBytes)
		if err != nil {
			status, reason := mediaError(err)
			http.Error(w, reason, status)
			return
		}
		defer f.Close()
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
	mux.HandleFunc("POST /api/tags", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Dataset string   `json:"dataset"`
			IDs     []string `json:"ids"`
			Tag     string   `json:"tag"`
			Remove  bool     `json:"remove"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		ds, ids, ok := dash.selection(w, req.Dataset, req.IDs)
		if !ok {
			return
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
		writeJSON(w, map[string]any{"changed": n, "sql": tagSQL(req.Dataset, req.IDs, req.Tag, req.Remove)})
	})
	mux.HandleFunc("POST /api/selection", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Dataset string   `json:"dataset"`
			IDs     []string `json:"ids"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		if _, _, ok := dash.selection(w, req.Dataset, req.IDs); !ok {
			return
		}
		writeJSON(w, map[string]any{"sql": selectionSQL(req.Dataset, req.IDs)})
	})
	return mux
}

// selection checks the dataset and sample ids a request names, answering
// the error itself when they are not usable.
func (dash *dashboard) selection(w http.ResponseWriter, dataset string, rawIDs []string) (*db.Dataset, []db.ID, bool) {
	if len(rawIDs) > maxChangeIDs {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%d samples named: at most %d at a time", len(rawIDs), maxChangeIDs))
		return nil, nil, false
	}
	ds, err := dash.d.Store().Dataset(dataset)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return nil, nil, false
	}
	ids := make([]db.ID, len(rawIDs))
	for i, s := range rawIDs {
		if ids[i], err = db.ParseID(s); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return nil, nil, false
		}
	}
	return ds, ids, true
}

// mediaError turns the error of opening a sample's file into a status and
// a short reason.
func mediaError(err error) (int, string) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, "the sample's file is gone"
	case errors.Is(err, db.ErrNotRegular), errors.Is(err, syscall.EISDIR):
		return http.StatusUnsupportedMediaType, "the sample's file is not a regular file"
	case errors.Is(err, db.ErrFileTooLarge):
		return http.StatusUnsupportedMediaType, fmt.Sprintf("the sample's file is larger than %d MiB", maxMediaBytes>>20)
	}
	return http.StatusNotFound, "the sample's file cannot be read"
}

// quoteIdent quotes a dataset name for SQL text. Dataset names hold
// letters, digits, '_' and '-' only, so backquotes need no escaping.
func quoteIdent(name string) string { return "`" + name + "`" }

// defaultSQL is the query the page starts with on a dataset: its samples,
// most duplicated first.
func defaultSQL(dataset string) string {
	return "SELECT id, filepath, tags, insights.uniqueness.scalar FROM " + quoteIdent(dataset) +
		" ORDER BY insights.uniqueness.scalar ASC LIMIT 200"
}

// selectionSQL is the SELECT of the samples selected on the page.
func selectionSQL(dataset string, ids []string) string {
	return fmt.Sprintf("SELECT * FROM %s WHERE id IN (%s)", quoteIdent(dataset), sqlStrings(ids))
}

// tagSQL is the SQL statement that does what a tag change from the
// dashboard did, for the user to keep or run again.
func tagSQL(dataset string, ids []string, tag string, remove bool) string {
	verb := "ADD"
	if remove {
		verb = "REMOVE"
	}
	return fmt.Sprintf("UPDATE %s %s TAG %s WHERE id IN (%s)", quoteIdent(dataset), verb, query.QuoteString(tag), sqlStrings(ids))
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

// resultJSON turns a result set into {columns, types, rows, truncated},
// reading at most limit rows.
func resultJSON(res *query.Result, limit int) map[string]any {
	cols := res.ColumnNames()
	types := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		types[i] = c.Type.String()
	}
	rows := []json.RawMessage{}
	truncated := false
	stop := errors.New("enough rows")
	res.Each(func(row []db.Value) error {
		if len(rows) == limit {
			truncated = true
			return stop
		}
		b := []byte{'['}
		for i, v := range row {
			if i > 0 {
				b = append(b, ',')
			}
			b = query.AppendJSON(b, v)
		}
		rows = append(rows, append(b, ']'))
		return nil
	})
	return map[string]any{"columns": cols, "types": types, "rows": rows, "truncated": truncated}
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
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
