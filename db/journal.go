package db

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// A statement whose writes do not fit one Badger transaction (a bulk
// import, an UPDATE of a large dataset) is made all-or-nothing by an undo
// journal kept in the store beside the samples:
//
//	j dsid            the statement is in progress; the value is the
//	                  dataset's description from before it
//	j dsid batch(4)   one committed batch's undo records: for each sample
//	                  it wrote, the id and the record before the statement
//	                  (none for a sample it added)
//
// Each batch commits its samples and its undo records in one transaction.
// The statement commits by deleting the header in the transaction of its
// last batch; the undo records left behind are then removed. A statement
// that fails or is cancelled undoes its batches newest first, each undo
// transaction deleting the batch key it undid, then puts the description
// back and deletes the header. A crash at any point leaves the header, and
// the next Open finishes the undo before anything reads the dataset. A
// statement that fits in one transaction writes no journal.
//
// The writer lock is held for the whole statement, so no other write
// interleaves with its batches; readers in the same process may see the
// batches committed so far until the statement ends.

// bulkBatchShare is the share of Badger's transaction limits a batch
// fills before it commits: the estimate of a batch's size is rough, and
// its undo records and the dataset's description ride along.
const bulkBatchShare = 4

// bulkMaxSamples caps the samples of one batch, bounding the undo
// transaction that reverses it.
const bulkMaxSamples = 4096

// bulkWrite is one statement's write to a dataset, in as many batches as
// its size needs.
type bulkWrite struct {
	ds        *Dataset
	before    *datasetMeta // the description before the statement
	m         *datasetMeta // the description with the batches so far
	txn       *badger.Txn
	undo      []byte // the open batch's undo records
	samples   int    // samples in the open batch
	size      int64  // estimated bytes of the open batch
	entries   int64  // estimated keys of the open batch
	batches   uint32 // batches committed
	journaled bool   // the header is written (the statement spans batches)
	done      bool
	heap      HeapHold // a statement that spans batches holds bulkHeapShare

	// Batches after the first may commit in the background (async), so
	// that the next batch is built while Badger writes the last one; at
	// most bulkInFlight are pending, and commit and abort wait for them.
	async    bool
	inflight chan struct{}
	pending  sync.WaitGroup
	errMu    sync.Mutex
	asyncErr error
}

// bulkInFlight bounds the batches committing in the background.
const bulkInFlight = 2

// beginBulk starts a statement's write: it takes the writer lock until
// commit or abort, and removes undo records a committed statement left.
func (ds *Dataset) beginBulk() (*bulkWrite, error) {
	d := ds.db
	if err := d.checkOpen(); err != nil {
		return nil, err
	}
	if d.readOnly {
		return nil, fmt.Errorf("db: %w", ErrReadOnly)
	}
	d.wmu.Lock()
	if err := ds.dropJournal(); err != nil {
		d.wmu.Unlock()
		return nil, err
	}
	var m *datasetMeta
	err := d.bdb.View(func(txn *badger.Txn) error {
		var err error
		m, err = d.loadMeta(txn, ds.id)
		return err
	})
	if err != nil {
		d.wmu.Unlock()
		return nil, err
	}
	return &bulkWrite{ds: ds, before: m, m: m.clone(), txn: d.bdb.NewTransaction(true), inflight: make(chan struct{}, bulkInFlight)}, nil
}

// commitInBackground lets batches after the first commit while the next
// is built. Only for a writer whose reads do not depend on its own
// earlier batches (an insert of new samples checks its filepaths itself).
func (b *bulkWrite) commitInBackground() { b.async = true }

// meta is the dataset's description as the statement has written it; the
// caller may change it (counts, version) before the next put or commit.
func (b *bulkWrite) meta() *datasetMeta { return b.m }

// put writes one sample: old is its record before (nil for a new sample),
// rec its new record (nil to delete it) and doc rec decoded (missing when
// the caller does not have it). A full batch is committed first.
func (b *bulkWrite) put(id ID, old, rec Record, doc Value) error {
	keys := int64(8 + len(stringsOf(old.Lookup(FieldTags))) + len(stringsOf(rec.Lookup(FieldTags))) +
		2*len(b.m.Indexes) + len(b.m.Spaces))
	for _, g := range b.m.Insights {
		keys += int64(1 + len(g.Indexes))
	}
	size := int64(len(old)+len(rec)) + 2*int64(len(rec.Lookup(FieldFilepath).AsString())) + 64*keys
	if b.samples > 0 && (b.samples >= bulkMaxSamples ||
		b.size+size > b.ds.db.bdb.MaxBatchSize()/bulkBatchShare ||
		b.entries+keys > b.ds.db.bdb.MaxBatchCount()/bulkBatchShare) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if err := b.ds.writeSample(b.txn, b.m, id, old, rec, doc); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("db: sample %s is too large for one transaction: %w", id, err)
		}
		return err
	}
	b.undo = appendUndo(b.undo, id, old)
	b.samples++
	b.size += size
	b.entries += keys
	return nil
}

