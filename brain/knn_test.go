package brain

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// bruteKNN is the float64 reference: every pair, self excluded by index.
func bruteKNN(v []float32, n, d, k int, metric Metric) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = float64(v[i*d+j])
		}
	}
	if metric == Cosine {
		mean := make([]float64, d)
		for _, r := range x {
			for j := range r {
				mean[j] += r[j] / float64(n)
			}
		}
		for _, r := range x {
			for j := range r {
				r[j] -= mean[j]
			}
		}
	}
	out := make([][]float64, n)
	for i := range x {
		var ds []float64
		for j := range x {
			if i == j {
				continue
			}
			var dist float64
			if metric == Euclidean {
				for t := range x[i] {
					e := x[i][t] - x[j][t]
					dist += e * e
				}
				dist = math.Sqrt(dist)
			} else {
				var s, na, nb float64
				for t := range x[i] {
					s += x[i][t] * x[j][t]
					na += x[i][t] * x[i][t]
					nb += x[j][t] * x[j][t]
				}
				if na == 0 || nb == 0 {
					dist = 1
				} else {
					dist = min(max(1-s/math.Sqrt(na*nb), 0), 2)
				}
			}
			ds = append(ds, dist)
		}
		sort.Float64s(ds)
		out[i] = ds[:min(k, len(ds))]
	}
	return out
}

// clustered returns n x d vectors around n/10 centres with a few exact
// duplicates.
func clustered(rng *rand.Rand, n, d int) []float32 {
	centres := max(1, n/10)
	c := make([]float32, centres*d)
	for i := range c {
		c[i] = float32(rng.NormFloat64() * 3)
	}
	v := make([]float32, n*d)
	for i := 0; i < n; i++ {
		ci := rng.IntN(centres)
		for j := 0; j < d; j++ {
			v[i*d+j] = c[ci*d+j] + float32(rng.NormFloat64()*0.5) + 10
		}
	}
	for t := 0; t < n/20; t++ { // exact duplicates
		a, b := rng.IntN(n), rng.IntN(n)
		copy(v[a*d:(a+1)*d], v[b*d:(b+1)*d])
	}
	return v
}

func TestKNNMatchesBruteForce(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		n, d, k int
	}{
		{"small", 7, 5, 3},
		{"medium", 400, 24, 3},
		{"wide-k", 300, 16, 10},
		{"n-equals-k", 3, 4, 3},
		{"n-below-k", 2, 4, 3},
		{"one-row", 1, 4, 3},
	} {
		for _, metric := range []Metric{Cosine, Euclidean} {
			t.Run(tc.name+"/"+metric.String(), func(t *testing.T) {
				v := clustered(rng, tc.n, tc.d)
				nb, err := KNN(context.Background(), v, tc.n, tc.d, tc.k, metric)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteKNN(v, tc.n, tc.d, tc.k, metric)
				wantK := min(tc.k, tc.n-1)
				if nb.K != wantK || nb.N != tc.n {
					t.Fatalf("N, K = %d, %d; want %d, %d", nb.N, nb.K, tc.n, wantK)
				}
				for i := 0; i < tc.n; i++ {
					idx, dist := nb.Row(i)
					for j := range dist {
						if idx[j] == i {
							t.Fatalf("row %d lists itself", i)
						}
						if math.Abs(dist[j]-want[i][j]) > 1e-6 {
							t.Fatalf("row %d neighbour %d: distance %v, want %v", i, j, dist[j], want[i][j])
						}
					}
				}
			})
		}
	}
}

func TestKNNManyBlocks(t *testing.T) {
	needRuntime(t)
	// Small blocks with a ragged last one exercise the block-pair merging,
	// including candidates handed to the column block.
	defer func(b int) { knnBlockRows = b }(knnBlockRows)
	knnBlockRows = 37
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d, k = 300, 12, 4
	v := clustered(rng, n, d)
	for _, metric := range []Metric{Cosine, Euclidean} {
		nb, err := KNN(context.Background(), v, n, d, k, metric)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteKNN(v, n, d, k, metric)
		for i := 0; i < n; i++ {
			idx, dist := nb.Row(i)
			for j := range dist {
				if idx[j] == i || math.Abs(dist[j]-want[i][j]) > 1e-6 {
					t.Fatalf("%v row %d neighbour %d: row %d at %v, want distance %v", metric, i, j, idx[j], dist[j], want[i][j])
				}
			}
		}
	}
}

func TestKNNExactDuplicatesAreNeighbours(t *testing.T) {
	needRuntime(t)
	// Six identical rows and a few others: each copy's neighbours are other
	// copies at distance 0, never itself, whatever order ties come in.
	const d = 8
	base := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	var v []float32
	for i := 0; i < 6; i++ {
		v = append(v, base...)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10; i++ {
		for j := 0; j < d; j++ {
			v = append(v, float32(rng.NormFloat64()*5))
		}
	}
	n := len(v) / d
	for _, metric := range []Metric{Cosine, Euclidean} {
		nb, err := KNN(context.Background(), v, n, d, 3, metric)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ {
			idx, dist := nb.Row(i)
			for j := range idx {
				if idx[j] == i || idx[j] >= 6 || dist[j] > 1e-9 {
					t.Fatalf("%v: copy %d neighbour %d = row %d at %v", metric, i, j, idx[j], dist[j])
				}
			}
		}
		scores := UniquenessScores(nb, nil)
		for i := 0; i < 6; i++ {
			if scores[i] != 0 {
				t.Fatalf("%v: copy %d score %v, want 0", metric, i, scores[i])
			}
		}
	}
}

func TestKNNErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := KNN(ctx, make([]float32, 10), 3, 3, 1, Euclidean); err == nil {
		t.Error("wrong length accepted")
	}
	if _, err := KNN(ctx, make([]float32, 9), 3, 3, 0, Euclidean); err == nil {
		t.Error("k=0 accepted")
	}
	if _, err := KNN(ctx, make([]float32, 9), 3, 3, 1, Metric(9)); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("unknown metric: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	needRuntime(t)
	if _, err := KNN(cancelled, make([]float32, 90), 30, 3, 1, Euclidean); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseMetric(t *testing.T) {
	for in, want := range map[string]Metric{"cosine": Cosine, "Euclidean": Euclidean, " l2 ": Euclidean} {
		if got, err := ParseMetric(in); err != nil || got != want {
			t.Errorf("ParseMetric(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMetric("manhattan"); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("manhattan: %v", err)
	}
}
