package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// Samples iterates over every sample in id order (insertion order), each
// with its live insights. The iteration reads one consistent snapshot;
// writes made meanwhile are not seen. Stopping early is cheap.
func (ds *Dataset) Samples(ctx context.Context) iter.Seq2[*Sample, error] {
	return ds.SamplesAfter(ctx, ID{}, false)
}

// SamplesAfter iterates in id order starting after the given id (the zero
// id starts at the beginning); with withInsights false the samples carry
// no insights, which makes the scan faster.
func (ds *Dataset) SamplesAfter(ctx context.Context, after ID, noInsights bool) iter.Seq2[*Sample, error] {
	return func(yield func(*Sample, error) bool) {
		err := ds.db.view(func(txn *badger.Txn) error {
			m, err := ds.db.loadMeta(txn, ds.id)
			if err != nil {
				return err
			}
			sp := dsPrefix(tagSample, ds.id)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: sp, PrefetchValues: true, PrefetchSize: 256})
			defer it.Close()
			type groupIter struct {
				name   string
				prefix []byte
				it     *badger.Iterator
			}
			var groups []groupIter
			if !noInsights {
				for name, g := range m.Insights {
					p := insightPrefix(ds.id, g.Gen)
					gi := groupIter{name, p, txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 256})}
					defer gi.it.Close()
					groups = append(groups, gi)
				}
			}
			start := func(it *badger.Iterator, prefix []byte) {
				if after.IsZero() {
					it.Rewind()
					return
				}
				it.Seek(append(append([]byte{}, prefix...), after[:]...))
				if it.Valid() && bytes.Equal(it.Item().Key()[len(prefix):], after[:]) {
					it.Next()
				}
			}
			start(it, sp)
			for _, g := range groups {
				start(g.it, g.prefix)
			}
			for n := 0; it.Valid(); it.Next() {
				if n++; n&1023 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				item := it.Item()
				s := &Sample{}
				copy(s.ID[:], item.Key()[len(sp):])
				rec, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				s.rec = rec
				for _, g := range groups {
					for g.it.Valid() && bytes.Compare(g.it.Item().Key()[len(g.prefix):], s.ID[:]) < 0 {
						g.it.Next()
					}
					if g.it.Valid() && bytes.Equal(g.it.Item().Key()[len(g.prefix):], s.ID[:]) {
						irec, err := g.it.Item().ValueCopy(nil)
						if err != nil {
							return err
						}
						if s.insights == nil {
							s.insights = make(map[string]Record, len(groups))
						}
						s.insights[g.name] = irec
					}
				}
				if !yield(s, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, err)
		}
	}
}

var errStop = errors.New("stop")

// IndexEntry is one entry of a field index: a sample id and its value at
// the indexed path (numbers come back as floats unless only an int can
// hold them exactly; read the sample for the exact kind).
type IndexEntry struct {
	ID    ID
	Value Value
}

// indexID finds the index of a path: a user field index or a live
// insight key index.
func (m *datasetMeta) indexID(path string) (uint32, bool) {
	if ix, ok := m.Indexes[path]; ok {
		return ix, true
	}
	if rest, ok := strings.CutPrefix(path, FieldInsights+"."); ok {
		group, key, _ := strings.Cut(rest, ".")
		if g := m.Insights[group]; g != nil {
			ix, ok := g.Indexes[key]
			return ix, ok
		}
	}
	return 0, false
}

// HasIndex reports whether path has an index.
func (ds *Dataset) HasIndex(path string) bool {
	m, err := ds.meta()
	if err != nil {
		return false
	}
	_, ok := m.indexID(path)
	return ok
}

