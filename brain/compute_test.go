package brain_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
	"github.com/fosql/fosql/zoo"
)

func needRuntime(t *testing.T) {
	t.Helper()
	if err := brain.InitRuntime(); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
}

// ingestSynthetic makes a dataset from n generated images with planted copies.
func ingestSynthetic(t *testing.T, n int) (*db.Dataset, *zoo.SyntheticSet) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	set, err := zoo.GenerateSynthetic(ctx, filepath.Join(dir, "images"), zoo.SyntheticOptions{N: n, CopyFraction: 0.05, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ds.AddImages(ctx, set.Dir, db.IngestOptions{Scan: db.ScanOptions{Recursive: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != n {
		t.Fatalf("ingested %d of %d images (skipped %v)", len(res.Added), n, res.Skipped)
	}
	return ds, set
}

func scores(t *testing.T, ds *db.Dataset) map[string]*db.Sample {
	t.Helper()
	out := map[string]*db.Sample{}
	for s, err := range ds.Samples(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out[s.Filepath()] = s
	}
	return out
}

func TestComputeUniquenessStoresScoresAndReusesEmbeddings(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds, set := ingestSynthetic(t, 120)
	var phases = map[string]bool{}
	res, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{Progress: func(p insights.Progress) { phases[p.Phase] = true }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scored != 120 || res.Embedded != 120 || res.Skipped != 0 {
		t.Fatalf("result = %+v", res)
	}
	if !phases["embed"] || !phases["knn"] || !phases["store"] {
		t.Fatalf("progress phases = %v", phases)
	}
	byPath := scores(t, ds)
	top := 0.0
	for _, s := range byPath {
		v := s.Get("insights.uniqueness.scalar")
		if v.Kind() != db.KindFloat {
			t.Fatalf("%s has no score: %v", s.Filepath(), s.Doc())
		}
		top = math.Max(top, v.AsFloat())
	}
	if top != 1 {
		t.Fatalf("max score %v, want exactly 1", top)
	}
	// Exact copies point at their original at distance ~0.
	for _, c := range set.Copies() {
		if c.Kind != "exact" {
			continue
		}
		s := byPath[c.Path]
		orig := byPath[c.Original]
		if s.Get("insights.uniqueness.nearest_id").AsString() != orig.ID.String() {
			t.Errorf("exact copy %s: nearest %v, want %s", c.Path, s.Get("insights.uniqueness.nearest_id"), orig.ID)
		}
		if d := s.Get("insights.uniqueness.nearest_dist").AsFloat(); d > 1e-6 {
			t.Errorf("exact copy distance %v", d)
		}
	}
	runs, _ := ds.Runs()
	r := runs["uniqueness"]
	v, _ := ds.Version()
	if r.Status != db.RunComplete || r.SampleCount != 120 || r.DatasetVersion != v || r.Model == "" {
		t.Fatalf("run record = %+v", r)
	}

	// A second run embeds nothing; a new sample is the only one embedded.
	res, err = brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{})
	if err != nil || res.Embedded != 0 {
		t.Fatalf("rerun embedded %d (%v)", res.Embedded, err)
	}
	extra := filepath.Join(t.TempDir(), "extra.png")
	copyFile(t, set.Originals()[0].Path, extra)
	md, err := db.InspectImage(extra, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Add(ctx, []db.NewSample{{Filepath: extra, Metadata: &md}}); err != nil {
		t.Fatal(err)
	}
	res, err = brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{})
	if err != nil || res.Embedded != 1 || res.Scored != 121 {
		t.Fatalf("after adding one: %+v %v", res, err)
	}
}

func TestCancelledRunLeavesPreviousScores(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds, _ := ingestSynthetic(t, 40)
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	before := scores(t, ds)
	runsBefore, _ := ds.Runs()
	cctx, cancel := context.WithCancel(ctx)
	_, err := brain.ComputeUniqueness(cctx, ds, brain.ComputeOptions{
		Metric: brain.Euclidean,
		Progress: func(p insights.Progress) {
			if p.Phase == "knn" {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	after := scores(t, ds)
	for p, s := range before {
		if !db.Equal(s.Get("insights.uniqueness"), after[p].Get("insights.uniqueness")) {
			t.Fatalf("%s changed after a cancelled run", p)
		}
	}
	runsAfter, _ := ds.Runs()
	if !runsAfter["uniqueness"].Started.Equal(runsBefore["uniqueness"].Started) {
		t.Fatal("cancelled run replaced the run record")
	}
}

func TestUniquenessFromEmbeddingsField(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, _ := d.CreateDataset("vecs")
	vecs := [][]float64{{0, 0}, {0, 0.1}, {5, 5}, {5, 5.2}, {20, -3}, {0, 0}}
	var ss []db.NewSample
	for i, v := range vecs {
		ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/v%d", i), Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats(v)})})
	}
	ss = append(ss, db.NewSample{Filepath: "/novec"})
	ids, err := ds.Add(ctx, ss)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []db.ID
	res, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{EmbeddingsField: "emb", Metric: brain.Euclidean,
		OnSkip: func(id db.ID, _ string, _ error) { skipped = append(skipped, id) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scored != 6 || len(skipped) != 1 || skipped[0] != ids[6] {
		t.Fatalf("res=%+v skipped=%v", res, skipped)
	}
	s, _ := ds.Get(ids[4])
	if s.Get("insights.uniqueness.scalar").AsFloat() != 1 {
		t.Fatalf("the far vector is not the most unique: %v", s.Doc())
	}
	s, _ = ds.Get(ids[5])
	if s.Get("insights.uniqueness.nearest_id").AsString() != ids[0].String() {
		t.Fatalf("duplicate's nearest = %v", s.Get("insights.uniqueness.nearest_id"))
	}
	// Writing the input field makes the run stale.
	v0, _ := ds.Version()
	ds.SetField(ctx, ids[:1], "emb", db.Floats([]float64{1, 1}))
	if v, _ := ds.Version(); v == v0 {
		t.Fatal("writing the embeddings field kept the version")
	}
}

// memDataset returns an empty dataset in a new in-memory database.
func memDataset(t *testing.T, name string) *db.Dataset {
	t.Helper()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset(name)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestNoImageLoadsFailsTheRun: when not one image can be read, the run
// fails with ErrNoVectors naming the first problem, instead of storing a
// complete run with no scores, and the previous scores stay.
func TestNoImageLoadsFailsTheRun(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds := memDataset(t, "gone")
	ids, err := ds.Add(ctx, []db.NewSample{
		{Filepath: "/nonexistent/a.png", Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats([]float64{1, 2})})},
		{Filepath: "/nonexistent/b.png", Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats([]float64{3, 4})})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{EmbeddingsField: "emb"}); err != nil {
		t.Fatal(err)
	}
	_, err = brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{})
	if !errors.Is(err, brain.ErrNoVectors) || !strings.Contains(err.Error(), "/nonexistent/a.png") {
		t.Fatalf("err = %v, want ErrNoVectors naming the first file", err)
	}
	s, _ := ds.Get(ids[1])
	if !s.Get("insights.uniqueness.scalar").IsNumber() {
		t.Fatalf("previous score lost: %v", s.Doc())
	}
	runs, _ := ds.Runs()
	if !strings.Contains(string(runs["uniqueness"].Options), `"embeddings":"emb"`) {
		t.Fatalf("run record replaced: %s", runs["uniqueness"].Options)
	}
}

// TestMissingMediaStopsEarly: when a whole first chunk of images cannot be
// read, the run stops there instead of trying every file.
func TestMissingMediaStopsEarly(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds := memDataset(t, "moved")
	ss := make([]db.NewSample, 5000)
	for i := range ss {
		ss[i] = db.NewSample{Filepath: fmt.Sprintf("/nonexistent/%05d.png", i)}
	}
	if _, err := ds.Add(ctx, ss); err != nil {
		t.Fatal(err)
	}
	skipped := 0
	_, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{OnSkip: func(db.ID, string, error) { skipped++ }})
	if !errors.Is(err, brain.ErrNoVectors) || !strings.Contains(err.Error(), "/nonexistent/00000.png") {
		t.Fatalf("err = %v, want ErrNoVectors naming the first file", err)
	}
	if skipped >= len(ss) {
		t.Fatalf("tried all %d files before stopping", skipped)
	}
}

func TestProviderOptions(t *testing.T) {
	ctx := context.Background()
	d, _ := db.Open(db.MemoryPath, nil)
	defer d.Close()
	ds, _ := d.CreateDataset("p")
	p := &brain.Provider{}
	w1, err := p.Want(ctx, ds, insights.Request{})
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := p.Want(ctx, ds, insights.Request{Options: map[string]any{"k": int64(3), "metric": "cosine"}})
	if w1.Model != w2.Model || string(w1.Options) != string(w2.Options) {
		t.Fatalf("defaults spelled out differ: %s vs %s", w1.Options, w2.Options)
	}
	w3, _ := p.Want(ctx, ds, insights.Request{Options: map[string]any{"metric": "euclidean"}})
	if string(w3.Options) == string(w1.Options) {
		t.Fatal("metric not part of the options identity")
	}
	for _, bad := range []map[string]any{{"k": 0}, {"metric": "manhattan"}, {"colour": "red"}, {"model": "/nope/model.onnx"}, {"k": 2, "weights": "0.5,0.3,0.2"}} {
		if _, err := p.Want(ctx, ds, insights.Request{Options: bad}); err == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
