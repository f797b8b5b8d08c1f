package brain

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
	"io"

	_ "golang.org/x/image/bmp" // BMP decoder
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff" // TIFF decoder
	_ "golang.org/x/image/webp" // WebP decoder
)

// Default limits applied to every image before it is decoded.
const (
	// DefaultMaxPixels is the largest width x height accepted (64 megapixels,
	// 256 MiB as RGBA). Larger declared sizes are refused before decoding.
	DefaultMaxPixels = 64 << 20
	// DefaultMaxBytes is the largest encoded file accepted.
	DefaultMaxBytes = 256 << 20
)

// Sentinel errors of image loading; a Skipped item's Err wraps one of them.
var (
	// ErrImageTooLarge: the image declares more pixels than the limit (a
	// decompression bomb or simply too big), or its file exceeds the byte
	// limit.
	ErrImageTooLarge = errors.New("brain: image too large")
	// ErrDecode: the bytes are not an image in a supported format (JPEG, PNG,
	// GIF, BMP, WebP, TIFF), or are corrupt or truncated.
	ErrDecode = errors.New("brain: cannot decode image")
)

// resizeKernel is the interpolator that brings images to the model input
// size. BiLinear is a true kernel: when downscaling it averages every source
// pixel under its tent, so it does not alias, but its cost grows with the
// source size. Large images are therefore first box-filtered by an integer
// factor to at most 4x the target (boxShrink), which keeps the whole resize
// well under the cost of decoding; see BENCHMARKS.md.
var resizeKernel draw.Interpolator = draw.BiLinear

// limits bounds the images a job accepts.
type limits struct {
	maxPixels int64
	maxBytes  int64
}

func (l limits) orDefault() limits {
	if l.maxPixels <= 0 {
		l.maxPixels = DefaultMaxPixels
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultMaxBytes
	}
	return l
}

// readLimited reads all of r, refusing more than max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("brain: read image: %w", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrImageTooLarge, max)
	}
	return data, nil
}

// decodeImage checks the declared size of an encoded image against the pixel
// limit, decodes it, and returns it with its EXIF orientation (1 unless a
// JPEG says otherwise).
func decodeImage(data []byte, maxPixels int64) (image.Image, int, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, 0, fmt.Errorf("%w: empty %s image (%dx%d)", ErrDecode, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, 0, fmt.Errorf("%w: %s declares %dx%d pixels, limit %d", ErrImageTooLarge, format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrDecode, format, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, 0, fmt.Errorf("%w: empty %s image", ErrDecode, format)
	}
	orient := 1
	if format == "jpeg" {
		orient = jpegOrientation(data)
	}
	return img, orient, nil
}

// preprocessor turns decoded images into model input tensors.
type preprocessor struct {
	width, height int
	layout        Layout
	bgr           bool
	// lut[c][v] is the normalised value of 8-bit level v in RGB channel c.
	lut [3][256]float32
}

func newPreprocessor(s *ModelSpec) *preprocessor {
	p := &preprocessor{width: s.Width, height: s.Height, layout: s.Layout, bgr: s.Channels == BGR}
	scale := s.Scale
	if scale == 0 {
		scale = 1.0 / 255
	}
	for c := 0; c < 3; c++ {
		std := s.Std[c]
		if std == 0 {
			std = 1
		}
		for v := 0; v < 256; v++ {
			p.lut[c][v] = (float32(v)*scale - s.Mean[c]) / std
		}
	}
	return p
}

// size is the number of float32 values of one image's tensor.
func (p *preprocessor) size() int { return 3 * p.width * p.height }

// scratch holds one worker's reusable resize buffer and the kernel scaler
// of the last source size it saw (datasets often share one size).
type scratch struct {
	rgba     *image.RGBA // the resized image
	src      *image.RGBA // a small source converted to RGBA
	scaler   draw.Scaler // BiLinear scaler for sources of sw x sh
	sw, sh   int
	tx, ty   []tap // enlarging taps for sources of tsw x tsh
	tsw, tsh int
}

// resize scales src (whole) into dst (whole), premultiplied.
func (sc *scratch) resize(dst *image.RGBA, src image.Image) {
	sb, db := src.Bounds(), dst.Rect
	if sb.Dx() <= db.Dx() && sb.Dy() <= db.Dy() {
		// Enlarging (or the same size): plain bilinear interpolation.
		rgba, ok := src.(*image.RGBA)
		if !ok {
			if sc.src == nil || sc.src.Rect.Dx() != sb.Dx() || sc.src.Rect.Dy() != sb.Dy() {
				sc.src = image.NewRGBA(image.Rect(0, 0, sb.Dx(), sb.Dy()))
			}
			draw.Draw(sc.src, sc.src.Rect, src, sb.Min, draw.Src)
			rgba = sc.src
		}
		sc.enlarge(dst, rgba)
		return
	}
	if f := shrinkFactor(sb.Dx(), sb.Dy(), db.Dx(), db.Dy()); f >= 2 {
		src = boxShrink(src, f)
		sb = src.Bounds()
	}
	if resizeKernel != draw.BiLinear {
		resizeKernel.Scale(dst, db, src, sb, draw.Src, nil)
		return
	}
	if sc.scaler == nil || sc.sw != sb.Dx() || sc.sh != sb.Dy() {
		sc.scaler = draw.BiLinear.NewScaler(db.Dx(), db.Dy(), sb.Dx(), sb.Dy())
		sc.sw, sc.sh = sb.Dx(), sb.Dy()
	}
	sc.scaler.Scale(dst, db, src, sb, draw.Src, nil)
}

// tap is one output coordinate's two source neighbours and the weight
// (out of 256) of the second.
type tap struct{ i0, i1, w int }

// bilinearTaps maps n output pixels onto m >= 1 source pixels, pixel centres
// aligned.
func bilinearTaps(n, m int) []tap {
	taps := make([]tap, n)
	for i := range taps {
		s := (float64(i)+0.5)*float64(m)/float64(n) - 0.5
		s = min(max(s, 0), float64(m-1))
		i0 := int(s)
		i1 := min(i0+1, m-1)
		taps[i] = tap{i0, i1, int((s-float64(i0))*256 + 0.5)}
	}
	return taps
}

// enlarge writes the bilinear interpolation of src into dst (no smaller
// than src), in 8.8 fixed point.
func (sc *scratch) enlarge(dst, src *image.RGBA) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if len(sc.tx) != dw || sc.tsw != sw {
		sc.tx, sc.tsw = bilinearTaps(dw, sw), sw
	}
	if len(sc.ty) != dh || sc.tsh != sh {
		sc.ty, sc.tsh = bilinearTaps(dh, sh), sh
	}
	for y, ty := range sc.ty {
		r0 := src.Pix[ty.i0*src.Stride:]
		r1 := src.Pix[ty.i1*src.Stride:]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
		wy1 := ty.w
		wy0 := 256 - wy1
		for x, tx := range sc.tx {
			a, b := 4*tx.i0, 4*tx.i1
			wx1 := tx.w
			wx0 := 256 - wx1
			for c := 0; c < 4; c++ {
				top := int(r0[a+c])*wx0 + int(r0[b+c])*wx1
				bot := int(r1[a+c])*wx0 + int(r1[b+c])*wx1
				out[4*x+c] = uint8((top*wy0 + bot*wy1 + 1<<15) >> 16)
			}
		}
	}
}