// appendUndo appends one undo record: the id, then the old record's
// length plus one (0 when the sample did not exist) and its bytes.
func appendUndo(buf []byte, id ID, old Record) []byte {
	buf = append(buf, id[:]...)
	if old == nil {
		return binary.AppendUvarint(buf, 0)
	}
	buf = binary.AppendUvarint(buf, uint64(len(old))+1)
	return append(buf, old...)
}

// undoRecord is one decoded undo record.
type undoRecord struct {
	id  ID
	old Record // nil: the sample did not exist
}

func decodeUndo(buf []byte) ([]undoRecord, error) {
	var out []undoRecord
	for len(buf) > 0 {
		if len(buf) < 12 {
			return nil, fmt.Errorf("db: undo journal: truncated record: %w", ErrCorrupt)
		}
		var r undoRecord
		copy(r.id[:], buf)
		n, k := binary.Uvarint(buf[12:])
		if k <= 0 || uint64(len(buf)-12-k)+1 < n {
			return nil, fmt.Errorf("db: undo journal: bad record length: %w", ErrCorrupt)
		}
		buf = buf[12+k:]
		if n > 0 {
			r.old = Record(append([]byte(nil), buf[:n-1]...))
			buf = buf[n-1:]
		}
		out = append(out, r)
	}
	return out, nil
}

func journalHeaderKey(ds uint64) []byte { return dsPrefix(tagJournal, ds) }

func journalBatchKey(ds uint64, batch uint32) []byte {
	return binary.BigEndian.AppendUint32(dsPrefix(tagJournal, ds), batch)
}

// catchUp makes the open transaction see every batch of the statement:
// it waits for the background commits and, when the open batch holds
// samples, commits it first.
func (b *bulkWrite) catchUp() error {
	if err := b.settle(); err != nil {
		return err
	}
	if b.samples > 0 {
		async := b.async
		b.async = false
		err := b.flush()
		b.async = async
		return err
	}
	b.txn.Discard()
	b.txn = b.ds.db.bdb.NewTransaction(true)
	return nil
}

// flush commits the open batch with its undo records and opens the next.
func (b *bulkWrite) flush() error {
	d := b.ds.db
	if !b.journaled {
		b.heap.Hold(bulkHeapShare)
		before, err := json.Marshal(b.before)
		if err != nil {
			return err
		}
		if err := d.set(b.txn, journalHeaderKey(b.ds.id), before, "undo journal header"); err != nil {
			return err
		}
	}
	if err := d.set(b.txn, journalBatchKey(b.ds.id, b.batches), b.undo, "undo journal batch"); err != nil {
		return err
	}
	// The first batch (with the header) commits before any other, so
	// that every committed batch is covered by the header.
	if b.async && b.journaled {
		if err := b.commitBackground(); err != nil {
			return err
		}
	} else if err := b.commitTxn(); err != nil {
		return err
	}
	b.journaled = true
	b.batches++
	b.txn = d.bdb.NewTransaction(true)
	b.undo, b.samples, b.size, b.entries = b.undo[:0], 0, 0, 0
	return nil
}

// commitTxn commits the open transaction with the dataset's description
// and publishes the description.
func (b *bulkWrite) commitTxn() error {
	d := b.ds.db
	if err := b.readyToCommit(); err != nil {
		return err
	}
	d.cache.writeBegin()
	err := b.txn.Commit()
	d.cache.writeEnd()
	if err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("db: batch too large for one transaction: %w", err)
		}
		return err
	}
	d.mu.Lock()
	d.metas[b.m.ID] = b.m
	d.mu.Unlock()
	b.m = b.m.clone()
	return nil
}

// readyToCommit checks the disk has room for the open batch and adds the
// dataset's description to it.
func (b *bulkWrite) readyToCommit() error {
	if err := b.ds.db.roomToWrite(b.size, false); err != nil {
		return err
	}
	return b.ds.db.putMeta(b.txn, b.m)
}

// commitBackground commits the open transaction in the background. Its
// description is published by the statement's last commit.
func (b *bulkWrite) commitBackground() error {
	d := b.ds.db
	if err := b.backgroundError(); err != nil {
		return err
	}
	if err := b.readyToCommit(); err != nil {
		return err
	}
	b.inflight <- struct{}{}
	b.pending.Add(1)
	d.cache.writeBegin()
	b.txn.CommitWith(func(err error) {
		d.cache.writeEnd()
		if err != nil {
			b.errMu.Lock()
			b.asyncErr = errors.Join(b.asyncErr, err)
			b.errMu.Unlock()
		}
		<-b.inflight
		b.pending.Done()
	})
	b.m = b.m.clone()
	return nil
}

// backgroundError returns the error of the background commits that have
// finished.
func (b *bulkWrite) backgroundError() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.asyncErr != nil && errors.Is(b.asyncErr, badger.ErrTxnTooBig) {
		return fmt.Errorf("db: batch too large for one transaction: %w", b.asyncErr)
	}
	return b.asyncErr
}

