package brain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"io"
	"math"
	"math/bits"

	"github.com/fosql/fosql/brain/internal/libdeflate"
	"github.com/klauspost/compress/flate"
)

// pngSignature is the eight bytes every PNG file starts with.
const pngSignature = "\x89PNG\r\n\x1a\n"

// PNG colour types (IHDR byte 9).
const (
	pngColorGray      = 0
	pngColorRGB       = 2
	pngColorPalette   = 3
	pngColorGrayAlpha = 4
	pngColorRGBA      = 6
)

// pngGatherMax is the default pngDecoder.gatherMax, and pngKeepGather the
// largest gather buffer kept between calls. An output or scanline buffer
// larger than pngKeepRGB is reallocated for an image needing under a quarter
// of it.
const (
	pngGatherMax  = 16 << 20
	pngKeepGather = 1 << 20
	pngKeepRGB    = 16 << 20
)

// maxInflateRatio bounds how many bytes deflate can produce per compressed
// byte: a 258-byte match coded in two bits. A PNG whose scanlines need more
// than this many bytes per IDAT byte is truncated, and is refused before its
// buffers are allocated.
const maxInflateRatio = 1032

// pngKind says how the unfiltered scanline bytes of an image become RGB.
type pngKind uint8

const (
	pngKindGray    pngKind = iota // 1, 2, 4, 8-bit gray, optional tRNS key
	pngKindGray16                 // 16-bit gray, optional tRNS key
	pngKindGrayA8                 // 8-bit gray + alpha
	pngKindGrayA16                // 16-bit gray + alpha
	pngKindRGB8                   // 8-bit RGB, optional tRNS key
	pngKindRGB16                  // 16-bit RGB, optional tRNS key
	pngKindRGBA8                  // 8-bit RGBA
	pngKindRGBA16                 // 16-bit RGBA
	pngKindPalette                // 1, 2, 4, 8-bit palette indices
)

// pngInflater is a raw deflate reader that can be reset onto a new stream; both
// compress/flate's and klauspost's readers implement it.
type pngInflater interface {
	io.Reader
	Reset(r io.Reader, dict []byte) error
}

// pngDecoder decodes PNG files into packed RGB, reusing its buffers between
// calls. Not safe for concurrent use; one per worker.
//
// It handles every non-interlaced PNG kind image/png reads: gray at 1, 2, 4,
// 8 and 16 bits, gray+alpha, RGB and RGBA at 8 and 16 bits, and palettes at
// 1, 2, 4 and 8 bits, with tRNS (palette alpha, or a gray/RGB colour key).
// Sixteen-bit samples are reduced to their high byte before compositing.
// Interlaced (Adam7) images are left to image/png.
//
// Acceptance follows image/png: chunk order, chunk CRCs and the zlib
// checksum are checked; unknown chunks and anything after IEND are ignored;
// palette indices beyond the palette are opaque black; an 8-bit gray or RGB
// colour key is compared on the low byte of each tRNS sample, as image/png
// does. Compressed bytes after the end of the zlib stream are ignored.
type pngDecoder struct {
	// inflate makes the deflate reader on first use; nil means klauspost's
	// flate, which measured faster than compress/flate on small PNGs. Set it
	// (to compress/flate.NewReader, say) before the first decode only.
	inflate func(io.Reader) io.ReadCloser

	// gatherMax is the most IDAT bytes, split over several chunks, that are
	// copied into one buffer: klauspost's inflater reads a *bytes.Reader
	// much faster than any other io.ByteReader, which pays for the copy.
	// Longer streams are read in place. 0 means pngGatherMax; negative
	// means never copy.
	gatherMax int64

	fr     pngInflater   // the deflate reader, reset for every image
	digest hash.Hash32   // Adler-32 of the inflated scanlines
	one    bytes.Reader  // over the single IDAT payload, or over gather
	gather []byte        // the IDAT payloads of a split stream, copied
	multi  pngIDATReader // over the IDAT payloads in place
	stream []byte        // the whole zlib stream, when it is contiguous
	raw    []byte        // the inflated scanlines, for libdeflate

	cur, prev []byte // scanline buffers, filter byte first
	rgb       []byte // the output
	tmp       [4]byte

	// Per-image state, from the chunks before IDAT.
	width, height int
	depth, ctype  uint8
	kind          pngKind
	hasKey        bool
	key           [6]byte // tRNS colour key, as stored
	// overBlack composites transparent pixels over black instead of
	// white (see loadTensor).
	overBlack bool
	pal       [256 * 3]uint8
}

