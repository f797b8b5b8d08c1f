package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var ctx = context.Background()

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

// reopen closes d and opens the database at dir again (closed when the
// test ends), returning it and its dataset name.
func reopen(t *testing.T, d *DB, dir, name string) (*DB, *Dataset) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	ds, err := d2.Dataset(name)
	if err != nil {
		t.Fatal(err)
	}
	return d2, ds
}

func mustDataset(t *testing.T, d *DB, name string) *Dataset {
	t.Helper()
	ds, err := d.CreateDataset(name)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func addN(t *testing.T, ds *Dataset, n int, fields func(i int) Value) []ID {
	t.Helper()
	samples := make([]NewSample, n)
	for i := range samples {
		samples[i] = NewSample{Filepath: fmt.Sprintf("/data/img%04d.png", i)}
		if fields != nil {
			samples[i].Fields = fields(i)
		}
	}
	ids, err := ds.Add(ctx, samples)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestDatasetLifecyclePersists(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "walkthrough")
	mustDataset(t, d, "other")
	if _, err := d.CreateDataset("walkthrough"); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if _, err := d.CreateDataset("bad name"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v, want ErrInvalid", err)
	}
	ids := addN(t, ds, 3, func(i int) Value { return Doc(Field{"ground_truth", Doc(Field{"label", String("cat")})}) })
	if err := d.RenameDataset("walkthrough", "renamed"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	names, err := d2.DatasetNames()
	if err != nil || !slices.Equal(names, []string{"other", "renamed"}) {
		t.Fatalf("names after reopen = %v, %v", names, err)
	}
	ds2, err := d2.Dataset("renamed")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ds2.Count(); n != 3 {
		t.Fatalf("count = %d", n)
	}
	s, err := ds2.Get(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if s.Filepath() != "/data/img0001.png" || s.Get("ground_truth.label").AsString() != "cat" {
		t.Fatalf("sample after reopen: %v", s.Doc())
	}
	if _, err := d2.Dataset("walkthrough"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name: %v", err)
	}
	if err := d2.DeleteDataset("renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds2.Get(ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sample of deleted dataset: %v", err)
	}
	// A new dataset of the same name starts empty.
	ds3 := mustDataset(t, d2, "renamed")
	if n, _ := ds3.Count(); n != 0 {
		t.Fatalf("recreated dataset has %d samples", n)
	}
}

func TestSampleIDs(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ids")
	ids := addN(t, ds, 50, nil)
	for i, id := range ids {
		s := id.String()
		if len(s) != 24 {
			t.Fatalf("id %q is not 24 characters", s)
		}
		back, err := ParseID(s)
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v, %v", s, back, err)
		}
		if i > 0 && s <= ids[i-1].String() {
			t.Fatalf("ids not increasing: %s after %s", s, ids[i-1])
		}
	}
	if _, err := ParseID("xyz"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ParseID(bad) = %v", err)
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "atomic")
	addN(t, ds, 2, nil)
	v0, _ := ds.Version()
	_, err := ds.Add(ctx, []NewSample{{Filepath: "/new/a.png"}, {Filepath: "/data/img0001.png"}})
	if !errors.Is(err, ErrDuplicateFilepath) {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = ds.Add(ctx, []NewSample{{Filepath: "/new/b.png"}, {Filepath: "/new/b.png"}})
	if !errors.Is(err, ErrDuplicateFilepath) {
		t.Fatalf("duplicate within batch: %v", err)
	}
	_, err = ds.Add(ctx, []NewSample{{Filepath: "/new/c.png"}, {Filepath: ""}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty filepath: %v", err)
	}
	if n, _ := ds.Count(); n != 2 {
		t.Fatalf("count after failed batches = %d, want 2", n)
	}
	if _, ok, _ := ds.IDByFilepath("/new/a.png"); ok {
		t.Fatal("half of a failed batch was stored")
	}
	if v, _ := ds.Version(); v != v0 {
		t.Fatalf("version moved from %d to %d on failed batches", v0, v)
	}
	ids, skipped, err := ds.AddNew(ctx, []NewSample{{Filepath: "/new/a.png"}, {Filepath: "/data/img0001.png"}})
	if err != nil || len(ids) != 1 || skipped != 1 {
		t.Fatalf("AddNew = %v, %d, %v", ids, skipped, err)
	}
}

func TestReservedFields(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "r")
	for _, name := range []string{"id", "tags", "insights"} {
		_, err := ds.Add(ctx, []NewSample{{Filepath: "/x.png", Fields: Doc(Field{name, Int(1)})}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("field %q accepted: %v", name, err)
		}
	}
	ids := addN(t, ds, 1, nil)
	if _, err := ds.SetField(ctx, ids, "insights.uniqueness.scalar", Float(1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetField on insights: %v", err)
	}
}

// TestLockedByAnotherProcess opens the database in a child process while
// this one holds it.
func TestLockedByAnotherProcess(t *testing.T) {
	if dir := os.Getenv("FOSQL_TEST_OPEN"); dir != "" {
		_, err := Open(dir, nil)
		if errors.Is(err, ErrLocked) {
			fmt.Println("LOCKED:", err)
			os.Exit(3)
		}
		fmt.Println("OPENED:", err)
		os.Exit(0)
	}
	d, dir := openTemp(t)
	mustDataset(t, d, "held")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "FOSQL_TEST_OPEN="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("second process: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "database is locked") {
		t.Fatalf("error does not say the database is locked: %s", out)
	}
}

func TestTagsDoNotChangeVersion(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "tags")
	ids := addN(t, ds, 5, nil)
	v0, _ := ds.Version()
	n, err := ds.AddTags(ctx, ids[:3], "dup", "train")
	if err != nil || n != 3 {
		t.Fatalf("AddTags = %d, %v", n, err)
	}
	if n, _ := ds.AddTags(ctx, ids[:1], "dup"); n != 0 {
		t.Fatalf("re-adding a tag changed %d samples", n)
	}
	if n, _ := ds.RemoveTags(ctx, ids[1:2], "dup"); n != 1 {
		t.Fatalf("RemoveTags changed %d", n)
	}
	if v, _ := ds.Version(); v != v0 {
		t.Fatalf("tag writes moved the version %d -> %d", v0, v)
	}
	var got []ID
	for id, err := range ds.TagIDs(ctx, "dup") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if !slices.Equal(got, []ID{ids[0], ids[2]}) {
		t.Fatalf("TagIDs(dup) = %v", got)
	}
	counts, _ := ds.TagCounts(ctx)
	if counts["dup"] != 2 || counts["train"] != 3 || len(counts) != 2 {
		t.Fatalf("TagCounts = %v", counts)
	}
	s, _ := ds.Get(ids[0])
	if !slices.Equal(s.Tags(), []string{"dup", "train"}) {
		t.Fatalf("tags = %v", s.Tags())
	}
	// A field write that no run reads keeps the version; filepath and
	// metadata writes and run inputs move it.
	if _, err := ds.SetField(ctx, ids[:1], "ground_truth.label", String("cat")); err != nil {
		t.Fatal(err)
	}
	if v, _ := ds.Version(); v != v0 {
		t.Fatal("user field write moved the version")
	}
	if err := ds.MarkInputField("emb"); err != nil {
		t.Fatal(err)
	}
	ds.SetField(ctx, ids[:1], "emb", Floats([]float64{1, 2}))
	v1, _ := ds.Version()
	if v1 == v0 {
		t.Fatal("writing a run's input field kept the version")
	}
	ds.SetField(ctx, ids[:1], "filepath", String("/moved.png"))
	if v, _ := ds.Version(); v == v1 {
		t.Fatal("filepath write kept the version")
	}
	if _, ok, _ := ds.IDByFilepath("/moved.png"); !ok {
		t.Fatal("filepath key not moved")
	}
	if _, err := ds.SetField(ctx, ids[1:2], "filepath", String("/moved.png")); !errors.Is(err, ErrDuplicateFilepath) {
		t.Fatalf("duplicate filepath via SetField: %v", err)
	}
}

func TestDeleteSamples(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "del")
	ids := addN(t, ds, 4, func(i int) Value { return Doc(Field{"n", Int(int64(i))}) })
	if err := ds.CreateIndex(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	ds.AddTags(ctx, ids, "x")
	n, err := ds.Delete(ctx, []ID{ids[1], ids[3], {}})
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if c, _ := ds.Count(); c != 2 {
		t.Fatalf("count = %d", c)
	}
	var left []ID
	for e, err := range ds.IndexScan(ctx, "n", false) {
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, e.ID)
	}
	if !slices.Equal(left, []ID{ids[0], ids[2]}) {
		t.Fatalf("index after delete = %v", left)
	}
	counts, _ := ds.TagCounts(ctx)
	if counts["x"] != 2 {
		t.Fatalf("tag index after delete: %v", counts)
	}
	if _, ok, _ := ds.IDByFilepath("/data/img0001.png"); ok {
		t.Fatal("filepath of a deleted sample still known")
	}
}

func TestIndexScanOrderAndMaintenance(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "ix")
	vals := []Value{Float(0.5), Missing(), Int(2), Float(-1), String("z"), Float(0.5), Null()}
	ids := addN(t, ds, len(vals), func(i int) Value { return Doc(Field{"score", vals[i]}) })
	if err := ds.CreateIndex(ctx, "score"); err != nil {
		t.Fatal(err)
	}
	if !ds.HasIndex("score") || ds.HasIndex("other") {
		t.Fatal("HasIndex wrong")
	}
	scan := func(rev bool) []ID {
		var out []ID
		for e, err := range ds.IndexScan(ctx, "score", rev) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.ID)
		}
		return out
	}
	asc := []ID{ids[1], ids[6], ids[3], ids[0], ids[5], ids[2], ids[4]}
	if got := scan(false); !slices.Equal(got, asc) {
		t.Fatalf("ascending = %v, want %v", got, asc)
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	if got := scan(true); !slices.Equal(got, desc) {
		t.Fatalf("descending = %v, want %v", got, desc)
	}
	// Writes keep the index in step, including new samples (as missing).
	ds.SetField(ctx, ids[4:5], "score", Float(-5))
	more, err := ds.Add(ctx, []NewSample{{Filepath: "/late.png"}})
	if err != nil {
		t.Fatal(err)
	}
	got := scan(false)
	if got[0] != ids[1] || got[1] != more[0] || got[3] != ids[4] {
		t.Fatalf("after writes: %v", got)
	}
	if _, err := ds.Delete(ctx, got[:1]); err != nil {
		t.Fatal(err)
	}
	if n := len(scan(true)); n != len(vals) {
		t.Fatalf("index has %d entries, want %d", n, len(vals))
	}
	for _, err := range ds.IndexScan(ctx, "nope", false) {
		if !errors.Is(err, ErrNoIndex) {
			t.Fatalf("scan of no index: %v", err)
		}
	}
}

