package zoo

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// plantSource is a 200 x 100 picture: a horizontal colour ramp whose left
// half is half transparent.
func plantSource() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			a := uint8(255)
			if x < 100 {
				a = 128
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(2 * y), 90, a})
		}
	}
	return img
}

// TestPlant checks each transform's size rule and a property of its pixels.
func TestPlant(t *testing.T) {
	src := plantSource()
	opaque := Opaque(src)
	same := func(a, b *image.RGBA, x, y int) bool { return a.RGBAAt(x, y) == b.RGBAAt(x, y) }
	cases := []struct {
		kind  string
		check func(c PlantedCopy) string
	}{
		{KindCrop, func(c PlantedCopy) string {
			a := float64(c.Image.Rect.Dx()*c.Image.Rect.Dy()) / (200 * 100)
			if a < 0.79 || a > 0.91 {
				return "crop keeps a share of the area outside 80–90%"
			}
			return ""
		}},
		{KindJPEG, func(c PlantedCopy) string {
			if c.JPEGQuality != PlantJPEGQuality || !same(c.Image, opaque, 150, 50) {
				return "jpeg copy is not the opaque picture at quality 20"
			}
			return ""
		}},
		{KindBrightness, func(c PlantedCopy) string {
			g := float64(c.Image.RGBAAt(150, 50).G) / float64(opaque.RGBAAt(150, 50).G)
			if g < 0.74 || g > 1.26 || (g > 0.76 && g < 1.24) {
				return "brightness gain is not 1 ± 0.25"
			}
			return ""
		}},
		{KindContrast, func(c PlantedCopy) string {
			if same(c.Image, opaque, 199, 99) {
				return "contrast left the brightest corner as it was"
			}
			return ""
		}},
		{KindResize, func(c PlantedCopy) string {
			if c.Image.Rect != image.Rect(0, 0, 100, 50) {
				return "resize is not half the size"
			}
			return ""
		}},
		{KindRotate, func(c PlantedCopy) string {
			p := c.Image.RGBAAt(0, 0)
			if c.Image.Rect != opaque.Rect || (p != color.RGBA{255, 255, 255, 255} && p != color.RGBA{0, 0, 0, 255}) {
				return "rotation changed the size or left a corner unfilled"
			}
			return ""
		}},
		{KindMirror, func(c PlantedCopy) string {
			if c.Image.RGBAAt(0, 10) != opaque.RGBAAt(199, 10) || c.Image.RGBAAt(199, 10) != opaque.RGBAAt(0, 10) {
				return "mirror is not a horizontal flip"
			}
			return ""
		}},
		{KindExact, func(c PlantedCopy) string {
			if c.Image != nil {
				return "exact copy carries pixels instead of the file's bytes"
			}
			return ""
		}},
		{KindGreyscale, func(c PlantedCopy) string {
			p := c.Image.RGBAAt(150, 70)
			if p.R != p.G || p.G != p.B {
				return "greyscale left colour"
			}
			return ""
		}},
		{KindBorder, func(c PlantedCopy) string {
			r := c.Image.Rect
			if r != image.Rect(0, 0, 220, 110) && r != image.Rect(0, 0, 200, 110) {
				return "border does not add 10%"
			}
			return ""
		}},
		{KindOverlay, func(c PlantedCopy) string {
			changed := 0
			for y := range 100 {
				for x := range 200 {
					if !same(c.Image, opaque, x, y) {
						changed++
					}
				}
			}
			if changed == 0 || changed > 2000 {
				return "overlay changed none or more than 10% of the pixels"
			}
			return ""
		}},
	}
	if len(cases) != len(PlantKinds()) {
		t.Fatalf("%d cases for %d kinds", len(cases), len(PlantKinds()))
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			for seed := range uint64(8) {
				c, err := Plant(rand.New(rand.NewPCG(seed, 1)), tc.kind, src)
				if err != nil {
					t.Fatal(err)
				}
				if c.Image != nil && !c.Image.Opaque() {
					t.Errorf("seed %d: copy is not opaque", seed)
				}
				if msg := tc.check(c); msg != "" {
					t.Errorf("seed %d (%s): %s", seed, c.Detail, msg)
				}
			}
		})
	}
	if _, err := Plant(rand.New(rand.NewPCG(1, 1)), "sepia", src); err == nil {
		t.Error("an unknown transform was accepted")
	}
}