// fill resizes img (after EXIF orientation orient) to the model input and
// writes the normalised tensor into dst (len p.size()). Transparent pixels
// are composited over white; gray and paletted images become RGB. Images
// smaller than the input are enlarged bilinearly; larger ones are
// box-filtered (boxShrink) and then resampled with resizeKernel.
func (p *preprocessor) fill(dst []float32, img image.Image, orient int, sc *scratch) {
	w, h := p.width, p.height
	rw, rh := w, h
	if swapsAxes(orient) {
		rw, rh = h, w
	}
	if sc.rgba == nil || sc.rgba.Rect.Dx() != rw || sc.rgba.Rect.Dy() != rh {
		sc.rgba = image.NewRGBA(image.Rect(0, 0, rw, rh))
		sc.scaler = nil
	}
	small := sc.rgba
	// small holds premultiplied RGBA; transparency is composited over white
	// below, while filling the tensor.
	sc.resize(small, img)

	plane := w * h
	ci := [3]int{0, 1, 2} // tensor channel of R, G, B
	if p.bgr {
		ci = [3]int{2, 1, 0}
	}
	lr, lg, lb := &p.lut[0], &p.lut[1], &p.lut[2]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := x, y
			if orient != 1 {
				sx, sy = orientedSource(orient, x, y, w, h)
			}
			o := sy*small.Stride + 4*sx
			pr, pg, pb := small.Pix[o], small.Pix[o+1], small.Pix[o+2]
			if a := small.Pix[o+3]; a != 0xff {
				// Over white: premultiplied colour plus (1 - alpha).
				t := 0xff - int(a)
				pr, pg, pb = uint8(min(0xff, int(pr)+t)), uint8(min(0xff, int(pg)+t)), uint8(min(0xff, int(pb)+t))
			}
			r, g, b := lr[pr], lg[pg], lb[pb]
			if p.layout == NHWC {
				base := 3 * (y*w + x)
				dst[base+ci[0]], dst[base+ci[1]], dst[base+ci[2]] = r, g, b
			} else {
				at := y*w + x
				dst[ci[0]*plane+at], dst[ci[1]*plane+at], dst[ci[2]*plane+at] = r, g, b
			}
		}
	}
}

// loadTensor reads, decodes and preprocesses one image into dst.
func (p *preprocessor) loadTensor(r io.Reader, lim limits, dst []float32, sc *scratch) error {
	data, err := readLimited(r, lim.maxBytes)
	if err != nil {
		return err
	}
	img, orient, err := decodeImage(data, lim.maxPixels)
	if err != nil {
		return err
	}
	p.fill(dst, img, orient, sc)
	return nil
}
