package brain

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"
)

func TestDescriptorGraphDeterministic(t *testing.T) {
	a, err := buildDescriptor(descV2Config)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildDescriptor(descV2Config)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the descriptor graph differ")
	}
}

func TestDefaultModel(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Logf("dim=%d identity=%s", m.Dim(), m.Identity())
	m2, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m.Identity() != m2.Identity() {
		t.Fatalf("identity differs between loads: %s vs %s", m.Identity(), m2.Identity())
	}
	// The model a run loads has the identity its freshness check asked
	// for, so that the stored run is fresh to the next check.
	if m.Identity() != defaultDescriptor.identity {
		t.Fatalf("the loaded built-in model is %s, freshness checks ask for %s", m.Identity(), defaultDescriptor.identity)
	}
}

// embedImages runs the built-in model on RGBA images (no encoding).
func embedImages(t *testing.T, m *Model, imgs ...image.Image) [][]float32 {
	t.Helper()
	size := m.pre.size()
	batch := make([]float32, len(imgs)*size)
	var sc scratch
	for i, img := range imgs {
		m.pre.fill(batch[i*size:(i+1)*size], img, 1, &sc)
	}
	out, _, err := m.run(batch, len(imgs))
	if err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, len(imgs))
	for i := range imgs {
		vecs[i] = out[i*m.Dim() : (i+1)*m.Dim()]
	}
	return vecs
}

func dist(a, b []float32) float64 {
	var s float64
	for i := range a {
		e := float64(a[i] - b[i])
		s += e * e
	}
	return math.Sqrt(s)
}

func TestDescriptorInvariances(t *testing.T) {
	eachBuiltin(t, func(t *testing.T, b *builtinDescriptor, m *Model) {
		if m.Dim() != b.dim {
			t.Fatalf("Dim = %d, want %d", m.Dim(), b.dim)
		}
		checkInvariances(t, m)
	})
}

// eachBuiltin runs check in a subtest per built-in descriptor, with the
// descriptor loaded.
func eachBuiltin(t *testing.T, check func(t *testing.T, b *builtinDescriptor, m *Model)) {
	needRuntime(t)
	for _, b := range builtins {
		t.Run(b.short, func(t *testing.T) {
			m, err := b.load()
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			check(t, b, m)
		})
	}
}

// checkInvariances checks that a mirror does not move m's embedding of a
// picture and that a brightness and contrast shift moves it far less than
// the distance to another picture.
func checkInvariances(t *testing.T, m *Model) {
	w, h := 96, 96
	jp := decodeTestImage(t, noiseJPEG(4, w, h))
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	mirror := image.NewRGBA(image.Rect(0, 0, w, h))
	shifted := image.NewRGBA(image.Rect(0, 0, w, h)) // brightness +20, contrast 0.9
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b, _ := jp.At(x, y).RGBA()
			src.Set(x, y, color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255})
			mirror.Set(w-1-x, y, color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255})
			f := func(v uint32) uint8 { return uint8(min(255, max(0, 0.9*float64(v>>8)+20))) }
			shifted.Set(x, y, color.RGBA{f(r), f(g), f(b), 255})
		}
	}
	other := decodeTestImage(t, noiseJPEG(5, 96, 96))
	v := embedImages(t, m, src, mirror, shifted, other)
	if d := dist(v[0], v[1]); d > 1e-4 {
		t.Errorf("mirror moved the embedding by %v", d)
	}
	dOther := dist(v[0], v[3])
	if d := dist(v[0], v[2]); d > dOther/4 {
		t.Errorf("brightness/contrast shift moved the embedding by %v (another picture is at %v)", d, dOther)
	}
}

