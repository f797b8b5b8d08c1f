package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
	"github.com/fosql/fosql/query"
)

// get fetches path from the walkthrough's server and decodes JSON into v
// (when v is not nil); it returns the status and the body.
func (w *walkthrough) get(t *testing.T, path string, v any) (int, []byte) {
	t.Helper()
	resp, err := w.srv.Client().Get(w.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		json.Unmarshal(b, v)
	}
	return resp.StatusCode, b
}

// post sends body as JSON with the page's token and decodes the answer
// into v.
func (w *walkthrough) post(t *testing.T, path string, body, v any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", w.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TokenHeader, w.dash.Token())
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if v != nil {
		json.Unmarshal(out, v)
	}
	return resp.StatusCode
}

type pageResult struct {
	Dataset string   `json:"dataset"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	More    bool     `json:"more"`
	Error   string   `json:"error"`
}

// TestStartQueryAndPaging: the page starts on the first dataset, least
// unique first, and pages through a result of any size.
func TestStartQueryAndPaging(t *testing.T) {
	w := newWalkthrough(t)
	var ds struct {
		Datasets []struct {
			Name       string   `json:"name"`
			Numeric    []string `json:"numeric"`
			Embeddings bool     `json:"embeddings"`
		} `json:"datasets"`
		Start string `json:"start"`
	}
	w.get(t, "/api/datasets", &ds)
	if !strings.Contains(ds.Start, "ORDER BY insights.uniqueness.scalar ASC") || len(ds.Datasets) != 1 || !ds.Datasets[0].Embeddings {
		t.Fatalf("start = %q, datasets %+v", ds.Start, ds.Datasets)
	}
	if ds.Datasets[0].Numeric[0] != "insights.uniqueness.scalar" || !slices.Contains(ds.Datasets[0].Numeric, "metadata.width") {
		t.Errorf("numeric fields %v", ds.Datasets[0].Numeric)
	}
	var seen []string
	for offset := 0; ; offset += 25 {
		var p pageResult
		if code := w.post(t, "/api/query", map[string]any{"sql": ds.Start, "offset": offset, "limit": 25}, &p); code != 200 {
			t.Fatalf("page at %d: %d %s", offset, code, p.Error)
		}
		for _, r := range p.Rows {
			seen = append(seen, r[0].(string))
		}
		if !p.More {
			break
		}
	}
	sorted := slices.Clone(seen)
	sort.Strings(sorted)
	if len(seen) != walkthroughSamples || !slices.Equal(slices.Compact(sorted), sortedCopy(w.ids)) {
		t.Fatalf("pages gave %d rows (%d distinct), want each of %d once", len(seen), len(slices.Compact(sorted)), walkthroughSamples)
	}
	// A query without filepath and tags still gives each card both.
	var cards struct {
		Cards map[string]struct {
			Filepath string   `json:"filepath"`
			Tags     []string `json:"tags"`
		} `json:"cards"`
	}
	w.post(t, "/api/query", map[string]any{"sql": "SELECT id FROM walkthrough ORDER BY id LIMIT 2"}, &cards)
	if c, ok := cards.Cards[w.ids[1]]; !ok || !strings.HasSuffix(c.Filepath, "img001.png") || c.Tags == nil {
		t.Errorf("cards of a SELECT id: %+v", cards.Cards)
	}
	// .view changes what the page is told to show.
	if err := w.dash.SetView("DELETE FROM walkthrough"); err == nil {
		t.Error(".view accepted a DELETE")
	}
	if err := w.dash.SetView("SELECT id FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Seq int64  `json:"view_seq"`
		SQL string `json:"view_sql"`
	}
	w.get(t, "/api/state", &st)
	if st.Seq != 1 || st.SQL != "SELECT id FROM walkthrough WHERE 'dup' IN tags" {
		t.Errorf("state after .view: %+v", st)
	}
	if _, err := w.d.Exec(context.Background(), "CREATE VIEW dups AS SELECT id FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	var again struct {
		Start string            `json:"start"`
		Views []query.NamedView `json:"views"`
	}
	_, raw := w.get(t, "/api/datasets", &again)
	if !strings.Contains(string(raw), `"views":[{"name":"dups","dataset":"walkthrough","sql":`) {
		t.Errorf("the page's views as JSON: %s", raw)
	}
	if again.Start != st.SQL {
		t.Errorf("the start query after .view is %q", again.Start)
	}
	if len(again.Views) != 1 || again.Views[0] != (query.NamedView{Name: "dups", Dataset: "walkthrough", SQL: "SELECT id FROM walkthrough WHERE 'dup' IN tags"}) {
		t.Errorf("the page's views: %+v", again.Views)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// TestThumbnailsAndSample: a thumbnail is a small JPEG made once and kept
// on disk; the sample call lists every field.
func TestThumbnailsAndSample(t *testing.T) {
	w := newWalkthrough(t)
	id := w.ids[3]
	code, b := w.get(t, "/thumb/walkthrough/"+id, nil)
	if code != 200 {
		t.Fatalf("thumb: %d %s", code, b)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 48 || img.Bounds().Dy() != 40 {
		t.Fatalf("thumb of a 48x40 picture: %v %v", img.Bounds(), err)
	}
	files, _ := os.ReadDir(w.dash.thumb.dir)
	if len(files) != 1 {
		t.Fatalf("%d files in the thumbnail cache, want 1", len(files))
	}
	// A big picture is scaled to ThumbSize.
	big, err := makeThumb(bigPNG(t, 800, 400))
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := jpeg.Decode(bytes.NewReader(big)); img.Bounds().Dx() != ThumbSize || img.Bounds().Dy() != ThumbSize/2 {
		t.Errorf("thumb of 800x400: %v", img.Bounds())
	}
	// Served again from the cache file, which is what the answer holds.
	cached, _ := os.ReadFile(w.dash.thumb.dir + "/" + files[0].Name())
	os.WriteFile(w.dash.thumb.dir+"/"+files[0].Name(), append(cached, 0), 0o644)
	if _, again := w.get(t, "/thumb/walkthrough/"+id, nil); len(again) != len(cached)+1 {
		t.Errorf("second request did not use the cache (%d bytes, cache %d)", len(again), len(cached)+1)
	}
	for _, bad := range []string{"/thumb/walkthrough/zz", "/thumb/nope/" + id, "/thumb/walkthrough/" + strings.Repeat("0", 24)} {
		if code, _ := w.get(t, bad, nil); code != 404 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	var smp struct {
		Fields [][2]any `json:"fields"`
	}
	w.get(t, "/api/sample/walkthrough/"+id, &smp)
	got := map[string]any{}
	for _, f := range smp.Fields {
		got[f[0].(string)] = f[1]
	}
	if got["id"] != id || got["metadata.width"] != 48.0 || got["insights.uniqueness.nearest_id"] != w.ids[2] {
		t.Errorf("sample fields %v", got)
	}
}

// TestHistogramBarsFilter: the bars count every sample, and each bar's
// query returns exactly its count.
func TestHistogramBarsFilter(t *testing.T) {
	w := newWalkthrough(t)
	var h struct {
		Bars []struct {
			Count int    `json:"count"`
			SQL   string `json:"sql"`
		} `json:"bars"`
	}
	if code, b := w.get(t, "/api/histogram?dataset=walkthrough&field=insights.uniqueness.scalar", &h); code != 200 {
		t.Fatalf("histogram: %d %s", code, b)
	}
	total := 0
	for _, b := range h.Bars {
		total += b.Count
		var p pageResult
		if code := w.post(t, "/api/query", map[string]any{"sql": b.SQL}, &p); code != 200 || len(p.Rows) != b.Count {
			t.Errorf("bar %s: %d rows, count %d (%d %s)", b.SQL, len(p.Rows), b.Count, code, p.Error)
		}
	}
	if total != walkthroughSamples {
		t.Errorf("bars count %d samples, want %d", total, walkthroughSamples)
	}
	if code, _ := w.get(t, "/api/histogram?dataset=walkthrough&field=filepath", nil); code != 400 {
		t.Errorf("histogram of a text field: %d", code)
	}
}

// TestMapRegionSelects: a rectangle around one cluster of the PCA map
// selects exactly that cluster, and SQL reads it back.
func TestMapRegionSelects(t *testing.T) {
	w := newWalkthrough(t)
	var m struct {
		Total  int      `json:"total"`
		Points [][4]any `json:"points"`
	}
	if code, b := w.get(t, "/api/map?dataset=walkthrough&color=metadata.width", &m); code != 200 {
		t.Fatalf("map: %d %s", code, b)
	}
	if m.Total != walkthroughSamples || len(m.Points) != walkthroughSamples {
		t.Fatalf("map has %d points of %d", len(m.Points), m.Total)
	}
	// The rectangle around the points of cluster 0.
	x0, x1, y0, y1 := 1e300, -1e300, 1e300, -1e300
	for _, p := range m.Points {
		if slices.Contains(w.cluster[0], p[0].(string)) {
			x, y := p[1].(float64), p[2].(float64)
			x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
		}
		if p[3] != 48.0 {
			t.Fatalf("colour value %v, want the width 48", p[3])
		}
	}
	e := 1e-6
	poly := [][2]float64{{x0 - e, y0 - e}, {x1 + e, y0 - e}, {x1 + e, y1 + e}, {x0 - e, y1 + e}}
	var sel struct {
		Count int      `json:"count"`
		IDs   []string `json:"ids"`
	}
	if code := w.post(t, "/api/map/select", map[string]any{"dataset": "walkthrough", "polygon": poly}, &sel); code != 200 {
		t.Fatalf("map select: %d", code)
	}
	if !slices.Equal(sel.IDs, sortedCopy(w.cluster[0])) {
		t.Fatalf("the rectangle selected %d samples, want cluster 0's %d", sel.Count, len(w.cluster[0]))
	}
	// A new selection moves no point: the projection is kept.
	before := w.dash.maps["walkthrough"]
	w.get(t, "/api/map?dataset=walkthrough", nil)
	if w.dash.maps["walkthrough"] != before || before == nil {
		t.Error("the map was computed again after a selection changed")
	}
	var p pageResult
	w.post(t, "/api/query", map[string]any{"sql": "SELECT id FROM walkthrough WHERE id IN SELECTION"}, &p)
	if len(p.Rows) != len(w.cluster[0]) {
		t.Errorf("SQL reads %d selected, want %d", len(p.Rows), len(w.cluster[0]))
	}
	if code := w.post(t, "/api/map/select", map[string]any{"dataset": "walkthrough", "polygon": poly[:2]}, nil); code != 400 {
		t.Errorf("a two-corner region: %d", code)
	}
}

func TestInPolygon(t *testing.T) {
	tri := [][2]float64{{0, 0}, {10, 0}, {0, 10}}
	for _, c := range []struct {
		x, y float64
		in   bool
	}{{1, 1, true}, {4, 4, true}, {6, 6, false}, {-1, 1, false}, {1, -1, false}} {
		if inPolygon(c.x, c.y, tri) != c.in {
			t.Errorf("(%v, %v) in triangle: %v", c.x, c.y, !c.in)
		}
	}
}

// TestStartQueryWhenRunIsStale: when the page's session cannot read the
// uniqueness scores (the insights layer takes them for stale and the page
// never computes), the page starts on the plain query, not on an error.
func TestStartQueryWhenRunIsStale(t *testing.T) {
	stale := errors.New("insights.uniqueness is stale")
	checkOnly := false
	w := newWalkthroughWith(t, &query.Options{NoProviders: true,
		Ensure: func(_ context.Context, _ *db.Dataset, _ []string, auto bool, _ func(insights.Progress)) error {
			if checkOnly && !auto {
				return stale
			}
			return nil
		}})
	ds, _ := w.d.Store().Dataset("walkthrough")
	checkOnly = true
	if got := w.dash.defaultSQL(context.Background(), ds); got != plainSQL(ds) {
		t.Errorf("with a stale run the start query is %q", got)
	}
	checkOnly = false
	if got := w.dash.defaultSQL(context.Background(), ds); got != uniquenessSQL(ds) {
		t.Errorf("with a fresh run the start query is %q", got)
	}
}

// TestQueryBudget: a query that outlasts the page's time budget is
// stopped with an error that says so, and the server goes on answering.
func TestQueryBudget(t *testing.T) {
	w := newWalkthrough(t)
	w.dash.budget = time.Nanosecond
	var p pageResult
	if code := w.post(t, "/api/query", map[string]any{"sql": "SELECT id FROM walkthrough WHERE filepath LIKE '%img%'"}, &p); code != 400 || !strings.Contains(p.Error, "budget of 1ns") {
		t.Errorf("a query over budget: %d %q", code, p.Error)
	}
	w.dash.budget = queryTimeout
	if code := w.post(t, "/api/query", map[string]any{"sql": "SELECT id FROM walkthrough"}, &p); code != 200 || len(p.Rows) != walkthroughSamples {
		t.Errorf("the next query: %d %q", code, p.Error)
	}
}
