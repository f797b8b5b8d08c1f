package db

import badger "github.com/dgraph-io/badger/v4"

// This file is CHECK DATABASE's part for metadata columns (columns.go).

// checkColumns compares current columns, when the dataset has them, with
// the records: for each column, how many samples hold an int, a null or
// nothing, and a sum of the ints mixed so that any change shows.
func (c *checker) checkColumns() error {
	h, err := readColumnsHeader(c.txn, c.ds)
	if err != nil {
		c.report("columns", "its metadata columns header cannot be read (REPAIR DATABASE drops the columns)")
		return nil
	}
	if h == nil || h.Version != c.m.Version {
		return nil
	}
	if _, err := c.txn.Get(journalHeaderKey(c.ds)); err == nil {
		return nil
	}
	want, got := make([]columnDigest, len(h.Paths)), make([]columnDigest, len(h.Paths))
	cols := make([]int, len(h.Paths))
	for i := range cols {
		cols[i] = i
	}
	var chunk ColumnChunk
	for i := range h.Chunks {
		item, err := c.txn.Get(columnsChunkKey(c.ds, i))
		if err == nil {
			err = item.Value(func(b []byte) error { return decodeColumnChunk(b, len(h.Paths), cols, &chunk) })
		}
		if err != nil {
			c.report("columns", "metadata column chunk %d cannot be read: %v (REPAIR DATABASE drops the columns)", i, err)
			return nil
		}
		for col := range h.Paths {
			for s := range chunk.Len {
				got[col].add(chunk.Value(col, s))
			}
		}
	}
	p := dsPrefix(tagSample, c.ds)
	it := c.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		err := it.Item().Value(func(b []byte) error {
			for col, path := range h.Paths {
				want[col].add(Record(b).Lookup(path))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for col, path := range h.Paths {
		if got[col] != want[col] {
			c.report("columns", "the metadata column %s disagrees with the samples (REPAIR DATABASE drops the columns)", path)
		}
	}
	return nil
}

// columnDigest sums up one column's values, in any order.
type columnDigest struct {
	ints, nulls, missing int64
	mix                  uint64
}

func (d *columnDigest) add(v Value) {
	switch v.kind {
	case KindInt:
		d.ints++
		x := v.num*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
		x ^= x >> 29
		d.mix += x * 0xBF58476D1CE4E5B9
	case KindNull:
		d.nulls++
	case KindMissing:
		d.missing++
	default:
		d.mix += 1 << 63 // not a column value at all
	}
}
