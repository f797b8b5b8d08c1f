package brain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Metric is the distance KNN uses.
type Metric int

// Metrics.
const (
	// Cosine is 1 - cos(a, b) between mean-centred vectors (the mean of
	// all rows is subtracted first), as FiftyOne Brain's default. A row equal
	// to the mean has distance 1 to every other row but its copies, which
	// are at distance 0 as copies are under any metric.
	Cosine Metric = iota
	// Euclidean is the L2 distance between the raw vectors.
	Euclidean
)

// String returns "cosine" or "euclidean".
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case Euclidean:
		return "euclidean"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ErrUnknownMetric is returned by ParseMetric and KNN for a metric they do
// not know.
var ErrUnknownMetric = errors.New("brain: unknown metric")

// ParseMetric parses "cosine" or "euclidean" (any case).
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cosine":
		return Cosine, nil
	case "euclidean", "l2":
		return Euclidean, nil
	}
	return 0, fmt.Errorf("%w %q (want cosine or euclidean)", ErrUnknownMetric, s)
}

// Neighbors holds each row's nearest other rows, nearest first.
type Neighbors struct {
	// N is the number of rows; K the number of neighbours kept per row:
	// the k asked for, or N-1 when there are not that many other rows.
	N, K int
	// Indices[i*K+j] is row i's j-th nearest other row.
	Indices []int
	// Distances[i*K+j] is its distance, computed exactly in float64.
	Distances []float64
	// Scale is the size of the space the distances live in, against which
	// rounding noise is judged (ScoreEpsilon): 1 for Cosine, the largest
	// row norm for Euclidean. 0 counts as 1.
	Scale float64
	// Index is the approximate index the search built (nil when it was
	// exact), to store and reuse for queries by one vector.
	Index *IVF
}

// Row returns row i's neighbour indices and distances.
func (nb *Neighbors) Row(i int) ([]int, []float64) {
	return nb.Indices[i*nb.K : (i+1)*nb.K], nb.Distances[i*nb.K : (i+1)*nb.K]
}

// Nearest returns row i's nearest other row and its distance; ok is false
// when there is no other row.
func (nb *Neighbors) Nearest(i int) (j int, dist float64, ok bool) {
	if nb.K == 0 {
		return -1, 0, false
	}
	return nb.Indices[i*nb.K], nb.Distances[i*nb.K], true
}

// knnExtra is how many candidates beyond k+1 the graph returns per row, so
// that float32 ranking errors and self falling out among exact duplicates do
// not lose a true neighbour after the exact re-ranking.
const knnExtra = 4

// KNN finds, for each of the n rows of vectors (n x d float32, row-major),
// its k nearest other rows under metric, as KNNWith does with default
// options: exact up to the size where that takes minutes, through the
// approximate index above it.
func KNN(ctx context.Context, vectors []float32, n, d, k int, metric Metric) (*Neighbors, error) {
	return KNNWith(ctx, vectors, n, d, k, metric, KNNOptions{})
}

// KNNOptions tune KNNWith.
type KNNOptions struct {
	// Progress, when set, receives the work done of the total (exact: pairs
	// of row blocks; approximate: rows assigned, then rows searched, as
	// one count), at least every half second while the search runs and
	// once at its end.
	Progress func(done, total int)
	// Memory bounds the bytes the search allocates besides the vectors it
	// is given; 0 means no bound. Block sizes shrink to fit it, and a
	// search that cannot fit fails at once with an error wrapping
	// ErrMemory that says what it needs.
	Memory int64
	// Exact forces the exact search at any size; Approximate forces the
	// approximate index (IVF) at any size. By default the search is exact
	// while n*n*d is at most ExactWork.
	Exact, Approximate bool
	// InPlace lets the search overwrite vectors (Cosine centres and
	// normalises them there), which saves a copy of them.
	InPlace bool
}

// ExactWork is the largest n*n*d searched exactly by default: about three
// minutes of exact search on the 2-core machine of BENCHMARKS.md (a
// 300,000 x 128 or 150,000 x 512 search). Above it the approximate index
// is used.
const ExactWork = 1.1e13

// exactWork is ExactWork, lowered by tests to reach the approximate index
// with small data.
var exactWork = ExactWork

// approximate tells whether a search of n rows of d values uses the
// approximate index.
func (o KNNOptions) approximate(n, d int) bool {
	if o.Exact || n < ivfMinRows {
		return false
	}
	return o.Approximate || float64(n)*float64(n)*float64(d) > exactWork
}