// TestIndexHeadCache reads index ends partly, again (from the head cache),
// further than the cache holds, and after a write, always getting what a
// whole scan of the index gives.
func TestIndexHeadCache(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "heads")
	n := headLen + 40
	ids := addN(t, ds, n, func(i int) Value { return Doc(Field{"score", Int(int64((i * 37) % n))}) })
	if err := ds.CreateIndex(ctx, "score"); err != nil {
		t.Fatal(err)
	}
	first := func(rev bool, k int) []ID {
		var out []ID
		for e, err := range ds.IndexScan(ctx, "score", rev) {
			if err != nil {
				t.Fatal(err)
			}
			if len(out) == k {
				break
			}
			out = append(out, e.ID)
		}
		return out
	}
	for _, rev := range []bool{false, true} {
		all := first(rev, n+1)
		if len(all) != n {
			t.Fatalf("rev=%v: whole scan %d entries", rev, len(all))
		}
		first(rev, 0) // forget nothing: a scan that yields nothing
		for _, k := range []int{10, 10, 30, headLen, headLen + 5, n, n} {
			if got := first(rev, k); !slices.Equal(got, all[:k]) {
				t.Fatalf("rev=%v first %d = %v, want %v", rev, k, got, all[:k])
			}
		}
	}
	// A write retires the cached heads.
	top := first(true, 10)
	if _, err := ds.SetField(ctx, ids[:1], "score", Int(int64(10*n))); err != nil {
		t.Fatal(err)
	}
	if got := first(true, 10); got[0] != ids[0] || !slices.Equal(got[1:], top[:9]) {
		t.Fatalf("after a write: %v, want %v first then %v", got, ids[0], top[:9])
	}
}

