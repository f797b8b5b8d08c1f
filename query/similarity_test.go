package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// similarityFixture is a vectors dataset (see vectorsDB) whose samples
// carry a 6-d vector v, an integer n (their number) and the tag odd on
// odd numbers; sample 10 holds a copy of sample 3's vector.
type similarityFixture struct {
	d    *DB
	ids  []string    // by sample number
	vecs [][]float64 // by sample number; values exact in float32
}

const similaritySamples = 80

func newSimilarityFixture(t *testing.T) *similarityFixture {
	t.Helper()
	d, add := vectorsDB(t)
	f := &similarityFixture{d: d}
	rng := rand.New(rand.NewPCG(7, 13))
	for i := range similaritySamples {
		v := make([]float64, 6)
		for j := range v {
			v[j] = float64(float32(rng.NormFloat64() + float64(j%3)))
		}
		if i == 10 {
			v = slices.Clone(f.vecs[3])
		}
		f.vecs = append(f.vecs, v)
		add(i, db.Field{Name: "v", Value: db.Floats(v)}, db.Field{Name: "n", Value: db.Int(int64(i))})
	}
	res, err := d.Query(context.Background(), "SELECT id FROM vecs")
	if err != nil {
		t.Fatal(err)
	}
	var odd []db.ID
	for i, r := range res.Rows {
		f.ids = append(f.ids, r[0].AsString())
		if i%2 == 1 {
			id, _ := db.ParseID(r[0].AsString())
			odd = append(odd, id)
		}
	}
	ds, err := d.Store().Dataset("vecs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.AddTags(context.Background(), odd, "odd"); err != nil {
		t.Fatal(err)
	}
	return f
}