// KNNWith finds, for each of the n rows of vectors (n x d float32,
// row-major), its k nearest other rows under metric. A row is never its
// own neighbour, but an identical row is, at distance 0. Candidates come
// from float32 GEMMs run by ONNX Runtime — exactly, over pairs of row
// blocks in the upper triangle of the distance matrix (it is symmetric),
// or through an inverted-file index (IVF) when the search is approximate
// — so memory stays O(n*k) plus blocks, never n x n; the candidates'
// distances are then recomputed exactly in float64 and re-sorted, so an
// exact search matches scikit-learn's brute-force NearestNeighbors. With
// n <= k every row gets all n-1 others. It starts ONNX Runtime if needed
// and uses all cores.
func KNNWith(ctx context.Context, vectors []float32, n, d, k int, metric Metric, o KNNOptions) (*Neighbors, error) {
	switch {
	case n < 0 || d <= 0 || k <= 0:
		return nil, fmt.Errorf("brain: KNN: bad sizes n=%d d=%d k=%d", n, d, k)
	case len(vectors) != n*d:
		return nil, fmt.Errorf("brain: KNN: %d values for %d x %d", len(vectors), n, d)
	case metric != Cosine && metric != Euclidean:
		return nil, fmt.Errorf("brain: KNN: %w %v", ErrUnknownMetric, metric)
	}
	if err := CheckVectors(vectors, d, func(row int) string { return fmt.Sprintf("row %d", row) }); err != nil {
		return nil, fmt.Errorf("brain: KNN: %w", err)
	}
	kk := min(k, max(n-1, 0))
	approx := o.approximate(n, d)
	plan, err := planKNN(n, d, kk, metric, approx, o.InPlace, o.Memory)
	if err != nil {
		return nil, err
	}
	nb := &Neighbors{N: n, K: kk, Indices: make([]int, n*kk), Distances: make([]float64, n*kk), Scale: 1}
	if metric == Euclidean {
		nb.Scale = maxNorm(vectors, n, d)
	}
	if kk == 0 {
		return nb, ctx.Err()
	}

	// x is what the GEMMs see: the raw rows for Euclidean, the centred rows
	// scaled to unit length for Cosine (where squared L2 ranks like cosine
	// distance). Exact distances are then taken from the raw rows or from x.
	x := vectors
	var norms []float64
	if metric == Cosine {
		if o.InPlace {
			norms = centreAndNormaliseInPlace(vectors, n, d)
		} else {
			x, norms = centreAndNormalise(vectors, n, d)
		}
	}
	exact := exactDistance(vectors, x, norms, n, d, metric)

	cand := min(n, kk+1+knnExtra)
	tick := newTicker(o.Progress)
	tick.grow(plan.work(n))
	tick.add(0) // the phase has begun: report it at once
	var lists *candLists
	if approx {
		lists, nb.Index, err = ivfCandidates(ctx, x, n, d, cand, plan, tick)
	} else {
		lists, err = knnCandidates(ctx, x, n, d, cand, plan.block, tick)
	}
	if err != nil {
		return nil, err
	}
	if err := rerank(ctx, lists, nb, exact); err != nil {
		return nil, err
	}
	tick.finish()
	return nb, nil
}

// rerank fills nb with each row's kk nearest candidates by their exact
// distance, in parallel over rows.
func rerank(ctx context.Context, lists *candLists, nb *Neighbors, exact func(i, j int) float64) error {
	n, kk, per := nb.N, nb.K, lists.cand
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var fail firstError
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			defer fail.recoverPanic()
			type pair struct {
				j int
				d float64
			}
			buf := make([]pair, 0, per)
			for i := w; i < n; i += workers {
				if i%1024 == w && ctx.Err() != nil {
					return
				}
				buf = buf[:0]
				for _, j := range lists.i[i*per : i*per+int(lists.size[i])] {
					if int(j) == i {
						continue
					}
					buf = append(buf, pair{int(j), exact(i, int(j))})
				}
				slices.SortFunc(buf, func(a, b pair) int {
					if c := cmp.Compare(a.d, b.d); c != 0 {
						return c
					}
					return cmp.Compare(a.j, b.j)
				})
				buf = slices.CompactFunc(buf, func(a, b pair) bool { return a.j == b.j })
				if len(buf) < kk {
					fail.set(fmt.Errorf("brain: KNN: row %d has %d candidate neighbours, want %d", i, len(buf), kk))
					return
				}
				for t := 0; t < kk; t++ {
					nb.Indices[i*kk+t] = buf[t].j
					nb.Distances[i*kk+t] = buf[t].d
				}
			}
		}(w)
	}
	wg.Wait()
	if err := fail.get(); err != nil {
		return err
	}
	return ctx.Err()
}