// decodeRGB decodes data, a whole PNG file, when it is a kind the fast path
// handles. It returns width, height and rgb: 3 bytes per pixel, rows packed
// (len 3*w*h), transparent pixels composited over white as
// (c*a + 255*(255-a) + 127) / 255 (over black, c*a/255 rounded, when
// d.overBlack is set). rgb is valid until the next call.
//
// handled == false with err == nil means: not a PNG, or a PNG kind the fast
// path leaves to image/png (interlaced); the caller falls back. A non-nil
// err is final (handled is then true): corrupt or truncated data wraps
// ErrDecode, and a declared width*height above maxPixels wraps
// ErrImageTooLarge, checked from IHDR before any allocation.
func (d *pngDecoder) decodeRGB(data []byte, maxPixels int64) (w, h int, rgb []uint8, handled bool, err error) {
	if len(data) < len(pngSignature) || string(data[:len(pngSignature)]) != pngSignature {
		return 0, 0, nil, false, nil
	}
	typ, body, pos, err := pngChunk(data, len(pngSignature))
	if err != nil {
		return 0, 0, nil, true, err
	}
	if string(typ) != "IHDR" {
		return 0, 0, nil, true, pngError("first chunk is %q, not IHDR", typ)
	}
	interlaced, err := d.parseIHDR(body)
	if err != nil {
		return 0, 0, nil, true, err
	}
	pixels := int64(d.width) * int64(d.height)
	if pixels > maxPixels || pixels > int64(math.MaxInt/8) {
		return 0, 0, nil, true, fmt.Errorf("%w: png declares %dx%d pixels, limit %d", ErrImageTooLarge, d.width, d.height, maxPixels)
	}
	if interlaced {
		return 0, 0, nil, false, nil
	}
	defer d.release()
	idat, err := d.parseChunks(data, pos)
	if err != nil {
		return 0, 0, nil, true, err
	}
	if err := d.inflateRows(idat); err != nil {
		return 0, 0, nil, true, err
	}
	return d.width, d.height, d.rgb, true, nil
}

// pngError returns an error wrapping ErrDecode.
func pngError(format string, args ...any) error {
	return fmt.Errorf("%w: png: %s", ErrDecode, fmt.Sprintf(format, args...))
}

// pngChunk reads the chunk starting at data[pos:] and checks its CRC. It
// returns the chunk type and its payload (sub-slices of data) and the offset
// of the next chunk.
func pngChunk(data []byte, pos int) (typ, body []byte, next int, err error) {
	rest := data[pos:]
	if len(rest) < 12 {
		return nil, nil, 0, pngError("truncated before chunk header")
	}
	n := binary.BigEndian.Uint32(rest)
	if n > 0x7fffffff {
		return nil, nil, 0, pngError("chunk length %d", n)
	}
	if uint64(n) > uint64(len(rest)-12) {
		return nil, nil, 0, pngError("truncated %q chunk", rest[4:8])
	}
	end := 8 + int(n)
	if crc32.ChecksumIEEE(rest[4:end]) != binary.BigEndian.Uint32(rest[end:]) {
		return nil, nil, 0, pngError("bad CRC in %q chunk", rest[4:8])
	}
	return rest[4:8], rest[8:end], pos + end + 4, nil
}

