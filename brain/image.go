package brain

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
	"io"
	"io/fs"

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

// limits bounds the images a job accepts and the memory it decodes them in.
type limits struct {
	maxPixels int64
	maxBytes  int64
	maxDecode int64       // MaxDecodeBytes when 0
	budget    *byteBudget // decodeBudget when nil
}

func (l limits) orDefault() limits {
	if l.maxPixels <= 0 {
		l.maxPixels = DefaultMaxPixels
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultMaxBytes
	}
	if l.maxDecode <= 0 {
		l.maxDecode = MaxDecodeBytes
	}
	if l.budget == nil {
		l.budget = decodeBudget
	}
	return l
}

// readLimited reads all of r into buf's storage (grown as needed and kept
// for the next call), refusing more than max bytes.
func readLimited(r io.Reader, max int64, buf *[]byte) ([]byte, error) {
	data := (*buf)[:0]
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < max && int64(cap(data)) < fi.Size()+1 {
			data = make([]byte, 0, fi.Size()+1)
		}
	}
	lr := io.LimitedReader{R: r, N: max + 1}
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := lr.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("brain: read image: %w", err)
		}
	}
	*buf = data
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrImageTooLarge, max)
	}
	return data, nil
}

// decodeImage checks the declared size of an encoded image against the pixel
// limit, decodes it, and returns it with its EXIF orientation (1 unless a
// JPEG says otherwise).
func decodeImage(data []byte, maxPixels int64) (image.Image, int, error) {
	format, _, err := checkHeader(data, limits{maxPixels: maxPixels}.orDefault())
	if err != nil {
		return nil, 0, err
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

// checkHeader reads an encoded image's declared size and format and
// refuses it, before anything is decoded, when it declares more pixels than
// lim.maxPixels or needs more than lim.maxDecode bytes to decode. It
// returns the format and the estimated decode memory (decodeBytes).
func checkHeader(data []byte, lim limits) (string, int64, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, fmt.Errorf("%w: empty %s image (%dx%d)", ErrDecode, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.maxPixels {
		return "", 0, fmt.Errorf("%w: %s declares %dx%d pixels, limit %d", ErrImageTooLarge, format, cfg.Width, cfg.Height, lim.maxPixels)
	}
	cost := decodeBytes(format, cfg, data)
	if err := checkDecodeBytes(format, cfg, cost, lim.maxDecode); err != nil {
		return "", 0, err
	}
	return format, cost, nil
}

// preprocessor turns decoded images into model input tensors.
type preprocessor struct {
	width, height int
	layout        Layout
	bgr           bool
	// gray: one channel, the luma of each pixel (see GRAY).
	gray bool
	// lut[c][v] is the normalised value of 8-bit level v in RGB channel c;
	// a gray preprocessor uses lut[0] for luma levels.
	lut [3][256]float32
	// wedges: rotation wedges are painted over (see fillWedges).
	wedges bool
}

func newPreprocessor(s *ModelSpec) *preprocessor {
	p := &preprocessor{width: s.Width, height: s.Height, layout: s.Layout, bgr: s.Channels == BGR, gray: s.Channels == GRAY, wedges: s.FillRotationCorners}
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

// channels is the number of channels of one image's tensor.
func (p *preprocessor) channels() int {
	if p.gray {
		return 1
	}
	return 3
}

// size is the number of float32 values of one image's tensor.
func (p *preprocessor) size() int { return p.channels() * p.width * p.height }

// luma is the 8-bit ITU-R BT.601 luma of an RGB pixel in 16-bit fixed
// point, rounded (see GRAY): a grey pixel keeps its level.
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// lumaInPlace turns n packed RGB pixels into n luma bytes, overwriting the
// front of rgb, and returns them.
func lumaInPlace(rgb []uint8, n int) []uint8 {
	out := rgb[:n]
	for i := range out {
		px := rgb[3*i : 3*i+3 : 3*i+3]
		out[i] = luma(px[0], px[1], px[2])
	}
	return out
}

// scratch holds one worker's reusable buffers: the resize target, the
// kernel scaler of the last source size it saw (datasets often share one
// size), and the float buffers of the small-image path.
type scratch struct {
	rgba   *image.RGBA // the resized image (large sources)
	src    *image.RGBA // a small source converted to RGBA
	scaler draw.Scaler // BiLinear scaler for sources of sw x sh
	sw, sh int
	rgb    []uint8   // a small source as packed RGB, composited
	rows   []float32 // horizontally interpolated rows, per channel
	planes []float32 // the resized planes, when an orientation remaps them
	tx     taps      // interpolation taps across, for sources tsw wide
	ty     taps      // interpolation taps down, for sources tsh high
	tsw    int
	tsh    int
	data   []byte     // the last file read
	png    pngDecoder // the fast path for small PNGs
	alt    []float32  // the tensor over black, while it is tried
	// overBlack composites transparent pixels over black, not white.
	overBlack bool
	// enlarged is how many times the last small source was enlarged to
	// the input (1 for a source scaled down): how wide its blended edges
	// are.
	enlarged float64
	// width and height are the last picture's size, as oriented.
	width, height int
}

// setOverBlack makes the next decodes composite transparent pixels over
// black (true) or white (false).
func (sc *scratch) setOverBlack(black bool) {
	sc.overBlack, sc.png.overBlack = black, black
}

// resize scales src (whole) into dst (whole), premultiplied. src is larger
// than dst in at least one direction.
func (sc *scratch) resize(dst *image.RGBA, src image.Image) {
	sb, db := src.Bounds(), dst.Rect
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

// taps map output pixels onto their two source neighbours: for output i,
// source pixels i0[i] and i1[i], the second weighted w[i]. Parallel
// slices keep the inner loops tight.
type taps struct {
	i0, i1 []int32
	w      []float32
}

// bilinearTaps maps n output pixels onto m >= 1 source pixels, pixel centres
// aligned.
func bilinearTaps(n, m int) taps {
	t := taps{make([]int32, n), make([]int32, n), make([]float32, n)}
	for i := range n {
		s := (float64(i)+0.5)*float64(m)/float64(n) - 0.5
		s = min(max(s, 0), float64(m-1))
		i0 := int(s)
		t.i0[i], t.i1[i], t.w[i] = int32(i0), int32(min(i0+1, m-1)), float32(s-float64(i0))
	}
	return t
}

// flatten returns img (whole) as packed 8-bit RGB in sc.rgb, transparent
// pixels composited over white (or black, see setOverBlack).
func (sc *scratch) flatten(img image.Image) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgba, ok := img.(*image.RGBA)
	if !ok {
		if sc.src == nil || sc.src.Rect.Dx() != w || sc.src.Rect.Dy() != h {
			sc.src = image.NewRGBA(image.Rect(0, 0, w, h))
		}
		draw.Draw(sc.src, sc.src.Rect, img, b.Min, draw.Src)
		rgba = sc.src
	}
	out := grow(&sc.rgb, 3*w*h)
	i := 0
	for y := 0; y < h; y++ {
		row := rgba.Pix[rgba.PixOffset(rgba.Rect.Min.X, rgba.Rect.Min.Y+y):]
		for x := 0; x < w; x++ {
			px := row[4*x : 4*x+4 : 4*x+4]
			out[i], out[i+1], out[i+2] = over(px[0], px[1], px[2], px[3], sc.overBlack)
			i += 3
		}
	}
	return out
}

// grow returns (*buf)[:n], reallocating when the capacity is short.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// fillSmall writes the tensor of a source no larger than the (oriented)
// model input: rgb holds sw x sh packed RGB pixels, composited. Levels are
// normalised first (the normalisation is affine, so it commutes with
// interpolation), then the source is enlarged bilinearly in float32, rows
// first, then columns.
func (p *preprocessor) fillSmall(dst []float32, rgb []uint8, sw, sh, orient int, sc *scratch) {
	sc.enlarged = max(float64(p.width)/float64(sw), float64(p.height)/float64(sh))
	sc.width, sc.height = sw, sh
	if swapsAxes(orient) {
		sc.enlarged = max(float64(p.width)/float64(sh), float64(p.height)/float64(sw))
		sc.width, sc.height = sh, sw
	}
	if p.gray {
		p.fillSmallGray(dst, lumaInPlace(rgb, sw*sh), sw, sh, orient, sc)
		return
	}
	w, h := p.width, p.height
	rw, rh := p.smallTaps(sw, sh, orient, sc)
	// rows: [channel][source row][output column], each output column
	// interpolated between two source pixels whose levels are normalised
	// through the lookup tables on the way.
	rows := grow(&sc.rows, 3*sh*rw)
	l0, l1, l2 := &p.lut[0], &p.lut[1], &p.lut[2]
	i0, i1, tw := sc.tx.i0[:rw], sc.tx.i1[:rw], sc.tx.w[:rw]
	for y := 0; y < sh; y++ {
		in := rgb[3*y*sw : 3*(y+1)*sw]
		o0 := rows[y*rw : (y+1)*rw]
		o1 := rows[(sh+y)*rw : (sh+y+1)*rw]
		o2 := rows[(2*sh+y)*rw : (2*sh+y+1)*rw]
		o1, o2 = o1[:len(o0)], o2[:len(o0)]
		for x := range o0 {
			a, b, w := 3*int(i0[x]), 3*int(i1[x]), tw[x]
			pa, pb := in[a:a+3:a+3], in[b:b+3:b+3]
			v := l0[pa[0]]
			o0[x] = v + (l0[pb[0]]-v)*w
			v = l1[pa[1]]
			o1[x] = v + (l1[pb[1]]-v)*w
			v = l2[pa[2]]
			o2[x] = v + (l2[pb[2]]-v)*w
		}
	}
	// The resized planes go straight into an NCHW tensor when no
	// orientation remaps them; otherwise through sc.planes.
	plane := rw * rh
	planes := dst
	direct := orient == 1 && p.layout == NCHW && !p.bgr
	if !direct {
		planes = grow(&sc.planes, 3*plane)
	}
	for c := 0; c < 3; c++ {
		for y, w := range sc.ty.w {
			i0, i1 := int(sc.ty.i0[y]), int(sc.ty.i1[y])
			r0 := rows[(c*sh+i0)*rw : (c*sh+i0+1)*rw]
			r1 := rows[(c*sh+i1)*rw : (c*sh+i1+1)*rw]
			out := planes[c*plane+y*rw : c*plane+(y+1)*rw]
			if w == 0 || i0 == i1 {
				copy(out, r0)
				continue
			}
			lerpRow(out, r0, r1, w)
		}
	}
	if direct {
		return
	}
	ci := [3]int{0, 1, 2} // tensor channel of R, G, B
	if p.bgr {
		ci = [3]int{2, 1, 0}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := x, y
			if orient != 1 {
				sx, sy = orientedSource(orient, x, y, w, h)
			}
			at := sy*rw + sx
			for c := 0; c < 3; c++ {
				if p.layout == NHWC {
					dst[3*(y*w+x)+ci[c]] = planes[c*plane+at]
				} else {
					dst[ci[c]*plane+y*w+x] = planes[c*plane+at]
				}
			}
		}
	}
}

// smallTaps readies sc's bilinear taps that enlarge an sw x sh source to
// the model input before orientation, and returns that size (the input's,
// with the axes swapped when orient turns the picture a quarter).
func (p *preprocessor) smallTaps(sw, sh, orient int, sc *scratch) (rw, rh int) {
	rw, rh = p.width, p.height
	if swapsAxes(orient) {
		rw, rh = rh, rw
	}
	if len(sc.tx.w) != rw || sc.tsw != sw {
		sc.tx, sc.tsw = bilinearTaps(rw, sw), sw
	}
	if len(sc.ty.w) != rh || sc.tsh != sh {
		sc.ty, sc.tsh = bilinearTaps(rh, sh), sh
	}
	return rw, rh
}

// fillSmallGray is fillSmall for a gray preprocessor: luma holds sw x sh
// luma levels. One channel is laid out alike in NCHW and NHWC.
func (p *preprocessor) fillSmallGray(dst []float32, luma []uint8, sw, sh, orient int, sc *scratch) {
	w, h := p.width, p.height
	rw, rh := p.smallTaps(sw, sh, orient, sc)
	rows := grow(&sc.rows, sh*rw)
	lut := &p.lut[0]
	i0, i1, tw := sc.tx.i0[:rw], sc.tx.i1[:rw], sc.tx.w[:rw]
	for y := 0; y < sh; y++ {
		in := luma[y*sw : (y+1)*sw]
		o := rows[y*rw : (y+1)*rw]
		for x := range o {
			v := lut[in[i0[x]]]
			o[x] = v + (lut[in[i1[x]]]-v)*tw[x]
		}
	}
	// The enlarged plane goes straight into dst unless an orientation
	// remaps it.
	plane := dst
	if orient != 1 {
		plane = grow(&sc.planes, rw*rh)
	}
	for y, wt := range sc.ty.w {
		i0, i1 := int(sc.ty.i0[y]), int(sc.ty.i1[y])
		r0, r1 := rows[i0*rw:(i0+1)*rw], rows[i1*rw:(i1+1)*rw]
		out := plane[y*rw : (y+1)*rw]
		if wt == 0 || i0 == i1 {
			copy(out, r0)
			continue
		}
		lerpRow(out, r0, r1, wt)
	}
	if orient == 1 {
		return
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := orientedSource(orient, x, y, w, h)
			dst[y*w+x] = plane[sy*rw+sx]
		}
	}
}

// fill resizes img (after EXIF orientation orient) to the model input and
// writes the normalised tensor into dst (len p.size()). Transparent pixels
// are composited over white (or black, see setOverBlack); gray and
// paletted images become RGB, and RGB becomes luma for a gray
// preprocessor. Images no larger than the input are enlarged bilinearly
// (fillSmall); larger ones are box-filtered (boxShrink) and then resampled
// with resizeKernel.
func (p *preprocessor) fill(dst []float32, img image.Image, orient int, sc *scratch) {
	w, h := p.width, p.height
	rw, rh := w, h
	b := img.Bounds()
	sc.width, sc.height = b.Dx(), b.Dy()
	if swapsAxes(orient) {
		rw, rh = h, w
		sc.width, sc.height = b.Dy(), b.Dx()
	}
	if b.Dx() <= rw && b.Dy() <= rh {
		p.fillSmall(dst, sc.flatten(img), b.Dx(), b.Dy(), orient, sc)
		return
	}
	if sc.rgba == nil || sc.rgba.Rect.Dx() != rw || sc.rgba.Rect.Dy() != rh {
		sc.rgba = image.NewRGBA(image.Rect(0, 0, rw, rh))
		sc.scaler = nil
	}
	small := sc.rgba
	// small holds premultiplied RGBA; transparency is composited below,
	// while filling the tensor.
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
			pr, pg, pb := over(small.Pix[o], small.Pix[o+1], small.Pix[o+2], small.Pix[o+3], sc.overBlack)
			if p.gray {
				dst[y*w+x] = lr[luma(pr, pg, pb)]
				continue
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

// over composites a premultiplied RGBA pixel over white, the colour plus
// (1 - alpha), or over black, the colour itself.
func over(r, g, b, a uint8, black bool) (uint8, uint8, uint8) {
	if a == 0xff || black {
		return r, g, b
	}
	t := 0xff - int(a)
	return uint8(min(0xff, int(r)+t)), uint8(min(0xff, int(g)+t)), uint8(min(0xff, int(b)+t))
}

// loadTensor reads, decodes and preprocesses one image into dst. PNGs no
// larger than the model input (thumbnails, icons, small datasets such as
// CIFAR) take a fast path that decodes straight to RGB with buffers kept in
// sc; a PNG that the image package would need more than lim.maxDecode
// bytes to decode whole is decoded straight into a reduced image
// (decodeShrunk); everything else goes through the image package's
// decoders. Transparent pixels are composited over white, unless that
// leaves the picture blank: it is then decoded again over black, so that
// white ink on transparency (logos, overlay wallpapers) shows. The
// memory of decoding is bounded per image (lim.maxDecode, checked from the
// header) and in total (lim.budget, which the file being read and its
// decoding draw on, waiting for their share).
func (p *preprocessor) loadTensor(ctx context.Context, r io.Reader, lim limits, dst []float32, sc *scratch) error {
	// The file's bytes while it is read, when its size is known.
	var size int64
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			size = min(fi.Size(), lim.maxBytes)
		}
	}
	held, err := lim.budget.acquire(ctx, size)
	if err != nil {
		return err
	}
	defer func() { lim.budget.release(held) }()
	defer sc.trim()
	data, err := readLimited(r, lim.maxBytes, &sc.data)
	if err != nil {
		return err
	}
	// The file and its decoding, taken anew rather than added to what is
	// held, so that no worker waits while holding a share.
	need := int64(len(data))
	w, h, isPNG := pngSize(data)
	small := isPNG && w <= p.width && h <= p.height
	shrink := 0 // a PNG too large to decode whole is decoded reduced by this
	var format string
	if small {
		need += 3 * int64(w) * int64(h)
	} else {
		var cost int64
		format, cost, err = checkHeader(data, lim)
		if isPNG && errors.Is(err, errDecodeTooLarge) {
			shrink = max(1, shrinkFactor(w, h, p.width, p.height))
			if cost = shrunkBytes(w, h, shrink); cost <= lim.maxDecode {
				err = nil
			}
		}
		if err != nil {
			return err
		}
		need += cost
	}
	lim.budget.release(held)
	held = 0
	if held, err = lim.budget.acquire(ctx, need); err != nil {
		return err
	}
	sc.setOverBlack(false)
	sc.enlarged = 1
	how := decodePlan{small: small, shrink: shrink, format: format}
	if err := p.decode(dst, data, how, lim, sc); err != nil {
		return err
	}
	if p.blank(dst) {
		// A picture left blank over white may be white ink on transparency
		// (a logo, an overlay wallpaper): over black, its ink shows.
		alt := grow(&sc.alt, len(dst))
		sc.setOverBlack(true)
		err = p.decode(alt, data, how, lim, sc)
		sc.setOverBlack(false)
		if err == nil && !p.blank(alt) {
			copy(dst, alt)
		}
	}
	if p.wedges {
		p.fillWedges(dst, max(wedgeBlur, int(sc.enlarged+0.5)))
	}
	return nil
}

// decodePlan is how loadTensor found a file is to be decoded: a PNG no
// larger than the input (small), a PNG decoded reduced by shrink (> 0), or
// by the image package, its format read from the header ("" for a small
// PNG).
type decodePlan struct {
	small  bool
	shrink int
	format string
}

// decode decodes the file data into dst as how says.
func (p *preprocessor) decode(dst []float32, data []byte, how decodePlan, lim limits, sc *scratch) error {
	format := how.format
	if how.shrink > 0 {
		w, h, rgb, err := sc.png.decodeShrunk(data, lim.maxPixels, how.shrink)
		if err != nil {
			return err
		}
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < w*h; i++ {
			copy(img.Pix[4*i:4*i+3], rgb[3*i:3*i+3])
			img.Pix[4*i+3] = 0xff
		}
		p.fill(dst, img, 1, sc)
		return nil
	}
	if how.small {
		w, h, rgb, handled, err := sc.png.decodeRGB(data, lim.maxPixels)
		if err != nil {
			return err
		}
		if handled {
			p.fillSmall(dst, rgb, w, h, 1, sc)
			return nil
		}
		if format, _, err = checkHeader(data, lim); err != nil {
			return err
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if format == "jpeg" && jpegSubsampledRestarts(data) {
			return fmt.Errorf("%w: progressive JPEG with restart markers and subsampled chroma, which Go's decoder cannot read (%v); re-encode it as baseline or without restart markers", ErrDecode, err)
		}
		return fmt.Errorf("%w: %s: %v", ErrDecode, format, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return fmt.Errorf("%w: empty %s image", ErrDecode, format)
	}
	orient := 1
	if format == "jpeg" {
		orient = jpegOrientation(data)
	}
	p.fill(dst, img, orient, sc)
	return nil
}

// blankLevels is how many 8-bit levels a blank picture's pixels may
// differ by: the rounding of resampling premultiplied colours.
const blankLevels = 2

// levels returns how far apart, in tensor channel c, values n 8-bit
// levels apart (and half a level more, for rounding) may lie.
func (p *preprocessor) levels(c int, n float32) float32 {
	if p.bgr && !p.gray {
		c = 2 - c
	}
	step := p.lut[c][1] - p.lut[c][0]
	return max(step, -step) * (n + 0.5)
}

// blank reports whether every pixel of the tensor t holds the same colour,
// to within blankLevels in each channel.
func (p *preprocessor) blank(t []float32) bool {
	ch, plane := p.channels(), p.width*p.height
	for c := range ch {
		tol := p.levels(c, blankLevels)
		at, stride := c*plane, 1 // NCHW
		if p.layout == NHWC {
			at, stride = c, ch
		}
		first := t[at]
		for i := range plane {
			if d := t[at+i*stride] - first; d > tol || d < -tol {
				return false
			}
		}
	}
	return true
}

// keepBuffer is the largest read buffer a worker keeps for its next image.
const keepBuffer = 16 << 20

// trim drops the file buffer after an unusually large file, so that a
// worker does not hold on to it.
func (sc *scratch) trim() {
	if cap(sc.data) > keepBuffer {
		sc.data = nil
	}
}

// pngSize returns the width and height a PNG's header declares, if data
// starts like a PNG.
func pngSize(data []byte) (w, h int, ok bool) {
	if len(data) < 24 || string(data[:8]) != pngSignature || string(data[12:16]) != "IHDR" {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(data[16:20])), int(binary.BigEndian.Uint32(data[20:24])), true
}
