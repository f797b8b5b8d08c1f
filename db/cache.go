package db

import (
	"errors"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
)

// recordCache keeps recently read sample and insight records, so that a
// query that fetches the same few samples again (the top 10 of an index,
// a page of a view) does not go back to Badger's levels for each one.
//
// Consistency comes from an epoch that every commit changes: a writer
// bumps it before and after committing, and a reader uses the cache only
// when no write was in progress from just before its snapshot was taken
// to just after. Entries are tagged with the epoch of the reader that
// stored them, so every reader of one epoch sees the same committed state
// whether a record comes from the cache or from Badger, and any write
// makes all older entries unreachable.
type recordCache struct {
	writers atomic.Int64
	epoch   atomic.Uint64

	mu      sync.RWMutex
	entries map[string]cacheEntry
	bytes   int
}

type cacheEntry struct {
	epoch uint64
	rec   Record // nil: the key is absent
}

// cacheLimit bounds the memory the cache holds; past it, it starts over.
const cacheLimit = 32 << 20

// writeBegin and writeEnd bracket a commit.
func (c *recordCache) writeBegin() { c.writers.Add(1); c.epoch.Add(1) }
func (c *recordCache) writeEnd()   { c.epoch.Add(1); c.writers.Add(-1) }

// pointReader reads records in one snapshot, through the cache when the
// snapshot is of a quiet epoch. Its Badger transaction is made only when
// the cache cannot answer, so reads that the cache answers entirely cost
// no transaction.
type pointReader struct {
	d      *DB
	txn    *badger.Txn // nil until the first read the cache cannot answer
	c      *recordCache
	epoch  uint64
	ok     bool // the cache may answer: the epoch was quiet
	served bool // the cache has answered a read
}

// testHookBeforeSnapshot, when set by a test, runs just before a point
// reader makes its transaction.
var testHookBeforeSnapshot func()

// errEpochMoved stops a point read whose first read from Badger found
// that a commit came after the reads the cache answered.
var errEpochMoved = errors.New("db: a commit came during a cached read")

// pointView runs fn with a reader over a new snapshot. fn may run twice:
// when a commit lands between reads the cache answered and the first read
// it could not, fn starts over on one Badger snapshot.
func (d *DB) pointView(fn func(r *pointReader) error) error {
	if err := d.checkOpen(); err != nil {
		return err
	}
	c := &d.cache
	quiet := c.writers.Load() == 0
	r := &pointReader{d: d, c: c, epoch: c.epoch.Load(), ok: quiet}
	err := fn(r)
	if r.txn != nil {
		r.txn.Discard()
	}
	if !errors.Is(err, errEpochMoved) {
		return err
	}
	r = &pointReader{d: d, c: c, txn: d.bdb.NewTransaction(false)}
	defer r.txn.Discard()
	return fn(r)
}

// snapshot returns the reader's transaction, making it on first use. A
// transaction made after a commit of a later epoch ends the cache's part:
// if the cache answered a read already, the read must start over.
func (r *pointReader) snapshot() (*badger.Txn, error) {
	if r.txn != nil {
		return r.txn, nil
	}
	if testHookBeforeSnapshot != nil {
		testHookBeforeSnapshot()
	}
	r.txn = r.d.bdb.NewTransaction(false)
	if r.ok && (r.c.writers.Load() != 0 || r.c.epoch.Load() != r.epoch) {
		if r.served {
			return nil, errEpochMoved
		}
		r.ok = false
	}
	return r.txn, nil
}

// meta returns a dataset's meta as of the reader's snapshot.
func (r *pointReader) meta(ds uint64) (*datasetMeta, error) {
	if m := r.d.cachedMeta(ds); m != nil {
		return m, nil
	}
	txn, err := r.snapshot()
	if err != nil {
		return nil, err
	}
	return r.d.loadMeta(txn, ds)
}

// get reads a record; a missing key gives nil.
func (r *pointReader) get(key []byte) (Record, error) {
	if r.ok {
		r.c.mu.RLock()
		ent, hit := r.c.entries[string(key)]
		r.c.mu.RUnlock()
		if hit && ent.epoch == r.epoch {
			r.served = true
			return ent.rec, nil
		}
	}
	txn, err := r.snapshot()
	if err != nil {
		return nil, err
	}
	rec, err := getRecord(txn, key)
	if err != nil || !r.ok {
		return rec, err
	}
	r.c.mu.Lock()
	if r.c.entries == nil || r.c.bytes > cacheLimit {
		r.c.entries, r.c.bytes = map[string]cacheEntry{}, 0
	}
	r.c.entries[string(key)] = cacheEntry{epoch: r.epoch, rec: rec}
	r.c.bytes += len(key) + len(rec) + 64
	r.c.mu.Unlock()
	return rec, nil
}

// Epoch returns the commit epoch, a number that every commit changes, and
// whether no commit was in progress while it was read. The database holds
// the same committed state at any two moments that report the same epoch
// with quiet set, so a caller may keep what it derived from the database
// (a schema, a plan, a freshness check) for as long as Epoch reports the
// epoch it was derived in.
func (d *DB) Epoch() (epoch uint64, quiet bool) {
	c := &d.cache
	quiet = c.writers.Load() == 0
	epoch = c.epoch.Load()
	return epoch, quiet && c.writers.Load() == 0 && c.epoch.Load() == epoch
}
