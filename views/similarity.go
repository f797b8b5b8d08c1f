package views

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/fosql/fosql/db"
)

// Ranker orders samples by their distance to a query (FiftyOne Brain's
// sort_by_similarity). views knows nothing of embeddings: the ranker
// brings them.
type Ranker interface {
	// String describes the query and the embeddings, as EXPLAIN shows it.
	String() string
	// Rank returns the k candidates nearest to the query, nearest first,
	// ties by id ascending, with their distances; k < 0 means all of
	// them. The candidates are distinct, in no particular order. It may
	// leave out candidates it has no vector for.
	Rank(ctx context.Context, candidates []db.ID, k int) ([]db.ID, []float64, error)
}

// SimilarityStage orders samples by their distance to the ranker's
// query, nearest first. Filters before or after it in the same block run
// first, so the ranking is over the samples that pass them; samples the
// ranker has no vector for are dropped.
type SimilarityStage struct{ Ranker Ranker }

func (SimilarityStage) stage() {}

// String implements Stage.
func (s SimilarityStage) String() string { return "sort_by_similarity(" + s.Ranker.String() + ")" }

// SortBySimilarity returns the view ordered by distance to r's query.
func (v *View) SortBySimilarity(r Ranker) *View { return v.With(SimilarityStage{Ranker: r}) }

// similarityOrder is the order of a similarity stage.
type similarityOrder struct{ r Ranker }

func (o similarityOrder) String() string { return "similarity to " + o.r.String() }

// similarityNode ranks the ids of its input by distance and fetches the k
// nearest samples in that order.
type similarityNode struct {
	r          Ranker
	k          int64 // how many rows above can take; -1: all
	fetch      bool  // false: only ids are wanted above
	noInsights bool  // the fetch may leave insights out
	input      Node
}

func (n *similarityNode) String() string {
	if n.k >= 0 {
		return fmt.Sprintf("nearest %d by similarity to %s", n.k, n.r.String())
	}
	return "order by similarity to " + n.r.String()
}

func (n *similarityNode) Inputs() []Node { return []Node{n.input} }

// run reads the ids of its input, ranks them, records their distances for
// the reader (WithDistances) and fetches the samples in rank order.
func (n *similarityNode) run(ctx context.Context, ex *execEnv, _ int64, yield func(*db.Sample) bool) error {
	parts := make([][]db.ID, max(1, ex.workers))
	err := visitRows(ctx, ex, n.input, func(w int, s *db.Sample) error {
		parts[w] = append(parts[w], s.ID)
		return nil
	})
	if err != nil {
		return err
	}
	ids := mergeParts(parts)
	parts = nil
	ranked, dists, err := n.r.Rank(ctx, ids, int(n.k))
	if err != nil {
		return err
	}
	if sink, ok := ctx.Value(distancesKey{}).(*Distances); ok {
		sink.record(ranked, dists)
	}
	f := newFetcher(ex.ds, readOpts{idsOnly: !n.fetch, noInsights: n.noInsights}, nil, int64(len(ranked)), yield)
	for i, id := range ranked {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if ok, err := f.add(id); !ok || err != nil {
			return err
		}
	}
	_, err = f.flush()
	return err
}

// mergeParts merges the parallel scan's parts into one list in id order
// (a ranker matches ids in order to its rows fastest) when each part is
// in id order, as a scan's parts are; otherwise it concatenates them.
func mergeParts(parts [][]db.ID) []db.ID {
	less := func(a, b db.ID) int { return bytes.Compare(a[:], b[:]) }
	n := 0
	for _, p := range parts {
		if !slices.IsSortedFunc(p, less) {
			return slices.Concat(parts...)
		}
		n += len(p)
	}
	out := make([]db.ID, 0, n)
	heads := make([]int, len(parts))
	for len(out) < n {
		best := -1
		for w, p := range parts {
			if heads[w] < len(p) && (best < 0 || less(p[heads[w]], parts[best][heads[best]]) < 0) {
				best = w
			}
		}
		out = append(out, parts[best][heads[best]])
		heads[best]++
	}
	return out
}

// Distances holds the distances that similarity stages gave the samples
// of one iteration, for a reader that shows them next to the samples.
type Distances struct {
	mu sync.Mutex
	m  map[db.ID]float64
}

type distancesKey struct{}

// WithDistances returns a context for iterating a view (Iter) under which
// a similarity stage records each sample's distance in the returned
// Distances.
func WithDistances(ctx context.Context) (context.Context, *Distances) {
	d := &Distances{m: map[db.ID]float64{}}
	return context.WithValue(ctx, distancesKey{}, d), d
}

func (d *Distances) record(ids []db.ID, dists []float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, id := range ids {
		d.m[id] = dists[i]
	}
}

// Of returns the distance recorded for id; ok is false when none was (or
// d is nil).
func (d *Distances) Of(id db.ID) (dist float64, ok bool) {
	if d == nil {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	dist, ok = d.m[id]
	return dist, ok
}
