package brain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

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
// sample can duplicate another; the pixel check (ComputeDuplicates'
// default) or DefaultDuplicateRatio then decides whether it does. The
// threshold, the ratio and the pixel check's bounds were chosen by `make
// quality` on real collections (QUALITY.md).
const DefaultDuplicateThreshold = 0.3

// DefaultDuplicateRatio is the default neighbourhood test of a duplicate
// (DuplicateRule.Ratio).
const DefaultDuplicateRatio = 0.4

// DuplicateRule says when a row duplicates a row kept before it.
type DuplicateRule struct {
	// Threshold is the largest distance at which a row can duplicate
	// another.
	Threshold float64
	// Ratio, below 1, asks a duplicate to stand out from its
	// neighbourhood as a copy does: a row at distance d from its nearest
	// kept row j duplicates it only when d <= Ratio·r, where r is the
	// row's distance to its nearest neighbour beyond j that is not
	// another copy of j (one lying farther than 2d from j), looked for
	// among its next 16 neighbours; j itself must be among the row's 16
	// nearest rows. Pictures that merely look alike sit among others as
	// close and fail it; in a set too small to have 16 more neighbours, a
	// row without such a neighbour passes. Rows within a fifteenth of the
	// threshold of each other (0.02 at the default cosine threshold) are
	// duplicates without the test. 1 (or 0, meaning 1) leaves the
	// threshold alone: FiftyOne Brain's rule.
	Ratio float64
}

// ThresholdRule is FiftyOne Brain's rule: threshold alone.
func ThresholdRule(threshold float64) DuplicateRule {
	return DuplicateRule{Threshold: threshold, Ratio: 1}
}

// DefaultDuplicateRule is COMPUTE DUPLICATES' rule for cosine distances.
func DefaultDuplicateRule() DuplicateRule {
	return DuplicateRule{Threshold: DefaultDuplicateThreshold, Ratio: DefaultDuplicateRatio}
}

// check reports a rule FindDuplicates cannot use.
func (r DuplicateRule) check() error {
	if r.Threshold < 0 || math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		return fmt.Errorf("%w: a duplicate threshold is a finite distance (>= 0), not %v", ErrOption, r.Threshold)
	}
	if !(r.Ratio >= 0 && r.Ratio <= 1) {
		return fmt.Errorf("%w: a duplicate ratio is between 0 and 1 (1: the threshold alone), not %v", ErrOption, r.Ratio)
	}
	return nil
}

// neighbourly reports whether r tests the neighbourhood.
func (r DuplicateRule) neighbourly() bool { return r.Ratio > 0 && r.Ratio < 1 }

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
// find_duplicates does, with rule's neighbourhood test added: rows are
// taken in order, and a row whose nearest kept row (kept rows all come
// before it) is within rule.Threshold, and passes rule.Ratio's test,
// becomes a duplicate of it; every other row is kept. Distances are KNN's
// (exact, in float64). The answer is the one complete neighbour lists
// would give: the search starts short and lengthens every list only while
// some row cannot be decided from its own.
func FindDuplicates(ctx context.Context, vectors []float32, n, d int, metric Metric, rule DuplicateRule) (*Duplicates, error) {
	return findDuplicates(ctx, vectors, n, d, metric, rule, nil, KNNOptions{}, nil)
}

// The pixel check's defaults: a candidate pair passes when its score is
// at most DefaultPixelBound and at most DefaultPixelShare times the row's
// score against each of its other near neighbours that is not a copy of
// the candidate.
const (
	DefaultPixelBound = 0.03
	DefaultPixelShare = 0.4
)

// FindDuplicatesWithPixels is FindDuplicates with the neighbourhood test
// made on pixels: below rule.Threshold, a row duplicates the kept row,
// among its first pixelCandidates kept neighbours within its pixelWindow
// nearest, whose picture check scores lowest against its own, when that
// score is at most bound and at most share times its score against every
// other of those neighbours that is not another copy of the candidate (a
// row grouped with it, or one that matches it as a copy does). Rows within
// a fifteenth of the threshold of their nearest kept row are duplicates
// without the check, as under rule.Ratio; rule.Ratio is not used. A
// picture that cannot be read matches nothing.
func FindDuplicatesWithPixels(ctx context.Context, vectors []float32, n, d int, metric Metric, rule DuplicateRule, check *PixelCheck, bound, share float64) (*Duplicates, error) {
	return findDuplicates(ctx, vectors, n, d, metric, rule, nil, KNNOptions{}, newPairCheck(ctx, check, bound, share))
}

