package brain

import (
	"fmt"
	"io"
)

// adam7Passes are the seven passes of an interlaced PNG: the first column
// and row of each pass, and its steps across and down.
var adam7Passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// shrunkBytes is the memory decodeShrunk takes for a w x h PNG reduced by
// factor f (besides the file): the reduced image's sums, counts and
// output, and two scanlines and one converted row at full width.
func shrunkBytes(w, h, f int) int64 {
	ow, oh := int64((w+f-1)/f), int64((h+f-1)/f)
	return 31*ow*oh + 19*int64(w)
}

// decodeShrunk decodes data, a whole PNG of any kind the fast path reads,
// interlaced or not, straight into the averages of its f x f blocks (the
// blocks at the right and bottom edges may be partial). Pixels are
// composited over white as decodeRGB does. It never holds the whole image,
// only scanlines and the reduced image, so an image that the image package
// would need gigabytes for is decoded in a few hundred kilobytes. It returns
// the reduced size and rgb, 3 bytes a pixel.
func (d *pngDecoder) decodeShrunk(data []byte, maxPixels int64, f int) (w, h int, rgb []uint8, err error) {
	if len(data) < len(pngSignature) || string(data[:len(pngSignature)]) != pngSignature {
		return 0, 0, nil, pngError("not a PNG")
	}
	typ, body, pos, err := pngChunk(data, len(pngSignature))
	if err != nil {
		return 0, 0, nil, err
	}
	if string(typ) != "IHDR" {
		return 0, 0, nil, pngError("first chunk is %q, not IHDR", typ)
	}
	interlaced, err := d.parseIHDR(body)
	if err != nil {
		return 0, 0, nil, err
	}
	width, height := d.width, d.height
	if pixels := int64(width) * int64(height); pixels > maxPixels {
		return 0, 0, nil, fmt.Errorf("%w: png declares %dx%d pixels, limit %d", ErrImageTooLarge, width, height, maxPixels)
	}
	defer d.release()
	defer func() { d.width = width }()
	idat, err := d.parseChunks(data, pos)
	if err != nil {
		return 0, 0, nil, err
	}
	if err := d.startInflate(idat); err != nil {
		return 0, 0, nil, err
	}
	f = max(f, 1)
	ow, oh := (width+f-1)/f, (height+f-1)/f
	sums := make([]uint64, 3*ow*oh)
	counts := make([]uint32, ow*oh)
	full := 1 + int(d.rowBytes())
	cur, prev := make([]byte, full), make([]byte, full)
	line := make([]byte, 3*width)
	bpp := max(1, d.channels()*int(d.depth)/8)
	passes := [][4]int{{0, 0, 1, 1}}
	if interlaced {
		passes = adam7Passes
	}
	for _, p := range passes {
		pw, ph := (width-p[0]+p[2]-1)/p[2], (height-p[1]+p[3]-1)/p[3]
		if pw <= 0 || ph <= 0 {
			continue // a pass with no pixels has no scanlines
		}
		d.width = pw // rowBytes and convertRow read the pass's width
		n := 1 + int(d.rowBytes())
		c, pr := cur[:n], prev[:n]
		clear(pr)
		for r := 0; r < ph; r++ {
			if _, err := io.ReadFull(d.fr, c); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return 0, 0, nil, pngError("not enough pixel data")
				}
				return 0, 0, nil, pngError("inflate: %v", err)
			}
			d.digest.Write(c)
			if !pngUnfilter(c[0], c[1:], pr[1:], bpp) {
				return 0, 0, nil, pngError("bad filter type %d", c[0])
			}
			d.convertRow(line[:3*pw], c[1:])
			base := (p[1] + r*p[3]) / f * ow
			for i := 0; i < pw; i++ {
				k := base + (p[0]+i*p[2])/f
				s, px := sums[3*k:3*k+3], line[3*i:3*i+3]
				s[0] += uint64(px[0])
				s[1] += uint64(px[1])
				s[2] += uint64(px[2])
				counts[k]++
			}
			c, pr = pr, c
		}
	}
	if err := d.finishInflate(idat); err != nil {
		return 0, 0, nil, err
	}
	rgb = make([]uint8, 3*ow*oh)
	for k, n := range counts {
		for c := 0; c < 3; c++ {
			rgb[3*k+c] = uint8((sums[3*k+c] + uint64(n/2)) / uint64(n))
		}
	}
	return ow, oh, rgb, nil
}