func TestInsightStagingIsAtomic(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "u")
	ids := addN(t, ds, 5, nil)
	v0, _ := ds.Version()

	put := func(st *InsightStage, base float64) {
		rows := make([]InsightRow, len(ids))
		for i, id := range ids {
			rows[i] = InsightRow{id, Doc(Field{"scalar", Float(base + float64(i))}, Field{"nearest_id", String(ids[(i+1)%len(ids)].String())})}
		}
		if err := st.Put(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	st, err := ds.StageInsights("uniqueness")
	if err != nil {
		t.Fatal(err)
	}
	put(st, 10)
	if s, _ := ds.Get(ids[0]); !s.Get("insights.uniqueness.scalar").IsMissing() {
		t.Fatal("staged values visible before commit")
	}
	run := &RunRecord{Key: "uniqueness", Type: "uniqueness", DatasetVersion: v0, Status: RunComplete, SampleCount: 5}
	if err := st.Commit(ctx, run); err != nil {
		t.Fatal(err)
	}
	if v, _ := ds.Version(); v != v0 {
		t.Fatal("insight writes moved the version")
	}
	if s, _ := ds.Get(ids[2]); s.Get("insights.uniqueness.scalar").AsFloat() != 12 {
		t.Fatalf("after commit: %v", s.Doc())
	}
	var top []ID
	for e, err := range ds.IndexScan(ctx, "insights.uniqueness.scalar", true) {
		if err != nil {
			t.Fatal(err)
		}
		top = append(top, e.ID)
	}
	if len(top) != 5 || top[0] != ids[4] {
		t.Fatalf("scalar index desc = %v", top)
	}

	// A second run that is aborted leaves the first exactly as it was.
	st2, _ := ds.StageInsights("uniqueness")
	put(st2, 100)
	if err := st2.Abort(); err != nil {
		t.Fatal(err)
	}
	if s, _ := ds.Get(ids[2]); s.Get("insights.uniqueness.scalar").AsFloat() != 12 {
		t.Fatalf("after abort: %v", s.Doc())
	}
	// A run interrupted by a crash (no commit, no abort) is discarded on reopen.
	st3, _ := ds.StageInsights("uniqueness")
	put(st3, 1000)
	d.Close()
	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ds2, _ := d2.Dataset("u")
	if s, _ := ds2.Get(ids[2]); s.Get("insights.uniqueness.scalar").AsFloat() != 12 {
		t.Fatalf("after crash: %v", s.Doc())
	}
	runs, _ := ds2.Runs()
	if runs["uniqueness"].Status != RunComplete || runs["uniqueness"].SampleCount != 5 {
		t.Fatalf("runs = %v", runs)
	}
	// Samples added after a run have no value and sort first ascending.
	more, err := ds2.Add(ctx, []NewSample{{Filepath: "/late.png"}})
	if err != nil {
		t.Fatal(err)
	}
	for e, err := range ds2.IndexScan(ctx, "insights.uniqueness.scalar", false) {
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != more[0] || !e.Value.IsMissing() {
			t.Fatalf("first ascending = %v %v, want the new sample as missing", e.ID, e.Value)
		}
		break
	}
}

func TestSetInsightsByHand(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "h")
	ids := addN(t, ds, 3, nil)
	err := ds.SetInsights(ctx, "uniqueness", "scalar", map[ID]Value{ids[0]: Float(0.3), ids[2]: Float(0.9)})
	if err != nil {
		t.Fatal(err)
	}
	err = ds.SetInsights(ctx, "uniqueness", "note", map[ID]Value{ids[0]: String("x")})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ds.Get(ids[0])
	if s.Get("insights.uniqueness.scalar").AsFloat() != 0.3 || s.Get("insights.uniqueness.note").AsString() != "x" {
		t.Fatalf("sample = %v", s.Doc())
	}
	var order []ID
	for e, err := range ds.IndexScan(ctx, "insights.uniqueness.scalar", true) {
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, e.ID)
	}
	if !slices.Equal(order, []ID{ids[2], ids[0], ids[1]}) {
		t.Fatalf("desc order = %v", order)
	}
	schema, _ := ds.Schema()
	if k := schema["insights.uniqueness.scalar"]; len(k) != 1 || k[0] != KindFloat {
		t.Fatalf("schema = %v", schema)
	}
	// Scans carry insights too.
	n := 0
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if s.ID == ids[2] && s.Get("insights.uniqueness.scalar").AsFloat() != 0.9 {
			t.Fatalf("scan sample = %v", s.Doc())
		}
		n++
	}
	if n != 3 {
		t.Fatalf("scanned %d", n)
	}
}

