package brain

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// tinyModel builds a small ONNX image model: Conv (3 -> 2 channels, 1x1,
// weights picking R and B) -> "features" -> GlobalAveragePool -> "pooled"
// -> Flatten -> "logits" (the only declared output). For NHWC the input is
// transposed to NCHW first. batch < 0 makes the batch axis symbolic.
func tinyModel(t *testing.T, layout Layout, batch int64, w, h int) []byte {
	t.Helper()
	b := newGraph("tiny")
	in := "pixels"
	if layout == NHWC {
		b.input(in, []int64{batch, int64(h), int64(w), 3}, "n")
		in = b.op("Transpose", []string{in}, attrInts("perm", 0, 3, 1, 2))
	} else {
		b.input(in, []int64{batch, 3, int64(h), int64(w)}, "n")
	}
	wts := b.floatInit("w", []int64{2, 3, 1, 1}, []float32{1, 0, 0, 0, 0, 1})
	b.node("Conv", []string{in, wts}, "features")
	b.node("GlobalAveragePool", []string{"features"}, "pooled")
	b.node("Flatten", []string{"pooled"}, "logits", attrInt("axis", 1))
	b.output("logits", 1, []int64{batch, 2}, "n")
	data, err := b.model("test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeModel(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// solidPNG encodes a w x h image of one colour.
func solidPNG(w, h int, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// bytesMedia serves fixed bytes.
func bytesMedia(data []byte) Media {
	return MediaFunc(func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

func TestLoadModelIntermediateOutput(t *testing.T) {
	needRuntime(t)
	for _, layout := range []Layout{NCHW, NHWC} {
		t.Run(string(layout), func(t *testing.T) {
			path := writeModel(t, tinyModel(t, layout, -1, 8, 8))
			spec := ModelSpec{Name: "tiny", Path: path, Width: 8, Height: 8, Layout: layout, Output: "pooled"}
			m, err := LoadModel(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Dim() != 2 {
				t.Fatalf("Dim = %d, want 2 (pooled is [N,2,1,1])", m.Dim())
			}
			// The conv picks R and B, pooled over the image: (R, B) / 255.
			items := []Item{
				{ID: "orange", Media: bytesMedia(solidPNG(8, 8, color.RGBA{255, 128, 0, 255}))},
				{ID: "teal", Media: bytesMedia(solidPNG(16, 16, color.RGBA{0, 128, 51, 255}))},
			}
			emb, err := Embed(context.Background(), m, items, EmbedOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := [][]float32{{1, 0}, {0, 0.2}}
			for i := range items {
				v := emb.Vector(i)
				for j := range v {
					if math.Abs(float64(v[j]-want[i][j])) > 1e-5 {
						t.Errorf("%s: embedding %v, want %v", items[i].ID, v, want[i])
					}
				}
			}
		})
	}
}

func TestLoadModelSpecErrors(t *testing.T) {
	needRuntime(t)
	path := writeModel(t, tinyModel(t, NCHW, -1, 8, 8))
	for _, tc := range []struct {
		name string
		spec ModelSpec
	}{
		{"unknown tensor", ModelSpec{Path: path, Width: 8, Height: 8, Output: "nope"}},
		{"unknown input", ModelSpec{Path: path, Width: 8, Height: 8, Input: "image"}},
		{"wrong size", ModelSpec{Path: path, Width: 16, Height: 8}},
		{"wrong layout", ModelSpec{Path: path, Width: 8, Height: 8, Layout: NHWC}},
		{"bad layout name", ModelSpec{Path: path, Width: 8, Height: 8, Layout: "CHW"}},
		{"no size", ModelSpec{Path: path}},
		{"fixed batch mismatch", ModelSpec{Path: writeModel(t, tinyModel(t, NCHW, 2, 8, 8)), Width: 8, Height: 8, FixedBatch: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(tc.spec)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error %v does not wrap ErrBadSpec", err)
			}
		})
	}
	if _, err := LoadModel(ModelSpec{Path: filepath.Join(t.TempDir(), "missing.onnx"), Width: 8, Height: 8}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	garbage := writeModel(t, []byte("not a model at all"))
	if _, err := LoadModel(ModelSpec{Path: garbage, Width: 8, Height: 8}); err == nil {
		t.Error("garbage model loaded")
	}
}

func TestModelIdentity(t *testing.T) {
	needRuntime(t)
	data := tinyModel(t, NCHW, -1, 8, 8)
	path := writeModel(t, data)
	load := func(s ModelSpec) *Model {
		t.Helper()
		m, err := LoadModel(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	base := ModelSpec{Name: "a", Path: path, Width: 8, Height: 8}
	a := load(base)
	renamed := base
	renamed.Name, renamed.Path = "b", writeModel(t, data)
	explicit := base
	explicit.Output, explicit.Input, explicit.Std = "logits", "pixels", [3]float32{1, 1, 1}
	if a.Identity() != load(renamed).Identity() || a.Identity() != load(explicit).Identity() {
		t.Error("identity depends on name, path or spelled-out defaults")
	}
	other := base
	other.Mean = [3]float32{0.5, 0.5, 0.5}
	if a.Identity() == load(other).Identity() {
		t.Error("identity ignores the normalisation")
	}
	inter := base
	inter.Output = "pooled"
	if a.Identity() == load(inter).Identity() {
		t.Error("identity ignores the embedding tensor")
	}
}

func TestFixedBatchModelPadsLastBatch(t *testing.T) {
	needRuntime(t)
	m, err := LoadModel(ModelSpec{Path: writeModel(t, tinyModel(t, NCHW, 4, 8, 8)), Width: 8, Height: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Spec().FixedBatch; got != 4 {
		t.Fatalf("FixedBatch read from the model = %d, want 4", got)
	}
	var items []Item
	for i := 0; i < 10; i++ {
		items = append(items, Item{ID: string(rune('a' + i)), Media: bytesMedia(solidPNG(8, 8, color.RGBA{uint8(20 * i), 0, 0, 255}))})
	}
	emb, err := Embed(context.Background(), m, items, EmbedOptions{BatchSize: 3 /* ignored: fixed */})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.IDs) != 10 {
		t.Fatalf("%d embeddings, want 10", len(emb.IDs))
	}
	for i := range items {
		if want := float32(20*i) / 255; math.Abs(float64(emb.Vector(i)[0]-want)) > 1e-5 {
			t.Errorf("item %d: %v, want R %v", i, emb.Vector(i), want)
		}
	}
}

func TestClosedModel(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m.Close() // idempotent
	_, err = Embed(context.Background(), m, []Item{{ID: "x", Media: bytesMedia(solidPNG(4, 4, cRed))}}, EmbedOptions{})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Embed on a closed model: %v", err)
	}
}

// TestEmbedDefaults checks Embed's defaults for the built-in model and for
// models loaded by path: one inference call per core (their sessions run
// each call on one thread), and a batch that shrinks as the input and the
// number of concurrent calls grow.
func TestEmbedDefaults(t *testing.T) {
	needRuntime(t)
	load := func(w, h int, fixed int64) *Model {
		t.Helper()
		batch := int64(-1)
		if fixed > 0 {
			batch = fixed
		}
		spec := ModelSpec{Name: "tiny", Path: writeModel(t, tinyModel(t, NCHW, batch, w, h)), Width: w, Height: h, Output: "pooled"}
		m, err := LoadModel(spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	builtIn, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer builtIn.Close()
	rgb224 := load(224, 224, 0)
	for _, tc := range []struct {
		name    string
		m       *Model
		runners int
		batch   int
	}{
		{"built-in", builtIn, 2, 64},
		{"32x32 RGB", load(32, 32, 0), 2, 32},
		{"112x112 RGB", load(112, 112, 0), 2, 32},
		{"224x224 RGB, 1 runner", rgb224, 1, 16},
		{"224x224 RGB, 2 runners", rgb224, 2, 8},
		{"224x224 RGB, 64 runners", rgb224, 64, 1},
		{"448x448 RGB", load(448, 448, 0), 2, 2},
		{"224x224 fixed batch 3", load(224, 224, 3), 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := defaultRunners(tc.m), runtime.GOMAXPROCS(0); got != want {
				t.Errorf("default runners = %d, want GOMAXPROCS = %d", got, want)
			}
			if got := defaultBatch(tc.m, tc.runners); got != tc.batch {
				t.Errorf("default batch with %d runners = %d, want %d", tc.runners, got, tc.batch)
			}
		})
	}
}
