package brain

import (
	"context"
	"math"
	"testing"
)

// nbFrom builds Neighbors from per-row distance lists (indices are
// irrelevant to the score).
func nbFrom(rows [][]float64) *Neighbors {
	nb := &Neighbors{N: len(rows)}
	if len(rows) > 0 {
		nb.K = len(rows[0])
	}
	for i, r := range rows {
		for j, d := range r {
			nb.Indices = append(nb.Indices, (i+j+1)%len(rows))
			nb.Distances = append(nb.Distances, d)
		}
	}
	return nb
}

func TestUniquenessScores(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rows    [][]float64
		weights []float64
		want    []float64
	}{
		{
			name: "formula: mean of weighted distances, max is 1",
			rows: [][]float64{{1, 2, 3}, {2, 4, 6}, {0, 0, 0}, {1, 1, 1}},
			// raw: (0.6+0.6+0.3)/3=0.5, 1.0, 0, (0.6+0.3+0.1)/3=1/3
			want: []float64{0.5, 1, 0, 1.0 / 3},
		},
		{
			name: "all distances zero: all scores zero, no NaN",
			rows: [][]float64{{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
			want: []float64{0, 0, 0, 0},
		},
		{
			name: "N equal to K: all ones",
			rows: [][]float64{{1, 2}, {3, 4}, {5, 6}},
			want: []float64{1, 1, 1},
		},
		{
			name: "N below K: all ones",
			rows: [][]float64{{1}, {1}},
			want: []float64{1, 1},
		},
		{
			name: "no rows",
			rows: nil,
			want: []float64{},
		},
		{
			name:    "custom weights define K",
			rows:    [][]float64{{1, 5}, {2, 5}, {4, 5}},
			weights: []float64{1},
			// K=1: scores 1, 2, 4 -> /4
			want: []float64{0.25, 0.5, 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := UniquenessScores(nbFrom(tc.rows), tc.weights)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d scores, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if math.IsNaN(got[i]) || math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Errorf("score %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestUniquenessScoresTooFewNeighboursPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic with 1 neighbour per row and 3 weights")
		}
	}()
	UniquenessScores(nbFrom([][]float64{{1}, {1}, {1}, {1}, {1}}), nil)
}

func TestUniquenessNearest(t *testing.T) {
	needRuntime(t)
	// Rows on a line: 0, 1, 3, 10 (d=1, Euclidean).
	v := []float32{0, 1, 3, 10}
	res, err := Uniqueness(context.Background(), v, 4, 1, UniquenessOptions{Metric: Euclidean})
	if err != nil {
		t.Fatal(err)
	}
	wantNearest := []int{1, 0, 1, 2}
	wantDist := []float64{1, 1, 2, 7}
	for i := range v {
		if res.Nearest[i] != wantNearest[i] || res.NearestDist[i] != wantDist[i] {
			t.Errorf("row %d: nearest %d at %v, want %d at %v", i, res.Nearest[i], res.NearestDist[i], wantNearest[i], wantDist[i])
		}
	}
	// Row 3 (10) is the most unique: 0.6*7 + 0.3*9 + 0.1*10.
	if res.Scores[3] != 1 {
		t.Errorf("most unique score %v, want 1", res.Scores[3])
	}
	one, err := Uniqueness(context.Background(), []float32{1, 2}, 1, 2, UniquenessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if one.Scores[0] != 1 || one.Nearest[0] != -1 {
		t.Errorf("single row: score %v nearest %d", one.Scores[0], one.Nearest[0])
	}
}
