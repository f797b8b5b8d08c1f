package db

import (
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
// snapshot was taken in a quiet epoch.
type pointReader struct {
	txn   *badger.Txn
	c     *recordCache
	epoch uint64
	ok    bool
}

// pointView runs fn with a reader over a new snapshot.
func (d *DB) pointView(fn func(r *pointReader) error) error {
	if err := d.checkOpen(); err != nil {
		return err
	}
	c := &d.cache
	quiet := c.writers.Load() == 0
	e := c.epoch.Load()
	txn := d.bdb.NewTransaction(false)
	defer txn.Discard()
	r := &pointReader{txn: txn, c: c, epoch: e, ok: quiet && c.writers.Load() == 0 && c.epoch.Load() == e}
	return fn(r)
}

// get reads a record; a missing key gives nil.
func (r *pointReader) get(key []byte) (Record, error) {
	if r.ok {
		r.c.mu.RLock()
		ent, hit := r.c.entries[string(key)]
		r.c.mu.RUnlock()
		if hit && ent.epoch == r.epoch {
			return ent.rec, nil
		}
	}
	rec, err := getRecord(r.txn, key)
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
