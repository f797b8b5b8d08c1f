package db

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// heapHeadroom is what the soft heap limit leaves beyond the holders'
// shares and the heap that was live before them: the storage engine's
// caches and the garbage a statement makes as it reads and writes.
const heapHeadroom = 256 << 20

// bulkHeapShare is a bulk statement's share of the soft heap limit. It is
// the storage engine's, not the statement's (which holds one batch): a
// compaction behind a large write builds its tables in memory, often a
// dozen at once, and at 1,000,000 rewritten samples they held about
// 0.9 GB (BENCHMARKS.md, "A million samples").
const bulkHeapShare = 1 << 30

// heapLimits is the process's soft heap limit (debug.SetMemoryLimit) while
// holders hold it: the heap live when the first holder came, plus the sum
// of the holders' shares, plus heapHeadroom. Without it the collector's
// default pacing (GOGC=100) lets garbage grow the heap to twice what is
// live. A limit set before (GOMEMLIMIT, or the program's own) is left as
// it is.
var heapLimits struct {
	sync.Mutex
	active int   // holders
	total  int64 // their shares
	base   int64 // the live heap when the first holder came
	prev   int64 // the limit before the first holder
	ours   bool  // whether the holders set the limit
}

// HeapHold is one holder's share of the process's soft heap limit: a
// brain run's plan, or a bulk statement's storage work. The zero value
// holds nothing; Release gives the share back.
type HeapHold struct {
	bytes int64
	held  bool
}

// Hold sets the holder's share to bytes (replacing a share it held).
func (h *HeapHold) Hold(bytes int64) {
	heapLimits.Lock()
	defer heapLimits.Unlock()
	if h.held {
		heapLimits.total -= h.bytes
	} else {
		h.held = true
		if heapLimits.active++; heapLimits.active == 1 {
			heapLimits.prev = debug.SetMemoryLimit(-1)
			heapLimits.ours = heapLimits.prev == math.MaxInt64
			heapLimits.base = liveHeap()
		}
	}
	h.bytes = bytes
	heapLimits.total += bytes
	if heapLimits.ours {
		setHeapLimit()
	}
}

// Release gives the share back; the last holder out restores the limit
// that was there before. It is safe on a nil or released hold.
func (h *HeapHold) Release() {
	if h == nil || !h.held {
		return
	}
	heapLimits.Lock()
	defer heapLimits.Unlock()
	h.held = false
	heapLimits.total -= h.bytes
	switch heapLimits.active--; {
	case !heapLimits.ours:
	case heapLimits.active == 0:
		debug.SetMemoryLimit(heapLimits.prev)
	default:
		setHeapLimit()
	}
}

// setHeapLimit sets the limit the holders ask for; heapLimits is locked.
func setHeapLimit() {
	debug.SetMemoryLimit(heapLimits.base + heapLimits.total + heapHeadroom)
}

// liveHeap is the heap the last collection found live.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
