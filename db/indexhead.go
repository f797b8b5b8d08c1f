package db

import (
	"sync"
)

// indexHeads keeps the first entries of index scans from each end, per
// commit epoch, so that the commonest query on an index (the top or
// bottom k, repeated as a user pages, refreshes a dashboard or sorts a
// view again) reads them from memory instead of building Badger
// iterators over every level. Like the record cache, an entry holds the
// epoch of the snapshot it was read in and answers only readers of that
// same quiet epoch, so any commit retires it.
type indexHeads struct {
	mu sync.Mutex
	m  map[headKey]indexHead
}

// headLen is the most entries kept per index end: enough for the top
// 10–50 a person looks at, small enough that 1,000 heads stay under a few
// megabytes.
const headLen = 64

// headsLimit bounds the number of index ends kept; past it the cache
// starts over.
const headsLimit = 1024

type headKey struct {
	ds      uint64
	path    string
	reverse bool
}

type indexHead struct {
	epoch    uint64
	entries  []IndexEntry
	complete bool // the index has no entries past these
}

// get returns the head of an index end read in epoch e.
func (h *indexHeads) get(k headKey, e uint64) (indexHead, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.m[k]
	return v, ok && v.epoch == e
}

// put keeps a head unless one at least as long is already kept for its
// epoch.
func (h *indexHeads) put(k headKey, v indexHead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.m[k]; ok && old.epoch == v.epoch && (old.complete || len(old.entries) >= len(v.entries)) {
		return
	}
	if h.m == nil || len(h.m) >= headsLimit {
		h.m = map[headKey]indexHead{}
	}
	h.m[k] = v
}
