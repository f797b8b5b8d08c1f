package insights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
)

// countProvider scores each sample by its position and counts its runs.
type countProvider struct {
	runs  int
	model string
	fail  error
}

func (p *countProvider) Group() string { return "fake" }

func (p *countProvider) Keys() []string { return []string{"n"} }

func (p *countProvider) Want(ctx context.Context, ds *db.Dataset, req Request) (Want, error) {
	k := 3
	switch v := req.Options["k"].(type) {
	case int:
		k = v
	case float64: // a stored run's options, decoded from JSON
		k = int(v)
	}
	opts, _ := json.Marshal(map[string]any{"k": k})
	return Want{Model: p.model, Options: opts}, nil
}

func (p *countProvider) Run(ctx context.Context, ds *db.Dataset, req Request, progress func(Progress)) error {
	p.runs++
	want, _ := p.Want(ctx, ds, req)
	version, _ := ds.Version()
	run := NewRunRecord("fake", want, version)
	st, err := ds.StageInsights("fake")
	if err != nil {
		return err
	}
	var rows []db.InsightRow
	i := 0
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			return err
		}
		rows = append(rows, db.InsightRow{ID: s.ID, Values: db.Doc(db.Field{Name: "scalar", Value: db.Float(float64(i))})})
		i++
	}
	if err := st.Put(ctx, rows); err != nil {
		return err
	}
	progress(Progress{Group: "fake", Phase: "store", Done: i, Total: i})
	if p.fail != nil {
		st.Abort()
		return p.fail
	}
	run.Status, run.Ended, run.SampleCount = db.RunComplete, time.Now(), int64(i)
	return st.Commit(ctx, &run)
}

