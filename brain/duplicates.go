package brain

import (
	"context"
	"fmt"
	"math"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// DuplicatesGroup is the insights group that duplicate runs write. A
// sample found to duplicate an earlier one gets insights.duplicates.of
// (the id of the sample it duplicates), dist (their distance) and exact
// (true when the two files have the same SHA-256); every other sample
// gets count, the number of samples that duplicate it.
const DuplicatesGroup = "duplicates"

// The keys of a duplicates run under DuplicatesGroup.
const (
	keyDupOf    = "of"
	keyDupDist  = "dist"
	keyDupExact = "exact"
	keyDupCount = "count"
)

// DefaultDuplicateThreshold is the default cosine distance under which a
// sample duplicates another. With the built-in model it separates planted
// copies from distinct pictures on the zoo's synthetic sets: no distinct
// pair came closer than 0.1, and all copies but some crops are within it
// (BENCHMARKS.md).
const DefaultDuplicateThreshold = 0.1

// Duplicates is FindDuplicates' answer for n rows.
type Duplicates struct {
	// Of is, for each row, the kept row it duplicates, or -1 for a kept
	// row.
	Of []int
	// Dist is the distance from each duplicate to its Of row (0 for kept
	// rows).
	Dist []float64
}

// FindDuplicates groups near-duplicate rows as FiftyOne Brain's
// find_duplicates does: rows are taken in order, and a row within
// threshold of a row kept before it becomes a duplicate of the nearest
// such row; every other row is kept. Distances are KNN's (exact, in
// float64). Every pair within threshold is considered: the neighbour
// search widens until no row's farthest neighbour is within threshold.
func FindDuplicates(ctx context.Context, vectors []float32, n, d int, metric Metric, threshold float64) (*Duplicates, error) {
	return findDuplicates(ctx, vectors, n, d, metric, threshold, nil, KNNOptions{})
}

// findDuplicates is FindDuplicates where rows with the same non-empty
// content key (same[i], a file's SHA-256) are always duplicates: a row
// whose key an earlier row has duplicates that row's group (the earlier
// row if it was kept, else the row it duplicates), whatever their vectors.
// same may be nil.
func findDuplicates(ctx context.Context, vectors []float32, n, d int, metric Metric, threshold float64, same []string, ko KNNOptions) (*Duplicates, error) {
	if threshold < 0 || math.IsNaN(threshold) || math.IsInf(threshold, 0) {
		return nil, fmt.Errorf("%w: a duplicate threshold is a finite distance (>= 0), not %v", ErrOption, threshold)
	}
	out := &Duplicates{Of: make([]int, n), Dist: make([]float64, n)}
	for i := range out.Of {
		out.Of[i] = -1
	}
	if n < 2 {
		return out, nil
	}
	k := min(n-1, 16)
	var nb *Neighbors
	for {
		var err error
		if nb, err = KNNWith(ctx, vectors, n, d, k, metric, ko); err != nil {
			return nil, err
		}
		if k == n-1 || !saturated(nb, threshold) {
			break
		}
		k = min(n-1, 4*k)
	}
	kept := make([]bool, n)
	firstWith := map[string]int{} // content key -> first row with it
	for i := 0; i < n; i++ {
		idx, dist := nb.Row(i)
		if same != nil && same[i] != "" {
			if r, ok := firstWith[same[i]]; ok {
				of := r
				if !kept[r] {
					of = out.Of[r]
				}
				out.Of[i], out.Dist[i] = of, 0
				for t, j := range idx {
					if j == of {
						out.Dist[i] = dist[t]
						break
					}
				}
				continue
			}
			firstWith[same[i]] = i
		}
		for t, j := range idx {
			if dist[t] > threshold {
				break
			}
			if kept[j] { // kept rows all come before i
				out.Of[i], out.Dist[i] = j, dist[t]
				break
			}
		}
		kept[i] = out.Of[i] < 0
	}
	return out, nil
}

// saturated reports whether some row's farthest neighbour is within
// threshold, so that more neighbours may be.
func saturated(nb *Neighbors, threshold float64) bool {
	for i := 0; i < nb.N; i++ {
		if nb.K > 0 && nb.Distances[(i+1)*nb.K-1] <= threshold {
			return true
		}
	}
	return false
}

// DuplicatesOptions configure ComputeDuplicates: the embeddings as for
// uniqueness (model or field, metric; Weights are not used) and the
// threshold.
type DuplicatesOptions struct {
	ComputeOptions
	// Threshold is the distance under which a sample duplicates another;
	// 0 means DefaultDuplicateThreshold, which suits cosine distances only:
	// with Euclidean distances it must be given.
	Threshold float64
}

// DuplicatesResult summarises a finished duplicates run.
type DuplicatesResult struct {
	Run        db.RunRecord
	Duplicates int // samples found to duplicate another
	Exact      int // of which byte-for-byte copies
	Embedded   int // images embedded by this run (the rest were stored)
	Skipped    int // samples without a vector
}

// threshold returns the threshold to use, or an error when the metric
// needs one given.
func (o DuplicatesOptions) threshold() (float64, error) {
	switch {
	case o.Threshold < 0 || math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0):
		return 0, fmt.Errorf("%w: threshold must be a finite distance (>= 0), not %v", ErrOption, o.Threshold)
	case o.Threshold > 0:
		return o.Threshold, nil
	case o.Metric == Cosine:
		return DefaultDuplicateThreshold, nil
	}
	return 0, fmt.Errorf("%w: give a threshold for %s distances (the default, %v, is a cosine distance)", ErrOption, o.Metric, DefaultDuplicateThreshold)
}