// newPairCheck is check as group uses it: a pair whose picture cannot be
// read is no match (pixelNoMatch), and only a cancelled ctx is an error.
func newPairCheck(ctx context.Context, check *PixelCheck, bound, share float64) *pairCheck {
	score := func(i, j int) (float64, error) {
		sc, err := check.Score(ctx, i, j)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return 0, cerr
			}
			return pixelNoMatch, nil
		}
		return sc, nil
	}
	return &pairCheck{raw: score, bound: bound, share: share}
}

// pairCheck is a pixel check as group uses it.
type pairCheck struct {
	raw          func(i, j int) (float64, error)
	bound, share float64
	nb           *Neighbors  // the lists warm scored
	memo         [][]float32 // memo[i][t]: row i against nb's t-th neighbour (NaN: not scored)
	// progress, when set, hears of warm's rows done, at most every half
	// second (as a ticker reports).
	progress func(done, total int)
}

// score is row i's pixel score against row j.
func (c *pairCheck) score(i, j int) (float64, error) {
	if c.memo != nil {
		idx, _ := c.nb.Row(i)
		for t, sc := range c.memo[i] {
			if idx[t] == j && !math.IsNaN(float64(sc)) {
				return float64(sc), nil
			}
		}
	}
	return c.raw(i, j)
}

// warm scores, on every core, each row against the neighbours group may
// check it against: its pixelWindow nearest within threshold, beyond the
// near band.
func (c *pairCheck) warm(ctx context.Context, nb *Neighbors, threshold, near float64) error {
	scores := make([][]float32, nb.N)
	tick := newTicker(c.progress)
	tick.grow(nb.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var fail firstError
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer fail.recoverPanic()
			for i := int(next.Add(1) - 1); i < nb.N; i = int(next.Add(1) - 1) {
				if err := ctx.Err(); err != nil {
					fail.set(err)
					return
				}
				idx, dist := nb.Row(i)
				for t, j := range idx {
					if t >= pixelWindow || dist[t] > threshold {
						break
					}
					sc := math.NaN()
					if dist[t] > near {
						var err error
						if sc, err = c.raw(i, j); err != nil {
							fail.set(err)
							next.Store(int64(nb.N)) // the others stop too
							return
						}
					}
					scores[i] = append(scores[i], float32(sc))
				}
				tick.add(1)
			}
		}()
	}
	wg.Wait()
	if err := fail.get(); err != nil {
		return err
	}
	tick.finish()
	c.nb, c.memo = nb, scores
	return nil
}

// The pixel check's windows: candidates are the first pixelCandidates
// kept rows among a row's pixelWindow nearest.
const (
	pixelWindow     = 8
	pixelCandidates = 4
)

// findDuplicates is FindDuplicates where rows with the same non-empty
// content key (same[i], a file's SHA-256) are always duplicates: a row
// whose key an earlier row has duplicates that row's group (the earlier
// row if it was kept, else the row it duplicates), whatever their vectors.
// same may be nil.
func findDuplicates(ctx context.Context, vectors []float32, n, d int, metric Metric, rule DuplicateRule, same []string, ko KNNOptions, check *pairCheck) (*Duplicates, error) {
	if err := rule.check(); err != nil {
		return nil, err
	}
	if n < 2 {
		return group(&Neighbors{N: n}, rule, same, nil, nil)
	}
	var apart func(u, j int, beyond float64) bool
	if rule.neighbourly() && check == nil {
		apart = farApart(vectors, n, d, metric)
	}
	for k := min(n-1, 2*referenceWindow); ; k = min(n-1, 4*k) {
		nb, err := KNNWith(ctx, vectors, n, d, k, metric, ko)
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check.warm(ctx, nb, rule.Threshold, nearShare*rule.Threshold); err != nil {
				return nil, err
			}
		}
		out, err := group(nb, rule, same, apart, check)
		if err != errShortList || k == n-1 {
			return out, err
		}
	}
}

