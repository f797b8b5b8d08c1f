package views

import (
	"context"
	"math"
	"slices"

	"github.com/fosql/fosql/db"
)

// ValueCount is one entry of CountValues: a value and how many times the
// view holds it.
type ValueCount struct {
	Value db.Value
	Count int64
}

// Count returns the number of samples in the view. A view without
// stages answers from the dataset's count; a lone match_tags (or a
// filter on ids) counts ids in the tag index without fetching samples; a
// full scan counts on several goroutines without copying samples.
func (v *View) Count(ctx context.Context) (int64, error) {
	l, err := v.logical()
	if err != nil {
		return 0, err
	}
	if l.empty != "" {
		return 0, nil
	}
	// The last block's order does not change how many rows pass, and its
	// window only clips the count.
	last := l.blocks[len(l.blocks)-1]
	off, cnt := last.off, last.cnt
	last.off, last.cnt, last.order = 0, -1, nil
	var n int64
	if len(l.blocks) == 1 && len(last.filters) == 0 {
		if n, err = v.ds.Count(); err != nil {
			return 0, err
		}
	} else if ok, err := v.scanColumns(ctx, l, nil, true, func(*db.ColumnChunk, int) error { n++; return nil }); err != nil {
		return 0, err
	} else if !ok {
		p := v.planFor(l, forCount, false, false)
		// One cache line per goroutine's count, so that the goroutines
		// do not take the line from each other at every sample.
		type paddedCount struct {
			n int64
			_ [56]byte
		}
		counts := make([]paddedCount, max(1, p.env.workers))
		err = visitRows(ctx, p.env, p.root, func(w int, _ *db.Sample) error {
			counts[w].n++
			return nil
		})
		if err != nil {
			return 0, err
		}
		for _, c := range counts {
			n += c.n
		}
	}
	n = max(0, n-off)
	if cnt >= 0 {
		n = min(n, cnt)
	}
	return n, nil
}

// visitValues calls fn with the value at path of every sample of the
// view (as the view shows it), in no particular order, from several
// goroutines when the plan allows (worker numbers the goroutine). init
// receives the number of workers, to size per-worker state, before fn is
// first called; it may be called more than once before that.
func (v *View) visitValues(ctx context.Context, path string, init func(workers int), fn func(worker int, x db.Value)) (workers int, err error) {
	l, err := v.logical()
	if err != nil {
		return 0, err
	}
	// Metadata columns are read on one goroutine; when they do not
	// answer, init is called again for the plan's goroutines.
	init(1)
	answered, err := v.scanColumns(ctx, l, []string{path}, false, func(c *db.ColumnChunk, i int) error {
		fn(0, c.Value(0, i))
		return nil
	})
	if answered || err != nil {
		return 1, err
	}
	p := v.planFor(l, forUnordered, path != db.FieldID, l.mask.showsInsights(path))
	workers = max(1, p.env.workers)
	init(workers)
	err = visitRows(ctx, p.env, p.root, func(w int, s *db.Sample) error {
		fn(w, l.mask.get(s, path))
		return nil
	})
	return workers, err
}

// elements returns what a value contributes to Distinct, Bounds, Sum and
// Mean: a list its items, anything else itself.
func elements(x db.Value) []db.Value {
	if x.Kind() == db.KindList {
		return x.Items()
	}
	return []db.Value{x}
}

// better reports whether a should stand for a value that compares equal
// to b: the lower kind, so that an int is shown rather than an equal
// float whatever order the samples come in.
func better(a, b db.Value) bool { return a.Kind() < b.Kind() }

// keyOf is the order-preserving encoding of a value, usable as a map key:
// values that compare equal have equal keys, and keys sort as values do.
func keyOf(x db.Value) string { return string(db.AppendKey(nil, x)) }

// Distinct returns the distinct values at path, sorted (db.Compare
// order). Lists contribute their items; missing and null values are left
// out. An int and a float that are equal count once, as the int.
func (v *View) Distinct(ctx context.Context, path string) ([]db.Value, error) {
	var sets []map[string]db.Value
	workers, err := v.visitValues(ctx, path, func(n int) { sets = make([]map[string]db.Value, n) },
		func(w int, x db.Value) {
			set := sets[w]
			if set == nil {
				set = map[string]db.Value{}
				sets[w] = set
			}
			for _, e := range elements(x) {
				if e.Kind() <= db.KindNull {
					continue
				}
				k := keyOf(e)
				if old, ok := set[k]; !ok || better(e, old) {
					set[k] = e
				}
			}
		})
	if err != nil {
		return nil, err
	}
	all := map[string]db.Value{}
	for _, set := range sets[:workers] {
		for k, e := range set {
			if old, ok := all[k]; !ok || better(e, old) {
				all[k] = e
			}
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]db.Value, len(keys))
	for i, k := range keys {
		out[i] = all[k]
	}
	return out, nil
}

