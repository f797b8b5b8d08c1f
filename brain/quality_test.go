package brain_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// qualityReport holds the near-duplicate figures of one run.
type qualityReport struct {
	n, copies         int
	nearestOK, lowOK  int
	perKind           map[string]*kindFigures
	embed, knn        time.Duration
	skipped           int
	originalsInBottom int
}

type kindFigures struct{ total, nearestOK, lowOK int }

func (r *qualityReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d images, %d planted copies: nearest is own original/sibling %d/%d (%.1f%%), in least-unique 10%% %d/%d (%.1f%%); embed %v, k-NN %v\n",
		r.n, r.copies, r.nearestOK, r.copies, pct(r.nearestOK, r.copies), r.lowOK, r.copies, pct(r.lowOK, r.copies),
		r.embed.Round(time.Millisecond), r.knn.Round(time.Millisecond))
	kinds := make([]string, 0, len(r.perKind))
	for k := range r.perKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		f := r.perKind[k]
		fmt.Fprintf(&b, "  %-10s %3d copies: nearest %5.1f%%  least-unique-10%% %5.1f%%\n", k, f.total, pct(f.nearestOK, f.total), pct(f.lowOK, f.total))
	}
	return b.String()
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// embedSet embeds every image of a synthetic set with model.
func embedSet(t testing.TB, model *brain.Model, set *zoo.SyntheticSet) (*brain.Embeddings, time.Duration) {
	t.Helper()
	items := make([]brain.Item, len(set.Images))
	for i, im := range set.Images {
		items[i] = brain.Item{ID: im.Path, Media: brain.File(im.Path)}
	}
	t0 := time.Now()
	emb, err := brain.Embed(context.Background(), model, items, brain.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return emb, time.Since(t0)
}

// evaluateQuality scores embeddings of a synthetic set and checks where the
// planted copies land.
func evaluateQuality(t testing.TB, emb *brain.Embeddings, set *zoo.SyntheticSet, metric brain.Metric) *qualityReport {
	t.Helper()
	t1 := time.Now()
	n := len(emb.IDs)
	res, err := brain.Uniqueness(context.Background(), emb.Vectors, n, emb.Dim, brain.UniquenessOptions{Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	r := &qualityReport{n: n, perKind: map[string]*kindFigures{}, knn: time.Since(t1), skipped: len(emb.Skipped)}

	// group: the original's path for originals and copies alike.
	group := map[string]string{}
	kind := map[string]string{}
	for _, im := range set.Images {
		kind[im.Path] = im.Kind
		if im.Kind == zoo.KindOriginal {
			group[im.Path] = im.Path
		} else {
			group[im.Path] = im.Original
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return res.Scores[order[a]] < res.Scores[order[b]] })
	rank := make([]int, n)
	for r, i := range order {
		rank[i] = r
	}
	bottom := n / 10
	for i, id := range emb.IDs {
		k := kind[id]
		if k == zoo.KindOriginal {
			continue
		}
		f := r.perKind[k]
		if f == nil {
			f = &kindFigures{}
			r.perKind[k] = f
		}
		f.total++
		r.copies++
		if j := res.Nearest[i]; j >= 0 && group[emb.IDs[j]] == group[id] {
			f.nearestOK++
			r.nearestOK++
		}
		if rank[i] < bottom {
			f.lowOK++
			r.lowOK++
		}
	}
	return r
}

// TestNearDuplicateQuality checks the default model on the zoo's synthetic
// images with planted copies: at least 95% of copies have their original
// (or another copy of it) as nearest neighbour, and at least 90% rank among
// the least unique 10% of the set.
func TestNearDuplicateQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and embeds 2,000 images (about 10 s); skipped with -short")
	}
	if err := brain.InitRuntime(); err != nil {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	ctx := context.Background()
	set, err := zoo.GenerateSynthetic(ctx, t.TempDir(), zoo.SyntheticOptions{N: 2000, CopyFraction: 0.05, Seed: 31})
	if err != nil {
		t.Fatal(err)
	}
	model, err := brain.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	emb, took := embedSet(t, model, set)
	for _, metric := range []brain.Metric{brain.Cosine, brain.Euclidean} {
		r := evaluateQuality(t, emb, set, metric)
		r.embed = took
		t.Logf("%v: %v", metric, r)
		if r.skipped != 0 {
			t.Errorf("%v: %d images skipped", metric, r.skipped)
		}
		if pct(r.nearestOK, r.copies) < 95 {
			t.Errorf("%v: only %.1f%% of copies have their original as nearest neighbour (want >= 95%%)", metric, pct(r.nearestOK, r.copies))
		}
		if pct(r.lowOK, r.copies) < 90 {
			t.Errorf("%v: only %.1f%% of copies rank in the least unique 10%% (want >= 90%%)", metric, pct(r.lowOK, r.copies))
		}
	}
	checkDuplicates(t, emb, set)
}

// checkDuplicates groups the set's duplicates at the default cosine
// threshold and checks them against the planted copies: a duplicate is
// right when it and the sample it duplicates come from the same original.
func checkDuplicates(t *testing.T, emb *brain.Embeddings, set *zoo.SyntheticSet) {
	t.Helper()
	family := map[string]string{} // path -> its original's path
	for _, im := range set.Images {
		family[im.Path] = im.Path
		if im.Original != "" {
			family[im.Path] = im.Original
		}
	}
	n := len(emb.IDs)
	dups, err := brain.FindDuplicates(context.Background(), emb.Vectors, n, emb.Dim, brain.Cosine, brain.DefaultDuplicateRule())
	if err != nil {
		t.Fatal(err)
	}
	found, right := 0, 0
	perKind := map[string]int{}
	kindOf := map[string]string{}
	for _, im := range set.Images {
		if im.Original != "" {
			kindOf[im.Path] = im.Kind
		}
	}
	for i, of := range dups.Of {
		if of < 0 {
			continue
		}
		found++
		if family[emb.IDs[i]] == family[emb.IDs[of]] {
			right++
			// Credit the copy of the pair (the original may come second).
			c := emb.IDs[i]
			if kindOf[c] == "" {
				c = emb.IDs[of]
			}
			perKind[kindOf[c]]++
		}
	}
	copies := len(set.Copies())
	t.Logf("duplicates at %+v: %d found, %d right (precision %.1f%%), %d of %d planted copies (recall %.1f%%); right per kind: %v",
		brain.DefaultDuplicateRule(), found, right, pct(right, found), right, copies, pct(right, copies), perKind)
	if pct(right, found) < 98 || pct(right, copies) < 85 {
		t.Errorf("duplicates: precision %.1f%% (want >= 98%%), recall %.1f%% (want >= 85%%)", pct(right, found), pct(right, copies))
	}
}