func TestFullTextSearch(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "txt")
	_, err := ds.Add(ctx, []NewSample{
		{Filepath: "/data/pets/kitten_01.jpg"},
		{Filepath: "/data/pets/puppy.jpg", Tags: []string{"kitten-like"}},
		{Filepath: "/data/cars/s0005.png", Fields: Doc(Field{"ground_truth", Doc(Field{"label", String("Red Car")})})},
	})
	if err != nil {
		t.Fatal(err)
	}
	search := func(ds *Dataset, fields []string, words string) []string {
		hits, err := ds.Search(ctx, fields, words)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]ID, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		ss, _ := ds.GetMany(ids)
		var out []string
		for _, s := range ss {
			out = append(out, filepath.Base(s.Filepath()))
		}
		slices.Sort(out)
		return out
	}
	if got := search(ds, []string{"filepath"}, "kitten"); !slices.Equal(got, []string{"kitten_01.jpg"}) {
		t.Fatalf("filepath kitten = %v", got)
	}
	if got := search(ds, []string{"filepath", "tags"}, "KITTEN"); len(got) != 2 {
		t.Fatalf("filepath,tags kitten = %v", got)
	}
	if got := search(ds, []string{"filepath"}, "s0005"); !slices.Equal(got, []string{"s0005.png"}) {
		t.Fatalf("s0005 = %v", got)
	}
	if got := search(ds, nil, "car"); !slices.Equal(got, []string{"s0005.png"}) {
		t.Fatalf("any field car = %v", got)
	}
	// Writes are seen by the next search.
	id, _, _ := ds.IDByFilepath("/data/pets/puppy.jpg")
	ds.SetField(ctx, []ID{id}, "filepath", String("/data/pets/kitten_02.jpg"))
	if got := search(ds, []string{"filepath"}, "kitten"); len(got) != 2 {
		t.Fatalf("after rename = %v", got)
	}
	d.Close()
	// Reopen: the index is reused; removed, it is rebuilt.
	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds2, _ := d2.Dataset("txt")
	if got := search(ds2, []string{"filepath"}, "kitten"); len(got) != 2 {
		t.Fatalf("after reopen = %v", got)
	}
	d2.Close()
	os.RemoveAll(filepath.Join(dir, "text"))
	d3, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	ds3, _ := d3.Dataset("txt")
	if got := search(ds3, []string{"filepath"}, "kitten"); len(got) != 2 {
		t.Fatalf("after rebuild = %v", got)
	}
}