// Bounds returns the least and the greatest value at path (db.Compare
// order), lists contributing their items; missing and null values are
// left out. With no values both are missing.
func (v *View) Bounds(ctx context.Context, path string) (lo, hi db.Value, err error) {
	type bounds struct {
		lo, hi db.Value
		ok     bool
	}
	var bs []bounds
	add := func(b *bounds, e db.Value) {
		if !b.ok {
			b.lo, b.hi, b.ok = e, e, true
			return
		}
		if c := db.Compare(e, b.lo); c < 0 || (c == 0 && better(e, b.lo)) {
			b.lo = e
		}
		if c := db.Compare(e, b.hi); c > 0 || (c == 0 && better(e, b.hi)) {
			b.hi = e
		}
	}
	workers, err := v.visitValues(ctx, path, func(n int) { bs = make([]bounds, n) }, func(w int, x db.Value) {
		for _, e := range elements(x) {
			if e.Kind() > db.KindNull {
				add(&bs[w], e)
			}
		}
	})
	if err != nil {
		return db.Missing(), db.Missing(), err
	}
	var all bounds
	for _, b := range bs[:workers] {
		if b.ok {
			add(&all, b.lo)
			add(&all, b.hi)
		}
	}
	return all.lo, all.hi, nil
}

// CountValues counts the values at path, sorted by value (db.Compare
// order, so missing first). A list counts each of its items (an empty
// list counts nothing); a sample without the field counts under a
// missing Value, an explicit null under null. EachValueCount gives the
// same counts one at a time, in bounded memory.
func (v *View) CountValues(ctx context.Context, path string) ([]ValueCount, error) {
	out := []ValueCount{}
	err := v.EachValueCount(ctx, path, func(vc ValueCount) error {
		out = append(out, vc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// numSum adds numbers: ints exactly while they fit in an int64, and every
// number as a float with Neumaier's compensation.
type numSum struct {
	n        int64
	isum     int64
	intsOnly bool // no float seen and no int overflow
	fsum     float64
	comp     float64
}

func newNumSum() numSum { return numSum{intsOnly: true} }

func (s *numSum) addFloat(f float64) {
	t := s.fsum + f
	if math.Abs(s.fsum) >= math.Abs(f) {
		s.comp += (s.fsum - t) + f
	} else {
		s.comp += (f - t) + s.fsum
	}
	s.fsum = t
}

func (s *numSum) addInt(i int64) {
	if s.intsOnly {
		if (i > 0 && s.isum > math.MaxInt64-i) || (i < 0 && s.isum < math.MinInt64-i) {
			s.intsOnly = false
		} else {
			s.isum += i
		}
	}
}

func (s *numSum) add(x db.Value) {
	switch x.Kind() {
	case db.KindInt:
		s.n++
		s.addInt(x.AsInt())
		s.addFloat(x.AsFloat())
	case db.KindFloat:
		s.n++
		s.intsOnly = false
		s.addFloat(x.AsFloat())
	}
}

func (s *numSum) merge(o numSum) {
	if o.n == 0 {
		return
	}
	s.n += o.n
	if s.intsOnly && o.intsOnly {
		s.addInt(o.isum)
	} else {
		s.intsOnly = false
	}
	s.addFloat(o.fsum)
	s.addFloat(o.comp)
}

func (s *numSum) float() float64 { return s.fsum + s.comp }

func (v *View) sum(ctx context.Context, path string) (numSum, error) {
	var sums []numSum
	workers, err := v.visitValues(ctx, path, func(n int) {
		sums = make([]numSum, n)
		for i := range sums {
			sums[i] = newNumSum()
		}
	}, func(w int, x db.Value) {
		for _, e := range elements(x) {
			sums[w].add(e)
		}
	})
	if err != nil {
		return numSum{}, err
	}
	all := newNumSum()
	for _, s := range sums[:workers] {
		all.merge(s)
	}
	return all, nil
}

// Sum adds the numbers at path (lists contribute their items; other
// kinds are ignored): an int when every number is an int and the sum
// fits, else a float; missing when there are no numbers.
func (v *View) Sum(ctx context.Context, path string) (db.Value, error) {
	s, err := v.sum(ctx, path)
	switch {
	case err != nil || s.n == 0:
		return db.Missing(), err
	case s.intsOnly:
		return db.Int(s.isum), nil
	}
	return db.Float(s.float()), nil
}

// Mean is the average of the numbers at path as a float (lists
// contribute their items; other kinds are ignored); missing when there
// are no numbers.
func (v *View) Mean(ctx context.Context, path string) (db.Value, error) {
	s, err := v.sum(ctx, path)
	if err != nil || s.n == 0 {
		return db.Missing(), err
	}
	return db.Float(s.float() / float64(s.n)), nil
}
