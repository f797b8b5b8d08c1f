package brain

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMemory is wrapped by the error of a job that cannot fit the memory
// it was given (the memory option).
var ErrMemory = errors.New("not enough memory")

// ParseBytes reads a memory size: a number of bytes, or a number with a
// unit KB, MB, GB, TB (powers of 1024, as KiB, MiB, GiB and TiB also are);
// case and spaces do not matter ("2GB", "512 mb", "1.5GiB").
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = num, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f*mult >= 1<<62 {
		return 0, fmt.Errorf("%w: memory %q: want a size such as 2GB or 512MB", ErrOption, s)
	}
	return int64(f * mult), nil
}

// formatBytes prints a size in KiB, MiB or GiB, for messages.
func formatBytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.0f MiB", math.Ceil(float64(n)/(1<<20)))
	}
	return fmt.Sprintf("%.0f KiB", math.Ceil(float64(n)/(1<<10)))
}

// ortWorkBytes is what ONNX Runtime itself holds while a k-NN runs (its
// library, session and arenas), as measured for the block-pair graph.
const ortWorkBytes = 64 << 20

// knnPlan is the memory plan of a k-NN search: its block sizes and what
// it allocates, by part.
type knnPlan struct {
	block  int // exact: rows per block of the distance matrix
	lists  int // approximate: inverted lists (k-means centroids)
	probe  int // approximate: lists searched per row
	chunk  int // approximate: rows per GEMM operand
	sample int // approximate: rows the centroids are trained on
	parts  []planPart
}

type planPart struct {
	what  string
	bytes int64
}

func (p *knnPlan) add(what string, bytes int64) { p.parts = append(p.parts, planPart{what, bytes}) }

// need is the plan's total.
func (p *knnPlan) need() int64 {
	var t int64
	for _, x := range p.parts {
		t += x.bytes
	}
	return t
}

// String lists the parts: "working copy 512 MiB, candidate lists ...".
func (p *knnPlan) String() string {
	s := make([]string, len(p.parts))
	for i, x := range p.parts {
		s[i] = x.what + " " + formatBytes(x.bytes)
	}
	return strings.Join(s, ", ")
}

// work is the number of progress units a search of n rows counts:
// pairs of row blocks when exact; rows assigned to lists (training, then
// all rows) and rows searched when approximate.
func (p *knnPlan) work(n int) int {
	if p.lists > 0 {
		return p.sample*ivfIters + n + n*p.probe
	}
	nb := (n + p.block - 1) / p.block
	return nb * (nb + 1) / 2
}

// Shapes of the approximate index.
const (
	// ivfMinRows is the fewest rows the approximate index is built for;
	// a smaller search is exact whatever is asked.
	ivfMinRows = 1000
	// ivfProbe is the number of lists searched per row; with the search
	// offered both ways (a row searches its lists, and the members of
	// those lists see the row) it keeps recall@3 at or above 0.95 on the
	// collections of BENCHMARKS.md.
	ivfProbe = 24
	// ivfIters is the number of k-means iterations that train the lists.
	ivfIters = 8
	// ivfSamplePerList is how many rows per list the training sees.
	ivfSamplePerList = 32
)

// ivfLists is the number of inverted lists for n rows: 4 sqrt(n), so a
// list holds about sqrt(n)/4 rows.
func ivfLists(n int) int {
	return min(max(int(4*math.Sqrt(float64(n))), 16), 16384, n)
}

// planKNN plans a search of n rows of d values for kk neighbours: its
// block sizes, the largest that fit limit (0: no limit) among the sizes
// it tries. It fails, wrapping ErrMemory, when even the smallest do not.
func planKNN(n, d, kk int, metric Metric, approx, inPlace bool, limit int64) (knnPlan, error) {
	n64, d64 := int64(n), int64(d)
	cand := int64(min(n, kk+1+knnExtra))
	base := knnPlan{}
	base.add("results", n64*int64(kk)*16)
	base.add("candidate lists", n64*(cand*8+4))
	if metric == Cosine {
		base.add("norms", n64*8)
		if !inPlace {
			base.add("normalised copy", n64*d64*4)
		}
	}
	base.add("ONNX Runtime", ortWorkBytes)
	var tries []knnPlan
	if !approx {
		base.add("augmented copies", 2*n64*(d64+2)*4)
		for _, b := range []int{knnBlockRows, 512, 256, 128} {
			p := base
			p.parts = append([]planPart(nil), base.parts...)
			p.block = max(1, min(b, n))
			p.add("distance block", int64(p.block)*int64(p.block)*4)
			tries = append(tries, p)
		}
	} else {
		lists := ivfLists(n)
		probe := min(ivfProbe, lists)
		sample := min(n, ivfSamplePerList*lists)
		base.add("list assignments", n64*int64(probe)*8+n64*8)
		base.add("centroids", int64(lists)*d64*4*2+int64(sample)*(d64*4+4))
		for _, c := range []int{2048, 1024, 512, 256} {
			p := base
			p.parts = append([]planPart(nil), base.parts...)
			p.lists, p.probe, p.sample, p.chunk = lists, probe, sample, c
			p.add("GEMM blocks", 2*int64(c)*(d64+2)*4+int64(c)*int64(max(c, lists))*4)
			tries = append(tries, p)
		}
	}
	for _, p := range tries {
		if limit <= 0 || p.need() <= limit {
			return p, nil
		}
	}
	p := tries[len(tries)-1]
	kind := "exact"
	if approx {
		kind = "approximate"
	}
	return p, fmt.Errorf("%w: the %s k-NN of %d x %d vectors needs at least %s (%s), more than the %s given",
		ErrMemory, kind, n, d, formatBytes(p.need()), p.String(), formatBytes(limit))
}

// ticker reports progress through fn at most every half second, and at
// the end; its zero value with a nil fn reports nothing.
type ticker struct {
	fn          func(done, total int)
	mu          sync.Mutex
	done, total int
	last        time.Time
}

// tickEvery is the longest time between two progress reports.
const tickEvery = 500 * time.Millisecond

func newTicker(fn func(done, total int)) *ticker { return &ticker{fn: fn} }

// grow adds units to the work to do.
func (t *ticker) grow(units int) {
	t.mu.Lock()
	t.total += units
	t.mu.Unlock()
}

// add counts units of work done, reporting when the last report is old.
func (t *ticker) add(units int) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	t.done += units
	now := time.Now()
	report := now.Sub(t.last) >= tickEvery
	if report {
		t.last = now
	}
	done, total := t.done, t.total
	t.mu.Unlock()
	if report {
		t.fn(min(done, total), total)
	}
}

// finish reports the work as done.
func (t *ticker) finish() {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	total := t.total
	t.mu.Unlock()
	t.fn(total, total)
}
