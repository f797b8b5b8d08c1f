package brain

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// DefaultK is the number of neighbours the uniqueness score uses by default.
const DefaultK = 3

// DefaultWeights returns the default neighbour weights of the uniqueness
// score, nearest first: 0.6, 0.3, 0.1.
func DefaultWeights() []float64 { return []float64{0.6, 0.3, 0.1} }

// UniquenessScores turns neighbours into FiftyOne Brain's uniqueness scores:
// with K = len(weights) (DefaultWeights when weights is empty),
// score_i = sum_j(weights[j] * dist_i[j]) / K over row i's K nearest other
// rows, then every score is divided by the largest, so the most unique row
// scores exactly 1.0. When N <= K every score is 1.0; when every distance is
// 0 every score is 0. nb must hold at least K neighbours per row when N > K
// (it panics otherwise: ask KNN for K).
func UniquenessScores(nb *Neighbors, weights []float64) []float64 {
	if len(weights) == 0 {
		weights = DefaultWeights()
	}
	k := len(weights)
	scores := make([]float64, nb.N)
	if nb.N <= k {
		for i := range scores {
			scores[i] = 1
		}
		return scores
	}
	if nb.K < k {
		panic(fmt.Sprintf("brain: UniquenessScores: %d weights but only %d neighbours per row", k, nb.K))
	}
	maxScore := 0.0
	for i := range scores {
		_, dist := nb.Row(i)
		var s float64
		for j, w := range weights {
			s += w * dist[j]
		}
		s /= float64(k)
		scores[i] = s
		maxScore = max(maxScore, s)
	}
	if maxScore <= 0 || math.IsNaN(maxScore) {
		clear(scores)
		return scores
	}
	for i := range scores {
		scores[i] /= maxScore
	}
	return scores
}

// UniquenessOptions are the options of Uniqueness.
type UniquenessOptions struct {
	// Metric is the k-NN distance; the zero value is Cosine.
	Metric Metric
	// Weights of the nearest neighbours, nearest first; their count is K.
	// Empty means DefaultWeights (K = 3).
	Weights []float64
}

// UniquenessResult is what Uniqueness computes for n rows.
type UniquenessResult struct {
	// Scores in [0, 1], one per row; the most unique row has 1.0.
	Scores []float64
	// Nearest is each row's nearest other row (-1 when n == 1) and
	// NearestDist its distance.
	Nearest     []int
	NearestDist []float64
	// Neighbors are the K nearest other rows of every row.
	Neighbors *Neighbors
}

// Uniqueness runs KNN on vectors (n x d, row-major) and scores each row with
// UniquenessScores.
func Uniqueness(ctx context.Context, vectors []float32, n, d int, opts UniquenessOptions) (*UniquenessResult, error) {
	w := opts.Weights
	if len(w) == 0 {
		w = DefaultWeights()
	}
	for _, x := range w {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return nil, fmt.Errorf("brain: Uniqueness: bad weight %v", x)
		}
	}
	nb, err := KNN(ctx, vectors, n, d, len(w), opts.Metric)
	if err != nil {
		return nil, err
	}
	res := &UniquenessResult{
		Scores:      UniquenessScores(nb, slices.Clone(w)),
		Nearest:     make([]int, n),
		NearestDist: make([]float64, n),
		Neighbors:   nb,
	}
	for i := 0; i < n; i++ {
		j, dist, ok := nb.Nearest(i)
		if !ok {
			j = -1
		}
		res.Nearest[i], res.NearestDist[i] = j, dist
	}
	return res, nil
}
