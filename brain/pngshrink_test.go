package brain

import (
	"bytes"
	"errors"
	"image/png"
	"math/rand/v2"
	"testing"
)

// TestDecodeShrunkMatchesImagePNG: every PNG kind, interlaced or not,
// decodes through decodeShrunk to image/png's pixels (composited over
// white) at factor 1, and to their block averages at factor 3.
func TestDecodeShrunkMatchesImagePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var d pngDecoder
	for name, r := range rawCases(rng) {
		for _, interlace := range []bool{false, true} {
			r.interlace = interlace
			data := r.build(t)
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: image/png: %v", name, err)
			}
			want := pngRefRGB(t, img)
			w, h := img.Bounds().Dx(), img.Bounds().Dy()
			for _, f := range []int{1, 3} {
				ow, oh, got, err := d.decodeShrunk(data, DefaultMaxPixels, f)
				if err != nil {
					t.Fatalf("%s interlaced %v f %d: %v", name, interlace, f, err)
				}
				if ow != (w+f-1)/f || oh != (h+f-1)/f {
					t.Fatalf("%s f %d: size %dx%d", name, f, ow, oh)
				}
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						for c := 0; c < 3; c++ {
							var sum, n int
							for y := oy * f; y < min(h, (oy+1)*f); y++ {
								for x := ox * f; x < min(w, (ox+1)*f); x++ {
									sum += int(want[3*(y*w+x)+c])
									n++
								}
							}
							if v := int(got[3*(oy*ow+ox)+c]); v != (sum+n/2)/n {
								t.Fatalf("%s interlaced %v f %d: (%d, %d) channel %d = %d, want %d", name, interlace, f, ox, oy, c, v, (sum+n/2)/n)
							}
						}
					}
				}
			}
		}
	}
}

// TestDecodeShrunkDamaged: truncated or corrupted interlaced PNGs are
// errors wrapping ErrDecode, never a panic.
func TestDecodeShrunkDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	r := rawCases(rng)["rgba16/17x6"]
	r.interlace = true
	data := r.build(t)
	var d pngDecoder
	for n := 0; n < len(data); n += 3 {
		if _, _, _, err := d.decodeShrunk(data[:n], DefaultMaxPixels, 2); !errors.Is(err, ErrDecode) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	for i := 0; i < 500; i++ {
		bad := bytes.Clone(data)
		bad[8+rng.IntN(len(bad)-8)] ^= byte(1 + rng.IntN(255))
		bad = fixCRCs(bad)
		if _, _, _, err := d.decodeShrunk(bad, 4096, 2); err != nil && !errors.Is(err, ErrDecode) && !errors.Is(err, ErrImageTooLarge) {
			t.Fatalf("corrupted: %v", err)
		}
	}
}