// maxNorm is the largest L2 norm of the n rows of v (d values each).
func maxNorm(v []float32, n, d int) float64 {
	m := 0.0
	for i := 0; i < n; i++ {
		var s float64
		for _, x := range v[i*d : (i+1)*d] {
			s += float64(x) * float64(x)
		}
		m = max(m, math.Sqrt(s))
	}
	return m
}

// centreAndNormalise returns the rows minus their column mean, scaled to unit
// length (zero rows stay zero), and the centred rows' float64 norms.
func centreAndNormalise(v []float32, n, d int) ([]float32, []float64) {
	mean := columnMean(v, n, d)
	out := make([]float32, n*d)
	norms := make([]float64, n)
	for i := 0; i < n; i++ {
		norms[i] = unitRow(v[i*d:(i+1)*d], mean, out[i*d:(i+1)*d])
	}
	return out, norms
}

// centreAndNormaliseInPlace is centreAndNormalise writing over v: each
// value is read before it is written.
func centreAndNormaliseInPlace(v []float32, n, d int) []float64 {
	mean := columnMean(v, n, d)
	norms := make([]float64, n)
	for i := 0; i < n; i++ {
		row := v[i*d : (i+1)*d]
		if norms[i] = unitRow(row, mean, row); norms[i] == 0 {
			clear(row)
		}
	}
	return norms
}

