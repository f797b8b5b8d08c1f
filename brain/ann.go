package brain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// The approximate k-NN is an inverted-file index (IVF), written here on
// the same ONNX Runtime GEMM as the exact search:
//
//  1. k-means (ivfIters iterations, on ivfSamplePerList rows per list)
//     places plan.lists centroids among the rows;
//  2. every row is assigned to its plan.probe nearest centroids: the first
//     is its list, the others are lists it searches besides its own;
//  3. list by list, the rows that search a list (its probers) meet its
//     members in one GEMM of squared distances, offered both ways: each
//     prober gets the members as candidates and each member the probers,
//     so a pair is found when either row searches the other's list;
//  4. the caller recomputes the candidates' distances exactly.
//
// Work is about n * probe * (n / lists) * d instead of n * n * d / 2, so a
// million rows take minutes, not hours; recall@3 is measured in
// BENCHMARKS.md. Rows are centred on the column mean before the GEMMs,
// as in the exact search, so float32 rounding ranks well.

// ivfCandidates returns each row's cand candidate neighbours found through
// an IVF index over x (n x d): the rows with the smallest float32 squared
// distances among those the index offers it. Rows the index offers fewer
// than cand others get theirs from every row.
func ivfCandidates(ctx context.Context, x []float32, n, d, cand int, plan knnPlan, tick *ticker) (*candLists, *IVF, error) {
	da := d + 2
	sess, err := newPairSession(da)
	if err != nil {
		return nil, nil, err
	}
	defer sess.Destroy()
	g := &ivfGEMM{sess: sess, x: x, d: d, mean: columnMean32(x, n, d), workers: runtime.GOMAXPROCS(0)}
	g.sq = g.squaredNorms(n)

	lists, probe := plan.lists, plan.probe
	cent, err := g.train(ctx, n, lists, plan.sample, plan.chunk, tick)
	if err != nil {
		return nil, nil, err
	}
	// Each row's probe nearest centroids, nearest first.
	probes, err := g.nearestCentroids(ctx, nil, n, cent, lists, probe, plan.chunk, tick)
	if err != nil {
		return nil, nil, err
	}
	ivf := &IVF{Dim: d, Lists: lists, Mean: g.mean, Centroids: cent, List: make([]int32, n)}
	for i := range ivf.List {
		ivf.List[i] = probes[i*probe]
	}
	members := invert(lists, n, func(yield func(list, row int32)) {
		for i := 0; i < n; i++ {
			yield(probes[i*probe], int32(i))
		}
	})
	probers := invert(lists, n*probe, func(yield func(list, row int32)) {
		for i, c := range probes {
			yield(c, int32(i/probe))
		}
	})
	probes = nil

	out := newCandLists(n, cand)
	chunk := plan.chunk
	qa := make([]float32, chunk*da)
	ma := make([]float32, chunk*da)
	dist := make([]float32, chunk*chunk)
	for c := 0; c < lists; c++ {
		mem, pro := members.list(c), probers.list(c)
		for m0 := 0; m0 < len(mem); m0 += chunk {
			ms := mem[m0:min(m0+chunk, len(mem))]
			g.augment(ma, ms, false)
			for q0 := 0; q0 < len(pro); q0 += chunk {
				if err := ctx.Err(); err != nil {
					return nil, nil, err
				}
				qs := pro[q0:min(q0+chunk, len(pro))]
				g.augment(qa, qs, true)
				if err := runGEMM(sess, qa[:len(qs)*da], len(qs), ma[:len(ms)*da], len(ms), da, dist[:len(qs)*len(ms)]); err != nil {
					return nil, nil, err
				}
				if err := out.scanPairs(dist[:len(qs)*len(ms)], qs, ms, g.workers); err != nil {
					return nil, nil, err
				}
				if m0 == 0 {
					tick.add(len(qs))
				}
			}
		}
	}
	g.fillShort(ctx, out)
	return out, ivf, ctx.Err()
}

// ivfGEMM holds what the IVF's GEMMs read: the rows, their column mean
// and centred squared norms, and the session.
type ivfGEMM struct {
	sess    *ort.DynamicAdvancedSession
	x       []float32
	d       int
	mean    []float32
	sq      []float32
	workers int
}

// columnMean32 is columnMean rounded to float32.
func columnMean32(x []float32, n, d int) []float32 {
	m := columnMean(x, n, d)
	out := make([]float32, d)
	for j, v := range m {
		out[j] = float32(v)
	}
	return out
}

