package db

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// This file builds and stores metadata columns (columns.go): from a
// snapshot's records, or by appending the values of the samples a
// statement adds.

// builtColumns is a set of columns built from one snapshot.
type builtColumns struct {
	header columnsHeader
	chunks [][]byte // encoded
	size   int64
}

// buildColumns reads the columns at paths from every record of the
// snapshot, on several goroutines.
func (ds *Dataset) buildColumns(ctx context.Context, txn *badger.Txn, m *datasetMeta, paths []string) (*builtColumns, error) {
	out := &builtColumns{header: columnsHeader{Version: m.Version, Paths: paths}}
	var mu sync.Mutex
	flush := func(cb *chunkBuilder) {
		b := cb.encode()
		mu.Lock()
		out.chunks = append(out.chunks, b)
		out.size += int64(len(b))
		mu.Unlock()
	}
	builders := make([]*chunkBuilder, scanWorkers(0, maxScanParts))
	err := ds.visitSnapshot(ctx, txn, m, SampleScan{NoInsights: true}, func(w int, s *Sample) error {
		cb := builders[w]
		if cb == nil {
			cb = newChunkBuilder(paths)
			builders[w] = cb
		}
		if cb.addRecord(s.rec) {
			flush(cb)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, cb := range builders {
		if cb != nil && cb.n > 0 {
			flush(cb)
		}
	}
	out.header.Chunks = uint32(len(out.chunks))
	return out, nil
}

// storeColumns stores columns built from a snapshot, when the dataset is
// still at the version they hold, no statement is writing to it and the
// database is writable. With onto, the chunks are the values of samples
// added to the columns onto describes, and are stored after its chunks
// when those are still the stored ones. It does not wait for a busy
// writer, and a failure leaves the columns stale, to be built again.
func (ds *Dataset) storeColumns(b *builtColumns, onto *columnsHeader) {
	d := ds.db
	if d.readOnly || d.checkOpen() != nil || !d.wmu.TryLock() {
		return
	}
	defer d.wmu.Unlock()
	if d.roomToWrite(b.size, false) != nil {
		return
	}
	current := false
	if d.bdb.View(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		_, err = txn.Get(journalHeaderKey(ds.id))
		current = m.Version == b.header.Version && errors.Is(err, badger.ErrKeyNotFound)
		if onto != nil && current {
			h, err := readColumnsHeader(txn, ds.id)
			current = err == nil && h != nil && h.Version == onto.Version && h.Chunks == onto.Chunks && slices.Equal(h.Paths, onto.Paths)
		}
		return nil
	}) != nil || !current {
		return
	}
	// The chunks first, then the header that makes them current: a
	// crash in between leaves a header of another version, never read.
	first := uint32(0)
	if onto != nil {
		first = onto.Chunks
	} else if d.deletePrefix(context.Background(), dsPrefix(tagColumns, ds.id), nil) != nil {
		return
	}
	wb := d.bdb.NewWriteBatch()
	defer wb.Cancel()
	for i, c := range b.chunks {
		if wb.Set(columnsChunkKey(ds.id, first+uint32(i)), c) != nil {
			return
		}
	}
	if wb.Flush() != nil {
		return
	}
	h := b.header
	h.Chunks = first + uint32(len(b.chunks))
	hb, err := json.Marshal(h)
	if err != nil {
		return
	}
	_ = d.commitLocked(func(txn *badger.Txn) (*datasetMeta, error) {
		return nil, txn.Set(columnsHeaderKey(ds.id), hb)
	})
}

// columnAppender gathers the column values of the samples a statement
// adds, so that columns current before it stay current after it.
type columnAppender struct {
	onto   *columnsHeader // the columns at the statement's start; nil: none current
	cb     *chunkBuilder
	chunks [][]byte
	size   int64
}

// newColumnAppender starts gathering for a statement that adds samples to
// the dataset described by before.
func (ds *Dataset) newColumnAppender(before *datasetMeta) *columnAppender {
	ca := &columnAppender{}
	_ = ds.db.bdb.View(func(txn *badger.Txn) error {
		h, err := readColumnsHeader(txn, ds.id)
		if err == nil && h.holds(before) {
			ca.onto = h
		}
		return nil
	})
	if ca.onto != nil {
		ca.cb = newChunkBuilder(ca.onto.Paths)
	}
	return ca
}

// add gathers a new sample's values.
func (ca *columnAppender) add(rec Record) {
	if ca.onto != nil && ca.cb.addRecord(rec) {
		ca.flush()
	}
}

func (ca *columnAppender) flush() {
	b := ca.cb.encode()
	ca.chunks = append(ca.chunks, b)
	ca.size += int64(len(b))
}

// columnsAfterAdd brings the columns up to date after a statement that
// added samples committed, the dataset now described by m: the added
// values go after columns that were current at its start and still have
// the same fields; otherwise a dataset of ColumnMinSamples or more gets
// its columns built anew.
func (ds *Dataset) columnsAfterAdd(ctx context.Context, ca *columnAppender, m *datasetMeta) {
	if ds.db.readOnly || m.Count < ColumnMinSamples {
		return
	}
	paths := columnPaths(m)
	if len(paths) == 0 {
		return // no metadata ints to keep
	}
	if ca.onto != nil && slices.Equal(paths, ca.onto.Paths) {
		if ca.cb.n > 0 {
			ca.flush()
		}
		ds.storeColumns(&builtColumns{header: columnsHeader{Version: m.Version, Paths: paths}, chunks: ca.chunks, size: ca.size}, ca.onto)
		return
	}
	var built *builtColumns
	err := ds.db.view(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		built, err = ds.buildColumns(ctx, txn, m, columnPaths(m))
		return err
	})
	if err == nil {
		ds.storeColumns(built, nil)
	}
}
