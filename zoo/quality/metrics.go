package quality

import (
	"context"
	"io"
	"math"
	"os"
	"sort"

	"github.com/fosql/fosql/brain"
)

// Counts are the near-duplicate figures of a group of copies.
type Counts struct {
	Copies int
	// NN counts copies whose nearest other sample is their original.
	NN int
	// Low counts copies among the 2·C least unique samples of their set.
	Low int
}

// add adds o's counts to c.
func (c *Counts) add(o Counts) { c.Copies += o.Copies; c.NN += o.NN; c.Low += o.Low }

// Figures are a method's near-duplicate results on one set (or, added up,
// on several).
type Figures struct {
	Method string
	// Originals and Copies are the set's sizes.
	Originals, Copies int
	// PerKind holds the counts of each transform's copies.
	PerKind map[string]*Counts
	// Total adds up every transform.
	Total Counts
	// Found is the number of duplicate pairs at the default threshold and
	// Right those whose two samples are a copy and its original; Recalled
	// counts the copies found as duplicates of their original.
	Found, Right, Recalled int
}

// Add adds o's figures to f (for a combined table).
func (f *Figures) Add(o *Figures) {
	if f.PerKind == nil {
		f.PerKind = map[string]*Counts{}
	}
	f.Originals += o.Originals
	f.Copies += o.Copies
	for k, c := range o.PerKind {
		if f.PerKind[k] == nil {
			f.PerKind[k] = &Counts{}
		}
		f.PerKind[k].add(*c)
	}
	f.Total.add(o.Total)
	f.Found += o.Found
	f.Right += o.Right
	f.Recalled += o.Recalled
}

// Ranking is what the brain computes on a space: each row's uniqueness
// score and nearest other row, and the duplicate of each row (-1 for a
// kept row) at the default threshold.
type Ranking struct {
	Scores    []float64
	Nearest   []int
	Duplicate []int
}

// Rank runs the brain's uniqueness and duplicate search on s as COMPUTE
// UNIQUENESS and COMPUTE DUPLICATES run them with their defaults: for
// embeddings, cosine distance on mean-centred vectors, K = 3 with weights
// 0.6, 0.3, 0.1, and brain.DefaultDuplicateRule with the pixel check
// when s has the images' Paths (the embedding rule alone without); for
// hashes, the same
// scores, and the greedy duplicate rule on Hamming distances with
// HashThreshold alone (FiftyOne Brain's rule: a hash distance is too
// coarse for the neighbourhood test).
func Rank(ctx context.Context, s *Space) (*Ranking, error) {
	if s.Hashes == nil {
		u, err := brain.Uniqueness(ctx, s.Vectors, s.N, s.Dim, brain.UniquenessOptions{})
		if err != nil {
			return nil, err
		}
		var d *brain.Duplicates
		if s.Paths != nil {
			check := brain.NewPixelCheck(func(ctx context.Context, row int) (io.ReadCloser, error) { return os.Open(s.Paths[row]) })
			d, err = brain.FindDuplicatesWithPixels(ctx, s.Vectors, s.N, s.Dim, brain.Cosine, brain.DefaultDuplicateRule(), check,
				brain.DefaultPixelBound, brain.DefaultPixelShare)
		} else {
			d, err = brain.FindDuplicates(ctx, s.Vectors, s.N, s.Dim, brain.Cosine, brain.DefaultDuplicateRule())
		}
		if err != nil {
			return nil, err
		}
		return &Ranking{Scores: u.Scores, Nearest: u.Nearest, Duplicate: d.Of}, nil
	}
	k := len(brain.DefaultWeights())
	nb := hammingNeighbors(s.Hashes, k)
	r := &Ranking{Scores: brain.UniquenessScores(nb, nil), Nearest: make([]int, s.N)}
	for i := range s.N {
		j, _, ok := nb.Nearest(i)
		if !ok {
			j = -1
		}
		r.Nearest[i] = j
	}
	// Hashes as ±1 vectors: their Euclidean distance is 2·sqrt(Hamming),
	// so the brain's duplicate search under that distance, with the
	// threshold between HashThreshold and the next integer, is the same
	// rule on Hamming distances.
	v := make([]float32, 64*s.N)
	for i, h := range s.Hashes {
		for b := range 64 {
			v[i*64+b] = float32(int(h>>b&1)*2 - 1)
		}
	}
	d, err := brain.FindDuplicates(ctx, v, s.N, 64, brain.Euclidean, brain.ThresholdRule(2*math.Sqrt(HashThreshold+0.5)))
	if err != nil {
		return nil, err
	}
	r.Duplicate = d.Of
	return r, nil
}

