package brain

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
)

// scene draws a w x h picture: a background and an ellipse of another
// colour at (cx, cy) (shares of the sides) with radii (rx, ry).
func scene(w, h int, bg, ink color.RGBA, cx, cy, rx, ry float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx := (float64(x)+0.5)/float64(w) - cx
			dy := (float64(y)+0.5)/float64(h) - cy
			c := bg
			if (dx*dx)/(rx*rx)+(dy*dy)/(ry*ry) <= 1 {
				c = ink
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// turned returns img turned by deg degrees about its middle at the same
// size, sampled bilinearly, with the uncovered corners filled with fill:
// blended with the picture's edge pixels where graded (as OpenCV and
// torchvision fill), sharp otherwise (as Pillow does).
func turned(img *image.RGBA, deg float64, fill color.RGBA, graded bool) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(b)
	sin, cos := math.Sincos(deg * math.Pi / 180)
	mx, my := float64(w)/2, float64(h)/2
	at := func(x, y int) [4]float64 {
		if !graded {
			x, y = min(max(x, 0), w-1), min(max(y, 0), h-1)
		}
		if x < 0 || y < 0 || x >= w || y >= h {
			return [4]float64{float64(fill.R), float64(fill.G), float64(fill.B), 255}
		}
		c := img.RGBAAt(x, y)
		return [4]float64{float64(c.R), float64(c.G), float64(c.B), 255}
	}
	for y := range h {
		for x := range w {
			dx, dy := float64(x)+0.5-mx, float64(y)+0.5-my
			sx := cos*dx + sin*dy + mx - 0.5
			sy := -sin*dx + cos*dy + my - 0.5
			if !graded && (sx < -0.5 || sy < -0.5 || sx > float64(w)-0.5 || sy > float64(h)-0.5) {
				out.SetRGBA(x, y, fill)
				continue
			}
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			var v [4]float64
			for k, q := range [4][4]float64{at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)} {
				wgt := [4]float64{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy}[k]
				for c := range v {
					v[c] += wgt * q[c]
				}
			}
			out.SetRGBA(x, y, color.RGBA{uint8(v[0] + 0.5), uint8(v[1] + 0.5), uint8(v[2] + 0.5), 255})
		}
	}
	return out
}

// Colours of the test pictures.
var (
	inkBlack = color.RGBA{0, 0, 0, 255}
	inkWhite = color.RGBA{255, 255, 255, 255}
	inkGrey  = color.RGBA{150, 140, 130, 255}
)

// tensorOf preprocesses data for spec, with or without the wedges painted
// over.
func tensorOf(t *testing.T, spec ModelSpec, data []byte, wedges bool) (*preprocessor, []float32) {
	t.Helper()
	spec.FillRotationCorners = wedges
	p := newPreprocessor(&spec)
	dst := make([]float32, p.size())
	var sc scratch
	if err := p.loadTensor(context.Background(), bytes.NewReader(data), limits{}.orDefault(), dst, &sc); err != nil {
		t.Fatal(err)
	}
	return p, dst
}

