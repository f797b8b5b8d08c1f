package brain_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// rectPNG is a small PNG of a few coloured rectangles, different for each
// seed.
func rectPNG(seed uint64, w, h int) []byte {
	rng := rand.New(rand.NewPCG(seed, 9))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
	for i := range img.Pix {
		img.Pix[i] = []uint8{bg.R, bg.G, bg.B, 255}[i%4]
	}
	for r := 0; r < 2+rng.IntN(3); r++ {
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		x0, y0 := rng.IntN(w), rng.IntN(h)
		x1, y1 := x0+4+rng.IntN(w), y0+4+rng.IntN(h)
		for y := y0; y < min(y1, h); y++ {
			for x := x0; x < min(x1, w); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// ingestFiles writes files (name -> bytes) into a folder and ingests it.
func ingestFiles(t *testing.T, files map[string][]byte) (*db.Dataset, string) {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	if err := os.MkdirAll(img, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(img, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("s")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ds.AddImages(context.Background(), img, db.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != len(files) {
		t.Fatalf("ingested %d of %d files", len(res.Added), len(files))
	}
	return ds, img
}

// TestEmbeddingsFieldMustBeFinite: a NaN, an infinity or a number beyond
// float32's range in the embeddings field fails the run with an error naming
// the sample and the field, for uniqueness and duplicates under both
// metrics, and changes nothing.
func TestEmbeddingsFieldMustBeFinite(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1e39} {
		ds := memDataset(t, "w")
		var samples []db.NewSample
		for i := 0; i < 6; i++ {
			v := []float64{float64(i), 1}
			if i == 3 {
				v[0] = bad
			}
			samples = append(samples, db.NewSample{Filepath: fmt.Sprintf("/x/%d.png", i),
				Fields: db.Doc(db.Field{Name: "u", Value: db.Doc(db.Field{Name: "vec", Value: db.Floats(v)})})})
		}
		ids, err := ds.Add(ctx, samples)
		if err != nil {
			t.Fatal(err)
		}
		for _, metric := range []brain.Metric{brain.Cosine, brain.Euclidean} {
			co := brain.ComputeOptions{EmbeddingsField: "u.vec", Metric: metric}
			_, err := brain.ComputeUniqueness(ctx, ds, co)
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, brain.ErrBadVector) || !strings.Contains(err.Error(), "u.vec") || !strings.Contains(err.Error(), ids[3].String()) {
					t.Errorf("%s, %s, %v in u.vec: err = %v, want ErrBadVector naming u.vec and sample %s", what, metric, bad, err, ids[3])
				}
			}
			check("uniqueness", err)
			_, err = brain.ComputeDuplicates(ctx, ds, brain.DuplicatesOptions{ComputeOptions: co, Threshold: 0.5})
			check("duplicates", err)
		}
		if runs, _ := ds.Runs(); len(runs) != 0 {
			t.Errorf("a failed run left run records: %v", runs)
		}
	}
}

// TestExactCopiesScoreAlike: byte-identical files get bit-identical
// embeddings wherever they fall in the batches, hence one uniqueness
// score, the dataset's minimum; duplicates flags all but one of them.
func TestExactCopiesScoreAlike(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	files := map[string][]byte{}
	for i := 1; i <= 20; i++ {
		files[fmt.Sprintf("d%02d.png", i)] = rectPNG(uint64(900+i), 17+(i*7)%31, 13+(i*5)%23)
	}
	copyData := rectPNG(999, 31, 21)
	for j := 1; j <= 5; j++ {
		files[fmt.Sprintf("d%02dx.png", j*4-1)] = copyData
	}
	// Several batch sizes, so that the copies sit at odd and even rows.
	var ds *db.Dataset
	for _, bs := range []int{0, 3, 7} {
		ds, _ = ingestFiles(t, files)
		if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{BatchSize: bs}); err != nil {
			t.Fatal(err)
		}
		var copyScores []float64
		minOther := math.Inf(1)
		for path, s := range scores(t, ds) {
			v := s.Get("insights.uniqueness.scalar")
			if !v.IsNumber() || math.IsNaN(v.AsFloat()) {
				t.Fatalf("%s: score %v", path, v)
			}
			if strings.HasSuffix(path, "x.png") {
				copyScores = append(copyScores, v.AsFloat())
			} else {
				minOther = min(minOther, v.AsFloat())
			}
		}
		for _, c := range copyScores {
			if c != copyScores[0] {
				t.Fatalf("batch size %d: byte-identical copies scored %v", bs, copyScores)
			}
		}
		if len(copyScores) != 5 || copyScores[0] > minOther {
			t.Fatalf("batch size %d: copies scored %v, others from %v: want the minimum", bs, copyScores, minOther)
		}
	}
	res, err := brain.ComputeDuplicates(ctx, ds, brain.DuplicatesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for path, s := range scores(t, ds) {
		if strings.HasSuffix(path, "x.png") && s.Get("insights.duplicates.of").Kind() == db.KindString {
			flagged++
			if !s.Get("insights.duplicates.exact").AsBool() {
				t.Errorf("%s: a byte-identical copy not marked exact", path)
			}
		}
	}
	if flagged != 4 || res.Exact < 4 {
		t.Fatalf("duplicates flagged %d of 5 byte-identical copies (%d exact), want 4", flagged, res.Exact)
	}
}

// TestBlankImagesScoreZero: images that cannot be told apart all score 0,
// not 1 for whichever rounding noise came out largest.
func TestBlankImagesScoreZero(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	files := map[string][]byte{}
	for i := 0; i < 24; i++ {
		img := image.NewGray(image.Rect(0, 0, 20+i, 16+i%5)) // blank, of different sizes
		for p := range img.Pix {
			img.Pix[p] = 255
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		files[fmt.Sprintf("blank%02d.png", i)] = b.Bytes()
	}
	ds, _ := ingestFiles(t, files)
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	for path, s := range scores(t, ds) {
		if v := s.Get("insights.uniqueness.scalar"); !v.IsNumber() || v.AsFloat() != 0 {
			t.Errorf("%s: score %v, want 0", path, v)
		}
	}
}

// TestEverySkipIsReported: files overwritten with garbage or deleted after
// ingest are each reported with their path and a reason; the others are
// scored.
func TestEverySkipIsReported(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	files := map[string][]byte{}
	for i := 1; i <= 6; i++ {
		files[fmt.Sprintf("g%d.png", i)] = rectPNG(uint64(i), 30, 20)
	}
	ds, img := ingestFiles(t, files)
	os.WriteFile(filepath.Join(img, "g2.png"), []byte("garbage, not a PNG\n"), 0o644)
	os.WriteFile(filepath.Join(img, "g5.png"), []byte("garbage\n"), 0o644)
	os.Remove(filepath.Join(img, "g4.png"))
	reported := map[string]error{}
	res, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{OnSkip: func(_ db.ID, path string, err error) {
		reported[filepath.Base(path)] = err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 3 || len(reported) != 3 {
		t.Fatalf("skipped %d, reported %v: want g2, g4, g5", res.Skipped, reported)
	}
	if !errors.Is(reported["g2.png"], brain.ErrDecode) || !errors.Is(reported["g5.png"], brain.ErrDecode) || !errors.Is(reported["g4.png"], os.ErrNotExist) {
		t.Fatalf("reasons %v", reported)
	}
}

// TestOptionsMustBeFinite: options that would make scores NaN, or batches
// that cannot be allocated, are refused with ErrOption; large but valid
// weights give finite scores.
func TestOptionsMustBeFinite(t *testing.T) {
	ctx := context.Background()
	ds := memDataset(t, "o")
	p := &brain.Provider{}
	for _, bad := range []map[string]any{
		{"weights": "[1e308, 1e308, 1e308]"},
		{"weights": "[NaN, 1, 1]"},
		{"weights": "[Inf, 1, 1]"},
		{"weights": "[-1, 1, 1]"},
		{"weights": "[0, 0, 0]"},
		{"weights": []any{1.0, math.NaN()}},
		{"k": 0},
		{"k": 1e9},
		{"batch_size": 1 << 30},
	} {
		if _, err := p.Want(ctx, ds, insights.Request{Options: bad}); !errors.Is(err, brain.ErrOption) {
			t.Errorf("options %v: err = %v, want ErrOption", bad, err)
		}
	}
	dp := &brain.DuplicatesProvider{}
	for _, bad := range []any{"NaN", "Inf", math.Inf(1), -0.5} {
		if _, err := dp.Want(ctx, ds, insights.Request{Options: map[string]any{"threshold": bad}}); !errors.Is(err, brain.ErrOption) {
			t.Errorf("threshold %v: err = %v, want ErrOption", bad, err)
		}
	}
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{Weights: []float64{1e308, 1e308, 1e308}}); !errors.Is(err, brain.ErrOption) {
		t.Errorf("ComputeOptions with weights summing to +Inf: err = %v, want ErrOption", err)
	}
}