// squaredNorms is |x_i - mean|² of every row.
func (g *ivfGEMM) squaredNorms(n int) []float32 {
	sq := make([]float32, n)
	for i := range sq {
		var s float64
		for j, v := range g.x[i*g.d : (i+1)*g.d] {
			c := float64(v - g.mean[j])
			s += c * c
		}
		sq[i] = float32(s)
	}
	return sq
}

// augment writes the centred rows of x listed in rows into dst as
// augmented rows: [c, |c|², 1] for queries, [-2c, 1, |c|²] for the other
// side, so that their product is the squared distance.
func (g *ivfGEMM) augment(dst []float32, rows []int32, query bool) {
	d, da := g.d, g.d+2
	for r, i := range rows {
		out := dst[r*da : (r+1)*da]
		src := g.x[int(i)*d : (int(i)+1)*d]
		if query {
			for j, v := range src {
				out[j] = v - g.mean[j]
			}
			out[d], out[d+1] = g.sq[i], 1
		} else {
			for j, v := range src {
				out[j] = -2 * (v - g.mean[j])
			}
			out[d], out[d+1] = 1, g.sq[i]
		}
	}
}

// augmentDense is augment for rows of centred values given whole (the
// centroids, the training sample), with their squared norms computed here.
func augmentDense(dst, rows []float32, count, d int, query bool) {
	da := d + 2
	for r := 0; r < count; r++ {
		src, out := rows[r*d:(r+1)*d], dst[r*da:(r+1)*da]
		var s float64
		for j, v := range src {
			s += float64(v) * float64(v)
			if query {
				out[j] = v
			} else {
				out[j] = -2 * v
			}
		}
		if query {
			out[d], out[d+1] = float32(s), 1
		} else {
			out[d], out[d+1] = 1, float32(s)
		}
	}
}

// train places lists centroids (centred space, lists x d) by k-means over
// sample rows spread evenly over the n rows.
func (g *ivfGEMM) train(ctx context.Context, n, lists, sample, chunk int, tick *ticker) ([]float32, error) {
	d := g.d
	rows := make([]float32, sample*d)
	for s := 0; s < sample; s++ {
		i := int(int64(s) * int64(n) / int64(sample))
		for j, v := range g.x[i*d : (i+1)*d] {
			rows[s*d+j] = v - g.mean[j]
		}
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(lists)))
	cent := make([]float32, lists*d)
	for c, s := range rng.Perm(sample)[:lists] {
		copy(cent[c*d:(c+1)*d], rows[s*d:(s+1)*d])
	}
	sum := make([]float64, lists*d)
	count := make([]int, lists)
	for it := 0; it < ivfIters; it++ {
		assign, err := g.nearestCentroids(ctx, rows, sample, cent, lists, 1, chunk, tick)
		if err != nil {
			return nil, err
		}
		clear(sum)
		clear(count)
		for s, c := range assign {
			count[c]++
			acc := sum[int(c)*d : (int(c)+1)*d]
			for j, v := range rows[s*d : (s+1)*d] {
				acc[j] += float64(v)
			}
		}
		for c := 0; c < lists; c++ {
			if count[c] == 0 { // an empty list starts again at a random row
				s := rng.IntN(sample)
				copy(cent[c*d:(c+1)*d], rows[s*d:(s+1)*d])
				continue
			}
			for j := 0; j < d; j++ {
				cent[c*d+j] = float32(sum[c*d+j] / float64(count[c]))
			}
		}
	}
	return cent, nil
}

// nearestCentroids returns the p nearest centroids of each of count rows,
// nearest first (count x p): of the dense centred rows when rows is not
// nil, else of the first count rows of x.
func (g *ivfGEMM) nearestCentroids(ctx context.Context, rows []float32, count int, cent []float32, lists, p, chunk int, tick *ticker) ([]int32, error) {
	d, da := g.d, g.d+2
	ca := make([]float32, lists*da)
	augmentDense(ca, cent, lists, d, false)
	out := make([]int32, count*p)
	qa := make([]float32, chunk*da)
	dist := make([]float32, chunk*lists)
	idx := make([]int32, chunk)
	for lo := 0; lo < count; lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bi := min(chunk, count-lo)
		if rows != nil {
			augmentDense(qa, rows[lo*d:(lo+bi)*d], bi, d, true)
		} else {
			for r := range idx[:bi] {
				idx[r] = int32(lo + r)
			}
			g.augment(qa, idx[:bi], true)
		}
		if err := runGEMM(g.sess, qa[:bi*da], bi, ca, lists, da, dist[:bi*lists]); err != nil {
			return nil, err
		}
		topColumns(dist[:bi*lists], bi, lists, p, out[lo*p:(lo+bi)*p], g.workers)
		tick.add(bi)
	}
	return out, nil
}