// columnMean is the float64 mean of the n rows of v (d values each).
func columnMean(v []float32, n, d int) []float64 {
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		row := v[i*d : (i+1)*d]
		for j, x := range row {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	return mean
}

// unitRow writes row minus mean, scaled to unit length, into out (left as
// it is, zero for a fresh slice, when the centred row is zero) and returns
// the centred row's length.
func unitRow(row []float32, mean []float64, out []float32) float64 {
	var s float64
	for j, x := range row {
		c := float64(x) - mean[j]
		s += c * c
	}
	norm := math.Sqrt(s)
	if norm == 0 {
		return 0
	}
	for j, x := range row {
		out[j] = float32((float64(x) - mean[j]) / norm)
	}
	return norm
}

// exactDistance returns the float64 distance between rows i and j. For
// cosine, unit holds the centred rows scaled to unit length and norms their
// lengths before scaling.
func exactDistance(raw, unit []float32, norms []float64, n, d int, metric Metric) func(i, j int) float64 {
	if metric == Euclidean {
		return func(i, j int) float64 {
			return euclideanDistance(raw[i*d:(i+1)*d], raw[j*d:(j+1)*d])
		}
	}
	return func(i, j int) float64 {
		return cosineDistance(unit[i*d:(i+1)*d], unit[j*d:(j+1)*d], norms[i], norms[j])
	}
}

// euclideanDistance is the L2 distance between a and b, in float64.
func euclideanDistance(a, b []float32) float64 {
	var s float64
	for t := range a {
		e := float64(a[t]) - float64(b[t])
		s += e * e
	}
	return math.Sqrt(s)
}

// cosineDistance is 1 - cos between two centred rows given at unit length
// (a and b) with their lengths before scaling (na, nb), in float64 and
// clamped to [0, 2]. A zero row is the mean itself: at distance 0 from
// another zero row and 1 from any other.
func cosineDistance(a, b []float32, na, nb float64) float64 {
	if na == 0 && nb == 0 {
		return 0 // both equal to the mean: the same vector
	}
	if na == 0 || nb == 0 {
		return 1
	}
	var s, sa, sb float64
	for t := range a {
		x, y := float64(a[t]), float64(b[t])
		s += x * y
		sa += x * x
		sb += y * y
	}
	return cosineFromSums(s, sa, sb)
}

// cosineFromSums is cosineDistance from the sums it takes over two
// non-zero rows: a·b, a·a and b·b.
func cosineFromSums(ab, aa, bb float64) float64 {
	c := 1 - ab/math.Sqrt(aa*bb)
	return min(max(c, 0), 2)
}

// dot64 is a·b summed in float64, in index order (the order
// cosineDistance sums in, so that sums agree to the bit).
func dot64(a, b []float32) float64 {
	var s float64
	for t := range a {
		s += float64(a[t]) * float64(b[t])
	}
	return s
}

// knnCandidates returns, for each row, cand candidate neighbours (indices,
// self possibly among them): the rows with the smallest squared L2 distance
// to it as computed in float32.
//
// The distance matrix is symmetric, so only block pairs (I, J) with J >= I
// are computed. ONNX Runtime computes each [bI x bJ] block of squared
// distances as one GEMM over augmented rows ([q, |q|², 1] · [-2x, 1, |x|²])
// straight into a Go buffer; Go goroutines then scan the block once by rows
// (candidates for the rows of I) and once by columns (for the rows of J),
// keeping a small sorted list per row. A scan is a compare against the
// row's current worst candidate, cheaper than ONNX Runtime's TopK and
// Transpose on the same block, which matters when d is small.
func knnCandidates(ctx context.Context, x []float32, n, d, cand, block int, tick *ticker) (*candLists, error) {
	qa, xa := augment(x, n, d)
	da := d + 2
	block = max(1, min(n, block))
	sess, err := newPairSession(da)
	if err != nil {
		return nil, err
	}
	defer sess.Destroy()

	lists := newCandLists(n, cand)
	buf := make([]float32, block*block)
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += block {
		bi := min(block, n-lo)
		q, err := ort.NewTensor(ort.NewShape(int64(bi), int64(da)), qa[lo*da:(lo+bi)*da])
		if err != nil {
			return nil, fmt.Errorf("brain: KNN: %w", err)
		}
		for lo2 := lo; lo2 < n; lo2 += block {
			if err := ctx.Err(); err != nil {
				q.Destroy()
				return nil, err
			}
			bj := min(block, n-lo2)
			err := runDistBlock(sess, q, xa[lo2*da:(lo2+bj)*da], bi, bj, da, buf[:bi*bj])
			if err != nil {
				q.Destroy()
				return nil, err
			}
			if err := lists.scanBlock(buf[:bi*bj], bi, bj, lo, lo2, workers); err != nil {
				q.Destroy()
				return nil, err
			}
			tick.add(1)
		}
		q.Destroy()
	}
	return lists, nil
}

// newPairSession starts ONNX Runtime if needed and opens a session of the
// block-pair distance graph over rows of da augmented values.
func newPairSession(da int) (*ort.DynamicAdvancedSession, error) {
	if err := InitRuntime(); err != nil {
		return nil, err
	}
	model, err := knnPairGraph(da)
	if err != nil {
		return nil, err
	}
	// No spinning: between GEMMs the Go scan needs the cores.
	opts, err := newSessionOptions(sessionConfig{spin: false})
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"q", "x"}, []string{"dist"}, opts)
	if err != nil {
		return nil, fmt.Errorf("brain: KNN: create session: %w", err)
	}
	return sess, nil
}

// runDistBlock runs the distance graph for one block pair, writing the
// [bi x bj] squared distances into out.
func runDistBlock(sess *ort.DynamicAdvancedSession, q *ort.Tensor[float32], xrows []float32, bi, bj, da int, out []float32) error {
	xt, err := ort.NewTensor(ort.NewShape(int64(bj), int64(da)), xrows)
	if err != nil {
		return fmt.Errorf("brain: KNN: %w", err)
	}
	defer xt.Destroy()
	dt, err := ort.NewTensor(ort.NewShape(int64(bi), int64(bj)), out)
	if err != nil {
		return fmt.Errorf("brain: KNN: %w", err)
	}
	defer dt.Destroy()
	if err := sess.Run([]ort.Value{q, xt}, []ort.Value{dt}); err != nil {
		return fmt.Errorf("brain: KNN: %w", err)
	}
	return nil
}

// knnBlockRows is the number of rows per block: large enough for an
// efficient GEMM, small enough that a block's [rows x rows] distances stay
// small (4 MiB). A memory bound can make it smaller. Tests lower it to
// exercise many blocks.
var knnBlockRows = 1024

