package db

// This file scans a dataset's samples with several goroutines. The sample
// keys are cut into parts at the boundaries of Badger's tables (each
// table knows its smallest and largest key, so cutting costs no I/O);
// workers take parts in key order, each with its own iterators on one
// shared read-only transaction, so every worker sees the same snapshot.
// Values are copied into buffers that a worker reuses, and the sample a
// callback receives is lent for the duration of the call: a scan that
// keeps few samples allocates little.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"iter"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
)

// SampleScan configures VisitSamples and ScanSamples.
type SampleScan struct {
	// After starts the scan after this id; the zero id starts at the
	// beginning.
	After ID
	// NoInsights leaves the samples without their insights, which makes
	// the scan faster.
	NoInsights bool
	// IDsOnly reads the keys alone: the samples carry their ID and
	// nothing else, which is what a scan that only counts or lists ids
	// needs.
	IDsOnly bool
	// Workers is the number of goroutines; 0 (or less) means
	// runtime.GOMAXPROCS(0). A dataset small enough to sit in one part is
	// scanned by one goroutine whatever the setting.
	Workers int
}

// maxScanParts bounds how many parts a scan is cut into.
const maxScanParts = 64

// scanBatch is how many kept samples an ordered scan hands over at once.
const scanBatch = 256

// scanPartsHook, when set (by tests), replaces the cut points that
// counterSplits gives.
var scanPartsHook func(ds *Dataset) []ID

// scanRange is one part of a scan: ids in (lo, hi) when after is set,
// [lo, hi) otherwise; a nil hi means to the end.
type scanRange struct {
	lo    ID
	after bool
	hi    *ID
}

// scanGroup is one live insights group to merge into the samples.
type scanGroup struct {
	name   string
	prefix []byte
}

// Clone returns a copy of s that owns its memory: the samples that
// VisitSamples lends are valid only during the call.
func (s *Sample) Clone() *Sample {
	n := len(s.rec)
	for _, r := range s.insights {
		n += len(r)
	}
	buf := make([]byte, 0, n)
	c := &Sample{ID: s.ID}
	buf = append(buf, s.rec...)
	c.rec = Record(buf[:len(s.rec):len(s.rec)])
	if len(s.insights) > 0 {
		c.insights = make(map[string]Record, len(s.insights))
		for g, r := range s.insights {
			start := len(buf)
			buf = append(buf, r...)
			c.insights[g] = Record(buf[start:len(buf):len(buf)])
		}
	}
	return c
}

// VisitSamples calls visit for every sample after opts.After, from up to
// opts.Workers goroutines at once and in no particular order; worker (0 <=
// worker < the number of goroutines) lets visit keep per-goroutine state
// without locks. The sample is lent: it is valid only during the call
// (use Clone to keep it). All goroutines read one snapshot. The first
// error visit returns stops the scan and is returned; all calls have
// finished when VisitSamples returns.
func (ds *Dataset) VisitSamples(ctx context.Context, opts SampleScan, visit func(worker int, s *Sample) error) error {
	return ds.db.view(func(txn *badger.Txn) error {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return err
		}
		return ds.visitSnapshot(ctx, txn, m, opts, visit)
	})
}

