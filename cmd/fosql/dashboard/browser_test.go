package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromium starts a headless Chromium for t (skipping when none is
// installed) and returns a tab's context; the browser ends with the test.
func chromium(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it): the browser tests need one")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, 50*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

// shotDir is where screenshots go: the test's temporary directory, or
// $FOSQL_SCREENSHOTS to keep them.
func shotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FOSQL_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// screenshot saves what the window shows as name.png in dir.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// until waits for a JavaScript condition on the page, failing the test
// with what after a few seconds.
func until(t *testing.T, ctx context.Context, cond, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// eval runs a JavaScript expression on the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// do runs browser actions, failing the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sqlIDs runs a query and returns its first column.
func (w *walkthrough) sqlIDs(t *testing.T, sql string) []string {
	t.Helper()
	res, err := w.d.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var ids []string
	for _, r := range res.Rows {
		ids = append(ids, r[0].AsString())
	}
	return ids
}

// TestBrowserWalkthrough is the dashboard's story in a real browser: the
// grid is there without typing, pages forward, opens a sample, shows
// each sample beside its nearest neighbour, selects two cards and tags
// them (the tag is read back in SQL), selects a cluster of the
// embeddings map with the lasso (the grid follows, and SQL reads the
// selection back), and shows a <script> file name and tag as text.
func TestBrowserWalkthrough(t *testing.T) {
	w := newWalkthrough(t)
	ctx := chromium(t)
	shots := shotDir(t)
	ds, _ := w.d.Store().Dataset("walkthrough")
	const evilTag = "<b>x</b><script>document.title='tag'</script>"
	first, _ := parseIDs(w.ids[:1])
	if _, err := ds.AddTags(context.Background(), first, evilTag); err != nil {
		t.Fatal(err)
	}

	if _, err := w.d.Exec(context.Background(), "CREATE VIEW dups AS SELECT id, filepath, tags FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}

	// Without typing: the least unique first, each beside its nearest
	// neighbour.
	do(t, ctx, "open the page", chromedp.Navigate(w.srv.URL+"/"))
	until(t, ctx, `[...document.querySelectorAll("#views option")].some(o => o.textContent === "dups (walkthrough)")`, "the saved view listed")
	until(t, ctx, `document.querySelectorAll("#grid .pair").length === 60`, "a first page of 60 pairs")
	if got := eval[string](t, ctx, `document.querySelector("#grid .card").dataset.id`); got != w.ids[0] && got != w.ids[1] {
		t.Errorf("first card %s, want one of the least unique pair %s, %s", got, w.ids[0], w.ids[1])
	}
	pairs := eval[[][]string](t, ctx, `[...document.querySelectorAll("#grid .pair")].map(p => [...p.querySelectorAll(".card")].map(c => c.dataset.id))`)
	for _, p := range pairs {
		i := slices.Index(w.ids, p[0])
		if len(p) != 2 || i < 0 || p[1] != w.ids[i^1] {
			t.Fatalf("pair %v: want a sample beside its nearest neighbour", p)
		}
	}
	screenshot(t, ctx, shots, "1-pairs")

	// The <script> file name and tag are text, nothing ran.
	until(t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#grid dd.f")].some(d => d.textContent.endsWith(%q))`, scriptName), "the file name as text")
	if got := eval[string](t, ctx, `document.title`); got != "fosql" {
		t.Errorf("document.title = %q: a value ran as HTML", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#grid script, #grid b, #grid img[src='x']").length`); n != 0 {
		t.Errorf("%d elements made from values", n)
	}
	if !eval[bool](t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#grid .tag")].some(s => s.textContent === %q)`, evilTag)) {
		t.Error("the <script> tag is not shown as text")
	}

	// The grid; page forward and back.
	do(t, ctx, "grid view", chromedp.Click(chromedp.CSS("#mode-grid")))
	until(t, ctx, `document.querySelectorAll("#grid .card").length === 60 && document.querySelectorAll("#grid .pair").length === 0`, "a grid of 60 cards")
	screenshot(t, ctx, shots, "2-grid")
	do(t, ctx, "next page", chromedp.Click(chromedp.CSS("#next")))
	until(t, ctx, `document.querySelector("#pageinfo").textContent === "page 2" && document.querySelectorAll("#grid .card").length === 10`, "page 2 with the last 10 cards")
	do(t, ctx, "previous page", chromedp.Click(chromedp.CSS("#prev")))
	until(t, ctx, `document.querySelectorAll("#grid .card").length === 60`, "page 1 again")

	// Open a sample.
	target := w.ids[5]
	do(t, ctx, "open a sample", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.card[data-id=%q] .open`, target))))
	until(t, ctx, `!document.querySelector("#sample").hidden && document.querySelector("#samplefields").textContent.includes("metadata.width")`, "the sample view")
	until(t, ctx, fmt.Sprintf(`document.querySelector("#samplefields").textContent.includes(%q) && document.querySelector("#sampleimg").complete && document.querySelector("#sampleimg").naturalWidth === 48`, w.ids[4]),
		"the sample view with its nearest neighbour's id and its full image")
	screenshot(t, ctx, shots, "3-sample")
	do(t, ctx, "close the sample", chromedp.Click(chromedp.CSS("#closesample")))

	// Select two cards, tag them, read the tag back in SQL.
	a, b := w.ids[10], w.ids[20]
	do(t, ctx, "select two cards",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`.card[data-id=%q]`, a))))
	until(t, ctx, `document.querySelector("#count").textContent === "1 selected"`, "one selected")
	do(t, ctx, "select the second card", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.card[data-id=%q]`, b))))
	until(t, ctx, `document.querySelector("#count").textContent === "2 selected" && document.querySelectorAll("#grid .card.selected").length === 2`, "two selected")
	do(t, ctx, "tag them",
		chromedp.SetValue(chromedp.CSS("#tag"), "pick"),
		chromedp.Click(chromedp.CSS("#addtag")))
	until(t, ctx, `document.querySelector("#selsql").textContent.startsWith("UPDATE")`, "the tag change")
	if got := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE 'pick' IN tags ORDER BY id"); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("'pick' IN tags = %v, want %v", got, []string{a, b})
	}
	do(t, ctx, "query the tag from the page",
		chromedp.SetValue(chromedp.CSS("#sql"), "SELECT id, tags FROM walkthrough WHERE 'pick' IN tags"),
		chromedp.Click(chromedp.CSS("#run")))
	until(t, ctx, fmt.Sprintf(`JSON.stringify([...document.querySelectorAll("#grid .card")].map(c => c.dataset.id).sort()) === %q`, `["`+a+`","`+b+`"]`), "the two tagged cards")
	screenshot(t, ctx, shots, "4-tagged")
	do(t, ctx, "clear the selection", chromedp.Click(chromedp.CSS("#clearsel")))
	until(t, ctx, `document.querySelector("#count").textContent === "0 selected"`, "an empty selection")

	// Lasso a cluster on the embeddings map: the grid follows; tag it dup.
	do(t, ctx, "lasso tool", chromedp.SetValue(chromedp.CSS("#maptool"), "lasso"))
	until(t, ctx, `state.map !== null && state.map.points.length === 70`, "the embeddings map")
	screenshot(t, ctx, shots, "5-map")
	cluster := w.cluster[1]
	box := mapBox(t, ctx, cluster, 6)
	do(t, ctx, "lasso the cluster", lassoActions(box)...)
	until(t, ctx, fmt.Sprintf(`document.querySelector("#count").textContent === "%d selected" && document.querySelector("#sql").value.includes("IN SELECTION") && document.querySelectorAll("#grid .card").length === %d`, len(cluster), len(cluster)), "the grid showing the lassoed cluster")
	shown := eval[[]string](t, ctx, `[...document.querySelectorAll("#grid .card")].map(c => c.dataset.id).sort()`)
	if !slices.Equal(shown, sortedCopy(cluster)) {
		t.Fatalf("the grid shows %v after the lasso, want cluster 1", shown)
	}
	do(t, ctx, "tag the cluster dup", chromedp.SetValue(chromedp.CSS("#tag"), "dup"), chromedp.Click(chromedp.CSS("#addtag")))
	until(t, ctx, `document.querySelector("#selsql").textContent.includes("ADD TAG 'dup' WHERE id IN SELECTION")`, "the dup tag")
	screenshot(t, ctx, shots, "6-lasso")
	if got := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE id IN SELECTION"); !slices.Equal(got, sortedCopy(cluster)) {
		t.Errorf("id IN SELECTION = %d samples, want the %d of the cluster", len(got), len(cluster))
	}
	if got := w.sqlIDs(t, "SELECT id FROM walkthrough WHERE 'dup' IN tags"); !slices.Equal(got, sortedCopy(cluster)) {
		t.Errorf("'dup' IN tags = %d samples, want the %d of the cluster", len(got), len(cluster))
	}

	// The shell's .view: the page follows within two seconds.
	if err := w.dash.SetView("SELECT id, filepath, tags FROM walkthrough WHERE 'pick' IN tags"); err != nil {
		t.Fatal(err)
	}
	// The page polls every second; the wait allows for a busy machine.
	until(t, ctx, `document.querySelectorAll("#grid .card").length === 2 && document.querySelector("#sql").value.includes("'pick'")`, "the page following .view")
	// A tag from SQL shows up on the page.
	if _, err := w.d.Exec(context.Background(), "UPDATE walkthrough ADD TAG 'fromsql' WHERE 'pick' IN tags"); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, `[...document.querySelectorAll("#grid .tag")].filter(s => s.textContent === "fromsql").length === 2`, "the tag made in SQL on the page")
}