// Indexes lists the indexed paths, sorted: user field indexes and the live
// insight keys (every insights.<group>.scalar is indexed automatically).
func (ds *Dataset) Indexes() ([]string, error) {
	m, err := ds.meta()
	if err != nil {
		return nil, err
	}
	var out []string
	for p := range m.Indexes {
		out = append(out, p)
	}
	for p := range m.insightIndexes() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// ErrNoIndex means a path has no index.
var ErrNoIndex = errors.New("no index")

// IndexScan iterates an index in value order (then id order), ascending
// or, with reverse, descending; every sample has exactly one entry, with
// missing values first ascending and last descending.
func (ds *Dataset) IndexScan(ctx context.Context, path string, reverse bool) iter.Seq2[IndexEntry, error] {
	return ds.indexScan(ctx, path, nil, reverse)
}

// IndexScanFrom is IndexScan starting at the entries whose value equals
// from (or, past them, the next ones): ascending it yields values >= from,
// descending values <= from. The caller stops where its range ends.
func (ds *Dataset) IndexScanFrom(ctx context.Context, path string, from Value, reverse bool) iter.Seq2[IndexEntry, error] {
	return ds.indexScan(ctx, path, &from, reverse)
}

func (ds *Dataset) indexScan(ctx context.Context, path string, from *Value, reverse bool) iter.Seq2[IndexEntry, error] {
	return func(yield func(IndexEntry, error) bool) {
		d := ds.db
		if err := d.checkOpen(); err != nil {
			yield(IndexEntry{}, err)
			return
		}
		// The snapshot's epoch decides whether the head cache may serve
		// this scan and learn from it (as in pointView).
		e, quiet := d.Epoch()
		txn := d.bdb.NewTransaction(false)
		defer txn.Discard()
		e2, still := d.Epoch()
		cacheable := from == nil && quiet && still && e2 == e
		key := headKey{ds.id, path, reverse}

		var head []IndexEntry // what this scan yields, up to headLen
		var after *IndexEntry // resume Badger strictly after this entry
		if cacheable {
			if h, ok := d.heads.get(key, e); ok {
				for _, ent := range h.entries {
					if !yield(ent, nil) {
						return
					}
				}
				if h.complete {
					return
				}
				head = append(head, h.entries...)
				after = &h.entries[len(h.entries)-1]
			}
		}
		complete := false
		err := func() error {
			m, err := d.loadMeta(txn, ds.id)
			if err != nil {
				return err
			}
			ix, ok := m.indexID(path)
			if !ok {
				return fmt.Errorf("db: %s: %w", path, ErrNoIndex)
			}
			p := indexPrefix(ds.id, ix)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p, Reverse: reverse})
			defer it.Close()
			var skip []byte
			switch {
			case after != nil:
				skip = append(AppendKey(append([]byte{}, p...), after.Value), after.ID[:]...)
				it.Seek(skip)
			case from != nil && reverse:
				// Past every id of the value: ids are 12 bytes.
				it.Seek(append(AppendKey(append([]byte{}, p...), *from), bytes.Repeat([]byte{0xFF}, len(ID{})+1)...))
			case from != nil:
				it.Seek(AppendKey(append([]byte{}, p...), *from))
			case reverse:
				it.Seek(append(append([]byte{}, p...), 0xFF))
			default:
				it.Rewind()
			}
			for n := 0; it.Valid(); it.Next() {
				if n++; n&1023 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				full := it.Item().Key()
				if skip != nil && bytes.Equal(full, skip) {
					continue
				}
				k := full[len(p):]
				if len(k) < len(ID{}) {
					return ErrCorrupt
				}
				v, rest, err := DecodeKey(k[:len(k)-len(ID{})])
				if err != nil || len(rest) != 0 {
					return fmt.Errorf("db: index %s: %w", path, ErrCorrupt)
				}
				var e IndexEntry
				copy(e.ID[:], k[len(k)-len(ID{}):])
				e.Value = v
				if cacheable && len(head) < headLen {
					head = append(head, e)
				}
				if !yield(e, nil) {
					return errStop
				}
			}
			complete = true
			return nil
		}()
		if err != nil && !errors.Is(err, errStop) {
			yield(IndexEntry{}, err)
			return
		}
		if cacheable && len(head) > 0 {
			d.heads.put(key, indexHead{epoch: e, entries: head, complete: complete && len(head) < headLen})
		}
	}
}

// CreateIndex indexes a user field path (for example metadata.width or
// ground_truth.label) over every sample, so that sorting on it with a
// limit reads only the rows it returns. Creating an existing index is a
// no-op.
func (ds *Dataset) CreateIndex(ctx context.Context, path string) error {
	if strings.HasPrefix(path, FieldInsights+".") {
		return ds.createInsightIndex(ctx, path)
	}
	if path == FieldID || path == FieldTags {
		return fmt.Errorf("db: %s is always indexed: %w", path, ErrInvalid)
	}
	if err := checkUserPath(path); err != nil {
		return err
	}
	if err := ds.db.checkOpen(); err != nil {
		return err
	}
	d := ds.db
	d.wmu.Lock()
	defer d.wmu.Unlock()
	m, err := ds.meta()
	if err != nil {
		return err
	}
	if _, ok := m.Indexes[path]; ok {
		return nil
	}
	m = m.clone()
	ix := m.newIndexID()
	// Fill the index, then publish it; writers wait meanwhile.
	if err := ds.fillIndex(ctx, path, ix, func(s *Sample) Value { return s.rec.Lookup(path) }, true); err != nil {
		d.deletePrefixes(indexPrefix(ds.id, ix))
		return err
	}
	m.Indexes[path] = ix
	return d.updateLocked(func(txn *badger.Txn) (*datasetMeta, error) { return m, nil })
}