// parseIHDR reads the header into d and reports whether the image is
// interlaced.
func (d *pngDecoder) parseIHDR(b []byte) (interlaced bool, err error) {
	if len(b) != 13 {
		return false, pngError("IHDR length %d", len(b))
	}
	w, h := int32(binary.BigEndian.Uint32(b[0:])), int32(binary.BigEndian.Uint32(b[4:]))
	if w <= 0 || h <= 0 {
		return false, pngError("non-positive dimension %dx%d", w, h)
	}
	if b[10] != 0 || b[11] != 0 {
		return false, pngError("unknown compression or filter method")
	}
	if b[12] > 1 {
		return false, pngError("invalid interlace method %d", b[12])
	}
	depth, ctype := b[8], b[9]
	var kind pngKind
	ok := false
	switch ctype {
	case pngColorGray:
		kind, ok = pngKindGray, depth == 1 || depth == 2 || depth == 4 || depth == 8
		if depth == 16 {
			kind, ok = pngKindGray16, true
		}
	case pngColorPalette:
		kind, ok = pngKindPalette, depth == 1 || depth == 2 || depth == 4 || depth == 8
	case pngColorRGB:
		kind, ok = pngKindRGB8, depth == 8
		if depth == 16 {
			kind, ok = pngKindRGB16, true
		}
	case pngColorGrayAlpha:
		kind, ok = pngKindGrayA8, depth == 8
		if depth == 16 {
			kind, ok = pngKindGrayA16, true
		}
	case pngColorRGBA:
		kind, ok = pngKindRGBA8, depth == 8
		if depth == 16 {
			kind, ok = pngKindRGBA16, true
		}
	}
	if !ok {
		return false, pngError("bit depth %d with colour type %d", depth, ctype)
	}
	d.width, d.height = int(w), int(h)
	d.depth, d.ctype, d.kind = depth, ctype, kind
	d.hasKey = false
	return b[12] == 1, nil
}

// Chunk-order stages, as image/png tracks them.
const (
	pngStageIHDR = iota
	pngStagePLTE
	pngStageTRNS
	pngStageIDAT
)