// augment returns [x, |x|², 1] and [-2x, 1, |x|²] rows (d+2 columns) of x
// after subtracting the column mean (distances do not change, float32
// cancellation does). Rows whose squared norms would overflow float32 are
// scaled down first: candidates are ranked by distance, and a common
// factor does not change the ranking.
func augment(x []float32, n, d int) (qa, xa []float32) {
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	scale := 1.0
	big := 0.0
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			big = max(big, math.Abs(float64(v)-mean[j]))
		}
	}
	// |x|² of the centred rows stays far below float32's maximum (3.4e38)
	// when every value is at most 1e15 / sqrt(d).
	if limit := 1e15 / math.Sqrt(float64(d)); big > limit {
		scale = limit / big
	}
	da := d + 2
	qa = make([]float32, n*da)
	xa = make([]float32, n*da)
	for i := 0; i < n; i++ {
		var sq float64
		q, xr := qa[i*da:(i+1)*da], xa[i*da:(i+1)*da]
		for j, v := range x[i*d : (i+1)*d] {
			c := (float64(v) - mean[j]) * scale
			sq += c * c
			q[j] = float32(c)
			xr[j] = float32(-2 * c)
		}
		q[d], q[d+1] = float32(sq), 1
		xr[d], xr[d+1] = 1, float32(sq)
	}
	return qa, xa
}

// knnPairGraph builds the block-pair graph: dist = q·xᵀ, the squared
// distances between the augmented rows of two blocks.
func knnPairGraph(da int) ([]byte, error) {
	b := newGraph("fosql_knn_pair")
	b.input("q", []int64{-1, int64(da)}, "rows")
	b.input("x", []int64{-1, int64(da)}, "cols")
	b.node("Gemm", []string{"q", "x"}, "dist", attrInt("transB", 1))
	b.output("dist", 1 /* FLOAT */, []int64{-1, -1}, "")
	return b.model("fosql")
}

// candLists keeps, per row, the cand smallest (distance, index) pairs seen,
// sorted ascending.
type candLists struct {
	cand int
	d    []float32
	i    []int32
	size []int32
}

func newCandLists(n, cand int) *candLists {
	return &candLists{cand: cand, d: make([]float32, n*cand), i: make([]int32, n*cand), size: make([]int32, n)}
}

func (c *candLists) add(row int, dist float32, idx int32) {
	base := row * c.cand
	sz := int(c.size[row])
	ds, is := c.d[base:base+c.cand], c.i[base:base+c.cand]
	if sz == c.cand && dist >= ds[sz-1] {
		return
	}
	if slices.Contains(is[:sz], idx) {
		return // offered twice, as the approximate search may
	}
	if sz == c.cand {
		sz--
	} else {
		c.size[row]++
	}
	p := sz
	for p > 0 && ds[p-1] > dist {
		ds[p], is[p] = ds[p-1], is[p-1]
		p--
	}
	ds[p], is[p] = dist, idx
}

// worst is the distance a new candidate of row must beat.
func (c *candLists) worst(row int) float32 {
	if int(c.size[row]) < c.cand {
		return float32(math.Inf(1))
	}
	return c.d[row*c.cand+c.cand-1]
}

// scanBlock offers every entry of a [bi x bj] distance block between rows
// lo.. and lo2.. to both rows' lists: by rows for the rows of the first
// block and, off the diagonal, by columns for the rows of the second. The
// workers split rows and columns, so no two touch the same list.
func (c *candLists) scanBlock(dist []float32, bi, bj, lo, lo2, workers int) error {
	var wg sync.WaitGroup
	var fail firstError
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			defer fail.recoverPanic()
			for r := w * bi / workers; r < (w+1)*bi/workers; r++ {
				row := dist[r*bj : (r+1)*bj]
				thr := c.worst(lo + r)
				for j, v := range row {
					if v < thr {
						c.add(lo+r, v, int32(lo2+j))
						thr = c.worst(lo + r)
					}
				}
			}
			if lo2 == lo {
				return
			}
			c0, c1 := w*bj/workers, (w+1)*bj/workers
			if c0 == c1 {
				return
			}
			thr := make([]float32, c1-c0)
			for j := range thr {
				thr[j] = c.worst(lo2 + c0 + j)
			}
			for r := 0; r < bi; r++ {
				seg := dist[r*bj+c0 : r*bj+c1]
				for j, v := range seg {
					if v < thr[j] {
						c.add(lo2+c0+j, v, int32(lo+r))
						thr[j] = c.worst(lo2 + c0 + j)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	return fail.get()
}