// topColumns writes, for each of the bi rows of a [bi x bj] block, the
// indices of its p smallest values, smallest first, into out (bi x p).
func topColumns(dist []float32, bi, bj, p int, out []int32, workers int) {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			best := make([]float32, p)
			for r := w * bi / workers; r < (w+1)*bi/workers; r++ {
				idx := out[r*p : (r+1)*p]
				size := 0
				for j, v := range dist[r*bj : (r+1)*bj] {
					if size == p && v >= best[p-1] {
						continue
					}
					if size < p {
						size++
					}
					t := size - 1
					for t > 0 && best[t-1] > v {
						best[t], idx[t] = best[t-1], idx[t-1]
						t--
					}
					best[t], idx[t] = v, int32(j)
				}
			}
		}(w)
	}
	wg.Wait()
}

// runGEMM computes the [bi x bj] products of bi augmented query rows and
// bj augmented rows (da values each) into out.
func runGEMM(sess *ort.DynamicAdvancedSession, qa []float32, bi int, xa []float32, bj, da int, out []float32) error {
	q, err := ort.NewTensor(ort.NewShape(int64(bi), int64(da)), qa)
	if err != nil {
		return fmt.Errorf("brain: KNN: %w", err)
	}
	defer q.Destroy()
	return runDistBlock(sess, q, xa, bi, bj, da, out)
}

// listIndex holds rows grouped by list (compressed sparse rows).
type listIndex struct {
	start []int32 // list c's rows are rows[start[c]:start[c+1]]
	rows  []int32
}

func (l *listIndex) list(c int) []int32 { return l.rows[l.start[c]:l.start[c+1]] }

// invert groups the (list, row) pairs that each yields, total of them, by
// list, keeping their order within a list.
func invert(lists, total int, each func(yield func(list, row int32))) *listIndex {
	start := make([]int32, lists+1)
	each(func(c, _ int32) { start[c+1]++ })
	for c := 0; c < lists; c++ {
		start[c+1] += start[c]
	}
	rows := make([]int32, total)
	next := append([]int32(nil), start[:lists]...)
	each(func(c, r int32) {
		rows[next[c]] = r
		next[c]++
	})
	return &listIndex{start: start, rows: rows}
}

// scanPairs offers every entry of a [len(qs) x len(ms)] block of squared
// distances both ways: to the lists of the rows qs (by rows) and of the
// rows ms (by columns). Each pass splits its rows among the workers, so no
// two goroutines touch the same list.
func (c *candLists) scanPairs(dist []float32, qs, ms []int32, workers int) error {
	bi, bj := len(qs), len(ms)
	var fail firstError
	parallel := func(count int, body func(lo, hi int)) {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				defer fail.recoverPanic()
				body(w*count/workers, (w+1)*count/workers)
			}(w)
		}
		wg.Wait()
	}
	parallel(bi, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := int(qs[r])
			thr := c.worst(row)
			for j, v := range dist[r*bj : (r+1)*bj] {
				if v < thr && ms[j] != qs[r] {
					c.add(row, v, ms[j])
					thr = c.worst(row)
				}
			}
		}
	})
	parallel(bj, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			row := int(ms[j])
			thr := c.worst(row)
			for r := 0; r < bi; r++ {
				if v := dist[r*bj+j]; v < thr && ms[j] != qs[r] {
					c.add(row, v, qs[r])
					thr = c.worst(row)
				}
			}
		}
	})
	return fail.get()
}

// fillShort gives each row that the index offered fewer than c.cand
// others the nearest of every row, computed directly.
func (g *ivfGEMM) fillShort(ctx context.Context, c *candLists) {
	n := len(c.size)
	for i := 0; i < n; i++ {
		if int(c.size[i]) >= min(c.cand, n-1) {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		a := g.x[i*g.d : (i+1)*g.d]
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var s float64
			for t, v := range g.x[j*g.d : (j+1)*g.d] {
				e := float64(v) - float64(a[t])
				s += e * e
			}
			if f := float32(s); f < c.worst(i) {
				c.add(i, f, int32(j))
			}
		}
	}
}

// Recall is the share of the exact search's neighbours (exact.K per row)
// that got also finds for the same row: its recall@K. A neighbour at the
// same distance as the exact one counts as found, since ties may be
// broken either way.
func Recall(exact, got *Neighbors) float64 {
	hit, total := 0, 0
	for i := 0; i < exact.N; i++ {
		wi, wd := exact.Row(i)
		gi, gd := got.Row(i)
		for t, j := range wi {
			total++
			for u, g := range gi {
				if g == j || gd[u] == wd[t] {
					hit++
					break
				}
			}
		}
	}
	if total == 0 {
		return 1
	}
	return float64(hit) / float64(total)
}