func TestInMemory(t *testing.T) {
	d, err := Open(MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds := mustDataset(t, d, "m")
	addN(t, ds, 3, nil)
	if n, _ := ds.Count(); n != 3 {
		t.Fatal(n)
	}
	if hits, err := ds.Search(ctx, []string{"filepath"}, "img0002"); err != nil || len(hits) != 1 {
		t.Fatalf("search = %v, %v", hits, err)
	}
	if d.Path() != MemoryPath {
		t.Fatal(d.Path())
	}
}

func TestEmbeddingsStoredPerSpace(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "e")
	ids := addN(t, ds, 3, nil)
	if err := ds.PutEmbeddings(ctx, "model-a", ids[:2], []float32{1, 2, 3, 4}, 2); err != nil {
		t.Fatal(err)
	}
	got, err := ds.Embeddings(ctx, "model-a", ids)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[1], []float32{3, 4}) || got[2] != nil {
		t.Fatalf("embeddings = %v", got)
	}
	if other, _ := ds.Embeddings(ctx, "model-b", ids); other[0] != nil {
		t.Fatal("another space sees model-a's vectors")
	}
	ds.Delete(ctx, ids[:1])
	if got, _ := ds.Embeddings(ctx, "model-a", ids[:1]); got[0] != nil {
		t.Fatal("a deleted sample kept its embedding")
	}
	if err := ds.PutEmbeddings(ctx, "model-a", ids[:1], []float32{1}, 2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad shape: %v", err)
	}
}