// errShortList is group's report that some row's list is too short to
// decide it: its neighbours all lie within the threshold and none of them
// is kept (its nearest kept row, if any, is beyond the list), or the
// neighbourhood test's window runs past the list's end.
var errShortList = errors.New("brain: duplicates: a neighbour list too short")

// group is findDuplicates' greedy pass over nb's lists (apart is nil for
// the threshold alone). It returns errShortList, with a partial answer,
// when a list was too short to decide a row; with every other row listed
// (nb.K == nb.N-1) it never does.
func group(nb *Neighbors, rule DuplicateRule, same []string, apart func(u, j int, beyond float64) bool, check *pairCheck) (*Duplicates, error) {
	n, threshold := nb.N, rule.Threshold
	near := nearShare * threshold
	out := &Duplicates{Of: make([]int, n), Dist: make([]float64, n)}
	for i := range out.Of {
		out.Of[i] = -1
	}
	all := nb.K == n-1
	var err error
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
		if check != nil {
			of, dist, known, cerr := checkRow(nb, i, kept, out.Of, all, threshold, near, check)
			if cerr != nil {
				return nil, cerr
			}
			if of >= 0 {
				out.Of[i], out.Dist[i] = of, dist
			}
			if !known {
				err = errShortList
			}
			kept[i] = out.Of[i] < 0
			continue
		}
		decided := all
		for t, j := range idx {
			if dist[t] > threshold || (apart != nil && t >= referenceWindow && dist[t] > near) {
				// Beyond the threshold, or, under the neighbourhood test,
				// beyond the row's referenceWindow nearest rows: only
				// near-identical rows are duplicates that far down.
				decided = true
				break
			}
			if kept[j] { // kept rows all come before i
				pass, known := true, true
				if apart != nil && dist[t] > near {
					pass, known = standsOut(idx, dist, t, all, rule.Ratio, apart)
				}
				if pass {
					out.Of[i], out.Dist[i] = j, dist[t]
				}
				decided = known
				break
			}
		}
		if !decided {
			err = errShortList
		}
		kept[i] = out.Of[i] < 0
	}
	return out, err
}

// checkRow is group's decision for row i under the pixel check: the kept
// row it duplicates (-1 for none) at its distance. known is false when
// i's list is too short to decide.
func checkRow(nb *Neighbors, i int, kept []bool, of []int, all bool, threshold, near float64, check *pairCheck) (dupOf int, d float64, known bool, err error) {
	idx, dist := nb.Row(i)
	var cands []int // positions in idx of kept rows, nearest first
	reach := 0      // how many of idx lie within the window and the threshold
	for t, j := range idx {
		if t >= pixelWindow || dist[t] > threshold {
			break
		}
		reach++
		if kept[j] && len(cands) < pixelCandidates {
			cands = append(cands, t)
		}
	}
	known = all || len(idx) > reach
	if len(cands) == 0 {
		return -1, 0, known, nil
	}
	if first := cands[0]; dist[first] <= near {
		return idx[first], dist[first], true, nil
	}
	if !known {
		return -1, 0, false, nil
	}
	best, bestScore := -1, math.Inf(1)
	for _, t := range cands {
		sc, err := check.score(i, idx[t])
		if err != nil {
			return -1, 0, true, err
		}
		if sc < bestScore {
			best, bestScore = t, sc
		}
	}
	if bestScore > check.bound {
		return -1, 0, true, nil
	}
	j := idx[best]
	for t, k := range idx[:reach] {
		if t == best {
			continue
		}
		sc, err := check.score(i, k)
		if err != nil {
			return -1, 0, true, err
		}
		if bestScore <= check.share*sc || of[k] == j {
			continue // no rival, or a copy already grouped with j
		}
		copyOfJ, err := check.standsOut(nb, k, j, i, threshold)
		if err != nil {
			return -1, 0, true, err
		}
		if !copyOfJ {
			return -1, 0, true, nil
		}
	}
	return j, dist[best], true, nil
}