// lassoActions draws a lasso with the mouse around the page rectangle
// box (x0, y0, x1, y1), through its corners and the middles of its sides.
func lassoActions(box []float64) []chromedp.Action[chromedp.Void] {
	x0, y0, x1, y1 := box[0], box[1], box[2], box[3]
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y0, chromedp.ButtonLeft)}
	for _, p := range [][2]float64{{(x0 + x1) / 2, y0}, {x1, y0}, {x1, (y0 + y1) / 2}, {x1, y1}, {(x0 + x1) / 2, y1}, {x0, y1}, {x0, (y0 + y1) / 2}} {
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p[0], p[1], chromedp.ButtonLeft))
	}
	return append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x0, (y0+y1)/2, chromedp.ButtonLeft))
}

// mapBox is the page rectangle, with a margin of pad canvas pixels,
// around the map points of ids.
func mapBox(t *testing.T, ctx context.Context, ids []string, pad int) []float64 {
	t.Helper()
	return eval[[]float64](t, ctx, fmt.Sprintf(`(() => {
		document.querySelector("#map").scrollIntoView();
		const want = new Set(%s), c = document.querySelector("#map"), r = c.getBoundingClientRect();
		let x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
		for (const [id, x, y] of state.map.points) if (want.has(id)) {
			const [px, py] = toCanvas(x, y);
			x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
		}
		const k = r.width / c.width, p = %d;
		return [r.left + (x0 - p) * k, r.top + (y0 - p) * k, r.left + (x1 + p) * k, r.top + (y1 + p) * k];
	})()`, jsonList(ids), pad))
}

// jsonList writes ss as a JavaScript array literal.
func jsonList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}