// visitSnapshot is VisitSamples on a given snapshot and description.
func (ds *Dataset) visitSnapshot(ctx context.Context, txn *badger.Txn, m *datasetMeta, opts SampleScan, visit func(worker int, s *Sample) error) error {
	parts := ds.scanParts(txn, m, opts.After)
	groups := scanGroups(ds, m, opts.NoInsights || opts.IDsOnly)
	workers := scanWorkers(opts.Workers, len(parts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					firstErr = Recovered(r)
					mu.Unlock()
					cancel()
				}
			}()
			sc := newPartScanner(ds, txn, groups, opts.IDsOnly)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(parts) {
					return
				}
				err := sc.scan(ctx, parts[i], func(s *Sample) error { return visit(w, s) })
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// ScanSamples iterates in id order over the samples after opts.After for
// which keep returns true (a nil keep keeps all), like SamplesAfter. keep
// runs on several goroutines at once, on lent samples, ahead of the
// consumer by a bounded number of samples; the samples yielded are
// copies the caller owns. Stopping early stops the goroutines.
func (ds *Dataset) ScanSamples(ctx context.Context, opts SampleScan, keep func(*Sample) bool) iter.Seq2[*Sample, error] {
	return func(yield func(*Sample, error) bool) {
		err := ds.db.view(func(txn *badger.Txn) error {
			m, err := ds.db.loadMeta(txn, ds.id)
			if err != nil {
				return err
			}
			parts := ds.scanParts(txn, m, opts.After)
			groups := scanGroups(ds, m, opts.NoInsights || opts.IDsOnly)
			if scanWorkers(opts.Workers, len(parts)) <= 1 {
				sc := newPartScanner(ds, txn, groups, opts.IDsOnly)
				for _, p := range parts {
					err := sc.scan(ctx, p, func(s *Sample) error {
						if keep != nil && !keep(s) {
							return nil
						}
						if !yield(s.Clone(), nil) {
							return errStop
						}
						return nil
					})
					if err != nil {
						return err
					}
				}
				return nil
			}
			return ds.scanOrdered(ctx, txn, parts, groups, opts.IDsOnly, scanWorkers(opts.Workers, len(parts)), keep, yield)
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, err)
		}
	}
}

// scanOrdered runs the parts on several goroutines and yields their kept
// samples part by part, in order. Each part has a channel of a few
// batches, so workers run ahead of the consumer by a bounded amount.
func (ds *Dataset) scanOrdered(ctx context.Context, txn *badger.Txn, parts []scanRange, groups []scanGroup, idsOnly bool, workers int,
	keep func(*Sample) bool, yield func(*Sample, error) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outs := make([]chan []*Sample, len(parts))
	errs := make([]error, len(parts))
	for i := range outs {
		outs[i] = make(chan []*Sample, 2)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newPartScanner(ds, txn, groups, idsOnly)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(parts) {
					return
				}
				if !scanOrderedPart(ctx, sc, parts[i], keep, outs[i], &errs[i]) {
					return
				}
			}
		}()
	}
	defer wg.Wait()
	for i, out := range outs {
		for batch := range out {
			for _, s := range batch {
				if !yield(s, nil) {
					cancel()
					return errStop
				}
			}
		}
		if errs[i] != nil {
			cancel()
			return errs[i]
		}
	}
	return nil
}

// scanOrderedPart scans one part of an ordered scan into out, then
// records its error in *errp and closes out whatever happens: a panic
// becomes the part's error (wrapping ErrInternal), so the consumer waiting
// on out is never left waiting. It reports whether the part ended without
// error.
func scanOrderedPart(ctx context.Context, sc *partScanner, p scanRange, keep func(*Sample) bool, out chan []*Sample, errp *error) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			*errp = Recovered(r)
		}
		close(out)
		ok = *errp == nil
	}()
	*errp = scanPartInto(ctx, sc, p, keep, out)
	return
}

