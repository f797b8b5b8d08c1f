package brain

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// inkPNG encodes a w x h picture drawn in one colour whose shape is all in
// its alpha channel: a disc at (cx, cy), opaque, on full transparency.
func inkPNG(t *testing.T, w, h int, ink color.NRGBA, cx, cy, r float64) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-cx, float64(y)-cy
			c := ink
			c.A = 0
			if dx*dx+dy*dy <= r*r {
				c.A = 0xff
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWhiteInkOnTransparency: a picture drawn in white on transparency
// (a logo, an overlay wallpaper) would be blank over white; it is
// composited over black instead, on every decoding path, so that two such
// pictures differ. Dark ink stays over white, and a blank picture stays
// blank.
func TestWhiteInkOnTransparency(t *testing.T) {
	spec := DefaultModelSpec()
	p := newPreprocessor(&spec)
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	load := func(data []byte) []float32 {
		dst := make([]float32, p.size())
		var sc scratch
		if err := p.loadTensor(context.Background(), bytes.NewReader(data), limits{}.orDefault(), dst, &sc); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	plane := p.width * p.height
	// level of the red plane at (x, y) of the model input, in [0, 1]
	at := func(v []float32, x, y int) float32 { return v[y*p.width+x] }
	for _, size := range []int{p.width / 2, 5 * p.width} { // the small-PNG path and image/png's
		left := load(inkPNG(t, size, size, white, float64(size)/4, float64(size)/2, float64(size)/6))
		right := load(inkPNG(t, size, size, white, 3*float64(size)/4, float64(size)/2, float64(size)/6))
		if p.blank(left) || p.blank(right) {
			t.Fatalf("%dpx: white ink is blank", size)
		}
		if got := at(left, p.width/4, p.height/2); got < 0.9 {
			t.Errorf("%dpx: the ink is at %.2f, not white", size, got)
		}
		if got := at(left, 3*p.width/4, p.height/2); got > 0.1 {
			t.Errorf("%dpx: the transparency is at %.2f, not black", size, got)
		}
		same := true
		for i := range left {
			same = same && left[i] == right[i]
		}
		if same {
			t.Errorf("%dpx: two white-ink pictures embed alike", size)
		}
		dark := load(inkPNG(t, size, size, color.NRGBA{0x20, 0x40, 0x80, 0xff}, float64(size)/4, float64(size)/2, float64(size)/6))
		if got := at(dark, 3*p.width/4, p.height/2); got < 0.99 {
			t.Errorf("%dpx: dark ink's transparency is at %.2f, not white", size, got)
		}
		if got := dark[2*plane+(p.height/2)*p.width+p.width/4]; got < 0.45 || got > 0.55 {
			t.Errorf("%dpx: dark ink's blue is %.2f, want 0x80", size, got)
		}
		empty := load(inkPNG(t, size, size, white, -1e3, -1e3, 1))
		if !p.blank(empty) || at(empty, 0, 0) < 0.99 {
			t.Errorf("%dpx: a fully transparent picture is not blank white", size)
		}
	}
}