// standsOut reports whether row k matches row j by the pixel check as a
// copy does: within the bound, and within the share of its score against
// each of its other neighbours (its pixelWindow nearest within threshold,
// row i left out). A neighbour of row i that does is another copy of j,
// not a rival of j.
func (c *pairCheck) standsOut(nb *Neighbors, k, j, i int, threshold float64) (bool, error) {
	kj, err := c.score(k, j)
	if err != nil || kj > c.bound {
		return false, err
	}
	idx, dist := nb.Row(k)
	for t, u := range idx {
		if t >= pixelWindow || dist[t] > threshold {
			break
		}
		if u == i || u == j {
			continue
		}
		ku, err := c.score(k, u)
		if err != nil {
			return false, err
		}
		if kj > c.share*ku {
			return false, nil
		}
	}
	return true, nil
}

// The neighbourhood test's constants: a row within nearShare of the
// threshold of its candidate always duplicates it; otherwise the candidate
// must be among the row's referenceWindow nearest rows, and the test looks
// for the reference among the next referenceWindow neighbours, passing over
// those within groupSpan times the row's distance of the candidate (other
// copies of it).
const (
	nearShare       = 1.0 / 15
	referenceWindow = 16
	groupSpan       = 2.0
)

// standsOut is DuplicateRule.Ratio's test of a row whose neighbours are
// idx at distances dist, against its candidate idx[t] at distance d: the
// reference is the first of the next referenceWindow neighbours that lies
// farther than groupSpan·d from the candidate, and d must be at most
// ratio times the row's distance to it. A row whose whole window is that
// near the candidate sits in a crowd of look-alikes and fails; one whose
// list holds every other row (all) and is shorter than the window, in a
// small set, has no crowd to stand out from, and passes. known is false
// when the list ends inside the window without holding every row: the
// test needs a longer list.
func standsOut(idx []int, dist []float64, t int, all bool, ratio float64, apart func(u, j int, beyond float64) bool) (pass, known bool) {
	d, j := dist[t], idx[t]
	end := t + 1 + referenceWindow
	for s := t + 1; s < min(len(idx), end); s++ {
		if apart(idx[s], j, groupSpan*d) {
			return d <= ratio*dist[s], true
		}
	}
	if len(idx) >= end {
		return false, true
	}
	return all, all
}

