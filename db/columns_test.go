package db

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// smallColumns lets datasets of any size keep metadata columns for the
// test's duration.
func smallColumns(t *testing.T) {
	t.Helper()
	old := ColumnMinSamples
	ColumnMinSamples = 1
	t.Cleanup(func() { ColumnMinSamples = old })
}

// columnSamples makes n samples with image metadata (width 16 x (1 + i
// mod 5)), every seventh without metadata.
func columnSamples(n, from int) []NewSample {
	out := make([]NewSample, n)
	for i := range out {
		k := from + i
		out[i] = NewSample{Filepath: fmt.Sprintf("/img/%06d.png", k)}
		if k%7 != 3 {
			out[i].Metadata = &ImageMetadata{Width: 16 * (1 + k%5), Height: 12, SizeBytes: int64(1000 + k), MimeType: "image/png", NumChannels: 3}
		}
	}
	return out
}

// columnValues reads the columns at paths through ScanColumns: whether
// they answered, and each sample's values joined, sorted.
func columnValues(t *testing.T, ds *Dataset, paths ...string) (bool, []string) {
	t.Helper()
	var rows []string
	ok, err := ds.ScanColumns(ctx, paths, func(c *ColumnChunk) error {
		for i := range c.Len {
			parts := make([]string, len(paths))
			for col := range paths {
				parts[col] = c.Value(col, i).String()
			}
			rows = append(rows, strings.Join(parts, " "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rows)
	return ok, rows
}

// recordValues is what the records hold at paths, as columnValues gives.
func recordValues(t *testing.T, ds *Dataset, paths ...string) []string {
	t.Helper()
	var rows []string
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(paths))
		for col, p := range paths {
			parts[col] = s.Record().Lookup(p).String()
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	slices.Sort(rows)
	return rows
}

func columnsHeaderOf(t *testing.T, d *DB, ds *Dataset) *columnsHeader {
	t.Helper()
	var h *columnsHeader
	if err := d.bdb.View(func(txn *badger.Txn) error {
		var err error
		h, err = readColumnsHeader(txn, ds.id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestColumnsFollowTheSamples: the first aggregate builds and stores the
// columns, later ones read them, and every write that changes a metadata
// value (add, delete, update) makes them stale, so the next read sees
// the records as they are; other writes keep them.
func TestColumnsFollowTheSamples(t *testing.T) {
	smallColumns(t)
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ds")
	ids, err := ds.Add(ctx, columnSamples(9000, 0))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"metadata.width", "metadata.size_bytes"}
	check := func(step string) {
		t.Helper()
		ok, got := columnValues(t, ds, paths...)
		if !ok {
			t.Fatalf("%s: the columns did not answer", step)
		}
		if want := recordValues(t, ds, paths...); !slices.Equal(got, want) {
			t.Fatalf("%s: columns hold %d rows that differ from the records' %d", step, len(got), len(want))
		}
		h := columnsHeaderOf(t, d, ds)
		v, _ := ds.Version()
		if h == nil || h.Version != v || h.Chunks < 3 {
			t.Fatalf("%s: stored header %+v, dataset version %d", step, h, v)
		}
	}
	// The add of a large dataset built them; an add to current columns
	// appends to them.
	built := columnsHeaderOf(t, d, ds)
	if v, _ := ds.Version(); built == nil || built.Version != v {
		t.Fatalf("after the first add: header %+v, dataset version %d", built, v)
	}
	check("first read")
	check("second read")
	if _, err := ds.Add(ctx, columnSamples(10, 9000)); err != nil {
		t.Fatal(err)
	}
	if h, v := columnsHeaderOf(t, d, ds), must(ds.Version()); h.Version != v || h.Chunks != built.Chunks+1 {
		t.Fatalf("after an add of 10: header %+v, dataset version %d, want one more chunk than %+v", h, v, built)
	}
	check("after an add")
	if _, err := ds.Delete(ctx, ids[:500]); err != nil {
		t.Fatal(err)
	}
	check("after a delete")
	if _, err := ds.SetField(ctx, ids[600:700], "metadata.width", Int(7)); err != nil {
		t.Fatal(err)
	}
	check("after an update")
	if _, err := ds.SetField(ctx, ids[700:710], "metadata.width", Null()); err != nil {
		t.Fatal(err)
	}
	check("after nulls")
	before := columnsHeaderOf(t, d, ds)
	if _, err := ds.AddTags(ctx, ids[800:900], "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.SetField(ctx, ids[800:900], "label", String("cat")); err != nil {
		t.Fatal(err)
	}
	if after := columnsHeaderOf(t, d, ds); after.Version != before.Version {
		t.Fatalf("tags and user fields changed the columns' version: %d -> %d", before.Version, after.Version)
	}
	check("after tags and user fields")
	if problems := mustCheck(t, d); len(problems) > 0 {
		t.Fatalf("CHECK: %v", problems)
	}
}

// TestColumnsRefuse: columns do not answer for a path that is not an int
// field of the metadata in every sample, for a small dataset, or while a
// statement is writing; a read-only database answers from columns built
// for the read and stores nothing.
func TestColumnsRefuse(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "ds")
	if _, err := ds.Add(ctx, columnSamples(300, 0)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := columnValues(t, ds, "metadata.width"); ok {
		t.Fatal("columns answered for a dataset under ColumnMinSamples")
	}
	smallColumns(t)
	for _, p := range []string{"metadata.mime_type", "metadata", "filepath", "metadata.width.x", "label"} {
		if ok, _ := columnValues(t, ds, p); ok {
			t.Fatalf("columns answered for %s", p)
		}
	}
	if _, err := ds.SetField(ctx, []ID{firstID(t, ds)}, "metadata.height", String("tall")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := columnValues(t, ds, "metadata.height"); ok {
		t.Fatal("columns answered for a field that holds a string in one sample")
	}
	if ok, _ := columnValues(t, ds, "metadata.width"); !ok {
		t.Fatal("columns did not answer for metadata.width")
	}

	// A statement in progress: its journal header is in the snapshot.
	if err := d.bdb.Update(func(txn *badger.Txn) error { return txn.Set(journalHeaderKey(ds.id), []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if ok, _ := columnValues(t, ds, "metadata.width"); ok {
		t.Fatal("columns answered while a statement was writing")
	}
	if err := d.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(journalHeaderKey(ds.id)) }); err != nil {
		t.Fatal(err)
	}

	// Read-only: current columns answer, stale ones do not.
	if _, err := ds.Add(ctx, columnSamples(5, 300)); err != nil {
		t.Fatal(err)
	}
	readOnly := func(want bool) {
		t.Helper()
		before := columnsHeaderOf(t, d, ds)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, &Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rds, err := r.Dataset("ds")
		if err != nil {
			t.Fatal(err)
		}
		ok, got := columnValues(t, rds, "metadata.width")
		if wantRows := recordValues(t, rds, "metadata.width"); ok != want || (ok && !slices.Equal(got, wantRows)) {
			t.Fatalf("read-only: answered %v (want %v), %d rows against %d", ok, want, len(got), len(wantRows))
		}
		if h := columnsHeaderOf(t, r, rds); h.Version != before.Version {
			t.Fatalf("a read-only database stored columns: version %d -> %d", before.Version, h.Version)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if d, err = Open(dir, nil); err != nil {
			t.Fatal(err)
		}
		if ds, err = d.Dataset("ds"); err != nil {
			t.Fatal(err)
		}
	}
	readOnly(true)
	if _, err := ds.Delete(ctx, []ID{firstID(t, ds)}); err != nil {
		t.Fatal(err)
	}
	readOnly(false) // stale: the records answer, and nothing is stored
}

// TestNoColumnsWithoutMetadataInts: samples without metadata ints (an
// import of records whose media lives elsewhere) get no columns, and
// their add scans nothing for them.
func TestNoColumnsWithoutMetadataInts(t *testing.T) {
	smallColumns(t)
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ds")
	addN(t, ds, 100, func(i int) Value { return Doc(Field{"n", Int(int64(i))}) })
	if h := columnsHeaderOf(t, d, ds); h != nil {
		t.Fatalf("columns stored for a dataset without metadata: %+v", h)
	}
	if ok, _ := columnValues(t, ds, "metadata.width"); ok {
		t.Fatal("columns answered for a dataset without metadata")
	}
}

func firstID(t *testing.T, ds *Dataset) ID {
	t.Helper()
	for id, err := range ds.IDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	t.Fatal("empty dataset")
	return ID{}
}

// TestCheckFindsDamagedColumns: CHECK compares current columns with the
// records and reports a difference; REPAIR drops them, and the next read
// builds them again.
func TestCheckFindsDamagedColumns(t *testing.T) {
	smallColumns(t)
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ds")
	if _, err := ds.Add(ctx, columnSamples(5000, 0)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := columnValues(t, ds, "metadata.width"); !ok {
		t.Fatal("columns did not answer")
	}
	// Chunk 0 replaced by chunk 1: the widths no longer match.
	err := d.bdb.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(columnsChunkKey(ds.id, 1))
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		return txn.Set(columnsChunkKey(ds.id, 0), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := mustCheck(t, d)
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "metadata column") {
		t.Fatalf("CHECK found %v", problems)
	}
	if _, err := d.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if h := columnsHeaderOf(t, d, ds); h != nil {
		t.Fatalf("REPAIR left the columns: %+v", h)
	}
	if problems := mustCheck(t, d); len(problems) > 0 {
		t.Fatalf("CHECK after REPAIR: %v", problems)
	}
	ok, got := columnValues(t, ds, "metadata.width", "metadata.height")
	if want := recordValues(t, ds, "metadata.width", "metadata.height"); !ok || !slices.Equal(got, want) {
		t.Fatal("the columns built after REPAIR differ from the records")
	}
}

// TestColumnChunkRoundTrip: a chunk of ints, nulls and missing values
// decodes as it was built, and truncated chunks are errors.
func TestColumnChunkRoundTrip(t *testing.T) {
	cb := newChunkBuilder([]string{"metadata.a", "metadata.b"})
	for i := range 100 {
		cb.add(0, KindInt, int64(i*i-50))
		switch i % 3 {
		case 0:
			cb.add(1, KindInt, -int64(i)<<40)
		case 1:
			cb.add(1, KindNull, 0)
		default:
			cb.add(1, KindMissing, 0)
		}
		cb.n++
	}
	b := cb.encode()
	var c ColumnChunk
	if err := decodeColumnChunk(b, 2, []int{1, 0}, &c); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if v, ok := c.Int(1, i); !ok || v != int64(i*i-50) {
			t.Fatalf("column 0 sample %d: %d, %v", i, v, ok)
		}
		want := [...]Value{Int(-int64(i) << 40), Null(), Missing()}[i%3]
		if got := c.Value(0, i); got.kind != want.kind || !Equal(got, want) {
			t.Fatalf("column 1 sample %d: %v, want %v", i, got, want)
		}
	}
	for n := range len(b) {
		if err := decodeColumnChunk(b[:n], 2, []int{0, 1}, &c); err == nil {
			t.Fatalf("a chunk cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestColumnsUnderConcurrentWrites: readers answering from columns (and
// building them) while a writer adds and deletes samples see one
// committed state each time: all of the writer's samples or none.
func TestColumnsUnderConcurrentWrites(t *testing.T) {
	smallColumns(t)
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ds")
	base := columnSamples(2000, 0)
	for i := range base {
		base[i].Metadata = &ImageMetadata{Width: 16, Height: 12}
	}
	if _, err := ds.Add(ctx, base); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	go func() {
		defer close(done)
		for round := range 15 {
			wide := columnSamples(100, 10000+100*round)
			for i := range wide {
				wide[i].Metadata = &ImageMetadata{Width: 64, Height: 48}
			}
			ids, err := ds.Add(ctx, wide)
			if err == nil {
				_, err = ds.Delete(ctx, ids)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				rows, wide := 0, 0
				ok, err := ds.ScanColumns(ctx, []string{"metadata.width"}, func(c *ColumnChunk) error {
					for i := range c.Len {
						rows++
						if v, _ := c.Int(0, i); v > 32 {
							wide++
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if ok && !(rows == 2000 && wide == 0) && !(rows == 2100 && wide == 100) {
					errs <- fmt.Errorf("reader %d saw %d rows, %d wide: not a committed state", r, rows, wide)
					return
				}
			}
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	select {
	case err := <-errs:
		if err != nil {
			t.Fatal(err)
		}
	default:
	}
	// The writer ended with a delete: the columns now answer for the
	// base samples only.
	ok, got := columnValues(t, ds, "metadata.width")
	if want := recordValues(t, ds, "metadata.width"); !ok || !slices.Equal(got, want) || len(got) != 2000 {
		t.Fatalf("after the writes: answered %v, %d rows against the records' %d", ok, len(got), len(want))
	}
	if problems := mustCheck(t, d); len(problems) > 0 {
		t.Fatalf("CHECK: %v", problems)
	}
}