// settle waits for the background commits and returns their error.
func (b *bulkWrite) settle() error {
	b.pending.Wait()
	return b.backgroundError()
}

// commit makes the statement's writes permanent: the last batch commits
// together with the deletion of the header, in one step.
func (b *bulkWrite) commit() error {
	if b.done {
		return nil
	}
	b.done = true
	defer b.ds.db.wmu.Unlock()
	defer b.heap.Release()
	defer b.txn.Discard()
	if err := b.settle(); err != nil {
		return b.fail(err)
	}
	if b.journaled {
		if err := b.txn.Delete(journalHeaderKey(b.ds.id)); err != nil {
			return b.fail(err)
		}
	}
	if err := b.commitTxn(); err != nil {
		return b.fail(err)
	}
	if b.journaled {
		// Committed: the undo records are garbage now. Left behind by an
		// error here, they are removed by the next statement or open.
		_ = b.ds.dropJournal()
	}
	return nil
}

// abort undoes whatever the statement committed. It is safe to call after
// commit (it then does nothing), so callers can defer it.
func (b *bulkWrite) abort() error {
	if b.done {
		return nil
	}
	b.done = true
	defer b.ds.db.wmu.Unlock()
	defer b.heap.Release()
	b.txn.Discard()
	settled := b.settle()
	if !b.journaled {
		return nil
	}
	if err := b.ds.undoJournal(); err != nil {
		return errors.Join(settled, err)
	}
	return nil
}

// fail undoes a statement whose last commit failed, returning the
// commit's error (and the undo's, if that failed too).
func (b *bulkWrite) fail(err error) error {
	if b.journaled {
		if uerr := b.ds.undoJournal(); uerr != nil {
			return errors.Join(err, fmt.Errorf("db: undoing the statement: %w (it is undone when the database is next opened)", uerr))
		}
	}
	return err
}

// undoJournal reverses the batches of an unfinished statement of ds,
// newest first, then restores the description saved in the header. Every
// step is its own transaction and may be repeated, so a crash during the
// undo leaves work the next open finishes.
func (ds *Dataset) undoJournal() error {
	d := ds.db
	var before []byte
	var batches [][]byte
	err := d.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(journalHeaderKey(ds.id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if before, err = item.ValueCopy(nil); err != nil {
			return err
		}
		batches, err = journalBatchKeys(txn, ds.id)
		return err
	})
	if err != nil || before == nil {
		return err
	}
	for i := len(batches) - 1; i >= 0; i-- {
		key := batches[i]
		err := d.undoLocked(func(txn *badger.Txn) (*datasetMeta, error) {
			item, err := txn.Get(key)
			if err != nil {
				return nil, err
			}
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return nil, err
			}
			recs, err := decodeUndo(raw)
			if err != nil {
				return nil, err
			}
			m, err := d.loadMeta(txn, ds.id)
			if err != nil {
				return nil, err
			}
			m = m.clone()
			for j := len(recs) - 1; j >= 0; j-- {
				r := recs[j]
				cur, err := getRecord(txn, sampleKey(ds.id, r.id))
				if err != nil {
					return nil, err
				}
				if cur == nil && r.old == nil {
					continue
				}
				if err := ds.writeSample(txn, m, r.id, cur, r.old, Value{}); err != nil {
					return nil, err
				}
			}
			return m, txn.Delete(key)
		})
		if err != nil {
			return err
		}
	}
	var m datasetMeta
	if err := json.Unmarshal(before, &m); err != nil {
		return fmt.Errorf("db: undo journal header: %w: %v", ErrCorrupt, err)
	}
	m.ID = ds.id
	return d.undoLocked(func(txn *badger.Txn) (*datasetMeta, error) {
		return &m, txn.Delete(journalHeaderKey(ds.id))
	})
}

// journalBatchKeys lists the batch keys of ds's journal in batch order.
func journalBatchKeys(txn *badger.Txn, ds uint64) ([][]byte, error) {
	prefix := journalHeaderKey(ds)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		if k := it.Item().Key(); len(k) == len(prefix)+4 {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
	}
	return keys, nil
}

// dropJournal removes the undo records of a committed statement (batch
// keys with no header). With a header present it does nothing: that is
// an unfinished statement, for undoJournal.
func (ds *Dataset) dropJournal() error {
	d := ds.db
	var keys [][]byte
	err := d.bdb.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(journalHeaderKey(ds.id)); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		var err error
		keys, err = journalBatchKeys(txn, ds.id)
		return err
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	wb := d.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// recoverJournal finishes, at open, what a crash left of a statement on
// ds: an unfinished one is undone (a read-only open fails with
// ErrReadOnly, to be opened read-write), a committed one's undo records
// are removed. Those records change no answer, so a read-only open leaves
// them to the next read-write one without looking for them: after a bulk
// statement its deleted records stay in the tables until a compaction,
// and walking past them would cost a short read milliseconds.
func (ds *Dataset) recoverJournal() error {
	if err := ds.undoJournal(); err != nil {
		return err
	}
	if ds.db.readOnly {
		return nil
	}
	return ds.dropJournal()
}
