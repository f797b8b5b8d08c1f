package dashboard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/fosql/fosql/db"
)

// histogramBins is the number of bars of a histogram.
const histogramBins = 24

// handleHistogram answers the histogram of a numeric field over a whole
// dataset: {field, lo, hi, counts, missing}. The bars split [lo, hi]
// evenly; the last one includes hi.
func (s *Server) handleHistogram(w http.ResponseWriter, r *http.Request) {
	ds, err := s.d.Store().Dataset(r.URL.Query().Get("dataset"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	field := r.URL.Query().Get("field")
	if field == "" || field == db.FieldID {
		writeError(w, http.StatusBadRequest, errors.New("name a numeric field"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	var vals []float64
	missing := 0
	for smp, err := range ds.SamplesAfter(ctx, db.ID{}, !strings.HasPrefix(field, db.FieldInsights+".")) {
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		v := smp.Get(field)
		if !v.IsNumber() || math.IsNaN(v.AsFloat()) || math.IsInf(v.AsFloat(), 0) {
			missing++
			continue
		}
		vals = append(vals, v.AsFloat())
	}
	if len(vals) == 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("no sample of %s has a number in %s", ds.Name(), field))
		return
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	// The edges are computed once and used both to count and to write
	// each bar's WHERE, so a bar's query returns exactly its count.
	edges := make([]float64, histogramBins+1)
	for i := range edges {
		edges[i] = lo + (hi-lo)*float64(i)/histogramBins
	}
	edges[histogramBins] = hi
	counts := make([]int, histogramBins)
	for _, v := range vals {
		// The last bar whose lower edge is at most v.
		i := sort.Search(histogramBins, func(i int) bool { return edges[i] > v }) - 1
		counts[max(i, 0)]++
	}
	type bar struct {
		Lo    float64 `json:"lo"`
		Hi    float64 `json:"hi"`
		Count int     `json:"count"`
		SQL   string  `json:"sql"`
	}
	bars := make([]bar, histogramBins)
	name := "`" + strings.ReplaceAll(field, "`", "``") + "`"
	for i := range bars {
		upper := "<"
		if i == histogramBins-1 {
			upper = "<="
		}
		bars[i] = bar{Lo: edges[i], Hi: edges[i+1], Count: counts[i],
			SQL: fmt.Sprintf("SELECT id, filepath, tags, %s FROM %s WHERE %s >= %s AND %s %s %s ORDER BY %s",
				name, quoteIdent(ds.Name()), name, formatFloat(edges[i]), name, upper, formatFloat(edges[i+1]), name)}
	}
	writeJSON(w, map[string]any{"field": field, "lo": lo, "hi": hi, "bars": bars, "missing": missing})
}

// Sizes of the embeddings map.
const (
	// mapFitRows is the most vectors the principal axes are fitted on
	// (a seeded random subset); every vector is then projected on them.
	mapFitRows = 1000
	// mapShowPoints is the most points sent to the page: a seeded random
	// subset when there are more. A region selects among all points.
	mapShowPoints = 6000
)

// embeddingMap is the 2-D PCA projection of a dataset's stored
// embeddings, kept while the dataset's version and its run are the same
// (a tag or a selection does not move a point).
type embeddingMap struct {
	key   string
	ids   []db.ID
	xy    []float64 // 2 per id
	shown []int     // the rows sent to the page
	model string
}

// embeddingRun returns the run whose embeddings the map shows: the
// uniqueness run, else a duplicates run.
func embeddingRun(ds *db.Dataset) (db.RunRecord, bool) {
	runs, err := ds.Runs()
	if err != nil {
		return db.RunRecord{}, false
	}
	for _, g := range []string{uniquenessGroup, "duplicates"} {
		if run, ok := runs[g]; ok && run.Status == db.RunComplete && run.Model != "" {
			return run, true
		}
	}
	return db.RunRecord{}, false
}

// errNoEmbeddings is answered for a dataset without stored embeddings.
var errNoEmbeddings = errors.New("no stored embeddings: run COMPUTE UNIQUENESS ON the dataset in the shell first")

// projection returns the map of ds, computing it when the store changed.
func (s *Server) projection(ctx context.Context, ds *db.Dataset) (*embeddingMap, error) {
	run, ok := embeddingRun(ds)
	if !ok {
		return nil, errNoEmbeddings
	}
	version, err := ds.Version()
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s/%d/%d", run.Model, run.Ended.UnixNano(), version)
	s.mu.Lock()
	m := s.maps[ds.Name()]
	s.mu.Unlock()
	if m != nil && m.key == key {
		return m, nil
	}
	var ids []db.ID
	var vecs []float32
	dim := 0
	err = ds.ScanEmbeddings(ctx, run.Model, func(id db.ID, v []float32) error {
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim {
			return nil
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil
			}
		}
		ids = append(ids, id)
		vecs = append(vecs, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || dim == 0 {
		return nil, errNoEmbeddings
	}
	m = &embeddingMap{key: key, ids: ids, xy: project(vecs, len(ids), dim), model: run.Model}
	rng := rand.New(rand.NewPCG(1, 2))
	m.shown = rng.Perm(len(ids))[:min(len(ids), mapShowPoints)]
	s.mu.Lock()
	s.maps[ds.Name()] = m
	s.mu.Unlock()
	return m, nil
}

// project maps n vectors of dim values onto their first two principal
// axes (gonum's stat.PC), fitted on at most mapFitRows of them.
func project(vecs []float32, n, dim int) []float64 {
	xy := make([]float64, 2*n)
	if n < 2 {
		return xy
	}
	fit := n
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	if n > mapFitRows {
		rng := rand.New(rand.NewPCG(3, 4))
		rng.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		fit = mapFitRows
	}
	a := mat.NewDense(fit, dim, nil)
	for r := 0; r < fit; r++ {
		v := vecs[rows[r]*dim : (rows[r]+1)*dim]
		for c, x := range v {
			a.Set(r, c, float64(x))
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(a, nil) {
		return xy
	}
	var axes mat.Dense
	pc.VectorsTo(&axes)
	_, k := axes.Dims()
	mean := make([]float64, dim)
	for c := range dim {
		mean[c] = stat.Mean(mat.Col(nil, c, a), nil)
	}
	for j := range min(2, k) {
		axis := mat.Col(nil, j, &axes)
		// (v - mean) . axis = v . axis - mean . axis
		shift := 0.0
		for c, m := range mean {
			shift += m * axis[c]
		}
		for i := range n {
			v := vecs[i*dim : (i+1)*dim]
			var sum float64
			for c, x := range v {
				sum += float64(x) * axis[c]
			}
			xy[2*i+j] = sum - shift
		}
	}
	return xy
}

// handleMap answers the points of a dataset's embeddings map: {total,
// points: [[id, x, y, colour], …], colour_kind, model}. The colour is
// the value of the field named by color: a number, or a string the page
// turns into a category.
func (s *Server) handleMap(w http.ResponseWriter, r *http.Request) {
	ds, err := s.d.Store().Dataset(r.URL.Query().Get("dataset"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	m, err := s.projection(ctx, ds)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errNoEmbeddings) {
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	field := r.URL.Query().Get("color")
	colours := map[db.ID]any{}
	if field != "" {
		shownIDs := make([]db.ID, len(m.shown))
		for k, i := range m.shown {
			shownIDs[k] = m.ids[i]
		}
		smps, err := ds.GetMany(shownIDs)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		for _, smp := range smps {
			if smp == nil {
				continue
			}
			switch v := smp.Get(field); {
			case v.IsNumber():
				colours[smp.ID] = v.AsFloat()
			case v.Kind() == db.KindString:
				colours[smp.ID] = v.AsString()
			case v.Kind() == db.KindList && len(v.Items()) > 0 && v.Items()[0].Kind() == db.KindString:
				colours[smp.ID] = v.Items()[0].AsString()
			}
		}
	}
	points := make([][4]any, 0, len(m.shown))
	for _, i := range m.shown {
		points = append(points, [4]any{m.ids[i].String(), m.xy[2*i], m.xy[2*i+1], colours[m.ids[i]]})
	}
	writeJSON(w, map[string]any{"total": len(m.ids), "points": points, "model": m.model})
}

// handleMapSelect selects, into the dataset's stored selection, every
// sample whose point lies inside a polygon of the map (a rectangle is
// four corners): {dataset, polygon: [[x, y], …], mode}. Every point
// counts, not only those the page shows.
func (s *Server) handleMapSelect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Dataset string       `json:"dataset"`
		Polygon [][2]float64 `json:"polygon"`
		Mode    string       `json:"mode"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.Polygon) < 3 || len(req.Polygon) > 10000 {
		writeError(w, http.StatusBadRequest, errors.New("a region is a polygon of 3 to 10000 corners"))
		return
	}
	ds, err := s.d.Store().Dataset(req.Dataset)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	m, err := s.projection(r.Context(), ds)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	var ids []db.ID
	for i, id := range m.ids {
		if inPolygon(m.xy[2*i], m.xy[2*i+1], req.Polygon) {
			ids = append(ids, id)
		}
	}
	switch req.Mode {
	case "add":
		err = ds.AddToSelection(ids)
	case "", "set":
		err = ds.SetSelection(ids)
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("mode %q: want set or add", req.Mode))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if ids, err = ds.Selection(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeSelection(w, ds.Name(), ids)
}

// inPolygon reports whether (x, y) lies inside the polygon (even-odd
// rule).
func inPolygon(x, y float64, poly [][2]float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi, xj, yj := poly[i][0], poly[i][1], poly[j][0], poly[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// formatFloat prints a float so that it reads back as the same value.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