// bruteForce ranks the samples that keep accepts by their distance to
// sample q, computed here in float64 from the definition: cosine distance
// between vectors centred on the mean of all samples, or Euclidean
// distance between the raw vectors; ties by id.
func (f *similarityFixture) bruteForce(q int, metric string, keep func(i int) bool) ([]string, []float64) {
	d := len(f.vecs[0])
	mean := make([]float64, d)
	for _, v := range f.vecs {
		for j, x := range v {
			mean[j] += x / float64(len(f.vecs))
		}
	}
	dist := func(a, b []float64) float64 {
		if metric == "euclidean" {
			var s float64
			for j := range a {
				s += (a[j] - b[j]) * (a[j] - b[j])
			}
			return math.Sqrt(s)
		}
		var dot, na, nb float64
		for j := range a {
			x, y := a[j]-mean[j], b[j]-mean[j]
			dot += x * y
			na += x * x
			nb += y * y
		}
		return max(0, 1-dot/math.Sqrt(na*nb))
	}
	type hit struct {
		id   string
		dist float64
	}
	var hits []hit
	for i, v := range f.vecs {
		if keep(i) {
			hits = append(hits, hit{f.ids[i], dist(f.vecs[q], v)})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(hits))
	dists := make([]float64, len(hits))
	for i, h := range hits {
		ids[i], dists[i] = h.id, h.dist
	}
	return ids, dists
}

// TestSimilarityMatchesBruteForce compares the order and the distances of
// ORDER BY SIMILARITY TO with a brute-force ranking, with filters, windows
// and both metrics, on vectors from a field (no model runs).
func TestSimilarityMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	f := newSimilarityFixture(t)
	if _, err := f.d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'v')"); err != nil {
		t.Fatal(err)
	}
	all := func(int) bool { return true }
	cases := []struct {
		name          string
		query         int
		where, window string
		with          string
		metric        string
		keep          func(i int) bool
		off, lim      int // the window the brute force applies; lim -1: none
	}{
		{name: "top10", query: 3, window: "LIMIT 10", metric: "cosine", keep: all, lim: 10},
		{name: "every sample", query: 41, metric: "cosine", keep: all, lim: -1},
		{name: "offset", query: 41, window: "LIMIT 5 OFFSET 3", metric: "cosine", keep: all, off: 3, lim: 5},
		{name: "offset past the end", query: 41, window: "LIMIT 5 OFFSET 200", metric: "cosine", keep: all, off: 200, lim: 5},
		{name: "range filter", query: 25, where: "WHERE n >= 20 AND n < 50", window: "LIMIT 7", metric: "cosine",
			keep: func(i int) bool { return i >= 20 && i < 50 }, lim: 7},
		{name: "filter without the query sample", query: 2, where: "WHERE 'odd' IN tags", window: "LIMIT 6", metric: "cosine",
			keep: func(i int) bool { return i%2 == 1 }, lim: 6},
		{name: "euclidean", query: 10, with: "WITH (metric = 'euclidean')", window: "LIMIT 10", metric: "euclidean", keep: all, lim: 10},
		{name: "euclidean filtered", query: 60, where: "WHERE n < 30 OR n > 70", with: "WITH (metric = euclidean)", window: "LIMIT 4 OFFSET 1",
			metric: "euclidean", keep: func(i int) bool { return i < 30 || i > 70 }, off: 1, lim: 4},
		{name: "field named in the query", query: 7, with: "WITH (embeddings = 'v')", window: "LIMIT 3", metric: "cosine", keep: all, lim: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := fmt.Sprintf("SELECT id, _distance FROM vecs %s ORDER BY SIMILARITY TO '%s' %s %s", tc.where, f.ids[tc.query], tc.with, tc.window)
			res, err := f.d.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			ids, dists := f.bruteForce(tc.query, tc.metric, tc.keep)
			lo := min(tc.off, len(ids))
			hi := len(ids)
			if tc.lim >= 0 {
				hi = min(lo+tc.lim, hi)
			}
			ids, dists = ids[lo:hi], dists[lo:hi]
			if len(res.Rows) != len(ids) {
				t.Fatalf("%s: %d rows, want %d", q, len(res.Rows), len(ids))
			}
			for i, r := range res.Rows {
				if r[0].AsString() != ids[i] || math.Abs(r[1].AsFloat()-dists[i]) > 1e-6 {
					t.Fatalf("%s: row %d = %v, want %s at %g", q, i, r, ids[i], dists[i])
				}
			}
			if res.Columns[1].Name != "_distance" || res.Columns[1].Type != TypeFloat {
				t.Fatalf("distance column %+v", res.Columns[1])
			}
		})
	}

	// The query sample comes first at distance 0, followed by its copy
	// (a tie, broken by id); the distance to the nearest other sample is
	// the uniqueness run's nearest_dist, as the centring is the same.
	res, err := f.d.Query(ctx, "SELECT id, _distance FROM vecs ORDER BY SIMILARITY TO ? LIMIT 2", f.ids[3])
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0][0].AsString() != f.ids[3] || res.Rows[1][0].AsString() != f.ids[10] ||
		res.Rows[0][1].AsFloat() != 0 || res.Rows[1][1].AsFloat() != 0 {
		t.Fatalf("sample 3 and its copy: %v", res.Rows)
	}
	for _, q := range []int{0, 25, 79} {
		res, err := f.d.Query(ctx, "SELECT _distance, insights.uniqueness.nearest_dist, id FROM vecs ORDER BY SIMILARITY TO ? LIMIT 2", f.ids[q])
		if err != nil {
			t.Fatal(err)
		}
		nearest, err := f.d.Query(ctx, "SELECT insights.uniqueness.nearest_dist FROM vecs WHERE id = ?", f.ids[q])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Rows[1][0].AsFloat(), nearest.Rows[0][0].AsFloat(); math.Abs(got-want) > 1e-12 {
			t.Errorf("sample %d: nearest at %g, its nearest_dist %g", q, got, want)
		}
	}
}

