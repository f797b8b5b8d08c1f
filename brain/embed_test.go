package brain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// noiseJPEG is a random but seeded test picture.
func noiseJPEG(seed uint64, w, h int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Smooth blobs so the descriptor has structure to see.
	type blob struct {
		x, y, r float64
		c       color.RGBA
	}
	var blobs []blob
	for i := 0; i < 6; i++ {
		blobs = append(blobs, blob{rng.Float64() * float64(w), rng.Float64() * float64(h), 5 + rng.Float64()*float64(w)/3,
			color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}})
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{40, 40, 40, 255}
			for _, b := range blobs {
				if math.Hypot(float64(x)-b.x, float64(y)-b.y) < b.r {
					c = b.c
				}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

func TestEmbedSkipsBadItemsAndKeepsOrder(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jpg")
	if err := os.WriteFile(good, noiseJPEG(1, 80, 60), 0o644); err != nil {
		t.Fatal(err)
	}
	items := []Item{
		{ID: "a", Media: File(good)},
		{ID: "missing", Media: File(filepath.Join(dir, "nope.jpg"))},
		{ID: "b", Media: bytesMedia(noiseJPEG(2, 50, 70))},
		{ID: "text", Media: bytesMedia([]byte("not an image"))},
		{ID: "bomb", Media: bytesMedia(pngWithSize(t, 1<<16, 1<<16))},
		{ID: "nil-media"},
		{ID: "c", Media: bytesMedia(noiseJPEG(3, 64, 64))},
		{ID: "a-again", Media: File(good)},
	}
	var progress [][2]int
	var onSkip []string
	emb, err := Embed(context.Background(), m, items, EmbedOptions{
		BatchSize: 2,
		Progress:  func(done, total int) { progress = append(progress, [2]int{done, total}) },
		OnSkip:    func(s Skipped) { onSkip = append(onSkip, s.ID) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(emb.IDs) != "[a b c a-again]" {
		t.Errorf("IDs = %v, want [a b c a-again]", emb.IDs)
	}
	if emb.Dim != DescriptorV2Dim || len(emb.Vectors) != 4*DescriptorV2Dim {
		t.Fatalf("Dim %d, %d values", emb.Dim, len(emb.Vectors))
	}
	wantSkip := map[string]error{"missing": os.ErrNotExist, "text": ErrDecode, "bomb": ErrImageTooLarge, "nil-media": nil}
	if len(emb.Skipped) != len(wantSkip) || len(onSkip) != len(wantSkip) {
		t.Fatalf("skipped %v (OnSkip %v), want %d", emb.Skipped, onSkip, len(wantSkip))
	}
	for i, s := range emb.Skipped {
		want, ok := wantSkip[s.ID]
		if !ok || s.Err == nil || (want != nil && !errors.Is(s.Err, want)) {
			t.Errorf("skipped %q: %v", s.ID, s.Err)
		}
		if i > 0 && s.ID == emb.Skipped[i-1].ID {
			t.Errorf("%q skipped twice", s.ID)
		}
	}
	if got := []string{emb.Skipped[0].ID, emb.Skipped[3].ID}; got[0] != "missing" || got[1] != "nil-media" {
		t.Errorf("Skipped not in input order: %v", emb.Skipped)
	}
	last := progress[len(progress)-1]
	if last != [2]int{len(items), len(items)} {
		t.Errorf("last progress %v, want %d/%d", last, len(items), len(items))
	}
	for i := 1; i < len(progress); i++ {
		if progress[i][0] <= progress[i-1][0] {
			t.Errorf("progress not increasing: %v", progress)
		}
	}
	// The same image gives the same vector wherever it sat in a batch.
	a, again := emb.Vector(0), emb.Vector(3)
	for j := range a {
		if math.Abs(float64(a[j]-again[j])) > 1e-6 {
			t.Fatalf("same image, different vectors at %d: %v vs %v", j, a[j], again[j])
		}
	}
	// Embeddings are unit length.
	var n2 float64
	for _, v := range a {
		n2 += float64(v) * float64(v)
	}
	if math.Abs(n2-1) > 1e-4 {
		t.Errorf("|embedding|² = %v, want 1", n2)
	}
}

func TestEmbedEmptyAndAllBad(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	emb, err := Embed(context.Background(), m, nil, EmbedOptions{})
	if err != nil || len(emb.IDs) != 0 || len(emb.Vectors) != 0 {
		t.Fatalf("empty input: %+v, %v", emb, err)
	}
	emb, err = Embed(context.Background(), m, []Item{{ID: "x", Media: bytesMedia(nil)}}, EmbedOptions{})
	if err != nil || len(emb.IDs) != 0 || len(emb.Skipped) != 1 {
		t.Fatalf("all bad: %+v, %v", emb, err)
	}
}

// slowMedia blocks in Open until its context ends.
type slowMedia struct{ opened chan struct{} }

func (s slowMedia) Open(ctx context.Context) (io.ReadCloser, error) {
	select {
	case s.opened <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestEmbedCancel(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	opened := make(chan struct{}, 1)
	items := make([]Item, 1000)
	img := noiseJPEG(9, 64, 64)
	for i := range items {
		items[i] = Item{ID: fmt.Sprint(i), Media: bytesMedia(img)}
	}
	items[500] = Item{ID: "slow", Media: slowMedia{opened}}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	go func() {
		<-opened
		once.Do(cancel)
	}()
	done := make(chan error, 1)
	go func() {
		_, err := Embed(ctx, m, items, EmbedOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Embed after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Embed did not stop after cancel")
	}
	// Cancelled before start.
	if _, err := Embed(ctx, m, items[:3], EmbedOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed with a cancelled context: %v", err)
	}
}
