package views

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/fosql/fosql/db"
)

// SpillLimit is how many distinct values EachValueCount holds in memory
// (all goroutines together) before it writes them, sorted, to a run file
// in the system temporary directory; the runs are merged as the counts
// are read. At about 200 bytes a value this bounds a count of values of
// any cardinality to a few tens of megabytes.
var SpillLimit = 1 << 17

// spillName is the pattern of run file names.
const spillName = "fosql-count-*.run"

// EachValueCount calls fn with the counts of the values at path, in the
// order CountValues returns them (db.Compare order, missing first), with
// the same counting rules. It holds at most SpillLimit distinct values in
// memory: a count with more (GROUP BY filepath WHERE … over a million
// samples) spills sorted runs to temporary files and merges them as it
// calls fn, so its memory stays bounded whatever the number of values.
// A view without stages reads indexes instead of samples: the tag index
// to count tags, the filepath index (in order, one per sample) to count
// filepaths. fn's first error stops the count and is returned.
func (v *View) EachValueCount(ctx context.Context, path string, fn func(ValueCount) error) error {
	return v.eachValueCount(ctx, path, SpillLimit, fn)
}

// What ValueCountSource names.
const (
	tagIndexSource      = "tag index"
	filepathIndexSource = "filepath index"
)

// ValueCountSource names the index EachValueCount reads to count the
// values at path ("tag index", "filepath index"), or is empty when it
// reads the samples the view's plan gives.
func (v *View) ValueCountSource(path string) string {
	if v == nil || len(v.stages) > 0 || v.noIndex {
		return ""
	}
	switch path {
	case db.FieldTags:
		return tagIndexSource
	case db.FieldFilepath:
		return filepathIndexSource
	}
	return ""
}