// TestLongEmbeddingsFitTransactions stores 1,500 vectors of a CNN's length
// (1792 floats, 10.7 MB) in one call: more than one Badger transaction holds.
func TestLongEmbeddingsFitTransactions(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "long")
	const n, dim = 1500, 1792
	ids := addN(t, ds, n, nil)
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(i % 977)
	}
	if err := ds.PutEmbeddings(ctx, "cnn", ids, vecs, dim); err != nil {
		t.Fatal(err)
	}
	got, err := ds.Embeddings(ctx, "cnn", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if !slices.Equal(got[i], vecs[i*dim:(i+1)*dim]) {
			t.Fatalf("vector %d read back wrong", i)
		}
	}
}

func TestIndexScanFrom(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "from")
	vals := []Value{Int(1), Float(2.5), Int(3), Int(3), Int(5), String("a"), Missing()}
	addN(t, ds, len(vals), func(i int) Value { return Doc(Field{"v", vals[i]}) })
	if err := ds.CreateIndex(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	collect := func(from Value, rev bool) []Value {
		var out []Value
		for e, err := range ds.IndexScanFrom(ctx, "v", from, rev) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Value)
		}
		return out
	}
	if got := collect(Int(3), false); len(got) != 4 || !Equal(got[0], Int(3)) || !Equal(got[3], String("a")) {
		t.Fatalf("ascending from 3 = %v", got)
	}
	if got := collect(Int(3), true); len(got) != 5 || !Equal(got[0], Int(3)) || !Equal(got[1], Int(3)) || !got[4].IsMissing() {
		t.Fatalf("descending from 3 = %v", got)
	}
	if got := collect(Float(2.7), false); !Equal(got[0], Int(3)) {
		t.Fatalf("ascending from 2.7 = %v", got)
	}
}