// parseChunks reads the chunks after IHDR up to IEND, checking their order
// and CRCs, and sets up the palette and colour key. It returns a reader over
// the payloads of the first run of consecutive IDAT chunks.
func (d *pngDecoder) parseChunks(data []byte, pos int) (io.Reader, error) {
	stage := pngStageIHDR
	var alpha [256]uint8
	havePalette := false
	var idatBytes int64
	inRun := false // the previous chunk belongs to the first IDAT run
	for {
		typ, body, next, err := pngChunk(data, pos)
		if err != nil {
			return nil, err
		}
		pos = next
		wasRun := inRun
		inRun = false
		switch string(typ) {
		case "IHDR":
			return nil, pngError("second IHDR chunk")
		case "PLTE":
			if stage != pngStageIHDR {
				return nil, pngError("misplaced PLTE chunk")
			}
			stage = pngStagePLTE
			np := len(body) / 3
			if len(body)%3 != 0 || np == 0 || np > 256 || np > 1<<d.depth {
				return nil, pngError("PLTE length %d", len(body))
			}
			switch d.ctype {
			case pngColorPalette:
				havePalette = true
				copy(d.pal[:], body)
				clear(d.pal[len(body):]) // missing entries are opaque black
				for i := range alpha {
					alpha[i] = 0xff
				}
			case pngColorRGB, pngColorRGBA:
				// Optional suggested palette of a true-colour image: unused.
			default:
				return nil, pngError("PLTE chunk in colour type %d", d.ctype)
			}
		case "tRNS":
			switch d.ctype {
			case pngColorPalette:
				if stage != pngStagePLTE {
					return nil, pngError("misplaced tRNS chunk")
				}
			case pngColorRGB:
				if stage != pngStageIHDR && stage != pngStagePLTE {
					return nil, pngError("misplaced tRNS chunk")
				}
			default:
				if stage != pngStageIHDR {
					return nil, pngError("misplaced tRNS chunk")
				}
			}
			stage = pngStageTRNS
			switch d.ctype {
			case pngColorGray:
				if len(body) != 2 {
					return nil, pngError("tRNS length %d", len(body))
				}
				copy(d.key[:], body)
				d.hasKey = true
			case pngColorRGB:
				if len(body) != 6 {
					return nil, pngError("tRNS length %d", len(body))
				}
				copy(d.key[:], body)
				d.hasKey = true
			case pngColorPalette:
				if len(body) > 256 {
					return nil, pngError("tRNS length %d", len(body))
				}
				copy(alpha[:], body)
			default:
				return nil, pngError("tRNS chunk in colour type %d", d.ctype)
			}
		case "IDAT":
			switch {
			case stage == pngStageIHDR && d.ctype == pngColorPalette:
				return nil, pngError("IDAT before PLTE")
			case stage < pngStageIDAT:
				stage = pngStageIDAT
				d.multi.segs = append(d.multi.segs[:0], body)
				idatBytes = int64(len(body))
				inRun = true
			case wasRun:
				d.multi.segs = append(d.multi.segs, body)
				idatBytes += int64(len(body))
				inRun = true
			default:
				// IDAT after another chunk followed the image data:
				// ignored, as image/png ignores trailing IDAT chunks.
			}
		case "IEND":
			if stage != pngStageIDAT {
				return nil, pngError("IEND before IDAT")
			}
			if len(body) != 0 {
				return nil, pngError("IEND length %d", len(body))
			}
			if havePalette {
				d.compositePalette(&alpha)
			}
			need := int64(d.height) * (1 + d.rowBytes())
			if need > maxInflateRatio*idatBytes {
				return nil, pngError("not enough pixel data: %d IDAT bytes for %d scanline bytes", idatBytes, need)
			}
			if need > math.MaxInt {
				return nil, fmt.Errorf("%w: png scanlines of %d bytes", ErrImageTooLarge, need)
			}
			if len(d.multi.segs) == 1 {
				d.stream = d.multi.segs[0]
				d.one.Reset(d.stream)
				return &d.one, nil
			}
			limit := d.gatherMax
			if limit == 0 {
				limit = pngGatherMax
			}
			if idatBytes <= limit {
				d.gather = d.gather[:0]
				for _, seg := range d.multi.segs {
					d.gather = append(d.gather, seg...)
				}
				d.stream = d.gather
				d.one.Reset(d.stream)
				return &d.one, nil
			}
			d.multi.seg, d.multi.cur = 0, nil
			return &d.multi, nil
		default:
			// Ancillary or unknown chunk: CRC checked, content ignored.
		}
	}
}

// compositePalette fills d.pal with the palette colours composited over
// the background with their tRNS alpha.
func (d *pngDecoder) compositePalette(alpha *[256]uint8) {
	bg := d.background()
	for i, a := range alpha {
		if a != 0xff {
			p := d.pal[3*i : 3*i+3]
			p[0], p[1], p[2] = composite(p[0], a, bg), composite(p[1], a, bg), composite(p[2], a, bg)
		}
	}
}

// background is the level transparent pixels are composited over.
func (d *pngDecoder) background() uint8 {
	if d.overBlack {
		return 0
	}
	return 0xff
}

// composite composites colour c with alpha a over level bg, rounding.
func composite(c, a, bg uint8) uint8 {
	return uint8((uint32(c)*uint32(a) + uint32(bg)*(255-uint32(a)) + 127) / 255)
}

// channels is the number of samples per pixel.
func (d *pngDecoder) channels() int {
	switch d.ctype {
	case pngColorRGB:
		return 3
	case pngColorGrayAlpha:
		return 2
	case pngColorRGBA:
		return 4
	}
	return 1
}

// rowBytes is the length of one scanline without its filter byte.
func (d *pngDecoder) rowBytes() int64 {
	return (int64(d.width)*int64(d.channels())*int64(d.depth) + 7) / 8
}

// release drops the references to the caller's data.
func (d *pngDecoder) release() {
	d.one.Reset(nil)
	d.stream = nil
	if cap(d.gather) > pngKeepGather {
		d.gather = nil
	}
	clear(d.multi.segs)
	d.multi.segs = d.multi.segs[:0]
	d.multi.cur = nil
}

