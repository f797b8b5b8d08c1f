package zoo

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Kinds of planted copy that only Plant makes (the others are shared with
// the synthetic sets, with Plant's own parameters: see Plant).
const (
	// KindContrast scales contrast by 1 ± 0.3 around the picture's mean
	// grey level, same size.
	KindContrast = "contrast"
	// KindGreyscale keeps only luma (Rec. 601 weights), stored as RGB.
	KindGreyscale = "greyscale"
	// KindBorder adds a plain border of 10% of the picture's size: bars on
	// all four sides, or top and bottom only (a letterbox).
	KindBorder = "border"
	// KindOverlay draws a caption box with text over 5–10% of the picture's
	// area, at a random place.
	KindOverlay = "overlay"
)

// plantKinds is the fixed order in which a benchmark deals transforms out:
// original i gets plantKinds[i%len(plantKinds)].
var plantKinds = [...]string{KindCrop, KindJPEG, KindBrightness, KindContrast, KindResize, KindRotate,
	KindMirror, KindExact, KindGreyscale, KindBorder, KindOverlay}

// PlantKinds returns the transforms Plant knows, in the order in which a
// benchmark deals them out.
func PlantKinds() []string { return slices.Clone(plantKinds[:]) }

// PlantJPEGQuality is the quality of a KindJPEG copy made by Plant.
const PlantJPEGQuality = 20

// PlantedCopy is one copy made by Plant.
type PlantedCopy struct {
	// Image is the copy's pixels, opaque; nil for KindExact, whose copy is
	// the original file's bytes.
	Image *image.RGBA
	// JPEGQuality, when above 0, is the quality the copy must be stored
	// with as JPEG; 0 means the original's own format.
	JPEGQuality int
	// Detail states the parameters drawn, for the ground truth.
	Detail string
}

// Plant makes a copy of src of the given kind, drawing its parameters from
// r. These are the transforms of the real-image quality benchmark:
//
//   - crop: 80–90% of the area, aspect kept, at a random offset, not
//     scaled back up;
//   - jpeg: re-encoded at quality PlantJPEGQuality;
//   - brightness: every channel scaled by 1 ± 0.25;
//   - contrast, greyscale, border, overlay: see their Kind constants;
//   - resize: half the width and height (Catmull-Rom);
//   - rotate: 5–8 degrees either way about the centre, same size, the
//     corners filled with white or black;
//   - mirror: a horizontal flip;
//   - exact: the original file's bytes (Image is nil).
//
// src is first composited as the brain sees transparent pixels (Opaque),
// so every copy is opaque.
func Plant(r *rand.Rand, kind string, src image.Image) (PlantedCopy, error) {
	img := Opaque(src)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 2 || h < 2 {
		return PlantedCopy{}, fmt.Errorf("zoo: plant %s: a %dx%d picture is too small to transform", kind, w, h)
	}
	switch kind {
	case KindCrop:
		area := lerp(0.80, 0.90, r.Float64())
		side := math.Sqrt(area)
		cw := max(1, int(math.Round(float64(w)*side)))
		ch := max(1, int(math.Round(float64(h)*side)))
		ox, oy := r.IntN(w-cw+1), r.IntN(h-ch+1)
		return PlantedCopy{Image: toRGBA(img.SubImage(image.Rect(ox, oy, ox+cw, oy+ch))),
			Detail: fmt.Sprintf("area=%.3f crop=%dx%d+%d+%d", area, cw, ch, ox, oy)}, nil
	case KindJPEG:
		return PlantedCopy{Image: img, JPEGQuality: PlantJPEGQuality, Detail: fmt.Sprintf("quality=%d", PlantJPEGQuality)}, nil
	case KindBrightness:
		gain := 1 + signed(r, 0.25, 0.25)
		var lut [256]uint8
		for v := range lut {
			lut[v] = to8(float64(v) / 255 * gain)
		}
		applyLUT(img, &lut)
		return PlantedCopy{Image: img, Detail: fmt.Sprintf("gain=%.3f", gain)}, nil
	case KindContrast:
		factor := 1 + signed(r, 0.3, 0.3)
		mean := meanGrey(img)
		var lut [256]uint8
		for v := range lut {
			lut[v] = to8((float64(v)/255-mean)*factor + mean)
		}
		applyLUT(img, &lut)
		return PlantedCopy{Image: img, Detail: fmt.Sprintf("contrast=%.3f mean=%.3f", factor, mean)}, nil
	case KindResize:
		dst := image.NewRGBA(image.Rect(0, 0, max(1, (w+1)/2), max(1, (h+1)/2)))
		draw.CatmullRom.Scale(dst, dst.Rect, img, img.Rect, draw.Src, nil)
		return PlantedCopy{Image: dst, Detail: fmt.Sprintf("size=%dx%d", dst.Rect.Dx(), dst.Rect.Dy())}, nil
	case KindRotate:
		deg := signed(r, 5, 8)
		fill, name := [4]uint8{255, 255, 255, 255}, "white"
		if r.IntN(2) == 0 {
			fill, name = [4]uint8{0, 0, 0, 255}, "black"
		}
		return PlantedCopy{Image: rotate(img, deg, &fill), Detail: fmt.Sprintf("angle=%.3f fill=%s", deg, name)}, nil
	case KindMirror:
		return PlantedCopy{Image: mirrorCopy(img), Detail: "horizontal"}, nil
	case KindExact:
		return PlantedCopy{Detail: "bytes"}, nil
	case KindGreyscale:
		for i := 0; i < len(img.Pix); i += 4 {
			y := uint8((299*int(img.Pix[i]) + 587*int(img.Pix[i+1]) + 114*int(img.Pix[i+2]) + 500) / 1000)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = y, y, y
		}
		return PlantedCopy{Image: img, Detail: "luma"}, nil
	case KindBorder:
		return borderCopy(r, img), nil
	case KindOverlay:
		return overlayCopy(r, img), nil
	}
	return PlantedCopy{}, fmt.Errorf("zoo: plant: unknown transform %q (known: %v)", kind, plantKinds)
}

// signed draws a magnitude in [lo, hi] with a random sign.
func signed(r *rand.Rand, lo, hi float64) float64 {
	v := lerp(lo, hi, r.Float64())
	if r.IntN(2) == 0 {
		return -v
	}
	return v
}

// Opaque returns a copy of img composited over white, with bounds starting
// at (0, 0), or over black when white leaves it blank (white ink on
// transparency), as the brain composites pictures.
func Opaque(img image.Image) *image.RGBA {
	white := over(img, image.White)
	if blank(white) {
		if black := over(img, image.Black); !blank(black) {
			return black
		}
	}
	return white
}

// over returns img composited over bg, with bounds starting at (0, 0).
func over(img image.Image, bg image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, bg, image.Point{}, draw.Src)
	draw.Draw(out, out.Rect, img, b.Min, draw.Over)
	return out
}

