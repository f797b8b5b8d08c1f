package brain

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// DefaultK is the number of neighbours the uniqueness score uses by default.
const DefaultK = 3

// MaxK is the largest number of neighbours a uniqueness score may weigh.
const MaxK = 100

// DefaultWeights returns the default neighbour weights of the uniqueness
// score, nearest first: 0.6, 0.3, 0.1.
func DefaultWeights() []float64 { return []float64{0.6, 0.3, 0.1} }

// ScoreEpsilon is the noise floor of uniqueness scores, relative to the
// scale of the distances (Neighbors.Scale: 1 for cosine distances, the
// largest vector norm for Euclidean ones). Embeddings are float32, so
// vectors that are equal up to rounding lie about 1e-7 of that scale apart.
// When the largest weighted mean neighbour distance of a run is below
// ScoreEpsilon times the scale, the samples cannot be told apart and every
// score is 0, instead of dividing rounding noise by rounding noise.
const ScoreEpsilon = 1e-6

// UniquenessScores turns neighbours into FiftyOne Brain's uniqueness scores:
// with K = len(weights) (DefaultWeights when weights is empty), each row's
// raw score is the weighted mean of its K nearest distances,
// sum_j(weights[j] * dist_i[j]) / sum_j(weights[j]), and every score is
// divided by the largest, so the most unique row scores exactly 1.0 (the
// same scores as FiftyOne's sum_j(weights[j] * dist_i[j]) / K divided by
// its maximum). When N <= K every score is 1.0; when the largest raw score
// is below ScoreEpsilon times nb.Scale (every distance zero or rounding
// noise) every score is 0. Weights must be finite, non-negative and not all
// zero (ValidateWeights); the scores are then finite, in [0, 1]. nb must
// hold at least K neighbours per row when N > K (it panics otherwise: ask
// KNN for K).
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
	// Weights scaled to sum to 1: each is at most 1, so a raw score is at
	// most the largest distance whatever the weights' magnitude.
	total := 0.0
	for _, w := range weights {
		total += w
	}
	unit := make([]float64, k)
	for j, w := range weights {
		unit[j] = w / total
	}
	maxScore := 0.0
	for i := range scores {
		_, dist := nb.Row(i)
		var s float64
		for j, w := range unit {
			s += w * dist[j]
		}
		scores[i] = s
		maxScore = max(maxScore, s)
	}
	scale := nb.Scale
	if scale <= 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		scale = 1
	}
	if !(maxScore >= ScoreEpsilon*scale) || math.IsInf(maxScore, 0) {
		clear(scores)
		return scores
	}
	for i := range scores {
		scores[i] /= maxScore
	}
	return scores
}

// ValidateWeights checks uniqueness weights: at least one, each a finite
// non-negative number, summing to a positive finite number. The error wraps
// ErrOption.
func ValidateWeights(weights []float64) error {
	if len(weights) == 0 {
		return fmt.Errorf("%w: no weights", ErrOption)
	}
	if len(weights) > MaxK {
		return fmt.Errorf("%w: %d weights, at most %d (one per neighbour)", ErrOption, len(weights), MaxK)
	}
	total := 0.0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("%w: weight %d is %v: weights must be finite non-negative numbers", ErrOption, i+1, w)
		}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return fmt.Errorf("%w: weights sum to %v: they must sum to a positive finite number", ErrOption, total)
	}
	return nil
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
	// Scores in [0, 1], one per row; the most unique row has 1.0 (all are
	// 0 when the rows cannot be told apart: see ScoreEpsilon).
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
	return uniqueness(ctx, vectors, n, d, opts, KNNOptions{})
}

// uniqueness is Uniqueness with the k-NN's options.
func uniqueness(ctx context.Context, vectors []float32, n, d int, opts UniquenessOptions, ko KNNOptions) (*UniquenessResult, error) {
	w := opts.Weights
	if len(w) == 0 {
		w = DefaultWeights()
	}
	if err := ValidateWeights(w); err != nil {
		return nil, fmt.Errorf("brain: Uniqueness: %w", err)
	}
	nb, err := KNNWith(ctx, vectors, n, d, len(w), opts.Metric, ko)
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