// want resolves the options into the identity of the run they ask for.
func (o DuplicatesOptions) want() (insights.Want, ModelSpec, []byte, error) {
	thr, err := o.threshold()
	if err != nil {
		return insights.Want{}, ModelSpec{}, nil, err
	}
	if err := o.ComputeOptions.validate(); err != nil {
		return insights.Want{}, ModelSpec{}, nil, err
	}
	return o.identity(map[string]any{"threshold": thr})
}

// ComputeDuplicates embeds every sample of ds (reusing embeddings stored
// for the same model, as uniqueness runs do), groups near-duplicates with
// FindDuplicates in id order (samples whose files have the same SHA-256,
// metadata.sha256, are always grouped as exact duplicates), and stores insights.duplicates with a run
// record. As with uniqueness, the new values become visible together when
// the run completes, and a cancelled or failed run changes nothing.
func ComputeDuplicates(ctx context.Context, ds *db.Dataset, o DuplicatesOptions) (*DuplicatesResult, error) {
	progress := o.progress()
	thr, err := o.threshold()
	if err != nil {
		return nil, err
	}
	want, spec, data, err := o.want()
	if err != nil {
		return nil, err
	}
	var cr ComputeResult
	run, vs, err := startRun(ctx, ds, o.ComputeOptions, DuplicatesGroup, want, spec, data, &cr)
	if err != nil {
		return nil, err
	}
	defer vs.heap.Release()
	n := len(vs.keep)
	progress(insights.Progress{Group: DuplicatesGroup, Phase: "knn", Done: 0, Total: n})
	same := make([]string, n)
	for r, i := range vs.keep {
		same[r] = vs.hashes[i]
	}
	dups, err := findDuplicates(ctx, vs.vectors, n, vs.dim, o.Metric, thr, same, o.knnOptions(DuplicatesGroup, len(vs.ids), vs.dim))
	if err != nil {
		return nil, err
	}
	progress(insights.Progress{Group: DuplicatesGroup, Phase: "knn", Done: n, Total: n})
	vs.vectors = nil
	vs.heap.Hold(resultHeldBytes(len(vs.ids)))

	res := &DuplicatesResult{Embedded: cr.Embedded, Skipped: cr.Skipped}
	count := make([]int, n)
	for _, of := range dups.Of {
		if of >= 0 {
			count[of]++
		}
	}
	rows := make([]db.InsightRow, n)
	for r, i := range vs.keep {
		var fields []db.Field
		if of := dups.Of[r]; of >= 0 {
			j := vs.keep[of]
			exact := vs.hashes[i] != "" && vs.hashes[i] == vs.hashes[j]
			fields = []db.Field{
				{Name: keyDupOf, Value: db.String(vs.ids[j].String())},
				{Name: keyDupDist, Value: db.Float(dups.Dist[r])},
				{Name: keyDupExact, Value: db.Bool(exact)},
			}
			res.Duplicates++
			if exact {
				res.Exact++
			}
		} else {
			fields = []db.Field{{Name: keyDupCount, Value: db.Int(int64(count[r]))}}
		}
		rows[r] = db.InsightRow{ID: vs.ids[i], Values: db.Doc(fields...)}
	}
	if err := publish(ctx, ds, DuplicatesGroup, n, func(r int) db.InsightRow { return rows[r] }, &run, progress); err != nil {
		return nil, err
	}
	res.Run = run
	return res, nil
}