// blank reports whether every pixel of img has one colour, to within 2
// levels per channel.
func blank(img *image.RGBA) bool {
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			if d := int(img.Pix[i+c]) - int(img.Pix[c]); d > 2 || d < -2 {
				return false
			}
		}
	}
	return true
}

// applyLUT maps the colour channels of img through lut; alpha is kept.
func applyLUT(img *image.RGBA, lut *[256]uint8) {
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i] = lut[img.Pix[i]]
		img.Pix[i+1] = lut[img.Pix[i+1]]
		img.Pix[i+2] = lut[img.Pix[i+2]]
	}
}

// meanGrey is the mean luma of img in [0, 1].
func meanGrey(img *image.RGBA) float64 {
	var sum float64
	for i := 0; i < len(img.Pix); i += 4 {
		sum += 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
	}
	return sum / 255 / float64(len(img.Pix)/4)
}

// borderCopy adds bars of white or black that make the picture 10% larger:
// on all four sides (5% of each dimension per side), or top and bottom
// only (5% of the height each).
func borderCopy(r *rand.Rand, img *image.RGBA) PlantedCopy {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	bg, colour := color.RGBA{255, 255, 255, 255}, "white"
	if r.IntN(2) == 0 {
		bg, colour = color.RGBA{0, 0, 0, 255}, "black"
	}
	bx, by, style := max(1, int(math.Round(0.05*float64(w)))), max(1, int(math.Round(0.05*float64(h)))), "border"
	if r.IntN(2) == 0 {
		bx, style = 0, "letterbox"
	}
	dst := image.NewRGBA(image.Rect(0, 0, w+2*bx, h+2*by))
	draw.Draw(dst, dst.Rect, image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(dst, image.Rect(bx, by, bx+w, by+h), img, image.Point{}, draw.Src)
	return PlantedCopy{Image: dst, Detail: fmt.Sprintf("%s=%dx%d %s", style, bx, by, colour)}
}

// overlayCaption is the text an overlay copy carries.
const overlayCaption = "(c) fosql"

// overlayCopy draws a caption box covering 5–10% of the picture's area, of
// the caption's aspect ratio where the picture allows, at a random place:
// a plain box (white or black) with the caption in the other colour,
// scaled from a bitmap font.
func overlayCopy(r *rand.Rand, img *image.RGBA) PlantedCopy {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	face := basicfont.Face7x13
	adv := font.MeasureString(face, overlayCaption).Ceil()
	tw, th := adv+4, face.Height+4 // the caption with a 2-pixel margin
	text := image.NewAlpha(image.Rect(0, 0, tw, th))
	d := font.Drawer{Dst: text, Src: image.Opaque, Face: face, Dot: fixed.P(2, 2+face.Ascent)}
	d.DrawString(overlayCaption)

	area := lerp(0.05, 0.10, r.Float64()) * float64(w*h)
	bw := min(w, max(1, int(math.Sqrt(area*float64(tw)/float64(th)))))
	bh := min(h, max(1, int(area/float64(bw))))
	ox, oy := r.IntN(w-bw+1), r.IntN(h-bh+1)
	box, ink, colour := image.White, image.Black, "black on white"
	if r.IntN(2) == 0 {
		box, ink, colour = image.Black, image.White, "white on black"
	}
	rect := image.Rect(ox, oy, ox+bw, oy+bh)
	draw.Draw(img, rect, box, image.Point{}, draw.Src)
	mask := image.NewAlpha(image.Rect(0, 0, bw, bh))
	draw.ApproxBiLinear.Scale(mask, mask.Rect, text, text.Rect, draw.Src, nil)
	draw.DrawMask(img, rect, ink, image.Point{}, mask, image.Point{}, draw.Over)
	return PlantedCopy{Image: img, Detail: fmt.Sprintf("box=%dx%d+%d+%d %s", bw, bh, ox, oy, colour)}
}
