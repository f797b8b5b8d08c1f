package zoo

import (
	"image"
	"image/color"
	"testing"
)

// TestOpaqueShowsWhiteInk: Opaque composites over white, except a picture
// that white would leave blank (white ink on transparency), which it
// composites over black, as the brain does; an opaque plain picture keeps
// its colour.
func TestOpaqueShowsWhiteInk(t *testing.T) {
	ink := func(c color.NRGBA) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
		for y := range 8 {
			for x := range 8 {
				p := c
				if x >= 4 {
					p.A = 0
				}
				img.SetNRGBA(x, y, p)
			}
		}
		return img
	}
	white := Opaque(ink(color.NRGBA{255, 255, 255, 255}))
	if got := white.RGBAAt(1, 1); got.R != 255 {
		t.Errorf("white ink: %v, want white", got)
	}
	if got := white.RGBAAt(6, 1); got.R != 0 {
		t.Errorf("white ink's transparency: %v, want black", got)
	}
	dark := Opaque(ink(color.NRGBA{10, 20, 30, 255}))
	if got := dark.RGBAAt(6, 1); got.R != 255 {
		t.Errorf("dark ink's transparency: %v, want white", got)
	}
	grey := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range grey.Pix {
		grey.Pix[i] = 128
		if i%4 == 3 {
			grey.Pix[i] = 255
		}
	}
	if got := Opaque(grey).RGBAAt(2, 2); got.R != 128 {
		t.Errorf("plain grey: %v, want its grey", got)
	}
}
