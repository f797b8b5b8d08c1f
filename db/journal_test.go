package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// vectorSamples makes n samples that each carry a dim-float vector field
// emb and the tag "t<i mod 3>", with filepaths under prefix.
func vectorSamples(prefix string, n, dim int) []NewSample {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]NewSample, n)
	for i := range out {
		v := make([]float64, dim)
		for j := range v {
			v[j] = float64(float32(rng.NormFloat64()))
		}
		out[i] = NewSample{
			Filepath: fmt.Sprintf("%s/img%05d.png", prefix, i),
			Tags:     []string{fmt.Sprintf("t%d", i%3)},
			Fields:   Doc(Field{"emb", Floats(v)}, Field{"n", Int(int64(i))}),
		}
	}
	return out
}

// datasetState is what a statement must leave as it was when it fails:
// the count, version, sample ids, tag counts and an indexed field's scan.
type datasetState struct {
	count, version int64
	ids            int
	tags           map[string]int64
	indexed        int
}

func stateOf(t *testing.T, ds *Dataset) datasetState {
	t.Helper()
	var st datasetState
	c, err := ds.Count()
	if err != nil {
		t.Fatal(err)
	}
	v, err := ds.Version()
	if err != nil {
		t.Fatal(err)
	}
	st.count, st.version = c, int64(v)
	for _, err := range ds.IDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		st.ids++
	}
	if st.tags, err = ds.TagCounts(ctx); err != nil {
		t.Fatal(err)
	}
	if !ds.HasIndex("n") {
		return st
	}
	for _, err := range ds.IndexScan(ctx, "n", false) {
		if err != nil {
			t.Fatal(err)
		}
		st.indexed++
	}
	return st
}

func sameState(t *testing.T, what string, got, want datasetState) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: dataset is %+v, want it as before: %+v", what, got, want)
	}
}

func TestAddManyLargeSamplesSpansTransactions(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "big")
	// A filepath twice in one statement is found across batches, even
	// while earlier batches still commit in the background.
	twice := append(vectorSamples("/v", 3000, 128), vectorSamples("/v", 1, 128)...)
	if _, err := ds.Add(ctx, twice); !errors.Is(err, ErrDuplicateFilepath) {
		t.Fatalf("Add with a filepath twice, 3,000 apart: %v", err)
	}
	if c, _ := ds.Count(); c != 0 {
		t.Fatalf("count %d after a failed Add", c)
	}
	// 2,000 samples of 128 floats do not fit one Badger transaction.
	ids, err := ds.Add(ctx, vectorSamples("/v", 2000, 128))
	if err != nil {
		t.Fatalf("Add 2,000 x 128 floats: %v", err)
	}
	if len(ids) != 2000 {
		t.Fatalf("%d ids", len(ids))
	}
	if c, _ := ds.Count(); c != 2000 {
		t.Fatalf("count %d", c)
	}
	s, err := ds.Get(ids[1999])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Get("emb").Items()); n != 128 {
		t.Fatalf("last sample's emb has %d values", n)
	}
	counts, _ := ds.TagCounts(ctx)
	if counts["t0"] != 667 || counts["t1"] != 667 || counts["t2"] != 666 {
		t.Fatalf("tag counts %v", counts)
	}
	if keys := journalKeys(t, d); keys != 0 {
		t.Fatalf("%d undo journal keys left after a committed statement", keys)
	}
}

func journalKeys(t *testing.T, d *DB) int {
	t.Helper()
	n := 0
	err := d.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagJournal}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportErrorUndoesEveryBatch(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "big")
	if err := ds.CreateIndex(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Add(ctx, vectorSamples("/old", 50, 8)); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, ds)
	bad := errors.New("line 3001: malformed")
	samples := vectorSamples("/new", 3000, 128)
	next := func(yield func(NewSample, error) bool) {
		for _, s := range samples {
			if !yield(s, nil) {
				return
			}
		}
		yield(NewSample{}, bad)
	}
	if _, err := ds.Import(ctx, next, nil); !errors.Is(err, bad) {
		t.Fatalf("Import: %v, want the source's error", err)
	}
	sameState(t, "after a failed import", stateOf(t, ds), before)
	if _, ok, _ := ds.IDByFilepath("/new/img00000.png"); ok {
		t.Fatal("the filepath index still has a sample of the failed import")
	}
	if keys := journalKeys(t, d); keys != 0 {
		t.Fatalf("%d undo journal keys left after an undone statement", keys)
	}
	// A duplicate filepath late in a long import fails it the same way.
	dup := append(vectorSamples("/new", 3000, 128), NewSample{Filepath: "/old/img00007.png"})
	if _, err := ds.Add(ctx, dup); !errors.Is(err, ErrDuplicateFilepath) {
		t.Fatalf("Add with a duplicate at the end: %v", err)
	}
	sameState(t, "after a duplicate filepath", stateOf(t, ds), before)
}