// inflateRows inflates the zlib stream read from src, unfilters each
// scanline and converts it into d.rgb. A contiguous stream goes to
// libdeflate in one call when the system has it (unless a test chose the
// inflater).
func (d *pngDecoder) inflateRows(src io.Reader) error {
	if d.stream != nil && d.inflate == nil {
		if done, err := d.inflateWhole(); done {
			return err
		}
	}
	if err := d.startInflate(src); err != nil {
		return err
	}

	// Buffers grow as needed, and are replaced by smaller ones after a large
	// image so that one huge file does not stay pinned.
	rowLen := 1 + int(d.rowBytes())
	if cap(d.cur) < rowLen || cap(d.cur) > pngKeepRGB && cap(d.cur) > 4*rowLen {
		d.cur, d.prev = make([]byte, rowLen), make([]byte, rowLen)
	}
	cur, prev := d.cur[:rowLen], d.prev[:rowLen]
	clear(prev)
	out := d.output()
	bpp := max(1, d.channels()*int(d.depth)/8)
	for y := 0; y < d.height; y++ {
		if _, err := io.ReadFull(d.fr, cur); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return pngError("not enough pixel data")
			}
			return pngError("inflate: %v", err)
		}
		d.digest.Write(cur)
		if !pngUnfilter(cur[0], cur[1:], prev[1:], bpp) {
			return pngError("bad filter type %d", cur[0])
		}
		d.convertRow(d.rgb[y*out:(y+1)*out], cur[1:])
		cur, prev = prev, cur
	}

	return d.finishInflate(src)
}

// startInflate checks the zlib header read from src and sets d.fr to
// inflate the stream that follows.
func (d *pngDecoder) startInflate(src io.Reader) error {
	br := src.(io.ByteReader)
	cmf, err1 := br.ReadByte()
	flg, err2 := br.ReadByte()
	if err1 != nil || err2 != nil {
		return pngError("truncated zlib header")
	}
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint16(cmf)<<8|uint16(flg))%31 != 0 {
		return pngError("bad zlib header")
	}
	if flg&0x20 != 0 {
		return pngError("zlib stream wants a preset dictionary")
	}
	if d.fr == nil {
		newReader := d.inflate
		if newReader == nil {
			newReader = flate.NewReader
		}
		fr, ok := newReader(src).(pngInflater)
		if !ok {
			return errors.New("brain: png: deflate reader cannot be reset")
		}
		d.fr = fr
		d.digest = adler32.New()
	} else if err := d.fr.Reset(src, nil); err != nil {
		return pngError("inflate: %v", err)
	}
	d.digest.Reset()
	return nil
}

// finishInflate checks that the stream ends after the scanlines read: io.EOF
// from the deflate reader, then the Adler-32 of the scanlines.
func (d *pngDecoder) finishInflate(src io.Reader) error {
	tmp := d.tmp[:]
	for i := 0; ; i++ {
		n, err := d.fr.Read(tmp[:1])
		if n != 0 {
			return pngError("too much pixel data")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return pngError("inflate: %v", err)
		}
		if i == 100 {
			return pngError("inflate: %v", io.ErrNoProgress)
		}
	}
	if _, err := io.ReadFull(src, tmp[:4]); err != nil {
		return pngError("truncated zlib checksum")
	}
	if binary.BigEndian.Uint32(tmp) != d.digest.Sum32() {
		return pngError("zlib checksum mismatch")
	}
	return nil
}

// output sizes d.rgb for the image and returns the length of one output
// row. A buffer left large by a huge image is replaced by a smaller one.
func (d *pngDecoder) output() int {
	out := 3 * d.width
	if n := out * d.height; cap(d.rgb) < n || cap(d.rgb) > pngKeepRGB && cap(d.rgb) > 4*n {
		d.rgb = make([]byte, n)
	} else {
		d.rgb = d.rgb[:n]
	}
	return out
}

