package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/query"
	"github.com/fosql/fosql/zoo"
)

// TestBrowserDemo is the story on the demo's data: synthetic
// pictures with planted copies, uniqueness computed by the built-in
// model. The page opens on the least unique samples beside their nearest
// neighbours; a lasso around a planted copy and its original on the
// embeddings map selects them (and whatever lies with them); tagged dup
// on the page, id IN SELECTION and 'dup' IN tags return exactly the
// same samples.
func TestBrowserDemo(t *testing.T) {
	if err := brain.InitRuntime(); errors.Is(err, brain.ErrRuntimeNotFound) {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	ctx := context.Background()
	set, err := zoo.GenerateSynthetic(ctx, t.TempDir(), zoo.SyntheticOptions{N: 150, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := query.Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Exec(ctx, "CREATE DATASET walkthrough FROM IMAGES ? RECURSIVE", set.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON walkthrough"); err != nil {
		t.Fatal(err)
	}
	w := &walkthrough{d: d, srv: httptest.NewUnstartedServer(nil)}
	if w.dash, err = New(d, w.srv.Listener.Addr(), "127.0.0.1:0", &Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	w.srv.Config.Handler = w.dash
	w.srv.Start()
	t.Cleanup(w.srv.Close)

	// A planted copy whose nearest neighbour is its original: a real
	// near-duplicate pair, two points close together on the map.
	var pair []string
	for _, c := range set.Copies() {
		ids := w.sqlIDs(t, "SELECT id, insights.uniqueness.nearest_id FROM walkthrough WHERE filepath = "+query.QuoteString(c.Path))
		orig := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE filepath = "+query.QuoteString(c.Original))
		if len(ids) == 1 && len(orig) == 1 && w.sqlIDs(t, fmt.Sprintf("SELECT insights.uniqueness.nearest_id FROM walkthrough WHERE id = '%s'", ids[0]))[0] == orig[0] {
			pair = []string{ids[0], orig[0]}
			break
		}
	}
	if len(pair) != 2 {
		t.Fatalf("no planted copy has its original as nearest neighbour (%d copies)", len(set.Copies()))
	}
	least := w.sqlIDs(t, "SELECT id FROM walkthrough ORDER BY insights.uniqueness.scalar ASC LIMIT 1")[0]
	nearest := w.sqlIDs(t, fmt.Sprintf("SELECT insights.uniqueness.nearest_id FROM walkthrough WHERE id = '%s'", least))[0]

	bctx := chromium(t)
	shots := shotDir(t)
	do(t, bctx, "open the page", chromedp.Navigate(w.srv.URL+"/"))
	until(t, bctx, `document.querySelectorAll("#grid .pair").length === 60`, "the least unique samples in pairs")
	first := eval[[]string](t, bctx, `[...document.querySelector("#grid .pair").querySelectorAll(".card")].map(c => c.dataset.id)`)
	if !slices.Equal(first, []string{least, nearest}) {
		t.Errorf("first pair %v, want the least unique sample %s beside its nearest neighbour %s", first, least, nearest)
	}
	screenshot(t, bctx, shots, "demo-pairs")
	do(t, bctx, "grid view and lasso tool", chromedp.Click(chromedp.CSS("#mode-grid")), chromedp.SetValue(chromedp.CSS("#maptool"), "lasso"))
	until(t, bctx, `state.map !== null && state.map.points.length === 150`, "the embeddings map")
	do(t, bctx, "lasso the pair", lassoActions(mapBox(t, bctx, pair, 3))...)
	until(t, bctx, `state.selCount >= 2 && document.querySelector("#sql").value.includes("IN SELECTION") && document.querySelectorAll("#grid .card").length === state.selCount`, "the grid showing the lassoed samples")
	do(t, bctx, "tag them dup", chromedp.SetValue(chromedp.CSS("#tag"), "dup"), chromedp.Click(chromedp.CSS("#addtag")))
	until(t, bctx, `document.querySelector("#selsql").textContent.includes("ADD TAG 'dup'")`, "the dup tag")
	screenshot(t, bctx, shots, "demo-lasso")
	selected := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE id IN SELECTION")
	t.Logf("the lasso around a planted pair selected %d samples", len(selected))
	for _, id := range pair {
		if !slices.Contains(selected, id) {
			t.Errorf("the lasso around the planted copy missed %s (selected %v)", id, selected)
		}
	}
	if dup := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE 'dup' IN tags"); !slices.Equal(dup, selected) {
		t.Errorf("'dup' IN tags = %v, id IN SELECTION = %v", dup, selected)
	}
	shown := eval[[]string](t, bctx, `[...document.querySelectorAll("#grid .card")].map(c => c.dataset.id).sort()`)
	if !slices.Equal(shown, sortedCopy(selected)) {
		t.Errorf("the grid shows %v, the selection is %v", shown, selected)
	}
}