// scanPartInto sends the samples of one part that keep keeps (copies) to
// out in batches.
func scanPartInto(ctx context.Context, sc *partScanner, p scanRange, keep func(*Sample) bool, out chan<- []*Sample) error {
	batch := make([]*Sample, 0, scanBatch)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]*Sample, 0, scanBatch)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := sc.scan(ctx, p, func(s *Sample) error {
		if keep != nil && !keep(s) {
			return nil
		}
		batch = append(batch, s.Clone())
		if len(batch) == scanBatch {
			return send()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = send()
	}
	return err
}

func scanWorkers(asked, parts int) int {
	if asked <= 0 {
		asked = runtime.GOMAXPROCS(0)
	}
	return max(1, min(asked, parts))
}

func scanGroups(ds *Dataset, m *datasetMeta, noInsights bool) []scanGroup {
	if noInsights {
		return nil
	}
	groups := make([]scanGroup, 0, len(m.Insights))
	for name, g := range m.Insights {
		groups = append(groups, scanGroup{name: name, prefix: insightPrefix(ds.id, g.Gen)})
	}
	return groups
}

// scanParts cuts the samples after the given id into ranges of about
// equal size. Ids carry a creation second and a database-wide counter,
// both increasing with insertion, so the counter is a good proxy for
// position: the cut for counter c is found by a binary search over the
// seconds with a few key seeks. A cut is only a key, so a clock that went
// backwards makes the parts uneven, never wrong. Small datasets are one
// part.
func (ds *Dataset) scanParts(txn *badger.Txn, m *datasetMeta, after ID) []scanRange {
	var splits []ID
	if scanPartsHook != nil {
		splits = scanPartsHook(ds)
	} else if n := m.Count / minScanPart; n > 1 {
		splits = ds.counterSplits(txn, after, int(min(n, maxScanParts)))
	}
	sort.Slice(splits, func(i, j int) bool { return bytes.Compare(splits[i][:], splits[j][:]) < 0 })
	parts := []scanRange{{lo: after, after: true}}
	for _, id := range splits {
		if bytes.Compare(id[:], parts[len(parts)-1].lo[:]) <= 0 {
			continue
		}
		hi := id
		parts[len(parts)-1].hi = &hi
		parts = append(parts, scanRange{lo: id})
	}
	return parts
}

// minScanPart is the smallest number of samples worth a part of its own.
const minScanPart = 16384

func idCounter(id []byte) uint64 { return binary.BigEndian.Uint64(id[4:12]) }
func idSecond(id []byte) uint32  { return binary.BigEndian.Uint32(id[:4]) }

// counterSplits returns up to parts-1 cut ids between the first sample
// after the given id and the last sample, evenly spaced by counter.
func (ds *Dataset) counterSplits(txn *badger.Txn, after ID, parts int) []ID {
	sp := dsPrefix(tagSample, ds.id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: sp})
	defer it.Close()
	seekRange(it, sp, scanRange{lo: after, after: true})
	if !it.Valid() {
		return nil
	}
	first := append([]byte(nil), it.Item().Key()[len(sp):]...)
	rit := txn.NewIterator(badger.IteratorOptions{Prefix: sp, Reverse: true})
	rit.Seek(append(append([]byte(nil), sp...), 0xFF))
	if !rit.Valid() {
		rit.Close()
		return nil
	}
	last := append([]byte(nil), rit.Item().Key()[len(sp):]...)
	rit.Close()
	if len(first) != len(ID{}) || len(last) != len(ID{}) {
		return nil
	}
	c0, c1 := idCounter(first), idCounter(last)
	t0, t1 := idSecond(first), idSecond(last)
	if c1 <= c0 || t1 < t0 {
		return nil
	}
	key := make([]byte, len(sp)+len(ID{}))
	copy(key, sp)
	// firstCounter is the counter of the first sample created at second t
	// or later; false past the last sample.
	firstCounter := func(t uint32) (uint64, bool) {
		binary.BigEndian.PutUint32(key[len(sp):], t)
		clear(key[len(sp)+4:])
		it.Seek(key)
		if !it.Valid() || len(it.Item().Key()) != len(key) {
			return 0, false
		}
		return idCounter(it.Item().Key()[len(sp):]), true
	}
	var out []ID
	span := float64(c1 - c0)
	for k := 1; k < parts; k++ {
		c := c0 + uint64(span*float64(k)/float64(parts))
		// The last second whose first counter is at most c.
		lo, hi := t0, t1
		for lo < hi {
			mid := lo + (hi-lo+1)/2
			if fc, ok := firstCounter(mid); ok && fc <= c {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		var id ID
		binary.BigEndian.PutUint32(id[:4], lo)
		binary.BigEndian.PutUint64(id[4:], c)
		out = append(out, id)
	}
	return out
}

// partScanner scans parts with reusable buffers; one per goroutine.
type partScanner struct {
	ds     *Dataset
	txn    *badger.Txn
	groups []scanGroup
	keys   bool // IDsOnly
	s      Sample
	irecs  [][]byte
}

func newPartScanner(ds *Dataset, txn *badger.Txn, groups []scanGroup, idsOnly bool) *partScanner {
	sc := &partScanner{ds: ds, txn: txn, groups: groups, keys: idsOnly, irecs: make([][]byte, len(groups))}
	if len(groups) > 0 {
		sc.s.insights = make(map[string]Record, len(groups))
	}
	return sc
}

// seekRange positions it at the first key of the range under prefix.
func seekRange(it *badger.Iterator, prefix []byte, r scanRange) {
	if r.after && r.lo.IsZero() {
		it.Rewind()
		return
	}
	it.Seek(append(append(make([]byte, 0, len(prefix)+len(ID{})), prefix...), r.lo[:]...))
	if r.after && it.Valid() && bytes.Equal(it.Item().Key()[len(prefix):], r.lo[:]) {
		it.Next()
	}
}

// scan calls fn with the lent sample for every sample of the range.
func (sc *partScanner) scan(ctx context.Context, r scanRange, fn func(*Sample) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := dsPrefix(tagSample, sc.ds.id)
	// Every version is asked for, and older versions and deletions are
	// skipped here: Badger's own skipping reads each value twice and
	// copies each key once more, a third of a scan's time.
	it := sc.txn.NewIterator(badger.IteratorOptions{Prefix: sp, AllVersions: true})
	defer it.Close()
	seekRange(it, sp, r)
	// After lo, every version of lo is skipped too.
	last, seen := r.lo, r.after
	gits := make([]*badger.Iterator, len(sc.groups))
	for i, g := range sc.groups {
		gits[i] = sc.txn.NewIterator(badger.IteratorOptions{Prefix: g.prefix})
		defer gits[i].Close()
		seekRange(gits[i], g.prefix, r)
	}
	s := &sc.s
	for n := 0; it.Valid(); it.Next() {
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		k := item.Key()[len(sp):]
		if len(k) != len(ID{}) {
			return ErrCorrupt
		}
		if r.hi != nil && bytes.Compare(k, r.hi[:]) >= 0 {
			return nil
		}
		if seen && string(k) == string(last[:]) {
			continue // an older version of the sample just seen
		}
		copy(last[:], k)
		seen = true
		if item.IsDeletedOrExpired() {
			continue
		}
		copy(s.ID[:], k)
		if sc.keys {
			if err := fn(s); err != nil {
				return err
			}
			continue
		}
		if len(sc.groups) > 0 {
			clear(s.insights)
			for i, g := range sc.groups {
				git := gits[i]
				for git.Valid() && bytes.Compare(git.Item().Key()[len(g.prefix):], s.ID[:]) < 0 {
					git.Next()
				}
				if git.Valid() && bytes.Equal(git.Item().Key()[len(g.prefix):], s.ID[:]) {
					var err error
					if sc.irecs[i], err = git.Item().ValueCopy(sc.irecs[i][:0]); err != nil {
						return err
					}
					s.insights[g.name] = sc.irecs[i]
				}
			}
		}
		// The record is read in place: it is valid until the iterator
		// moves, and fn is done with it by then.
		err := item.Value(func(v []byte) error {
			s.rec = v
			return fn(s)
		})
		s.rec = nil
		if err != nil {
			return err
		}
	}
	return nil
}

// GetSamples is GetMany with a choice: with noInsights the samples carry
// no insights, which saves one point read per insights group and sample.
func (ds *Dataset) GetSamples(ids []ID, noInsights bool) ([]*Sample, error) {
	if !noInsights {
		return ds.GetMany(ids)
	}
	out := make([]*Sample, len(ids))
	err := ds.db.pointView(func(r *pointReader) error {
		if _, err := r.meta(ds.id); err != nil {
			return err
		}
		for i, id := range ids {
			rec, err := r.get(sampleKey(ds.id, id))
			if err != nil {
				return err
			}
			if rec != nil {
				out[i] = &Sample{ID: id, rec: rec}
			}
		}
		return nil
	})
	return out, err
}