// decodeTestImage decodes an encoded image.
func decodeTestImage(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestDescriptorV2Bars checks what descriptor-v2 adds: a picture with
// plain bars around it (white or black, as a border or a letterbox adds)
// or turned grey embeds much nearer its original than another picture
// does, much nearer than descriptor-v1 puts them, and a plain picture
// still gets a finite embedding.
func TestDescriptorV2Bars(t *testing.T) {
	needRuntime(t)
	w, h := 80, 60
	pic := decodeTestImage(t, noiseJPEG(7, w, h))
	other := decodeTestImage(t, noiseJPEG(8, w, h))
	framed := func(c color.RGBA, bx, by int) image.Image {
		out := image.NewRGBA(image.Rect(0, 0, w+2*bx, h+2*by))
		draw.Draw(out, out.Bounds(), &image.Uniform{c}, image.Point{}, draw.Src)
		draw.Draw(out, image.Rect(bx, by, bx+w, by+h), pic, pic.Bounds().Min, draw.Src)
		return out
	}
	grey := image.NewGray(pic.Bounds())
	draw.Draw(grey, grey.Bounds(), pic, pic.Bounds().Min, draw.Src)
	plain := image.NewUniform(color.RGBA{90, 120, 200, 255})
	plainImg := image.NewRGBA(image.Rect(0, 0, 40, 40))
	draw.Draw(plainImg, plainImg.Bounds(), plain, image.Point{}, draw.Src)
	copies := []struct {
		name string
		img  image.Image
	}{
		{"white border", framed(color.RGBA{255, 255, 255, 255}, 4, 3)},
		{"black letterbox", framed(color.RGBA{0, 0, 0, 255}, 0, 8)},
		{"greyscale", grey},
	}
	ratio := map[string][]float64{}
	for _, b := range builtins {
		m, err := b.load()
		if err != nil {
			t.Fatal(err)
		}
		imgs := []image.Image{pic, other, plainImg}
		for _, c := range copies {
			imgs = append(imgs, c.img)
		}
		v := embedImages(t, m, imgs...)
		m.Close()
		for _, x := range v[2] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: a plain picture embeds to %v", b.name, v[2][:4])
			}
		}
		dOther := dist(v[0], v[1])
		for i, c := range copies {
			ratio[c.name] = append(ratio[c.name], dist(v[0], v[3+i])/dOther)
		}
		if b == descriptorV2 {
			// The blocks of the trimmed picture come last.
			tail := func(x []float32) []float32 { return x[len(x)-b.dim/2:] }
			dOther := dist(tail(v[0]), tail(v[1]))
			for i, c := range copies {
				ratio[c.name+", trimmed"] = append(ratio[c.name+", trimmed"], dist(tail(v[0]), tail(v[3+i]))/dOther)
			}
		}
	}
	for _, c := range copies {
		r := ratio[c.name] // v1, v2
		tr := ratio[c.name+", trimmed"][0]
		t.Logf("%s: distance to the original / to another picture: v1 %.3f, v2 %.3f (its trimmed blocks %.3f)", c.name, r[0], r[1], tr)
		if r[1] > 0.75*r[0] {
			t.Errorf("%s: descriptor-v2 puts the copy at %.3f of another picture's distance, descriptor-v1 at %.3f", c.name, r[1], r[0])
		}
		if c.name != "greyscale" && tr > r[0]/2 {
			t.Errorf("%s: the trimmed blocks of descriptor-v2 put the copy at %.3f of another picture's distance, descriptor-v1 at %.3f", c.name, tr, r[0])
		}
	}
}

// TestBuiltinsKeepTheirEmbeddings runs uniqueness with descriptor-v1, then
// the default descriptor-v2, then descriptor-v1 again: each model's
// embeddings are stored apart, so the third run embeds nothing, and its
// scores are the first run's.
func TestBuiltinsKeepTheirEmbeddings(t *testing.T) {
	needRuntime(t)
	ds, _ := queueDatasets(t, 12)
	ctx := context.Background()
	spec, _ := BuiltinSpec(DescriptorShortName)
	v1 := ComputeOptions{Model: &spec, ModelName: spec.Name}
	first, err := ComputeUniqueness(ctx, ds, v1)
	if err != nil {
		t.Fatal(err)
	}
	before := byPath(t, ds)
	second, err := ComputeUniqueness(ctx, ds, ComputeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third, err := ComputeUniqueness(ctx, ds, v1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Embedded != 11 || second.Embedded != 11 || third.Embedded != 0 {
		t.Fatalf("embedded %d, %d, %d images; want 11 (one file is no image), 11, 0", first.Embedded, second.Embedded, third.Embedded)
	}
	if second.Run.Model != descriptorV2.identity || third.Run.Model != descriptorV1.identity {
		t.Fatalf("runs of models %s and %s", second.Run.Model, third.Run.Model)
	}
	sameScores(t, before, byPath(t, ds))
}