// TestSimilaritySeesWrites checks that a query after a write searches the
// dataset as it is now: a sample added with a copy of the query's vector
// comes right after the query sample, at distance 0, and a deleted sample
// is gone.
func TestSimilaritySeesWrites(t *testing.T) {
	ctx := context.Background()
	f := newSimilarityFixture(t)
	if _, err := f.d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'v')"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT id, filepath, _distance FROM vecs ORDER BY SIMILARITY TO ? LIMIT 2"
	first, err := f.d.Query(ctx, q, f.ids[20])
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.d.Store().Dataset("vecs")
	if err != nil {
		t.Fatal(err)
	}
	added, err := ds.Add(ctx, []db.NewSample{{Filepath: "/copy_of_20.png", Fields: db.Doc(db.Field{Name: "v", Value: db.Floats(f.vecs[20])})}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.d.Query(ctx, q, f.ids[20])
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[1][0].AsString() != added[0].String() || res.Rows[1][2].AsFloat() != 0 {
		t.Fatalf("after adding a copy: %v (before: %v)", res.Rows, first.Rows)
	}
	if _, err := f.d.Exec(ctx, "DELETE FROM vecs WHERE filepath = '/copy_of_20.png'"); err != nil {
		t.Fatal(err)
	}
	res, err = f.d.Query(ctx, q, f.ids[20])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(res.Rows, first.Rows, func(a, b []db.Value) bool { return a[0].AsString() == b[0].AsString() }) {
		t.Fatalf("after deleting the copy: %v, before adding it: %v", res.Rows, first.Rows)
	}
}

// TestSimilarityExplain checks, through EXPLAIN, that a LIMIT after ORDER
// BY SIMILARITY TO keeps only offset + limit nearest samples, after the
// filters, that _distance is projected, and that a FILE query embeds
// nothing to explain itself.
func TestSimilarityExplain(t *testing.T) {
	ctx := context.Background()
	f := newSimilarityFixture(t)
	if _, err := f.d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'v')"); err != nil {
		t.Fatal(err)
	}
	id := f.ids[5]
	cases := []struct {
		sql  string
		want []string
	}{
		{"EXPLAIN SELECT id, _distance FROM vecs WHERE n > 3 ORDER BY SIMILARITY TO '" + id + "' LIMIT 10 OFFSET 2", []string{
			"insights(uniqueness): compute when missing or stale",
			"project select_fields(id)",
			"  limit 10",
			"    skip 2",
			"      nearest 12 by similarity to '" + id + "' (embeddings = 'v', metric = 'cosine')",
			"        filter n > 3",
			"          full scan in id order (without insights)",
			"project(id, _distance)",
		}},
		{"EXPLAIN SELECT filepath FROM vecs WHERE 'odd' IN tags ORDER BY SIMILARITY TO FILE '/q.png' WITH (model = '/m.onnx', metric = euclidean)", []string{
			"project select_fields(filepath)",
			"  order by similarity to FILE '/q.png' (metric = 'euclidean', model = '/m.onnx')",
			"    tag index any of [\"odd\"] (ids only)",
			"project(filepath)",
		}},
	}
	for _, tc := range cases {
		res, err := f.d.Query(ctx, tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		var got []string
		for _, r := range res.Rows {
			got = append(got, r[0].AsString())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n%s\nwant\n%s", tc.sql, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// TestSimilarityErrors checks that bad similarity queries fail with an
// error that says what to do.
func TestSimilarityErrors(t *testing.T) {
	ctx := context.Background()
	f := newSimilarityFixture(t)
	ds, err := f.d.Store().Dataset("vecs")
	if err != nil {
		t.Fatal(err)
	}
	// A sample without a vector.
	novec, err := ds.Add(ctx, []db.NewSample{{Filepath: "/novec.png"}})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	noAuto := &Options{AutoCompute: &off}
	noEnsure := &Options{NoProviders: true, Similarity: (&brain.Provider{}).Similarity}
	id := f.ids[4]
	cases := []struct {
		name  string
		opts  *Options // nil: the fixture's database, after a uniqueness run on v
		sql   string
		is    error
		words string
	}{
		{"no run, auto_compute off", noAuto, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "' LIMIT 3", insights.ErrStale, "COMPUTE UNIQUENESS ON vecs"},
		{"no run, nothing to compute it", noEnsure, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "'", ErrNotAvailable, "COMPUTE UNIQUENESS ON vecs"},
		{"model not embedded, auto_compute off", noAuto, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "' WITH (model = 'builtin')", brain.ErrNotEmbedded, "COMPUTE UNIQUENESS ON vecs WITH (metric = 'cosine', model = 'builtin')"},
		{"no brain wired in", &Options{NoProviders: true}, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "'", ErrNotAvailable, "Options.Similarity"},
		{"unknown sample", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO 'ffffffffffffffffffffffff' LIMIT 3", db.ErrNotFound, "has no sample"},
		{"not an id", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO 'q.jpg' LIMIT 3", ErrParam, "SIMILARITY TO FILE 'q.jpg'"},
		{"a number", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO 3", ErrSyntax, "in quotes"},
		{"sample without a vector", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + novec[0].String() + "'", brain.ErrNoEmbedding, novec[0].String()},
		{"file with field vectors", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO FILE '/q.png'", brain.ErrOption, "query by a sample id"},
		{"unknown option", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "' WITH (k = 3)", ErrUnsupported, "known: embeddings, metric, model"},
		{"unknown metric", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "' WITH (metric = 'manhattan')", brain.ErrOption, "manhattan"},
		{"descending", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "' DESC", ErrSyntax, "nearest first"},
		{"second key", nil, "SELECT id FROM vecs ORDER BY SIMILARITY TO '" + id + "', n", ErrSyntax, "only sort key"},
		{"aggregate", nil, "SELECT count(*) FROM vecs ORDER BY SIMILARITY TO '" + id + "'", ErrUnsupported, "GROUP BY or aggregates"},
		{"distance without similarity", nil, "SELECT id, _distance FROM vecs", ErrUnknownField, "ORDER BY SIMILARITY TO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.d
			if tc.opts == nil {
				if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'v')"); err != nil {
					t.Fatal(err)
				}
			} else {
				d = New(f.d.Store(), tc.opts)
				if err := ds.DeleteInsights(uniquenessGroup); err != nil && !errors.Is(err, db.ErrNotFound) {
					t.Fatal(err)
				}
				if runs, _ := ds.Runs(); len(runs) > 0 {
					t.Fatalf("runs left: %v", runs)
				}
			}
			_, err := d.Query(ctx, tc.sql)
			if err == nil {
				t.Fatalf("%s: no error", tc.sql)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("%s:\n%v\nwant an error wrapping %v that says %q", tc.sql, err, tc.is, tc.words)
			}
		})
	}
}

// TestSimilarityToFile runs the built-in model: with auto-compute on, a
// similarity query on a dataset never computed runs uniqueness first; a
// query by a file that is a copy of a sample's image finds that sample at
// distance 0, and ranks as the query by that sample does.
func TestSimilarityToFile(t *testing.T) {
	if err := brain.InitRuntime(); errors.Is(err, brain.ErrRuntimeNotFound) {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	ctx := context.Background()
	root := writeFixture(t, t.TempDir())
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, "CREATE DATASET ds FROM IMAGES ? RECURSIVE", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	query := filepath.Join(root, "new", "extra.png")
	// A copy of a sample's image, outside the dataset.
	copyOf := filepath.Join(root, "data", "cat_02.png")
	res, err := d.Query(ctx, "SELECT filepath, _distance FROM ds ORDER BY SIMILARITY TO FILE ? LIMIT 3", copyOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || res.Rows[0][0].AsString() != copyOf || res.Rows[0][1].AsFloat() > 1e-6 {
		t.Fatalf("query by a sample's own file: %v", res.Rows)
	}
	runs, err := d.Store().Dataset("ds")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := runs.Runs(); r[uniquenessGroup].Status != db.RunComplete {
		t.Fatalf("no uniqueness run after the query: %v", r)
	}
	byFile, err := d.Query(ctx, "SELECT id, _distance FROM ds ORDER BY SIMILARITY TO FILE ?", copyOf)
	if err != nil {
		t.Fatal(err)
	}
	id := byFile.Rows[0][0].AsString()
	bySample, err := d.Query(ctx, "SELECT id, _distance FROM ds ORDER BY SIMILARITY TO ?", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(bySample.Rows) != len(byFile.Rows) || len(byFile.Rows) < 6 {
		t.Fatalf("%d rows by file, %d by sample", len(byFile.Rows), len(bySample.Rows))
	}
	for i := range byFile.Rows {
		a, b := byFile.Rows[i], bySample.Rows[i]
		if math.Abs(a[1].AsFloat()-b[1].AsFloat()) > 1e-6 {
			t.Fatalf("row %d: by file %v, by sample %v", i, a, b)
		}
	}
	// An image that is not in the dataset: every sample has a distance,
	// nearest first.
	res, err = d.Query(ctx, "SELECT filepath, _distance FROM ds ORDER BY SIMILARITY TO FILE ?", query)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(res.Rows); i++ {
		if res.Rows[i][1].AsFloat() < res.Rows[i-1][1].AsFloat() || res.Rows[i][1].AsFloat() <= 0 {
			t.Fatalf("distances to an outside image: %v", res.Rows)
		}
	}
	// A model named in the query: the samples are embedded with it (and
	// stored) without a uniqueness run.
	if _, err := d.Exec(ctx, "CREATE DATASET fresh FROM IMAGES ? RECURSIVE", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	res, err = d.Query(ctx, "SELECT filepath, _distance FROM fresh ORDER BY SIMILARITY TO FILE ? WITH (model = 'builtin') LIMIT 1", copyOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0].AsString() != copyOf || res.Rows[0][1].AsFloat() > 1e-6 {
		t.Fatalf("query with the model named: %v", res.Rows)
	}
	fresh, err := d.Store().Dataset("fresh")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := fresh.Runs(); len(r) != 0 {
		t.Fatalf("a query naming its model made runs: %v", r)
	}
	// A file that is not an image.
	bad := filepath.Join(root, "data", "bad", "notes.png")
	if _, err := d.Query(ctx, "SELECT id FROM ds ORDER BY SIMILARITY TO FILE ?", bad); !errors.Is(err, brain.ErrDecode) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("a file that is no image: %v", err)
	}
}
