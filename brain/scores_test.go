package brain

import (
	"context"
	"math"
	"testing"
)

// TestScoresOfNoiseAreZero: when every distance is rounding noise, every
// score is 0 rather than noise divided by noise; valid weights of any
// magnitude give finite scores.
func TestScoresOfNoiseAreZero(t *testing.T) {
	noise := nbFrom([][]float64{{3e-8, 3e-8, 3e-8}, {0, 0, 0}, {0, 0, 0}, {3e-8, 0, 0}, {1e-9, 1e-9, 1e-9}})
	for i, s := range UniquenessScores(noise, nil) {
		if s != 0 {
			t.Errorf("row %d: score %v from noise, want 0", i, s)
		}
	}
	// Euclidean distances are judged against the vectors' scale.
	noise.Scale = 1e-6
	if s := UniquenessScores(noise, nil); s[0] != 1 {
		t.Errorf("distances of 3e-8 among vectors of norm 1e-6 are not noise: scores %v", s)
	}
	real := nbFrom([][]float64{{1, 2, 3}, {2, 4, 6}, {0, 0, 0}, {1, 1, 1}})
	for _, w := range [][]float64{{1e307, 1e307, 1e300}, {1e-300, 0, 0}, {0.6, 0.3, 0.1}} {
		if err := ValidateWeights(w); err != nil {
			t.Fatalf("weights %v: %v", w, err)
		}
		for i, s := range UniquenessScores(real, w) {
			if math.IsNaN(s) || s < 0 || s > 1 {
				t.Errorf("weights %v: score %d = %v", w, i, s)
			}
		}
	}
	for _, w := range [][]float64{{1e308, 1e308, 1e308}, {math.NaN()}, {math.Inf(1)}, {-1, 2}, {0, 0}, {}} {
		if err := ValidateWeights(w); err == nil {
			t.Errorf("weights %v accepted", w)
		}
	}
}

// TestDuplicatesGroupSameContent: rows with the same content key are
// duplicates whatever their vectors say, and point at a kept row.
func TestDuplicatesGroupSameContent(t *testing.T) {
	needRuntime(t)
	// Rows 0 and 3 are far apart but the same file; row 1 is a near copy
	// of row 0; row 4 is the same file as row 1.
	v := []float32{0, 1, 0.01, 1, 5, -3, 9, 9, -7, 2}
	same := []string{"a", "b", "", "a", "b"}
	dups, err := findDuplicates(context.Background(), v, 5, 2, Euclidean, ThresholdRule(0.1), same, KNNOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{-1, 0, -1, 0, 0}
	for i, w := range want {
		if dups.Of[i] != w {
			t.Fatalf("Of = %v, want %v", dups.Of, want)
		}
	}
}
