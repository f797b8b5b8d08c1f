package db

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestHeapHoldSetsAndRestoresTheLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(prev)

	var a, b HeapHold
	a.Hold(100 << 20)
	first := debug.SetMemoryLimit(-1)
	if first < 100<<20+heapHeadroom || first == math.MaxInt64 {
		t.Fatalf("limit with one holder of 100 MiB = %d", first)
	}
	b.Hold(50 << 20)
	if got := debug.SetMemoryLimit(-1); got != first+50<<20 {
		t.Errorf("limit with a second holder of 50 MiB = %d, want %d", got, first+50<<20)
	}
	a.Hold(10 << 20) // a new share replaces the old
	if got := debug.SetMemoryLimit(-1); got != first-40<<20 {
		t.Errorf("limit after the first holder's share fell to 10 MiB = %d, want %d", got, first-40<<20)
	}
	a.Release()
	a.Release() // safe twice
	if got := debug.SetMemoryLimit(-1); got != first-50<<20 {
		t.Errorf("limit with the second holder alone = %d, want %d", got, first-50<<20)
	}
	b.Release()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after the last holder = %d, want none", got)
	}
	var none *HeapHold
	none.Release()
}

func TestHeapHoldLeavesAProgramsLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(3 << 30)
	defer debug.SetMemoryLimit(prev)
	var h HeapHold
	h.Hold(1 << 30)
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Errorf("a program's own limit became %d while held", got)
	}
	h.Release()
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Errorf("a program's own limit became %d after release", got)
	}
}

func TestBulkStatementHoldsTheLimitWhileItRuns(t *testing.T) {
	prev := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(prev)
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "bulk")
	n := 2*bulkMaxSamples + 10 // three batches
	ids := addN(t, ds, n, nil)
	var during int64
	_, err := ds.SetEach(ctx, ids, "score", func(i int) (Value, error) { return Int(int64(i)), nil }, func(done int) {
		if done == n {
			during = debug.SetMemoryLimit(-1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if during == math.MaxInt64 || during < bulkHeapShare {
		t.Errorf("soft heap limit during a statement of %d samples = %d, want at least %d", n, during, bulkHeapShare)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("soft heap limit after the statement = %d, want none", got)
	}
}
