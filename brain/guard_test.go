package brain

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestKNNRefusesNonFiniteVectors: a NaN, an infinity or a value beyond
// float32's range is an error naming the row, never a panic in a worker.
func TestKNNRefusesNonFiniteVectors(t *testing.T) {
	needRuntime(t)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		for _, metric := range []Metric{Cosine, Euclidean} {
			v := []float32{0, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1}
			v[6] = bad
			_, err := KNN(context.Background(), v, 6, 2, 3, metric)
			if !errors.Is(err, ErrBadVector) || !strings.Contains(err.Error(), "row 3") {
				t.Errorf("%s with %v in row 3: err = %v, want ErrBadVector naming row 3", metric, bad, err)
			}
		}
	}
}

// TestKNNHugeFiniteValues: values near float32's maximum overflow the
// float32 squared norms of the candidate search; the neighbours must still
// be right.
func TestKNNHugeFiniteValues(t *testing.T) {
	needRuntime(t)
	const big = 3e38
	v := []float32{0, 0, big / 4, 0, big / 2, 0, big, 0}
	nb, err := KNN(context.Background(), v, 4, 2, 1, Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 0, 1, 2}
	for i, w := range want {
		if j, d, _ := nb.Nearest(i); j != w || math.IsNaN(d) || math.IsInf(d, 0) {
			t.Errorf("row %d: nearest %d at %v, want %d at a finite distance", i, j, d, w)
		}
	}
	res, err := Uniqueness(context.Background(), v, 4, 2, UniquenessOptions{Metric: Euclidean, Weights: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range res.Scores {
		if math.IsNaN(s) || s < 0 || s > 1 {
			t.Errorf("score %d = %v", i, s)
		}
	}
}

// panicMedia panics when opened, as a bug in a Media would.
type panicMedia struct{}

func (panicMedia) Open(context.Context) (io.ReadCloser, error) { panic("media exploded") }

// TestEmbedWorkerPanicFailsTheRun: a panic in a decoding goroutine ends
// Embed with an error wrapping db.ErrInternal, and the program goes on.
func TestEmbedWorkerPanicFailsTheRun(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	good := noiseJPEG(1, 40, 30)
	items := []Item{
		{ID: "a", Media: MediaFunc(func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good)), nil })},
		{ID: "boom", Media: panicMedia{}},
	}
	for _, workers := range []int{1, 2} {
		_, err := Embed(context.Background(), m, items, EmbedOptions{Workers: workers})
		if !errors.Is(err, db.ErrInternal) || !strings.Contains(err.Error(), "media exploded") {
			t.Fatalf("workers %d: err = %v, want db.ErrInternal with the panic's message", workers, err)
		}
	}
}

// nanGraph is a model whose output is NaN or infinite for every image:
// image / 0.
func nanGraph(t *testing.T) []byte {
	t.Helper()
	b := newGraph("nan")
	b.input("image", []int64{-1, 3, 4, 4}, "batch")
	b.node("Div", []string{b.op("Flatten", []string{"image"}, attrInt("axis", 1)), b.constF(nil, 0)}, "out")
	b.output("out", 1, []int64{-1, 48}, "batch")
	data, err := b.model("test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestModelNonFiniteOutputIsSkipped: an image whose embedding comes out
// NaN or infinite is skipped and reported with the model's name, not
// stored.
func TestModelNonFiniteOutputIsSkipped(t *testing.T) {
	needRuntime(t)
	m, err := loadModelBytes(ModelSpec{Name: "nan-model", Width: 4, Height: 4}, nanGraph(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img := noiseJPEG(2, 8, 8)
	emb, err := Embed(context.Background(), m, []Item{{ID: "x", Media: MediaFunc(func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(img)), nil
	})}}, EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.IDs) != 0 || len(emb.Skipped) != 1 {
		t.Fatalf("embedded %v, skipped %v: want the item skipped", emb.IDs, emb.Skipped)
	}
	if err := emb.Skipped[0].Err; !errors.Is(err, ErrBadVector) || !strings.Contains(err.Error(), "nan-model") {
		t.Fatalf("skip reason %v, want ErrBadVector naming the model", err)
	}
}