// TestRotationWedgesPainted: a picture turned by a few degrees, its
// corners filled with a colour its own background is not, reaches the
// model without those corners, on the small-PNG path and image/png's,
// either way round, turned 2 to 15 degrees, at either fill, and in any
// layout and normalisation.
func TestRotationWedgesPainted(t *testing.T) {
	if !DefaultModelSpec().FillRotationCorners {
		t.Fatal("the default model does not paint rotation wedges")
	}
	greyNHWC := ModelSpec{Name: "grey", Width: 40, Height: 56, Layout: NHWC, Channels: GRAY,
		Mean: [3]float32{0.5}, Std: [3]float32{0.25}}
	cnn224 := ModelSpec{Name: "cnn", Width: 224, Height: 224, Layout: NHWC,
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	for _, tc := range []struct {
		spec    ModelSpec
		w, h    int
		bg, ink color.RGBA
		fill    color.RGBA
		deg     float64
		graded  bool
	}{
		{DefaultModelSpec(), 28, 28, inkBlack, inkGrey, inkWhite, 5.6, false},
		{DefaultModelSpec(), 28, 28, inkBlack, inkGrey, inkWhite, -7.5, true},
		{DefaultModelSpec(), 240, 180, inkWhite, inkGrey, inkBlack, 6.5, false},
		{DefaultModelSpec(), 240, 180, inkBlack, inkGrey, inkWhite, -5, true},
		{DefaultModelSpec(), 500, 500, inkWhite, inkGrey, inkBlack, -8, true},
		{DefaultModelSpec(), 200, 200, inkBlack, inkGrey, inkWhite, 2, true},
		{DefaultModelSpec(), 200, 200, inkBlack, inkGrey, inkWhite, -15, false},
		{greyNHWC, 300, 200, inkBlack, inkGrey, inkWhite, 7, true},
		// a small picture enlarged eight times: its blended edges are
		// eight pixels wide
		{cnn224, 28, 28, inkBlack, inkGrey, inkWhite, 6, false},
		{cnn224, 28, 28, inkBlack, inkGrey, inkWhite, -7, true},
	} {
		name := fmt.Sprintf("%s %dx%d turned %.1f", tc.spec.Name, tc.w, tc.h, tc.deg)
		data := encodePNG(t, turned(scene(tc.w, tc.h, tc.bg, tc.ink, 0.5, 0.5, 0.3, 0.35), tc.deg, tc.fill, tc.graded), png.DefaultCompression)
		p, painted := tensorOf(t, tc.spec, data, true)
		_, raw := tensorOf(t, tc.spec, data, false)
		// The farthest any corner pixel lies from the background, before
		// and after, in 8-bit levels.
		worst := func(v []float32) float32 {
			var far float32
			for _, c := range [][2]int{{0, 0}, {p.width - 1, 0}, {0, p.height - 1}, {p.width - 1, p.height - 1}} {
				for ch := range p.channels() {
					step := p.lut[ch][1] - p.lut[ch][0]
					d := (v[p.tensorAt(ch, c[0], c[1])] - p.lut[ch][tc.bg.R]) / step
					far = max(far, d, -d)
				}
			}
			return far
		}
		if worst(raw) < 128 {
			t.Fatalf("%s: the test picture has no wedges", name)
		}
		if got := worst(painted); got > 26 {
			t.Errorf("%s: a corner is still %.0f levels from the background after painting", name, got)
		}
	}
}

// TestWedgesLeaveOtherPicturesAlone: pictures without rotation wedges —
// a drawing on a plain background, a letterbox, a border, rounded
// corners, a shape in a corner, a gradient, a blank picture, a picture
// turned with corners of its own background — reach the model unchanged.
func TestWedgesLeaveOtherPicturesAlone(t *testing.T) {
	gradient := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			gradient.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y * 2), uint8(x + y), 255})
		}
	}
	letterbox := scene(160, 120, inkGrey, inkWhite, 0.5, 0.5, 0.3, 0.3)
	bordered := scene(160, 120, inkGrey, inkWhite, 0.5, 0.5, 0.3, 0.3)
	for x := range 160 {
		for y := range 120 {
			if y < 12 || y >= 108 {
				letterbox.SetRGBA(x, y, inkBlack)
			}
			if x < 8 || x >= 152 || y < 8 || y >= 112 {
				bordered.SetRGBA(x, y, inkWhite)
			}
		}
	}
	rounded := scene(96, 96, inkWhite, inkGrey, 0.5, 0.5, 0.5, 0.5)
	for y := range 96 {
		for x := range 96 {
			// a grey square with corners rounded to a radius of 15 pixels
			dx, dy := max(15-x, x-80, 0), max(15-y, y-80, 0)
			c := inkGrey
			if dx*dx+dy*dy > 15*15 {
				c = inkWhite
			}
			rounded.SetRGBA(x, y, c)
		}
	}
	for name, img := range map[string]image.Image{
		"rounded corners":       rounded,
		"drawing on inkWhite":   scene(120, 120, inkWhite, inkGrey, 0.5, 0.5, 0.3, 0.4),
		"small garment":         scene(28, 28, inkBlack, inkGrey, 0.5, 0.5, 0.45, 0.48),
		"letterbox":             letterbox,
		"border":                bordered,
		"shape in a corner":     scene(100, 100, inkBlack, inkWhite, 0, 0, 0.3, 0.3),
		"gradient":              gradient,
		"blank":                 scene(64, 64, inkGrey, inkGrey, 0.5, 0.5, 0.1, 0.1),
		"turned on its own bg":  turned(scene(100, 100, inkBlack, inkGrey, 0.5, 0.5, 0.3, 0.3), 7, inkBlack, true),
		"turned white on white": turned(scene(100, 100, inkWhite, inkGrey, 0.5, 0.5, 0.3, 0.3), -6, inkWhite, false),
	} {
		data := encodePNG(t, img, png.DefaultCompression)
		_, painted := tensorOf(t, DefaultModelSpec(), data, true)
		_, raw := tensorOf(t, DefaultModelSpec(), data, false)
		for i := range raw {
			if painted[i] != raw[i] {
				t.Errorf("%s: value %d changed from %.3f to %.3f", name, i, raw[i], painted[i])
				break
			}
		}
	}
}