func (ds *Dataset) createInsightIndex(ctx context.Context, path string) error {
	group, key, ok := strings.Cut(strings.TrimPrefix(path, FieldInsights+"."), ".")
	if !ok || validGroup(group) != nil || validGroup(key) != nil {
		return fmt.Errorf("db: index path %q: want insights.<group>.<key>: %w", path, ErrInvalid)
	}
	d := ds.db
	if err := d.checkOpen(); err != nil {
		return err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	m, err := ds.meta()
	if err != nil {
		return err
	}
	g := m.Insights[group]
	if g == nil {
		return fmt.Errorf("db: insights group %q has no values yet: %w", group, ErrNotFound)
	}
	if _, ok := g.Indexes[key]; ok {
		return nil
	}
	m = m.clone()
	ix := m.newIndexID()
	if err := ds.fillIndex(ctx, path, ix, func(s *Sample) Value { return s.insights[group].Lookup(key) }, false); err != nil {
		d.deletePrefixes(indexPrefix(ds.id, ix))
		return err
	}
	m.Insights[group].Indexes[key] = ix
	return d.updateLocked(func(txn *badger.Txn) (*datasetMeta, error) { return m, nil })
}

// fillIndex writes one entry per sample into index ix, the index of field.
func (ds *Dataset) fillIndex(ctx context.Context, field string, ix uint32, value func(*Sample) Value, noInsights bool) error {
	wb := ds.db.bdb.NewWriteBatch()
	for s, err := range ds.SamplesAfter(ctx, ID{}, noInsights) {
		if err != nil {
			wb.Cancel()
			return err
		}
		if err := ds.db.set(wb, indexKey(ds.id, ix, value(s), s.ID), nil, "value of indexed field %s (sample %s)", field, s.ID); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// DropIndex removes a user field index.
func (ds *Dataset) DropIndex(path string) error {
	var ix uint32
	err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		var ok bool
		if ix, ok = m.Indexes[path]; !ok {
			return nil, fmt.Errorf("db: %s: %w", path, ErrNoIndex)
		}
		m = m.clone()
		delete(m.Indexes, path)
		return m, nil
	})
	if err != nil {
		return err
	}
	return ds.db.deletePrefixes(indexPrefix(ds.id, ix))
}

// TagIDs iterates over the ids of the samples that have tag, in id order,
// through the tag index.
func (ds *Dataset) TagIDs(ctx context.Context, tag string) iter.Seq2[ID, error] {
	return keysUnder(ctx, ds, appendEscaped(dsPrefix(tagTag, ds.id), tag), func(rest []byte) ID {
		var id ID
		copy(id[:], rest)
		return id
	})
}

// keysUnder iterates in order over the keys under prefix (keys only, no
// value is read), giving what of reads from each key past the prefix.
func keysUnder[T any](ctx context.Context, ds *Dataset, prefix []byte, of func(rest []byte) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		err := ds.db.view(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			it.Rewind()
			for n := 1; it.Valid(); it.Next() {
				if n++; n&1023 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if !yield(of(it.Item().Key()[len(prefix):]), nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			var zero T
			yield(zero, err)
		}
	}
}

// TagCounts counts the samples of each tag, from the tag index.
func (ds *Dataset) TagCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := ds.db.view(func(txn *badger.Txn) error {
		p := dsPrefix(tagTag, ds.id)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()[len(p):]
			if len(k) < len(ID{}) {
				return ErrCorrupt
			}
			tag, _, err := decodeEscaped(k[:len(k)-len(ID{})])
			if err != nil {
				return err
			}
			out[tag]++
		}
		return ctx.Err()
	})
	return out, err
}

// Filepaths iterates over the filepaths of the dataset's samples in byte
// order (db.Compare's order of strings) through the filepath index, which
// holds one entry per sample, without reading the samples.
func (ds *Dataset) Filepaths(ctx context.Context) iter.Seq2[string, error] {
	return keysUnder(ctx, ds, dsPrefix(tagFilepath, ds.id), func(rest []byte) string { return string(rest) })
}