// farApart returns a test of whether rows u and j of vectors lie farther
// apart than beyond under metric (cosine distance on mean-centred rows,
// as KNN measures it), computed in float64 without a copy of the rows.
func farApart(vectors []float32, n, d int, metric Metric) func(u, j int, beyond float64) bool {
	row := func(i int) []float32 { return vectors[i*d : (i+1)*d] }
	if metric == Euclidean {
		return func(u, j int, beyond float64) bool { return euclideanDistance(row(u), row(j)) > beyond }
	}
	mean := columnMean(vectors, n, d)
	return func(u, j int, beyond float64) bool {
		var ab, aa, bb float64
		a, b := row(u), row(j)
		for t, m := range mean {
			x, y := float64(a[t])-m, float64(b[t])-m
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if aa == 0 || bb == 0 {
			return (aa == 0) != (bb == 0) && beyond < 1
		}
		return cosineFromSums(ab, aa, bb) > beyond
	}
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
	// Ratio is DuplicateRule.Ratio; 0 means DefaultDuplicateRatio. A
	// ratio given turns the pixel check off: the neighbourhood is then
	// tested on the embeddings.
	Ratio float64
	// NoPixels turns the pixel check off (see FindDuplicatesWithPixels):
	// the neighbourhood is tested on the embeddings, by Ratio. The check
	// is also off for embeddings read from a field (EmbeddingsField).
	NoPixels bool
}

// pixels reports whether the run checks candidate pairs' pixels.
func (o DuplicatesOptions) pixels() bool {
	return !o.NoPixels && o.Ratio == 0 && o.EmbeddingsField == ""
}

// DuplicatesResult summarises a finished duplicates run.
type DuplicatesResult struct {
	Run        db.RunRecord
	Duplicates int // samples found to duplicate another
	Exact      int // of which byte-for-byte copies
	Embedded   int // images embedded by this run (the rest were stored)
	Skipped    int // samples without a vector
}

// rule returns the rule to use, or an error when the metric needs a
// threshold given.
func (o DuplicatesOptions) rule() (DuplicateRule, error) {
	r := DuplicateRule{Threshold: o.Threshold, Ratio: o.Ratio}
	if r.Ratio == 0 {
		r.Ratio = DefaultDuplicateRatio
	}
	switch {
	case o.Threshold == 0 && o.Metric != Cosine:
		return r, fmt.Errorf("%w: give a threshold for %s distances (the default, %v, is a cosine distance)", ErrOption, o.Metric, DefaultDuplicateThreshold)
	case o.Threshold == 0:
		r.Threshold = DefaultDuplicateThreshold
	}
	return r, r.check()
}

// want resolves the options into the identity of the run they ask for.
func (o DuplicatesOptions) want() (insights.Want, ModelSpec, []byte, error) {
	r, err := o.rule()
	if err != nil {
		return insights.Want{}, ModelSpec{}, nil, err
	}
	if err := o.ComputeOptions.validate(); err != nil {
		return insights.Want{}, ModelSpec{}, nil, err
	}
	if o.pixels() {
		return o.identity(map[string]any{"threshold": r.Threshold, "pixels": "on"})
	}
	return o.identity(map[string]any{"threshold": r.Threshold, "ratio": r.Ratio})
}

// ComputeDuplicates embeds every sample of ds (reusing embeddings stored
// for the same model, as uniqueness runs do), groups near-duplicates in id
// order with FindDuplicatesWithPixels, reading the samples' pictures for
// the pixel check (FindDuplicates' embedding rule when o turns the check
// off), always grouping samples whose files have the same SHA-256
// (metadata.sha256) as exact duplicates, and stores insights.duplicates
// with a run record. As with uniqueness, the new values become visible
// together when the run completes, and a cancelled or failed run changes
// nothing.
func ComputeDuplicates(ctx context.Context, ds *db.Dataset, o DuplicatesOptions) (*DuplicatesResult, error) {
	progress := o.progress()
	rule, err := o.rule()
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
	var check *pairCheck
	if o.pixels() {
		if check, err = datasetPixelCheck(ctx, ds, vs, progress); err != nil {
			return nil, err
		}
	}
	dups, err := findDuplicates(ctx, vs.vectors, n, vs.dim, o.Metric, rule, same, o.knnOptions(DuplicatesGroup, len(vs.ids), vs.dim), check)
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

// datasetPixelCheck is the pixel check of a run over vs: row r's picture
// is its sample's file, looked up by id when first needed. A pair whose
// picture cannot be read is no match (newPairCheck): the run goes on.
func datasetPixelCheck(ctx context.Context, ds *db.Dataset, vs *vectorSet, progress func(insights.Progress)) (*pairCheck, error) {
	endpoint, err := ds.MediaEndpoint()
	if err != nil {
		return nil, err
	}
	pc := NewPixelCheck(func(ctx context.Context, row int) (io.ReadCloser, error) {
		s, err := ds.Get(vs.ids[vs.keep[row]])
		if err != nil {
			return nil, err
		}
		return Stored{Path: s.Filepath(), Endpoint: endpoint}.Open(ctx)
	})
	check := newPairCheck(ctx, pc, DefaultPixelBound, DefaultPixelShare)
	check.progress = func(done, total int) {
		progress(insights.Progress{Group: DuplicatesGroup, Phase: "pixels", Done: done, Total: total})
	}
	return check, nil
}

// DuplicatesProvider computes the duplicates group for the insights
// registry. Its options are uniqueness's model, metric, embeddings and
// batch_size, and threshold, ratio and pixels (on or off).
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
		case "ratio":
			f, ok := asFloat(v)
			if !ok || !(f > 0 && f <= 1) {
				return o, fmt.Errorf("%w: ratio is a number in (0, 1] (1: the threshold alone), not %v", ErrOption, v)
			}
			o.Ratio = f
		case "pixels":
			on, ok := asBool(v)
			if w, isWord := v.(string); isWord && !ok {
				w = strings.ToLower(strings.TrimSpace(w))
				on, ok = w == "on", w == "on" || w == "off"
			}
			if !ok {
				return o, fmt.Errorf("%w: pixels is on or off, not %v", ErrOption, v)
			}
			o.NoPixels = !on
		case "k", "weights":
			return o, fmt.Errorf("%w: %s is an option of uniqueness, not of duplicates (known: threshold, ratio, pixels, model, metric, embeddings, batch_size)", ErrOption, k)
		default:
			rest[k] = v
		}
	}
	co, err := p.Models.options(insights.Request{Options: rest})
	if err != nil {
		return o, err
	}
	o.ComputeOptions = co
	_, err = o.rule()
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