// TestTurnedCopiesFindTheirOriginals is the failure class the painting
// is for: among 40 small dark pictures, four copies turned 5–8 degrees
// with white corners. With the corners painted over, every copy's nearest
// other picture is its original; with them left, the copies are nearer
// each other.
func TestTurnedCopiesFindTheirOriginals(t *testing.T) {
	if err := InitRuntime(); err != nil {
		t.Skip(err)
	}
	const n, copies = 40, 4
	var items []Item
	var originals []*image.RGBA
	for i := range n {
		ink := color.RGBA{uint8(60 + 4*i), uint8(220 - 3*i), uint8(40 + 5*(i%7)), 255}
		cx, cy := 0.3+0.4*float64(i%5)/4, 0.3+0.4*float64(i/5%4)/3
		img := scene(28, 28, inkBlack, ink, cx, cy, 0.12+0.04*float64(i%3), 0.3-0.05*float64(i%4))
		originals = append(originals, img)
		items = append(items, Item{ID: fmt.Sprint("original ", i), Media: bytesMedia(encodePNG(t, img, png.DefaultCompression))})
	}
	for c := range copies {
		deg := 5 + float64(c)
		if c%2 == 1 {
			deg = -deg
		}
		img := turned(originals[c*n/copies], deg, inkWhite, false)
		items = append(items, Item{ID: fmt.Sprint("copy of ", c*n/copies), Media: bytesMedia(encodePNG(t, img, png.DefaultCompression))})
	}
	misses := func(wedges bool) int {
		spec := DefaultModelSpec()
		spec.FillRotationCorners = wedges
		data, err := descriptorV2.graph()
		if err != nil {
			t.Fatal(err)
		}
		m, err := loadModelWith(spec, data, sessionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		e, err := Embed(context.Background(), m, items, EmbedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nb, err := KNN(context.Background(), e.Vectors, len(items), e.Dim, 1, Cosine)
		if err != nil {
			t.Fatal(err)
		}
		wrong := 0
		for c := range copies {
			i := n + c
			if j, d, _ := nb.Nearest(i); j != c*n/copies {
				wrong++
				t.Logf("corners painted %v: %s is nearest %s (%.3f)", wedges, e.IDs[i], e.IDs[j], d)
			}
		}
		return wrong
	}
	if got := misses(true); got != 0 {
		t.Errorf("with the corners painted over, %d of %d turned copies are not nearest their original", got, copies)
	}
	if got := misses(false); got == 0 {
		t.Errorf("with the corners left, every turned copy still finds its original: the test no longer shows the failure")
	}
}

// TestWedgesAnySize: pictures of any size and content, down to a pixel,
// in any layout, are tested for wedges without fault.
func TestWedgesAnySize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, layout := range []Layout{NCHW, NHWC} {
		for _, channels := range []ChannelOrder{RGB, BGR, GRAY} {
			for _, size := range [][2]int{{1, 1}, {2, 7}, {5, 3}, {8, 8}, {9, 40}, {33, 17}} {
				spec := ModelSpec{Width: size[0], Height: size[1], Layout: layout, Channels: channels, FillRotationCorners: true}
				p := newPreprocessor(&spec)
				for range 20 {
					v := make([]float32, p.size())
					level := float32(rng.IntN(2))
					for i := range v {
						if rng.IntN(3) == 0 {
							v[i] = rng.Float32()
						} else {
							v[i] = level
						}
					}
					p.fillWedges(v, 1+rng.IntN(8))
				}
			}
		}
	}
}