// DuplicatesProvider computes the duplicates group for the insights
// registry. Its options are uniqueness's model, metric, embeddings and
// batch_size, and threshold.
type DuplicatesProvider struct {
	// Models resolves the model option, as Provider does.
	Models Provider
}

// Group implements insights.Provider.
func (p *DuplicatesProvider) Group() string { return DuplicatesGroup }

// Keys are the keys a duplicates run writes: of, dist and exact on each
// duplicate, count on each sample that others duplicate.
func (p *DuplicatesProvider) Keys() []string {
	return []string{keyDupOf, keyDupDist, keyDupExact, keyDupCount}
}

// options turns a request's options into DuplicatesOptions.
func (p *DuplicatesProvider) options(req insights.Request) (DuplicatesOptions, error) {
	var o DuplicatesOptions
	rest := make(map[string]any, len(req.Options))
	for k, v := range req.Options {
		switch k {
		case "threshold":
			f, ok := asFloat(v)
			if !ok || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				return o, fmt.Errorf("%w: threshold must be a finite distance (>= 0), not %v", ErrOption, v)
			}
			o.Threshold = f
		case "k", "weights":
			return o, fmt.Errorf("%w: %s is an option of uniqueness, not of duplicates (known: threshold, model, metric, embeddings, batch_size)", ErrOption, k)
		default:
			rest[k] = v
		}
	}
	co, err := p.Models.options(insights.Request{Options: rest})
	if err != nil {
		return o, err
	}
	o.ComputeOptions = co
	_, err = o.threshold()
	return o, err
}

// Want implements insights.Provider.
func (p *DuplicatesProvider) Want(ctx context.Context, ds *db.Dataset, req insights.Request) (insights.Want, error) {
	o, err := p.options(req)
	if err != nil {
		return insights.Want{}, err
	}
	w, _, _, err := o.want()
	return w, err
}

// Defer implements insights.Deferrer, as Provider.Defer does.
func (p *DuplicatesProvider) Defer(ctx context.Context, ds *db.Dataset, req insights.Request) (string, error) {
	o, err := p.options(req)
	if err != nil {
		return "", nil // Run reports it
	}
	return queueDeferred(ctx, ds, DuplicatesGroup, o.ComputeOptions, o.want)
}

// Run implements insights.Provider.
func (p *DuplicatesProvider) Run(ctx context.Context, ds *db.Dataset, req insights.Request, progress func(insights.Progress)) error {
	o, err := p.options(req)
	if err != nil {
		return err
	}
	o.Progress = progress
	o.OnSkip = p.Models.OnSkip
	_, err = ComputeDuplicates(ctx, ds, o)
	return err
}