func setup(t *testing.T) (*db.Dataset, *Registry, *countProvider) {
	t.Helper()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("w")
	if err != nil {
		t.Fatal(err)
	}
	var ss []db.NewSample
	for i := range 4 {
		ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/img%d.png", i)})
	}
	if _, err := ds.Add(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
	p := &countProvider{model: "m1"}
	r := &Registry{}
	r.Register(p)
	return ds, r, p
}

func TestEnsureRunsOnlyWhenStale(t *testing.T) {
	ctx := context.Background()
	ds, r, p := setup(t)
	var phases []string
	progress := func(pr Progress) { phases = append(phases, pr.Phase) }
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, progress); err != nil {
		t.Fatal(err)
	}
	if p.runs != 1 || !slices.Equal(phases, []string{"store"}) {
		t.Fatalf("runs=%d phases=%v", p.runs, phases)
	}
	// Fresh: nothing runs.
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, nil); err != nil || p.runs != 1 {
		t.Fatalf("fresh run repeated: runs=%d err=%v", p.runs, err)
	}
	// Tags do not make it stale.
	ids, _ := sampleIDs(ds)
	ds.AddTags(ctx, ids[:1], "dup")
	if err := r.Ensure(ctx, ds, []string{"fake"}, false, nil); err != nil {
		t.Fatalf("tag write made the run stale: %v", err)
	}
	// New samples do; with auto-compute off the query fails clearly.
	ds.Add(ctx, []db.NewSample{{Filepath: "/late.png"}})
	err := r.Ensure(ctx, ds, []string{"fake"}, false, nil)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("auto off on stale: %v", err)
	}
	if p.runs != 1 {
		t.Fatal("auto off still ran")
	}
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, nil); err != nil || p.runs != 2 {
		t.Fatalf("stale run not repeated: runs=%d err=%v", p.runs, err)
	}
	// A new model identity makes it stale.
	p.model = "m2"
	f, err := r.Check(ctx, ds, "fake", Request{})
	if err != nil || f.Fresh {
		t.Fatalf("other model fresh: %+v %v", f, err)
	}
	// Groups without a provider (set by hand) are left alone.
	if err := ds.SetInsights(ctx, "byhand", "scalar", map[db.ID]db.Value{ids[0]: db.Float(1)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(ctx, ds, []string{"byhand"}, false, nil); err != nil {
		t.Fatal(err)
	}
}

// TestEnsureKeepsLastRunOptions: a group computed with explicit options is
// fresh against them, and when the data changes it is rerun with them,
// not with the defaults.
func TestEnsureKeepsLastRunOptions(t *testing.T) {
	ctx := context.Background()
	ds, r, p := setup(t)
	if err := r.Run(ctx, ds, "fake", Request{Options: map[string]any{"k": 5}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(ctx, ds, []string{"fake"}, false, nil); err != nil {
		t.Fatalf("run with k=5 not fresh for a query: %v", err)
	}
	ds.Add(ctx, []db.NewSample{{Filepath: "/late.png"}})
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, nil); err != nil || p.runs != 2 {
		t.Fatalf("stale run not repeated: runs=%d err=%v", p.runs, err)
	}
	runs, err := ds.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(runs["fake"].Options); got != `{"k":5}` {
		t.Fatalf("rerun options %s, want {\"k\":5}", got)
	}
}

func TestFailedRunLeavesPreviousValues(t *testing.T) {
	ctx := context.Background()
	ds, r, p := setup(t)
	if err := r.Run(ctx, ds, "fake", Request{}, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := ds.Runs()
	ds.Add(ctx, []db.NewSample{{Filepath: "/late.png"}})
	p.fail = errors.New("boom")
	if err := r.Run(ctx, ds, "fake", Request{}, nil); err == nil {
		t.Fatal("failing run succeeded")
	}
	after, _ := ds.Runs()
	if !after["fake"].Started.Equal(before["fake"].Started) {
		t.Fatal("failed run replaced the run record")
	}
	n := 0
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if !s.Get("insights.fake.scalar").IsMissing() {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d samples have values, want the first run's 4", n)
	}
}

func TestOptionsChangeFreshness(t *testing.T) {
	ctx := context.Background()
	ds, r, p := setup(t)
	if err := r.Run(ctx, ds, "fake", Request{Options: map[string]any{"k": 5}}, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := r.Check(ctx, ds, "fake", Request{Options: map[string]any{"k": 5}})
	if !f.Fresh {
		t.Fatalf("same options stale: %s", f.Reason)
	}
	f, _ = r.Check(ctx, ds, "fake", Request{})
	if f.Fresh {
		t.Fatal("other options fresh")
	}
	// An explicit run with other options stands until the data changes.
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, nil); err != nil || p.runs != 1 {
		t.Fatalf("explicit run overwritten: runs=%d err=%v", p.runs, err)
	}
}

func TestGroupsIn(t *testing.T) {
	got := GroupsIn([]string{"filepath", "insights.uniqueness.scalar", "insights.uniqueness.nearest_id", "insights.dups.x", "insights"})
	if !slices.Equal(got, []string{"dups", "uniqueness"}) {
		t.Fatal(got)
	}
}

func sampleIDs(ds *db.Dataset) ([]db.ID, error) {
	var ids []db.ID
	for s, err := range ds.Samples(context.Background()) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}

func TestHandSetValuesReadWithAutoOff(t *testing.T) {
	ctx := context.Background()
	ds, r, p := setup(t)
	ids, _ := sampleIDs(ds)
	if err := r.Ensure(ctx, ds, []string{"fake"}, false, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("no values, auto off: %v", err)
	}
	ds.SetInsights(ctx, "fake", "scalar", map[db.ID]db.Value{ids[0]: db.Float(0.5)})
	if err := r.Ensure(ctx, ds, []string{"fake"}, false, nil); err != nil {
		t.Fatalf("hand-set values, auto off: %v", err)
	}
	if p.runs != 0 {
		t.Fatal("a run started with auto-compute off")
	}
}

// TestRunOnReadOnlyDatabase: a stale group on a database opened read-only
// is not computed at all: Ensure fails at once with db.ErrReadOnly, the
// cue to reopen read-write.
func TestRunOnReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	d, err := db.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := d.CreateDataset("w")
	if err == nil {
		_, err = ds.Add(ctx, []db.NewSample{{Filepath: "/a.png"}, {Filepath: "/b.png"}})
	}
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = db.Open(dir, &db.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if ds, err = d.Dataset("w"); err != nil {
		t.Fatal(err)
	}
	p := &countProvider{model: "m1"}
	r := &Registry{}
	r.Register(p)
	if err := r.Ensure(ctx, ds, []string{"fake"}, true, nil); !errors.Is(err, db.ErrReadOnly) || p.runs != 0 {
		t.Fatalf("a stale group on a read-only database: err %v, %d runs started", err, p.runs)
	}
}