// hammingNeighbors finds each hash's k nearest other hashes by Hamming
// distance, ties broken by row order.
func hammingNeighbors(h []uint64, k int) *brain.Neighbors {
	n := len(h)
	k = min(k, n-1)
	nb := &brain.Neighbors{N: n, K: max(k, 0), Scale: 64}
	if k <= 0 {
		return nb
	}
	nb.Indices = make([]int, n*k)
	nb.Distances = make([]float64, n*k)
	order := make([]int, 0, n-1)
	for i := range n {
		order = order[:0]
		for j := range n {
			if j != i {
				order = append(order, j)
			}
		}
		sort.SliceStable(order, func(a, b int) bool { return hamming(h[i], h[order[a]]) < hamming(h[i], h[order[b]]) })
		for t := range k {
			nb.Indices[i*k+t] = order[t]
			nb.Distances[i*k+t] = float64(hamming(h[i], h[order[t]]))
		}
	}
	return nb
}

// Rounds is how many rankings a set is scored in: round r holds every
// original and the copies of originals i with i mod Rounds = r, so that
// copies are a fifth of each ranked set (with a copy of every original in
// one set, the 2·C least unique would be the whole set) while every
// original still gets its copy.
const Rounds = 4

// Round is the part of set ranked in round r of rounds, and the rows of
// set it holds.
func (s *Set) Round(r, rounds int) (*Set, []int) {
	out := &Set{Collection: s.Collection}
	var rows []int
	at := map[int]int{}
	for i, smp := range s.Samples {
		if smp.Original < 0 {
			at[i] = len(rows)
			rows = append(rows, i)
			out.Samples = append(out.Samples, smp)
		}
	}
	for i, smp := range s.Samples {
		if smp.Original >= 0 && smp.Original%rounds == r {
			smp.Original = at[smp.Original]
			rows = append(rows, i)
			out.Samples = append(out.Samples, smp)
			out.Copies++
		}
	}
	return out, rows
}

// EvaluateRounds ranks each of the Rounds parts of set in s (which holds
// every sample of set) and adds up their figures.
func EvaluateRounds(ctx context.Context, method string, set *Set, s *Space) (*Figures, error) {
	total := &Figures{Method: method, PerKind: map[string]*Counts{}}
	for r := range Rounds {
		part, rows := set.Round(r, Rounds)
		sub := subspace(s, rows)
		if s.Hashes == nil {
			for _, smp := range part.Samples {
				sub.Paths = append(sub.Paths, smp.Path)
			}
		}
		rk, err := Rank(ctx, sub)
		if err != nil {
			return nil, err
		}
		f := Evaluate(method, part, rk)
		total.Add(f)
		if r > 0 {
			total.Originals -= f.Originals // the same originals in every round
		}
	}
	return total, nil
}

// Evaluate scores a ranking of set against its ground truth.
func Evaluate(method string, set *Set, r *Ranking) *Figures {
	n := len(set.Samples)
	f := &Figures{Method: method, Originals: n - set.Copies, Copies: set.Copies, PerKind: map[string]*Counts{}}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.Scores[order[a]] < r.Scores[order[b]] })
	low := make([]bool, n)
	for _, i := range order[:min(n, 2*set.Copies)] {
		low[i] = true
	}
	family := func(i int) int {
		if o := set.Samples[i].Original; o >= 0 {
			return o
		}
		return i
	}
	for i, s := range set.Samples {
		if dup := r.Duplicate[i]; dup >= 0 {
			f.Found++
			if family(dup) == family(i) {
				f.Right++
			}
		}
		if s.Original < 0 {
			continue
		}
		c := f.PerKind[s.Kind]
		if c == nil {
			c = &Counts{}
			f.PerKind[s.Kind] = c
		}
		c.Copies++
		if r.Nearest[i] == s.Original {
			c.NN++
		}
		if low[i] {
			c.Low++
		}
		if r.Duplicate[i] == s.Original || r.Duplicate[s.Original] == i {
			f.Recalled++
		}
	}
	for _, c := range f.PerKind {
		f.Total.add(*c)
	}
	return f
}