// eachValueCount is EachValueCount holding at most limit distinct values
// in memory.
func (v *View) eachValueCount(ctx context.Context, path string, limit int, fn func(ValueCount) error) error {
	l, err := v.logical()
	if err != nil {
		return err
	}
	switch v.ValueCountSource(path) {
	case tagIndexSource:
		return v.tagCounts(ctx, fn)
	case filepathIndexSource:
		return v.filepathCounts(ctx, fn)
	}
	sp := &spiller{}
	defer sp.remove()
	newCounters := func(workers int) []*valueCounter {
		counters := make([]*valueCounter, workers)
		for w := range counters {
			counters[w] = &valueCounter{m: map[string]*ValueCount{}, ints: map[int64]*ValueCount{}, limit: max(1, limit/workers), sp: sp}
		}
		return counters
	}
	// Ints of the metadata are counted from its columns when they answer.
	counters := newCounters(1)
	answered, err := v.scanColumns(ctx, l, []string{path}, false, func(c *db.ColumnChunk, i int) error {
		if n, ok := c.Int(0, i); ok {
			return counters[0].addInt(n)
		}
		return counters[0].add(c.Value(0, i), 1)
	})
	if err != nil {
		return err
	}
	if !answered {
		if counters, err = v.countFromRows(ctx, l, path, newCounters); err != nil {
			return err
		}
	}
	if sp.runs() == 0 {
		// Everything fitted: merge the goroutines' counts in memory.
		all := counters[0]
		all.limit = int(^uint(0) >> 1)
		for _, c := range counters {
			c.foldInts()
		}
		for _, c := range counters[1:] {
			for k, vc := range c.m {
				all.merge(k, vc.Value, vc.Count)
			}
		}
		for _, vc := range all.sorted() {
			if err := fn(*vc); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range counters {
		if err := c.flush(); err != nil {
			return err
		}
	}
	return sp.merge(ctx, fn)
}

// countFromRows counts the values at path over the rows of the view's
// plan, on as many counters (from newCounters) as the plan has
// goroutines.
func (v *View) countFromRows(ctx context.Context, l *logical, path string, newCounters func(workers int) []*valueCounter) ([]*valueCounter, error) {
	p := v.planFor(l, forUnordered, path != db.FieldID, l.mask.showsInsights(path))
	counters := newCounters(max(1, p.env.workers))
	// An int stored in the sample record is counted without decoding a
	// Value or encoding a key.
	vis, _ := l.mask.vis(path)
	inRecord := vis == visFull && path != db.FieldID && !readsInsights(path)
	fp := db.SplitPath(path)
	err := visitRows(ctx, p.env, p.root, func(w int, s *db.Sample) error {
		c := counters[w]
		if inRecord {
			if i, ok := s.Record().IntAt(fp); ok {
				return c.addInt(i)
			}
		}
		x := l.mask.get(s, path)
		if x.Kind() != db.KindList {
			return c.add(x, 1)
		}
		for _, e := range x.Items() {
			if err := c.add(e, 1); err != nil {
				return err
			}
		}
		return nil
	})
	return counters, err
}

// tagCounts answers a count of tags over the whole dataset from the tag
// index: every sample stores its tags as a list of distinct strings, so
// the index holds exactly the counts a scan would find.
func (v *View) tagCounts(ctx context.Context, fn func(ValueCount) error) error {
	counts, err := v.ds.TagCounts(ctx)
	if err != nil {
		return err
	}
	tags := make([]string, 0, len(counts))
	for t := range counts {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	for _, t := range tags {
		if err := fn(ValueCount{Value: db.String(t), Count: counts[t]}); err != nil {
			return err
		}
	}
	return nil
}

// filepathCounts answers a count of filepaths over the whole dataset
// from the filepath index, in order: every sample has a filepath of its
// own, so each counts once, and nothing is held in memory.
func (v *View) filepathCounts(ctx context.Context, fn func(ValueCount) error) error {
	for p, err := range v.ds.Filepaths(ctx) {
		if err != nil {
			return err
		}
		if err := fn(ValueCount{Value: db.String(p), Count: 1}); err != nil {
			return err
		}
	}
	return nil
}

// valueCounter counts values on one goroutine, keyed by their
// order-preserving encoding, spilling to runs past its limit.
type valueCounter struct {
	m     map[string]*ValueCount
	ints  map[int64]*ValueCount // ints read in place, not yet in m
	buf   []byte
	limit int
	sp    *spiller
}

// add counts n more of e.
func (c *valueCounter) add(e db.Value, n int64) error {
	c.buf = db.AppendKey(c.buf[:0], e)
	if vc, ok := c.m[string(c.buf)]; ok {
		vc.Count += n
		if better(e, vc.Value) {
			vc.Value = e
		}
		return nil
	}
	if len(c.m)+len(c.ints) >= c.limit {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.m[string(c.buf)] = &ValueCount{Value: e, Count: n}
	return nil
}

// addInt counts one more of the int i.
func (c *valueCounter) addInt(i int64) error {
	if vc, ok := c.ints[i]; ok {
		vc.Count++
		return nil
	}
	if len(c.m)+len(c.ints) >= c.limit {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.ints[i] = &ValueCount{Value: db.Int(i), Count: 1}
	return nil
}

// foldInts moves the counts of ints into the map of keys, where an int
// and an equal float meet.
func (c *valueCounter) foldInts() {
	var key []byte // not c.buf: add may be holding a key there
	for _, vc := range c.ints {
		key = db.AppendKey(key[:0], vc.Value)
		c.merge(string(key), vc.Value, vc.Count)
	}
	clear(c.ints)
}

// merge adds a count kept under key k.
func (c *valueCounter) merge(k string, e db.Value, n int64) {
	if vc, ok := c.m[k]; ok {
		vc.Count += n
		if better(e, vc.Value) {
			vc.Value = e
		}
		return
	}
	c.m[k] = &ValueCount{Value: e, Count: n}
}

// sortedKeys returns the counter's keys in order.
func (c *valueCounter) sortedKeys() []string {
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sorted returns the counts in key order.
func (c *valueCounter) sorted() []*ValueCount {
	keys := c.sortedKeys()
	out := make([]*ValueCount, len(keys))
	for i, k := range keys {
		out[i] = c.m[k]
	}
	return out
}

// flush writes the counts held in memory to a new run and forgets them.
func (c *valueCounter) flush() error {
	c.foldInts()
	if len(c.m) == 0 {
		return nil
	}
	keys := c.sortedKeys()
	if err := c.sp.write(keys, c.m); err != nil {
		return err
	}
	clear(c.m)
	return nil
}

// spiller keeps the run files of one count. A run is a sequence of
// entries in key order: uvarint key length, key, uvarint count, one byte
// saying how the value follows (runString: the string's bytes; runRecord:
// a record, a document whose field v is the value), uvarint length, the
// bytes.
type spiller struct {
	mu    sync.Mutex
	files []string
}

func (sp *spiller) runs() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.files)
}

// write stores the counts of m, in the order of keys, as a new run.
func (sp *spiller) write(keys []string, m map[string]*ValueCount) (err error) {
	f, err := os.CreateTemp("", spillName)
	if err != nil {
		return fmt.Errorf("views: spilling counts: %w", err)
	}
	sp.mu.Lock()
	sp.files = append(sp.files, f.Name())
	sp.mu.Unlock()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("views: spilling counts: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<16)
	var b []byte
	for _, k := range keys {
		b = appendEntry(b[:0], k, *m[k])
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("views: spilling counts: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("views: spilling counts: %w", err)
	}
	return nil
}

// How a run entry holds its value.
const (
	runString byte = 's' // a string, as its bytes
	runRecord byte = 'r' // any value, as a record
)

// appendEntry appends one run entry.
func appendEntry(b []byte, key string, vc ValueCount) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(vc.Count))
	if vc.Value.Kind() == db.KindString {
		str := vc.Value.AsString()
		b = append(b, runString)
		b = binary.AppendUvarint(b, uint64(len(str)))
		return append(b, str...)
	}
	rec := db.EncodeRecord(db.Doc(db.Field{Name: "v", Value: vc.Value}))
	b = append(b, runRecord)
	b = binary.AppendUvarint(b, uint64(len(rec)))
	return append(b, rec...)
}

// remove deletes the run files.
func (sp *spiller) remove() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, name := range sp.files {
		os.Remove(name)
	}
	sp.files = nil
}

// runReader reads one run in order.
type runReader struct {
	r   *bufio.Reader
	key []byte
	rec []byte
	vc  ValueCount
}

// errRunCorrupt reports a run file that does not read back as written.
var errRunCorrupt = errors.New("views: a spilled run of counts is damaged")

// next reads the next entry; false at the end of the run.
func (rr *runReader) next() (bool, error) {
	kl, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil || kl > 1<<30 {
		return false, errRunCorrupt
	}
	rr.key = slices.Grow(rr.key[:0], int(kl))[:kl]
	if _, err := io.ReadFull(rr.r, rr.key); err != nil {
		return false, errRunCorrupt
	}
	n, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, errRunCorrupt
	}
	how, err := rr.r.ReadByte()
	if err != nil {
		return false, errRunCorrupt
	}
	rl, err := binary.ReadUvarint(rr.r)
	if err != nil || rl > 1<<30 {
		return false, errRunCorrupt
	}
	rr.rec = slices.Grow(rr.rec[:0], int(rl))[:rl]
	if _, err := io.ReadFull(rr.r, rr.rec); err != nil {
		return false, errRunCorrupt
	}
	// The value is copied out (Lookup copies what it decodes), so the
	// buffer is reused.
	switch how {
	case runString:
		rr.vc = ValueCount{Value: db.String(string(rr.rec)), Count: int64(n)}
	case runRecord:
		rr.vc = ValueCount{Value: db.Record(rr.rec).Lookup("v"), Count: int64(n)}
	default:
		return false, errRunCorrupt
	}
	return true, nil
}

// runHeap orders run readers by their current key.
type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return string(h[i].key) < string(h[j].key) }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeFan is how many runs one merge pass reads at once; more runs
// are first merged into fewer, larger ones.
const mergeFan = 32

// merge reads the runs in key order, adding the counts of equal keys, and
// calls fn with each value's total.
func (sp *spiller) merge(ctx context.Context, fn func(ValueCount) error) error {
	sp.mu.Lock()
	files := slices.Clone(sp.files)
	sp.mu.Unlock()
	for len(files) > mergeFan {
		name, err := sp.mergeToRun(ctx, files[:mergeFan])
		if err != nil {
			return err
		}
		files = append(files[mergeFan:], name)
	}
	return mergeRuns(ctx, files, func(key []byte, vc ValueCount) error { return fn(vc) })
}

// mergeToRun merges some runs into a new one and returns its name.
func (sp *spiller) mergeToRun(ctx context.Context, files []string) (string, error) {
	f, err := os.CreateTemp("", spillName)
	if err != nil {
		return "", fmt.Errorf("views: spilling counts: %w", err)
	}
	sp.mu.Lock()
	sp.files = append(sp.files, f.Name())
	sp.mu.Unlock()
	w := bufio.NewWriterSize(f, 1<<16)
	var b []byte
	err = mergeRuns(ctx, files, func(key []byte, vc ValueCount) error {
		b = appendEntry(b[:0], string(key), vc)
		_, err := w.Write(b)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	for _, name := range files {
		os.Remove(name)
	}
	if err != nil {
		return "", fmt.Errorf("views: spilling counts: %w", err)
	}
	return f.Name(), nil
}

// mergeRuns reads runs at once in key order, adding the counts of equal
// keys, and calls fn with each key and its value's total.
func mergeRuns(ctx context.Context, files []string, fn func(key []byte, vc ValueCount) error) error {
	h := make(runHeap, 0, len(files))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("views: reading spilled counts: %w", err)
		}
		defer f.Close()
		rr := &runReader{r: bufio.NewReaderSize(f, 1<<16)}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, rr)
		}
	}
	heap.Init(&h)
	var cur ValueCount
	var curKey []byte
	have := false
	for n := 0; len(h) > 0; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := h[0]
		if have && string(top.key) == string(curKey) {
			cur.Count += top.vc.Count
			if better(top.vc.Value, cur.Value) {
				cur.Value = top.vc.Value
			}
		} else {
			if have {
				if err := fn(curKey, cur); err != nil {
					return err
				}
			}
			cur, curKey, have = top.vc, append(curKey[:0], top.key...), true
		}
		ok, err := top.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	if have {
		return fn(curKey, cur)
	}
	return nil
}