// inflateWhole inflates d.stream with libdeflate in one call, then
// unfilters the scanlines in place and converts them into d.rgb. done is
// false when libdeflate is not available.
func (d *pngDecoder) inflateWhole() (done bool, err error) {
	rowLen := 1 + int(d.rowBytes())
	need := rowLen * d.height
	if cap(d.raw) > pngKeepRGB && cap(d.raw) > 4*(need+1) {
		d.raw = nil
	}
	// One spare byte: a stream that fills it holds too much data.
	raw := grow(&d.raw, need+1)
	n, res, ok := libdeflate.ZlibDecompress(d.stream, raw)
	if !ok {
		return false, nil
	}
	switch {
	case res == libdeflate.InsufficientSpace || res == libdeflate.Success && n > need:
		return true, pngError("too much pixel data")
	case res == libdeflate.ShortOutput || res == libdeflate.Success && n < need:
		return true, pngError("not enough pixel data")
	case res != libdeflate.Success:
		return true, pngError("inflate: corrupt zlib stream")
	}
	out := d.output()
	bpp := max(1, d.channels()*int(d.depth)/8)
	prev := grow(&d.prev, rowLen)
	clear(prev)
	for y := 0; y < d.height; y++ {
		cur := raw[y*rowLen : (y+1)*rowLen]
		if !pngUnfilter(cur[0], cur[1:], prev[1:], bpp) {
			return true, pngError("bad filter type %d", cur[0])
		}
		d.convertRow(d.rgb[y*out:(y+1)*out], cur[1:])
		prev = cur
	}
	return true, nil
}