// TestRecordCacheSeesEveryWrite reads samples repeatedly (so they are
// cached) across every kind of write.
// TestPointReadCommitBetweenCachedAndStoredReads: a read that the cache
// answers in part, with a commit landing before its first read from
// Badger, starts over on one snapshot instead of mixing two states.
func TestPointReadCommitBetweenCachedAndStoredReads(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "race")
	ids := addN(t, ds, 2, func(i int) Value { return Doc(Field{"n", Int(0)}) })
	if _, err := ds.Get(ids[0]); err != nil { // ids[0] is now cached
		t.Fatal(err)
	}
	wrote := false
	testHookBeforeSnapshot = func() {
		if !wrote {
			wrote = true
			if _, err := ds.SetField(ctx, ids, "n", Int(1)); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() { testHookBeforeSnapshot = nil }()
	got, err := ds.GetMany(ids)
	if err != nil {
		t.Fatal(err)
	}
	if !wrote {
		t.Fatal("the read never went to Badger")
	}
	a, b := got[0].Get("n").AsInt(), got[1].Get("n").AsInt()
	if a != 1 || b != 1 {
		t.Fatalf("n = %d and %d: the read mixed states before and after the commit", a, b)
	}
}

func TestRecordCacheSeesEveryWrite(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "cache")
	ids := addN(t, ds, 3, func(i int) Value { return Doc(Field{"n", Int(int64(i))}) })
	read := func(id ID, path string) Value {
		t.Helper()
		for range 2 { // the second read is served by the cache
			s, err := ds.Get(id)
			if err != nil {
				return Missing()
			}
			_ = s
		}
		s, err := ds.GetMany([]ID{id})
		if err != nil || s[0] == nil {
			return Missing()
		}
		return s[0].Get(path)
	}
	if v := read(ids[0], "n"); !Equal(v, Int(0)) {
		t.Fatalf("n = %v", v)
	}
	ds.SetField(ctx, ids[:1], "n", Int(7))
	if v := read(ids[0], "n"); !Equal(v, Int(7)) {
		t.Fatalf("after SetField: %v", v)
	}
	ds.AddTags(ctx, ids[:1], "dup")
	if v := read(ids[0], "tags"); !Equal(v, Strings([]string{"dup"})) {
		t.Fatalf("after AddTags: %v", v)
	}
	ds.SetInsights(ctx, "u", "scalar", map[ID]Value{ids[0]: Float(0.5)})
	if v := read(ids[0], "insights.u.scalar"); !Equal(v, Float(0.5)) {
		t.Fatalf("after SetInsights: %v", v)
	}
	st, _ := ds.StageInsights("u")
	st.Put(ctx, []InsightRow{{ids[0], Doc(Field{"scalar", Float(0.9)})}})
	if v := read(ids[0], "insights.u.scalar"); !Equal(v, Float(0.5)) {
		t.Fatalf("staged value visible: %v", v)
	}
	st.Commit(ctx, nil)
	if v := read(ids[0], "insights.u.scalar"); !Equal(v, Float(0.9)) {
		t.Fatalf("after commit: %v", v)
	}
	ds.Delete(ctx, ids[:1])
	if v := read(ids[0], "n"); !v.IsMissing() {
		t.Fatalf("deleted sample still read: %v", v)
	}
	if samples, _ := ds.GetSamples(ids[1:2], true); samples[0] == nil || !Equal(samples[0].Get("n"), Int(1)) {
		t.Fatal("GetSamples")
	}
}

// TestSetFieldsTogether: several fields are set in one write, and a bad
// one refuses the whole write before anything changes.
func TestSetFieldsTogether(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "multi")
	ids := addN(t, ds, 3, nil)
	n, err := ds.SetFields(ctx, ids[:2], Field{"label", String("cat")}, Field{"score", Int(3)}, Field{"label", String("dog")})
	if err != nil || n != 2 {
		t.Fatalf("SetFields = %d, %v", n, err)
	}
	s, _ := ds.Get(ids[0])
	if s.Get("label").AsString() != "dog" || s.Get("score").AsInt() != 3 {
		t.Fatalf("after SetFields: %v (assignments apply in order)", s.Doc())
	}
	if n, _ := ds.SetFields(ctx, ids[:2], Field{"score", Int(3)}); n != 0 {
		t.Fatalf("setting the same values changed %d samples", n)
	}
	_, err = ds.SetFields(ctx, ids, Field{"label", String("bird")}, Field{"filepath", String("/same.png")})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("a shared filepath for 3 samples: %v", err)
	}
	for _, id := range ids[:2] {
		if s, _ := ds.Get(id); s.Get("label").AsString() != "dog" {
			t.Fatalf("a refused write changed label: %v", s.Doc())
		}
	}
}
