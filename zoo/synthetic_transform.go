package zoo

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/draw"
)

// This file makes the planted copies of a synthetic set from their
// originals' decoded pixels. The size rule of each kind is documented on
// its Kind constant.

// toRGBA copies img into a new RGBA image whose bounds start at (0, 0).
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// transform applies the copy kind to src (which it may modify) and returns
// the result, the JPEG quality to encode it with if it is stored as JPEG,
// and a short description of the parameters drawn from r.
func transform(r *rand.Rand, kind string, src *image.RGBA) (img *image.RGBA, quality int, detail string) {
	switch kind {
	case KindCrop:
		img, detail = cropCopy(r, src)
	case KindJPEG:
		q := 20 + r.IntN(21)
		return src, q, fmt.Sprintf("quality=%d", q)
	case KindBrightness:
		img, detail = brightnessCopy(r, src)
	case KindResize:
		img, detail = resizeCopy(r, src)
	case KindRotate:
		img, detail = rotateCopy(r, src)
	case KindMirror:
		img, detail = mirrorCopy(src), "horizontal"
	default:
		panic("zoo: unknown copy kind " + kind)
	}
	return img, originalJPEGQuality, detail
}

// cropCopy keeps 85–92% of each side at a random offset, at the cropped size.
func cropCopy(r *rand.Rand, src *image.RGBA) (*image.RGBA, string) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	cw := max(1, int(math.Round(float64(w)*lerp(0.85, 0.92, r.Float64()))))
	ch := max(1, int(math.Round(float64(h)*lerp(0.85, 0.92, r.Float64()))))
	ox, oy := r.IntN(w-cw+1), r.IntN(h-ch+1)
	return toRGBA(src.SubImage(image.Rect(ox, oy, ox+cw, oy+ch))), fmt.Sprintf("crop=%dx%d+%d+%d", cw, ch, ox, oy)
}

// brightnessCopy shifts brightness by ±15–25% of full scale and scales
// contrast by 0.8–1.2 around mid-grey: v' = (v-0.5)*contrast + 0.5 + shift.
func brightnessCopy(r *rand.Rand, img *image.RGBA) (*image.RGBA, string) {
	shift := lerp(0.15, 0.25, r.Float64())
	if r.IntN(2) == 0 {
		shift = -shift
	}
	contrast := lerp(0.8, 1.2, r.Float64())
	var lut [256]uint8
	for v := range lut {
		lut[v] = to8((float64(v)/255-0.5)*contrast + 0.5 + shift)
	}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i] = lut[img.Pix[i]]
		img.Pix[i+1] = lut[img.Pix[i+1]]
		img.Pix[i+2] = lut[img.Pix[i+2]]
	}
	return img, fmt.Sprintf("brightness=%+.3f contrast=%.3f", shift, contrast)
}

// resizeCopy scales by 0.5–0.75, or by 1.5 one time in four, with
// Catmull-Rom resampling.
func resizeCopy(r *rand.Rand, src *image.RGBA) (*image.RGBA, string) {
	scale := 1.5
	if r.IntN(4) != 0 {
		scale = lerp(0.5, 0.75, r.Float64())
	}
	w := max(1, int(math.Round(float64(src.Rect.Dx())*scale)))
	h := max(1, int(math.Round(float64(src.Rect.Dy())*scale)))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Rect, src, src.Rect, draw.Src, nil)
	return dst, fmt.Sprintf("scale=%.3f", scale)
}

// rotateCopy turns the picture by 3–7 degrees either way about its centre,
// keeping its size. Samples are bilinear; points that fall outside the
// original take the colour of the nearest edge pixel.
func rotateCopy(r *rand.Rand, src *image.RGBA) (*image.RGBA, string) {
	deg := lerp(3, 7, r.Float64())
	if r.IntN(2) == 0 {
		deg = -deg
	}
	return rotate(src, deg, nil), fmt.Sprintf("angle=%.3f", deg)
}

// rotate turns src by deg degrees about its centre, keeping its size, with
// bilinear samples. Points that fall outside src take fill, or the colour
// of the nearest edge pixel when fill is nil.
func rotate(src *image.RGBA, deg float64, fill *[4]uint8) *image.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(src.Rect)
	rad := deg * math.Pi / 180
	cos, sin := math.Cos(rad), math.Sin(rad)
	cx, cy := float64(w)/2, float64(h)/2
	for y := range h {
		dy := float64(y) + 0.5 - cy
		for x := range w {
			dx := float64(x) + 0.5 - cx
			// Inverse rotation: where in the source this pixel comes from,
			// in pixel-index coordinates (centres at integers).
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			out := dst.Pix[dst.PixOffset(x, y):]
			if fill != nil && (sx < -0.5 || sy < -0.5 || sx > float64(w)-0.5 || sy > float64(h)-0.5) {
				copy(out[:4], fill[:])
				continue
			}
			sampleBilinear(src, sx, sy, out)
		}
	}
	return dst
}

// sampleBilinear writes the bilinear sample of src at (x, y), clamped to
// the image, into out[0:4].
func sampleBilinear(src *image.RGBA, x, y float64, out []uint8) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	x = min(max(x, 0), float64(w-1))
	y = min(max(y, 0), float64(h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	tx, ty := x-float64(x0), y-float64(y0)
	p00 := src.Pix[src.PixOffset(x0, y0):]
	p10 := src.Pix[src.PixOffset(x1, y0):]
	p01 := src.Pix[src.PixOffset(x0, y1):]
	p11 := src.Pix[src.PixOffset(x1, y1):]
	for c := range 4 {
		top := lerp(float64(p00[c]), float64(p10[c]), tx)
		bottom := lerp(float64(p01[c]), float64(p11[c]), tx)
		out[c] = uint8(min(255, max(0, lerp(top, bottom, ty)+0.5)))
	}
}

// mirrorCopy flips the picture left to right.
func mirrorCopy(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(src.Rect)
	for y := range h {
		for x := range w {
			copy(dst.Pix[dst.PixOffset(w-1-x, y):][:4], src.Pix[src.PixOffset(x, y):][:4])
		}
	}
	return dst
}
