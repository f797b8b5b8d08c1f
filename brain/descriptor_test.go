package brain

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestDescriptorGraphDeterministic(t *testing.T) {
	a, err := buildDescriptor(defaultDescConfig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildDescriptor(defaultDescConfig)
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
	if m.Identity() != builtinIdentity {
		t.Fatalf("the loaded built-in model is %s, freshness checks ask for %s", m.Identity(), builtinIdentity)
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
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Dim() != DescriptorDim {
		t.Fatalf("Dim = %d, want DescriptorDim %d", m.Dim(), DescriptorDim)
	}
	decode := func(data []byte) image.Image {
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	w, h := 96, 96
	jp := decode(noiseJPEG(4, w, h))
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
	other := decode(noiseJPEG(5, 96, 96))
	v := embedImages(t, m, src, mirror, shifted, other)
	if d := dist(v[0], v[1]); d > 1e-4 {
		t.Errorf("mirror moved the embedding by %v", d)
	}
	dOther := dist(v[0], v[3])
	if d := dist(v[0], v[2]); d > dOther/4 {
		t.Errorf("brightness/contrast shift moved the embedding by %v (another picture is at %v)", d, dOther)
	}
}