// pngUnfilter reverses PNG filter ft on scanline cur, given the previous
// (already unfiltered) scanline prev of the same length and bpp bytes per
// complete pixel. It reports false for an unknown filter type.
func pngUnfilter(ft byte, cur, prev []byte, bpp int) bool {
	prev = prev[:len(cur)]
	switch ft {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // Average
		for i := 0; i < bpp && i < len(cur); i++ {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		// One channel at a time, so that the left (a) and upper-left (c)
		// neighbours stay in registers; both are zero left of the row.
		for k := 0; k < bpp; k++ {
			a, c := 0, 0
			for i := k; i < len(cur); i += bpp {
				b := int(prev[i])
				pa, pb := b-c, a-c // distances of a and b from a+b-c
				pc := paethAbs(pa + pb)
				pa, pb = paethAbs(pa), paethAbs(pb)
				// Ties prefer a, then b; written so the compiler can use
				// conditional moves rather than unpredictable branches.
				pred := c
				if pb <= pc {
					pred = b
				}
				if pa <= min(pb, pc) {
					pred = a
				}
				a = (pred + int(cur[i])) & 0xff
				cur[i] = uint8(a)
				c = b
			}
		}
	default:
		return false
	}
	return true
}

// paethAbs is the absolute value of x, without a branch.
func paethAbs(x int) int {
	m := x >> (bits.UintSize - 1)
	return (x ^ m) - m
}

// convertRow writes one unfiltered scanline as RGB into out (3*width bytes).
func (d *pngDecoder) convertRow(out, row []byte) {
	w, bg := d.width, d.background()
	switch d.kind {
	case pngKindGray:
		if d.depth == 8 {
			key, hasKey := d.key[1], d.hasKey
			for x, v := range row[:w] {
				if hasKey && v == key {
					v = bg
				}
				o := out[3*x : 3*x+3]
				o[0], o[1], o[2] = v, v, v
			}
			return
		}
		depth := uint(d.depth)
		mask := byte(1)<<depth - 1
		scale := 0xff / mask
		key, hasKey := d.key[1]*scale, d.hasKey // image/png scales in 8 bits
		for x := 0; x < w; x++ {
			bit := uint(x) * depth
			v := (row[bit/8] >> (8 - depth - bit%8) & mask) * scale
			if hasKey && v == key {
				v = bg
			}
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = v, v, v
		}
	case pngKindGray16:
		key, hasKey := binary.BigEndian.Uint16(d.key[:]), d.hasKey
		for x := 0; x < w; x++ {
			s := row[2*x : 2*x+2]
			v := s[0]
			if hasKey && binary.BigEndian.Uint16(s) == key {
				v = bg
			}
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = v, v, v
		}
	case pngKindGrayA8:
		for x := 0; x < w; x++ {
			s := row[2*x : 2*x+2]
			v := s[0]
			if a := s[1]; a != 0xff {
				v = composite(v, a, bg)
			}
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = v, v, v
		}
	case pngKindGrayA16:
		for x := 0; x < w; x++ {
			s := row[4*x : 4*x+4]
			v := s[0]
			if a := s[2]; a != 0xff {
				v = composite(v, a, bg)
			}
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = v, v, v
		}
	case pngKindRGB8:
		copy(out, row[:3*w])
		if d.hasKey {
			kr, kg, kb := d.key[1], d.key[3], d.key[5]
			for x := 0; x < w; x++ {
				o := out[3*x : 3*x+3]
				if o[0] == kr && o[1] == kg && o[2] == kb {
					o[0], o[1], o[2] = bg, bg, bg
				}
			}
		}
	case pngKindRGB16:
		key := d.key
		for x := 0; x < w; x++ {
			s := row[6*x : 6*x+6]
			o := out[3*x : 3*x+3]
			if d.hasKey && [6]byte(s) == key {
				o[0], o[1], o[2] = bg, bg, bg
			} else {
				o[0], o[1], o[2] = s[0], s[2], s[4]
			}
		}
	case pngKindRGBA8:
		for x := 0; x < w; x++ {
			s := row[4*x : 4*x+4]
			o := out[3*x : 3*x+3]
			if a := s[3]; a == 0xff {
				o[0], o[1], o[2] = s[0], s[1], s[2]
			} else {
				o[0], o[1], o[2] = composite(s[0], a, bg), composite(s[1], a, bg), composite(s[2], a, bg)
			}
		}
	case pngKindRGBA16:
		for x := 0; x < w; x++ {
			s := row[8*x : 8*x+8]
			o := out[3*x : 3*x+3]
			if a := s[6]; a == 0xff {
				o[0], o[1], o[2] = s[0], s[2], s[4]
			} else {
				o[0], o[1], o[2] = composite(s[0], a, bg), composite(s[2], a, bg), composite(s[4], a, bg)
			}
		}
	case pngKindPalette:
		pal := &d.pal
		if d.depth == 8 {
			for x, i := range row[:w] {
				p := pal[3*int(i) : 3*int(i)+3]
				o := out[3*x : 3*x+3]
				o[0], o[1], o[2] = p[0], p[1], p[2]
			}
			return
		}
		depth := uint(d.depth)
		mask := byte(1)<<depth - 1
		for x := 0; x < w; x++ {
			bit := uint(x) * depth
			i := int(row[bit/8] >> (8 - depth - bit%8) & mask)
			p := pal[3*i : 3*i+3]
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = p[0], p[1], p[2]
		}
	}
}

// pngIDATReader reads the payloads of several IDAT chunks as one stream.
type pngIDATReader struct {
	segs [][]byte // payloads, in order
	seg  int      // next payload to read
	cur  []byte   // unread rest of the current payload
}

// Read implements io.Reader.
func (r *pngIDATReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.cur) == 0 {
		if r.seg >= len(r.segs) {
			return 0, io.EOF
		}
		r.cur = r.segs[r.seg]
		r.seg++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// ReadByte implements io.ByteReader, which lets the deflate reader read
// without a bufio layer.
func (r *pngIDATReader) ReadByte() (byte, error) {
	for len(r.cur) == 0 {
		if r.seg >= len(r.segs) {
			return 0, io.EOF
		}
		r.cur = r.segs[r.seg]
		r.seg++
	}
	b := r.cur[0]
	r.cur = r.cur[1:]
	return b, nil
}