func TestRewriteErrorUndoesEveryBatch(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "big")
	if err := ds.CreateIndex(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	ids, err := ds.Add(ctx, vectorSamples("/v", 6000, 64))
	if err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, ds)
	bad := errors.New("value 5000 is bad")
	_, err = ds.SetEach(ctx, ids, "n", func(i int) (Value, error) {
		if i == 5000 {
			return Value{}, bad
		}
		return Int(int64(-i)), nil
	}, nil)
	if !errors.Is(err, bad) {
		t.Fatalf("SetEach: %v", err)
	}
	sameState(t, "after a failed SetEach", stateOf(t, ds), before)
	s, _ := ds.Get(ids[10])
	if got := s.Get("n").AsInt(); got != 10 {
		t.Fatalf("sample 10's n is %d after the undo, want 10", got)
	}
	// Whole-dataset tag changes and deletes are all-or-nothing too: a
	// cancelled context half-way leaves everything as it was.
	cctx, cancel := contextCancelledAfter(3000)
	_, err = ds.rewrite(cctx, ids, func(i int, doc Value) (Value, bool, error) {
		cancel(i)
		return Value{}, true, nil // delete
	}, rewriteOptions{})
	if err == nil {
		t.Fatal("a cancelled delete succeeded")
	}
	sameState(t, "after a cancelled delete", stateOf(t, ds), before)
	// And SetEach that succeeds sets every value.
	if n, err := ds.SetEach(ctx, ids, "n", func(i int) (Value, error) { return Int(int64(-i)), nil }, nil); err != nil || n != 5999 {
		t.Fatalf("SetEach: %d changed, %v", n, err) // sample 0 already has n = -0
	}
}

// contextCancelledAfter returns a context and a function that cancels it
// once it is called with i >= n.
func contextCancelledAfter(n int) (context.Context, func(int)) {
	c, cancel := context.WithCancel(context.Background())
	return c, func(i int) {
		if i >= n {
			cancel()
		}
	}
}

func TestCrashMidStatementIsUndoneOnOpen(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "big")
	if _, err := ds.Add(ctx, vectorSamples("/old", 20, 8)); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, ds)
	// Write batches as a long import does, then stop as a killed process
	// would: no commit, no abort.
	bw, err := ds.beginBulk()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range vectorSamples("/new", 3000, 128) {
		doc, _ := s.document()
		id, _ := d.newID(time.Now())
		bw.meta().Count++
		if err := bw.put(id, nil, EncodeRecord(doc), doc); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if bw.batches < 2 {
		t.Fatalf("only %d batches committed; the test needs several", bw.batches)
	}
	bw.txn.Discard()
	d.wmu.Unlock()
	if c, _ := ds.Count(); c == before.count {
		t.Fatal("the committed batches are not visible before the crash; the test proves nothing")
	}
	d2, ds2 := reopen(t, d, dir, "big")
	sameState(t, "after reopening", stateOf(t, ds2), before)
	if keys := journalKeys(t, d2); keys != 0 {
		t.Fatalf("%d undo journal keys left after recovery", keys)
	}
	if _, ok, _ := ds2.IDByFilepath("/new/img00000.png"); ok {
		t.Fatal("the filepath index still has a sample of the crashed import")
	}
	// The dataset takes writes again.
	if _, err := ds2.Add(ctx, vectorSamples("/new", 10, 8)); err != nil {
		t.Fatal(err)
	}
}
