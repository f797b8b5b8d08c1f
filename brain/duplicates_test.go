package brain

import (
	"context"
	"math/rand/v2"
	"testing"
)

// bruteDuplicates is FindDuplicates written plainly: every pair's exact
// distance, rows in order, a row duplicates the nearest earlier kept row
// within threshold.
func bruteDuplicates(vectors []float32, n, d int, metric Metric, threshold float64) []int {
	unit, norms := centreAndNormalise(vectors, n, d)
	dist := exactDistance(vectors, unit, norms, n, d, metric)
	of := make([]int, n)
	kept := make([]bool, n)
	for i := range n {
		of[i] = -1
		best := 0.0
		for j := range i {
			if !kept[j] {
				continue
			}
			if dd := dist(i, j); dd <= threshold && (of[i] < 0 || dd < best) {
				of[i], best = j, dd
			}
		}
		kept[i] = of[i] < 0
	}
	return of
}

func TestFindDuplicatesMatchesBruteForce(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 12
	// 60 distinct rows, then copies: 40 of one row (a group larger than
	// the first neighbour search), and small jitters of others.
	var v []float32
	for range 60 {
		for range d {
			v = append(v, rng.Float32()*2-1)
		}
	}
	for range 40 {
		v = append(v, v[3*d:4*d]...)
	}
	// 30 rows clustered tightly around a point near row 5: each one's
	// nearest rows are the others, and row 5, the one kept, comes after
	// them, within the threshold only once the search widens.
	offset := make([]float32, d)
	for c := range offset {
		offset[c] = float32(rng.NormFloat64() * 0.02)
	}
	for range 30 {
		for c, x := range v[5*d : 6*d] {
			v = append(v, x+offset[c]+float32(rng.NormFloat64()*0.0005))
		}
	}
	for k := range 15 {
		src := v[(10+k)*d : (11+k)*d]
		for _, x := range src {
			v = append(v, x+float32(rng.NormFloat64()*0.01))
		}
	}
	n := len(v) / d
	for _, tc := range []struct {
		metric Metric
		thr    float64
	}{{Cosine, 0.01}, {Cosine, 0.2}, {Euclidean, 0.1}, {Euclidean, 0}} {
		got, err := FindDuplicates(context.Background(), v, n, d, tc.metric, tc.thr)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteDuplicates(v, n, d, tc.metric, tc.thr)
		dups := 0
		for i := range n {
			if got.Of[i] != want[i] {
				t.Fatalf("%v, threshold %v: row %d duplicates %d, want %d", tc.metric, tc.thr, i, got.Of[i], want[i])
			}
			if got.Of[i] >= 0 {
				dups++
			}
		}
		if dups < 40 {
			t.Fatalf("%v, threshold %v: %d duplicates, want at least the 40 exact copies", tc.metric, tc.thr, dups)
		}
	}
	if _, err := FindDuplicates(context.Background(), v, n, d, Cosine, -1); err == nil {
		t.Fatal("a negative threshold was accepted")
	}
}
