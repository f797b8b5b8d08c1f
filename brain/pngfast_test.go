package brain

import (
	"bytes"
	stdflate "compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	kzlib "github.com/klauspost/compress/zlib"
)

// pngRefRGB converts an image decoded by image/png into the packed RGB that
// decodeRGB promises: 16-bit samples reduced to their high byte, then every
// pixel composited over white with compositeRef.
func pngRefRGB(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, 0, 3*w*h)
	put := func(r, g, bl, a uint8) {
		out = append(out, compositeRef(r, a), compositeRef(g, a), compositeRef(bl, a))
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			for _, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				put(v, v, v, 0xff)
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := m.Pix[y*m.Stride+2*x]
				put(v, v, v, 0xff)
			}
		}
	case *image.RGBA:
		// image/png makes RGBA images only for opaque true colour.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := m.Pix[y*m.Stride+4*x:]
				if p[3] != 0xff {
					tb.Fatalf("image/png returned a non-opaque *image.RGBA")
				}
				out = append(out, p[0], p[1], p[2])
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := m.Pix[y*m.Stride+8*x:]
				if p[6] != 0xff || p[7] != 0xff {
					tb.Fatalf("image/png returned a non-opaque *image.RGBA64")
				}
				out = append(out, p[0], p[2], p[4])
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := m.Pix[y*m.Stride+4*x:]
				put(p[0], p[1], p[2], p[3])
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := m.Pix[y*m.Stride+8*x:]
				put(p[0], p[2], p[4], p[6])
			}
		}
	case *image.Paletted:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				switch c := m.Palette[m.ColorIndexAt(x, y)].(type) {
				case color.RGBA:
					put(c.R, c.G, c.B, c.A)
				case color.NRGBA:
					put(c.R, c.G, c.B, c.A)
				default:
					tb.Fatalf("unexpected palette colour %T", c)
				}
			}
		}
	default:
		tb.Fatalf("unexpected image type %T from image/png", img)
	}
	return out
}

// compositeRef is the documented compositing formula, written out
// independently of the decoder.
func compositeRef(c, a uint8) uint8 {
	return uint8((int(c)*int(a) + 255*(255-int(a)) + 127) / 255)
}

// rawPNG describes a PNG to build by hand, for the kinds and chunk layouts
// image/png's encoder never writes.
type rawPNG struct {
	w, h         int
	depth, ctype uint8
	interlace    bool
	plte, trns   []byte
	// px returns the samples of pixel (x, y), one per channel.
	px func(x, y int) []uint16
	// filter returns the filter type of row y of an interlace pass; nil
	// cycles through all five.
	filter func(pass, y int) byte
	// idatSize splits the zlib stream into IDAT chunks of this size; 0 writes
	// a single IDAT.
	idatSize int
	// extraRow appends one more scanline than the image has; dropRow omits
	// the last.
	extraRow, dropRow bool
	// before and after are extra chunks written before the first IDAT and
	// between the last IDAT and IEND.
	before, after [][2]string
}

// pngChunkBytes appends one chunk with its CRC to b.
func pngChunkBytes(b []byte, typ string, body []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// paethRef is the Paeth predictor of the PNG specification.
func paethRef(a, b, c uint8) uint8 {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := p-int(a), p-int(b), p-int(c)
	pa, pb, pc = max(pa, -pa), max(pb, -pb), max(pc, -pc)
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

// build encodes r.
func (r rawPNG) build(tb testing.TB) []byte {
	tb.Helper()
	channels := map[uint8]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[r.ctype]
	bpp := max(1, channels*int(r.depth)/8)
	type pass struct{ x0, y0, dx, dy int }
	passes := []pass{{0, 0, 1, 1}}
	if r.interlace {
		passes = []pass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	var raw []byte
	for pi, p := range passes {
		var prev []byte
		for y := p.y0; y < r.h; y += p.dy {
			var row []byte
			var acc, nbits int
			for x := p.x0; x < r.w; x += p.dx {
				for _, s := range r.px(x, y) {
					switch r.depth {
					case 16:
						row = binary.BigEndian.AppendUint16(row, s)
					case 8:
						row = append(row, byte(s))
					default:
						acc = acc<<r.depth | int(s)
						nbits += int(r.depth)
						if nbits == 8 {
							row = append(row, byte(acc))
							acc, nbits = 0, 0
						}
					}
				}
			}
			if nbits > 0 {
				row = append(row, byte(acc<<(8-nbits)))
			}
			if len(row) == 0 {
				continue // an empty interlace pass has no scanlines
			}
			if prev == nil {
				prev = make([]byte, len(row))
			}
			ft := byte((y + pi) % 5)
			if r.filter != nil {
				ft = r.filter(pi, y)
			}
			out := make([]byte, len(row))
			for i := range row {
				var a, b, c byte
				if i >= bpp {
					a, c = row[i-bpp], prev[i-bpp]
				}
				b = prev[i]
				switch ft {
				case 0:
					out[i] = row[i]
				case 1:
					out[i] = row[i] - a
				case 2:
					out[i] = row[i] - b
				case 3:
					out[i] = row[i] - byte((int(a)+int(b))/2)
				case 4:
					out[i] = row[i] - paethRef(a, b, c)
				default:
					out[i] = row[i]
				}
			}
			raw = append(raw, ft)
			raw = append(raw, out...)
			if r.extraRow && y+p.dy >= r.h {
				raw = append(raw, 0)
				raw = append(raw, row...)
			}
			if r.dropRow && y+p.dy >= r.h {
				raw = raw[:len(raw)-len(row)-1]
			}
			prev = row
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()

	b := []byte(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(r.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(r.h))
	ihdr[8], ihdr[9] = r.depth, r.ctype
	if r.interlace {
		ihdr[12] = 1
	}
	b = pngChunkBytes(b, "IHDR", ihdr[:])
	if r.plte != nil {
		b = pngChunkBytes(b, "PLTE", r.plte)
	}
	if r.trns != nil {
		b = pngChunkBytes(b, "tRNS", r.trns)
	}
	for _, c := range r.before {
		b = pngChunkBytes(b, c[0], []byte(c[1]))
	}
	b = appendIDAT(b, z.Bytes(), r.idatSize)
	for _, c := range r.after {
		b = pngChunkBytes(b, c[0], []byte(c[1]))
	}
	return pngChunkBytes(b, "IEND", nil)
}

// appendIDAT appends stream as IDAT chunks of at most size bytes (one chunk
// when size <= 0).
func appendIDAT(b, stream []byte, size int) []byte {
	if size <= 0 {
		return pngChunkBytes(b, "IDAT", stream)
	}
	for len(stream) > 0 {
		n := min(size, len(stream))
		b = pngChunkBytes(b, "IDAT", stream[:n])
		stream = stream[n:]
	}
	return b
}

// splitIDAT rewrites a PNG with its image data in IDAT chunks of size bytes.
func splitIDAT(tb testing.TB, data []byte, size int) []byte {
	tb.Helper()
	return rewriteIDAT(tb, data, size, nil)
}

// rewriteIDAT rewrites a PNG with its zlib stream changed by edit (when not
// nil) and written in IDAT chunks of size bytes.
func rewriteIDAT(tb testing.TB, data []byte, size int, edit func([]byte) []byte) []byte {
	tb.Helper()
	out := []byte(pngSignature)
	var stream []byte
	for pos := len(pngSignature); pos < len(data); {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		typ, body := string(data[pos+4:pos+8]), data[pos+8:pos+8+n]
		pos += 12 + n
		switch typ {
		case "IDAT":
			stream = append(stream, body...)
		case "IEND":
			if edit != nil {
				stream = edit(stream)
			}
			out = appendIDAT(out, stream, size)
			return pngChunkBytes(out, "IEND", nil)
		default:
			out = pngChunkBytes(out, typ, body)
		}
	}
	tb.Fatal("splitIDAT: no IEND")
	return nil
}

// chunkOffsets returns the offset of each chunk of a well-formed PNG.
func chunkOffsets(data []byte) (offs []int, types []string) {
	for pos := len(pngSignature); pos+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		offs, types = append(offs, pos), append(types, string(data[pos+4:pos+8]))
		pos += 12 + n
	}
	return offs, types
}

// checkAgainstImagePNG decodes data with d and with image/png and requires
// the same pixels.
func checkAgainstImagePNG(t *testing.T, d *pngDecoder, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png cannot decode the test image: %v", err)
	}
	want := pngRefRGB(t, img)
	w, h, rgb, handled, err := d.decodeRGB(data, DefaultMaxPixels)
	if err != nil || !handled {
		t.Fatalf("decodeRGB: handled %v, err %v", handled, err)
	}
	if b := img.Bounds(); w != b.Dx() || h != b.Dy() {
		t.Fatalf("size %dx%d, image/png says %dx%d", w, h, b.Dx(), b.Dy())
	}
	if len(rgb) != 3*w*h {
		t.Fatalf("len(rgb) = %d, want %d", len(rgb), 3*w*h)
	}
	if i := firstDiff(rgb, want); i >= 0 {
		t.Fatalf("%T %dx%d: pixel %d (x=%d y=%d) = %v, want %v", img, w, h, i/3, i/3%w, i/3/w,
			rgb[i/3*3:i/3*3+3], want[i/3*3:i/3*3+3])
	}
}

// firstDiff is the first index where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// encodePNG encodes img with image/png at the given compression level.
func encodePNG(tb testing.TB, img image.Image, level png.CompressionLevel) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: level}
	if err := enc.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// encoderImages returns one image of every kind image/png's encoder writes,
// of size w x h, with random content from rng.
func encoderImages(rng *rand.Rand, w, h int) map[string]image.Image {
	r := image.Rect(0, 0, w, h)
	gray, gray16 := image.NewGray(r), image.NewGray16(r)
	rgba, nrgba := image.NewRGBA(r), image.NewNRGBA(r)
	rgba64, nrgba64 := image.NewRGBA64(r), image.NewNRGBA64(r)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.Uint32())
	}
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(rng.Uint32())
	}
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(rng.Uint32())
		if i%4 == 3 {
			rgba.Pix[i] = 0xff
		}
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.Uint32())
		if i%4 == 3 && rng.IntN(3) == 0 {
			nrgba.Pix[i] = []uint8{0, 0xff}[rng.IntN(2)]
		}
	}
	for i := range rgba64.Pix {
		rgba64.Pix[i] = uint8(rng.Uint32())
		if i%8 >= 6 {
			rgba64.Pix[i] = 0xff
		}
	}
	for i := range nrgba64.Pix {
		nrgba64.Pix[i] = uint8(rng.Uint32())
	}
	imgs := map[string]image.Image{
		"gray8": gray, "gray16": gray16, "rgb8": rgba, "rgba8": nrgba,
		"rgb16": rgba64, "rgba16": nrgba64,
	}
	// The encoder picks 1, 2, 4 or 8 bits from the palette size, and writes
	// tRNS when an entry is not opaque.
	for _, n := range []int{2, 3, 16, 200, 256} {
		pal := make(color.Palette, n)
		for i := range pal {
			pal[i] = color.NRGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 0xff}
			if i%3 == 1 {
				pal[i] = color.NRGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())}
			}
		}
		p := image.NewPaletted(r, pal)
		for i := range p.Pix {
			p.Pix[i] = uint8(rng.IntN(n))
		}
		imgs[fmt.Sprintf("palette%d", n)] = p
	}
	return imgs
}

func TestDecodeRGBMatchesImagePNGEncoded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	levels := map[string]png.CompressionLevel{
		"default": png.DefaultCompression, "none": png.NoCompression,
		"speed": png.BestSpeed, "best": png.BestCompression,
	}
	var d pngDecoder
	inPlace := pngDecoder{gatherMax: -1} // reads split IDAT data in place
	for _, size := range [][2]int{{1, 1}, {3, 2}, {7, 5}, {32, 32}, {33, 17}} {
		for kind, img := range encoderImages(rng, size[0], size[1]) {
			for lname, level := range levels {
				name := fmt.Sprintf("%s/%dx%d/%s", kind, size[0], size[1], lname)
				t.Run(name, func(t *testing.T) {
					data := encodePNG(t, img, level)
					checkAgainstImagePNG(t, &d, data)
					// The same stream cut into many IDAT chunks.
					split := splitIDAT(t, data, 7)
					checkAgainstImagePNG(t, &d, split)
					checkAgainstImagePNG(t, &inPlace, split)
				})
			}
		}
	}
}

// rawCases returns hand-built PNGs of every kind the fast path handles,
// including those image/png's encoder never writes.
func rawCases(rng *rand.Rand) map[string]rawPNG {
	cases := map[string]rawPNG{}
	for _, size := range [][2]int{{1, 1}, {5, 3}, {9, 4}, {17, 6}} {
		w, h := size[0], size[1]
		add := func(name string, r rawPNG) {
			r.w, r.h = w, h
			cases[fmt.Sprintf("%s/%dx%d", name, w, h)] = r
		}
		for _, depth := range []uint8{1, 2, 4, 8, 16} {
			max := uint16(1<<depth - 1)
			// A few levels only, so that the colour key occurs.
			levels := []uint16{0, max, max / 3, 1}
			px := func(x, y int) []uint16 { return []uint16{levels[(x*7+y*3+x*y)%len(levels)]} }
			add(fmt.Sprintf("gray%d", depth), rawPNG{depth: depth, ctype: 0, px: px})
			add(fmt.Sprintf("gray%d-key", depth), rawPNG{depth: depth, ctype: 0, px: px,
				trns: binary.BigEndian.AppendUint16(nil, max/3)})
			add(fmt.Sprintf("gray%d-key-absent", depth), rawPNG{depth: depth, ctype: 0, px: px,
				trns: binary.BigEndian.AppendUint16(nil, max/2+1)})
			// Out-of-range keys: image/png compares 8-bit keys on the low
			// byte and scales 1, 2 and 4-bit keys in 8 bits (overflowing).
			add(fmt.Sprintf("gray%d-key-out-of-range", depth), rawPNG{depth: depth, ctype: 0, px: px,
				trns: []byte{1, byte(max/3 + 1<<depth)}})
		}
		for _, depth := range []uint8{8, 16} {
			max := uint32(1)<<depth - 1
			rnd := func() uint16 { return uint16(rng.Uint32N(max + 1)) }
			add(fmt.Sprintf("grayalpha%d", depth), rawPNG{depth: depth, ctype: 4, px: func(x, y int) []uint16 {
				return []uint16{rnd(), []uint16{0, uint16(max), rnd()}[rng.IntN(3)]}
			}})
			add(fmt.Sprintf("rgba%d", depth), rawPNG{depth: depth, ctype: 6, px: func(x, y int) []uint16 {
				return []uint16{rnd(), rnd(), rnd(), []uint16{0, uint16(max), rnd()}[rng.IntN(3)]}
			}})
			keyed := func(x, y int) []uint16 {
				if (x+y)%3 == 0 {
					return []uint16{200, 17, 3}
				}
				return []uint16{rnd(), rnd(), rnd()}
			}
			add(fmt.Sprintf("rgb%d", depth), rawPNG{depth: depth, ctype: 2, px: keyed})
			key := []byte{0, 200, 0, 17, 0, 3}
			add(fmt.Sprintf("rgb%d-key", depth), rawPNG{depth: depth, ctype: 2, px: keyed, trns: key})
			add(fmt.Sprintf("rgb%d-key-plte", depth), rawPNG{depth: depth, ctype: 2, px: keyed, trns: key,
				plte: []byte{1, 2, 3, 4, 5, 6}})
			add(fmt.Sprintf("rgb%d-key-high-bytes", depth), rawPNG{depth: depth, ctype: 2, px: keyed,
				trns: []byte{1, 200, 2, 17, 3, 3}})
		}
		for _, depth := range []uint8{1, 2, 4, 8} {
			n := 1 << depth
			plte := make([]byte, 3*n)
			for i := range plte {
				plte[i] = uint8(rng.Uint32())
			}
			trns := make([]byte, n)
			for i := range trns {
				trns[i] = []byte{0, 0xff, 0x80, uint8(rng.Uint32())}[i%4]
			}
			px := func(x, y int) []uint16 { return []uint16{uint16(rng.IntN(n))} }
			add(fmt.Sprintf("palette%d", depth), rawPNG{depth: depth, ctype: 3, plte: plte, px: px})
			add(fmt.Sprintf("palette%d-trns", depth), rawPNG{depth: depth, ctype: 3, plte: plte, trns: trns, px: px})
			// tRNS shorter than the palette: the rest is opaque.
			add(fmt.Sprintf("palette%d-short-trns", depth), rawPNG{depth: depth, ctype: 3, plte: plte, trns: trns[:n/2], px: px})
			if n > 2 {
				// Indices beyond a short palette are opaque black (image/png),
				// or take the alpha of a longer tRNS.
				short := plte[:3*(n/2)]
				add(fmt.Sprintf("palette%d-out-of-range", depth), rawPNG{depth: depth, ctype: 3, plte: short, px: px})
				add(fmt.Sprintf("palette%d-trns-longer", depth), rawPNG{depth: depth, ctype: 3, plte: short, trns: trns, px: px})
			}
		}
	}
	return cases
}

func TestDecodeRGBMatchesImagePNGHandBuilt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var d pngDecoder
	inPlace := pngDecoder{gatherMax: -1}
	for name, r := range rawCases(rng) {
		t.Run(name, func(t *testing.T) {
			data := r.build(t)
			checkAgainstImagePNG(t, &d, data)
			r.idatSize = 3
			r.before = [][2]string{{"tEXt", "Comment\x00hand built"}}
			r.after = [][2]string{{"zzZz", "ancillary"}}
			split := r.build(t)
			checkAgainstImagePNG(t, &d, split)
			checkAgainstImagePNG(t, &inPlace, split)
		})
	}
}

func TestDecodeRGBCompositing(t *testing.T) {
	// One RGBA pixel per case, with the expected output worked out from
	// (c*a + 255*(255-a) + 127) / 255.
	for _, tc := range []struct {
		in   [4]uint16
		want [3]byte
	}{
		{[4]uint16{10, 20, 30, 255}, [3]byte{10, 20, 30}},
		{[4]uint16{10, 20, 30, 0}, [3]byte{255, 255, 255}},
		{[4]uint16{10, 20, 30, 128}, [3]byte{132, 137, 142}},
		{[4]uint16{0, 255, 100, 1}, [3]byte{254, 255, 254}},
		{[4]uint16{0, 0, 0, 254}, [3]byte{1, 1, 1}},
	} {
		data := rawPNG{w: 1, h: 1, depth: 8, ctype: 6, px: func(int, int) []uint16 { return tc.in[:] }}.build(t)
		var d pngDecoder
		_, _, rgb, handled, err := d.decodeRGB(data, DefaultMaxPixels)
		if err != nil || !handled || [3]byte(rgb) != tc.want {
			t.Errorf("%v: got %v (handled %v, err %v), want %v", tc.in, rgb, handled, err, tc.want)
		}
	}
}

func TestDecodeRGBNotHandled(t *testing.T) {
	var jpegLike = []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}
	interlaced := rawPNG{w: 11, h: 9, depth: 8, ctype: 6, interlace: true, px: func(x, y int) []uint16 {
		return []uint16{uint16(x * 20), uint16(y * 20), 7, uint16(x * y)}
	}}.build(t)
	// The interlaced file is valid: image/png, the fallback, reads it.
	if _, err := png.Decode(bytes.NewReader(interlaced)); err != nil {
		t.Fatalf("image/png: %v", err)
	}
	for name, data := range map[string][]byte{
		"empty":            nil,
		"short-signature":  []byte(pngSignature[:5]),
		"jpeg":             jpegLike,
		"gif":              []byte("GIF89a\x01\x00\x01\x00"),
		"text":             []byte("hello, world"),
		"bad-signature":    append([]byte("\x89PNG\r\n\x1a\x00"), interlaced[8:]...),
		"interlaced":       interlaced,
		"interlaced-rgb16": rawPNG{w: 3, h: 3, depth: 16, ctype: 2, interlace: true, px: func(x, y int) []uint16 { return []uint16{1, 2, 3} }}.build(t),
	} {
		var d pngDecoder
		_, _, rgb, handled, err := d.decodeRGB(data, DefaultMaxPixels)
		if handled || err != nil || rgb != nil {
			t.Errorf("%s: handled %v, err %v, rgb %d bytes; want not handled", name, handled, err, len(rgb))
		}
	}
}

// validSample is a small valid PNG with several chunks.
func validSample(t testing.TB) []byte {
	return rawPNG{w: 6, h: 5, depth: 8, ctype: 6, idatSize: 40,
		before: [][2]string{{"tEXt", "k\x00v"}},
		px: func(x, y int) []uint16 {
			return []uint16{uint16(x * 40), uint16(y * 50), uint16(x ^ y), uint16(255 - x*y)}
		}}.build(t)
}

func TestDecodeRGBErrors(t *testing.T) {
	good := validSample(t)
	offs, types := chunkOffsets(good)
	idx := func(typ string) int {
		for i, ty := range types {
			if ty == typ {
				return offs[i]
			}
		}
		t.Fatalf("no %s chunk", typ)
		return 0
	}
	iend := idx("IEND")
	// flip returns good with one byte changed.
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x21
		return b
	}
	// refresh recomputes the CRC of the chunk at off, so that only the
	// payload is wrong.
	refresh := func(b []byte, off int) []byte {
		n := int(binary.BigEndian.Uint32(b[off:]))
		binary.BigEndian.PutUint32(b[off+8+n:], crc32.ChecksumIEEE(b[off+4:off+8+n]))
		return b
	}
	ihdr := func(w, h uint32, depth, ctype, interlace byte) []byte {
		b := bytes.Clone(good[:8+8+13+4])
		binary.BigEndian.PutUint32(b[16:], w)
		binary.BigEndian.PutUint32(b[20:], h)
		b[24], b[25], b[28] = depth, ctype, interlace
		return append(refresh(b, 8), good[8+8+13+4:]...)
	}
	px8 := func(x, y int) []uint16 { return []uint16{uint16(x), uint16(y), 9} }
	pal := []byte{1, 2, 3, 4, 5, 6}
	palPx := func(x, y int) []uint16 { return []uint16{uint16(x % 2)} }

	cases := map[string][]byte{
		"signature-only":       good[:8],
		"missing-IEND":         good[:iend],
		"IEND-cut":             good[:len(good)-1],
		"IHDR-crc":             flip(8 + 8 + 13),
		"IHDR-data":            flip(8 + 8 + 2),
		"IDAT-crc":             flip(idx("IEND") - 1),
		"tEXt-crc":             flip(idx("tEXt") + 9),
		"IEND-crc":             flip(len(good) - 1),
		"zero-width":           ihdr(0, 5, 8, 6, 0),
		"negative-height":      ihdr(6, 0x80000000, 8, 6, 0),
		"bad-depth":            ihdr(6, 5, 3, 6, 0),
		"rgb-depth-4":          ihdr(6, 5, 4, 2, 0),
		"bad-colour-type":      ihdr(6, 5, 8, 5, 0),
		"bad-interlace":        ihdr(6, 5, 8, 6, 2),
		"wrong-size-too-big":   ihdr(7, 5, 8, 6, 0),
		"wrong-size-too-small": ihdr(5, 5, 8, 6, 0),
		"first-chunk-not-IHDR": append([]byte(pngSignature), good[idx("tEXt"):]...),
		"huge-chunk-length": func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[idx("tEXt"):], 0xfffffff0)
			return b
		}(),
		"chunk-past-end": func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[idx("tEXt"):], 1000)
			return b
		}(),
		"bad-zlib-header": func() []byte {
			b := bytes.Clone(good)
			off := idx("IDAT")
			b[off+8] = 0x79
			return refresh(b, off)
		}(),
		"zlib-dictionary": func() []byte {
			b := bytes.Clone(good)
			off := idx("IDAT")
			b[off+8], b[off+9] = 0x78, 0xbb
			return refresh(b, off)
		}(),
		"bad-filter":      rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, filter: func(_, y int) byte { return byte(5 * (y % 2)) }}.build(t),
		"extra-row":       rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, extraRow: true}.build(t),
		"missing-row":     rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, dropRow: true}.build(t),
		"palette-no-PLTE": rawPNG{w: 4, h: 3, depth: 1, ctype: 3, px: palPx}.build(t),
		"palette-PLTE-too-long": rawPNG{w: 4, h: 3, depth: 1, ctype: 3, px: palPx,
			plte: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}}.build(t),
		"PLTE-in-gray":      rawPNG{w: 4, h: 3, depth: 8, ctype: 0, px: palPx, plte: pal}.build(t),
		"tRNS-in-rgba":      rawPNG{w: 4, h: 3, depth: 8, ctype: 6, px: func(x, y int) []uint16 { return []uint16{1, 2, 3, 4} }, trns: []byte{0, 1}}.build(t),
		"tRNS-bad-length":   rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, trns: []byte{0, 1}}.build(t),
		"tRNS-before-PLTE":  rawPNG{w: 4, h: 3, depth: 1, ctype: 3, px: palPx, before: [][2]string{{"tRNS", "\x00"}, {"PLTE", "abcdef"}}}.build(t),
		"PLTE-after-IDAT":   rawPNG{w: 4, h: 3, depth: 1, ctype: 3, px: palPx, plte: pal, after: [][2]string{{"PLTE", "abcdef"}}}.build(t),
		"second-IHDR":       rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, after: [][2]string{{"IHDR", "0123456789abc"}}}.build(t),
		"IEND-with-payload": append(bytes.Clone(good[:iend]), pngChunkBytes(nil, "IEND", []byte{1})...),
		"IEND-before-IDAT":  rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, before: [][2]string{{"IEND", ""}}}.build(t),
		"IHDR-length": append(pngChunkBytes([]byte(pngSignature), "IHDR", good[16:16+12]),
			good[8+8+13+4:]...),
		"compression-method": func() []byte {
			b := bytes.Clone(good)
			b[8+8+10] = 1
			return refresh(b, 8)
		}(),
		"second-tRNS":          rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, trns: []byte{0, 1, 0, 2, 0, 3}, before: [][2]string{{"tRNS", "\x00\x01\x00\x02\x00\x03"}}}.build(t),
		"gray-tRNS-length":     rawPNG{w: 4, h: 3, depth: 8, ctype: 0, px: palPx, trns: []byte{0, 1, 2}}.build(t),
		"gray-tRNS-after-IDAT": rawPNG{w: 4, h: 3, depth: 8, ctype: 0, px: palPx, after: [][2]string{{"tRNS", "\x00\x01"}}}.build(t),
		"rgb-tRNS-after-IDAT":  rawPNG{w: 4, h: 3, depth: 8, ctype: 2, px: px8, after: [][2]string{{"tRNS", "\x00\x01\x00\x02\x00\x03"}}}.build(t),
		"palette-tRNS-length":  rawPNG{w: 4, h: 3, depth: 8, ctype: 3, px: palPx, plte: pal, trns: make([]byte, 257)}.build(t),
		"zlib-one-byte":        rewriteIDAT(t, good, 0, func(s []byte) []byte { return s[:1] }),
		"zlib-no-checksum":     rewriteIDAT(t, good, 0, func(s []byte) []byte { return s[:len(s)-4] }),
		"zlib-short-checksum":  rewriteIDAT(t, good, 5, func(s []byte) []byte { return s[:len(s)-2] }),
		"zlib-bad-checksum": rewriteIDAT(t, good, 0, func(s []byte) []byte {
			s[len(s)-1]++
			return s
		}),
		"deflate-cut": rewriteIDAT(t, good, 0, func(s []byte) []byte { return s[:len(s)/2] }),
	}
	// Every truncation of the file is an error.
	for n := len(pngSignature); n < len(good); n++ {
		cases[fmt.Sprintf("truncated-%d", n)] = good[:n]
	}
	// A flipped byte anywhere in the chunks is caught (mostly by the CRC).
	for at := len(pngSignature); at < len(good); at++ {
		cases[fmt.Sprintf("flipped-%d", at)] = flip(at)
	}
	var d pngDecoder
	for name, data := range cases {
		_, _, rgb, handled, err := d.decodeRGB(data, DefaultMaxPixels)
		if !errors.Is(err, ErrDecode) {
			t.Errorf("%s: handled %v, err %v, rgb %d bytes; want ErrDecode", name, handled, err, len(rgb))
		}
	}
	// The decoder still works after all those errors.
	checkAgainstImagePNG(t, &d, good)
}

func TestDecodeRGBCorruptIDAT(t *testing.T) {
	// Corrupt the compressed data but keep the chunk CRC right: the zlib
	// layer must notice, or the pixels must be unchanged (a flip in padding
	// bits of the last deflate byte changes nothing).
	rng := rand.New(rand.NewPCG(5, 6))
	data := encodePNG(t, encoderImages(rng, 16, 16)["rgba8"], png.DefaultCompression)
	var d pngDecoder
	_, _, want, _, err := d.decodeRGB(data, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.Clone(want)
	offs, types := chunkOffsets(data)
	for i, typ := range types {
		if typ != "IDAT" {
			continue
		}
		off := offs[i]
		n := int(binary.BigEndian.Uint32(data[off:]))
		caught := 0
		for at := off + 8; at < off+8+n; at++ {
			for _, mask := range []byte{0x01, 0x10, 0x80} {
				b := bytes.Clone(data)
				b[at] ^= mask
				binary.BigEndian.PutUint32(b[off+8+n:], crc32.ChecksumIEEE(b[off+4:off+8+n]))
				_, _, rgb, handled, err := d.decodeRGB(b, DefaultMaxPixels)
				switch {
				case errors.Is(err, ErrDecode):
					caught++
				case err == nil && handled && bytes.Equal(rgb, want):
				default:
					t.Fatalf("byte %d ^ %#x: handled %v, err %v, pixels changed %v", at-off-8, mask, handled, err, firstDiff(rgb, want))
				}
			}
		}
		if caught == 0 {
			t.Fatal("no corruption was caught")
		}
	}
}

func TestDecodeRGBTooLarge(t *testing.T) {
	good := validSample(t)
	withSize := func(w, h uint32) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[16:], w)
		binary.BigEndian.PutUint32(b[20:], h)
		binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
		return b
	}
	for _, tc := range []struct {
		name      string
		w, h      uint32
		maxPixels int64
		want      error
	}{
		{"over-limit", 6, 5, 29, ErrImageTooLarge},
		{"at-limit", 6, 5, 30, nil},
		{"huge", 100000, 100000, DefaultMaxPixels, ErrImageTooLarge},
		{"max-dims", math.MaxInt32, math.MaxInt32, math.MaxInt64, ErrImageTooLarge},
		// Within the limit, but far more pixels than the data can hold:
		// refused as truncated before the buffers are allocated.
		{"bomb-within-limit", 8192, 8192, DefaultMaxPixels, ErrDecode},
		{"wide-within-limit", 1 << 26, 1, DefaultMaxPixels, ErrDecode},
	} {
		var d pngDecoder
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, _, handled, err := d.decodeRGB(withSize(tc.w, tc.h), tc.maxPixels)
		runtime.ReadMemStats(&after)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) || !handled {
			t.Errorf("%s: handled %v, err %v, want %v", tc.name, handled, err, tc.want)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: allocated %d bytes", tc.name, grew)
		}
	}
	// A huge interlaced image is too large as well, not left to image/png.
	interlaced := withSize(100000, 100000)
	interlaced[28] = 1
	binary.BigEndian.PutUint32(interlaced[29:], crc32.ChecksumIEEE(interlaced[12:29]))
	var d pngDecoder
	if _, _, _, _, err := d.decodeRGB(interlaced, DefaultMaxPixels); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("huge interlaced: err %v, want ErrImageTooLarge", err)
	}
}

func TestDecodeRGBTrailingData(t *testing.T) {
	good := validSample(t)
	var d pngDecoder
	cases := map[string][]byte{
		// image/png stops at IEND; so does the fast path.
		"after-IEND": append(bytes.Clone(good), "trailing garbage"...),
		// IDAT chunks after another chunk followed the image data are
		// ignored, as by image/png.
		// Bytes after the zlib checksum in the last IDAT are ignored.
		"after-zlib-stream": rewriteIDAT(t, good, 0, func(s []byte) []byte { return append(s, "xyz"...) }),
		"late-IDAT": rawPNG{w: 3, h: 2, depth: 8, ctype: 0, px: func(x, y int) []uint16 { return []uint16{uint16(x + y)} },
			after: [][2]string{{"tEXt", "a\x00b"}, {"IDAT", "junk"}}}.build(t),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) { checkAgainstImagePNG(t, &d, data) })
	}
}

func TestDecodeRGBReuse(t *testing.T) {
	// One decoder across sizes and kinds, big to small and back, with an
	// error in between: every result matches a fresh decode.
	rng := rand.New(rand.NewPCG(7, 8))
	var seq [][]byte
	for _, size := range [][2]int{{40, 30}, {2, 2}, {33, 1}, {1, 40}, {16, 16}} {
		imgs := encoderImages(rng, size[0], size[1])
		for _, kind := range []string{"rgba8", "palette3", "gray16", "rgb8", "palette256", "gray8"} {
			seq = append(seq, encodePNG(t, imgs[kind], png.DefaultCompression))
		}
	}
	for _, r := range rawCases(rng) {
		if len(seq)%4 == 0 {
			seq = append(seq, []byte("not a png"), validSample(t)[:50])
		}
		seq = append(seq, r.build(t))
	}
	var d pngDecoder
	for i, data := range seq {
		var fresh pngDecoder
		w0, h0, want, handled0, err0 := fresh.decodeRGB(data, DefaultMaxPixels)
		w, h, got, handled, err := d.decodeRGB(data, DefaultMaxPixels)
		if w != w0 || h != h0 || handled != handled0 || (err == nil) != (err0 == nil) || !bytes.Equal(got, want) {
			t.Fatalf("image %d: reused decoder gave %dx%d handled %v err %v, fresh %dx%d handled %v err %v",
				i, w, h, handled, err, w0, h0, handled0, err0)
		}
		if err == nil && handled {
			img, perr := png.Decode(bytes.NewReader(data))
			if perr != nil {
				t.Fatalf("image %d: image/png: %v", i, perr)
			}
			if j := firstDiff(got, pngRefRGB(t, img)); j >= 0 {
				t.Fatalf("image %d: differs from image/png at byte %d", i, j)
			}
		}
	}
}

func TestDecodeRGBLargeSplitStream(t *testing.T) {
	// A stream split over many IDAT chunks (as libpng writes them) is
	// copied into one buffer for the decode; a buffer above pngKeepGather
	// is not kept afterwards, a small one is.
	rng := rand.New(rand.NewPCG(15, 16))
	img := image.NewNRGBA(image.Rect(0, 0, 700, 500))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	big := splitIDAT(t, encodePNG(t, img, png.NoCompression), 8192)
	small := splitIDAT(t, validSample(t), 10)
	var d pngDecoder
	checkAgainstImagePNG(t, &d, big)
	if d.gather != nil {
		t.Errorf("kept a %d-byte gather buffer", cap(d.gather))
	}
	checkAgainstImagePNG(t, &d, small)
	if d.gather == nil {
		t.Error("small gather buffer not kept")
	}
	inPlace := pngDecoder{gatherMax: -1}
	checkAgainstImagePNG(t, &inPlace, big)
}

func TestDecodeRGBNoAllocations(t *testing.T) {
	// With the default (klauspost) inflater a warm decoder allocates
	// nothing; compress/flate would allocate Huffman tables per block.
	rng := rand.New(rand.NewPCG(9, 10))
	data := encodePNG(t, benchPicture(rng.Uint64(), 32, 32), png.DefaultCompression)
	split := splitIDAT(t, data, 100)
	for name, tc := range map[string]struct {
		in        []byte
		gatherMax int64
	}{"one-IDAT": {data, 0}, "split-IDAT": {split, 0}, "split-IDAT-in-place": {split, -1}} {
		d := pngDecoder{gatherMax: tc.gatherMax}
		in := tc.in
		d.decodeRGB(in, DefaultMaxPixels)
		allocs := testing.AllocsPerRun(20, func() {
			if _, _, _, ok, err := d.decodeRGB(in, DefaultMaxPixels); !ok || err != nil {
				t.Fatal(ok, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per decode after warm-up", name, allocs)
		}
	}
}

func BenchmarkDecodePNG32(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	files := make([][]byte, 256)
	split := make([][]byte, len(files))
	size := 0
	for i := range files {
		files[i] = encodePNG(b, benchPicture(rng.Uint64(), 32, 32), png.DefaultCompression)
		split[i] = splitIDAT(b, files[i], 256)
		size += len(files[i])
	}
	b.Logf("%d files, %d bytes on average", len(files), size/len(files))
	fast := func(set [][]byte, inflate func(io.Reader) io.ReadCloser, gatherMax int64) func(b *testing.B) {
		return func(b *testing.B) {
			d := pngDecoder{inflate: inflate, gatherMax: gatherMax}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, _, ok, err := d.decodeRGB(set[i%len(set)], DefaultMaxPixels); !ok || err != nil {
					b.Fatal(ok, err)
				}
				i++
			}
		}
	}
	// "fast" is the default: libdeflate in one call where the system has
	// it, else klauspost's reader; the others choose the reader.
	b.Run("fast", fast(files, nil, 0))
	b.Run("fast-klauspost", fast(files, kflate.NewReader, 0))
	b.Run("fast-stdlib-flate", fast(files, stdflate.NewReader, 0))
	b.Run("fast-split-IDAT", fast(split, nil, 0))
	b.Run("fast-klauspost-split-IDAT-in-place", fast(split, kflate.NewReader, -1))
	b.Run("fast-stdlib-flate-split-IDAT", fast(split, stdflate.NewReader, 0))
	b.Run("fast-stdlib-flate-split-IDAT-in-place", fast(split, stdflate.NewReader, -1))
	// The zlib streams alone, through each library's zlib reader (reset,
	// not reallocated), to compare the inflaters without the PNG work.
	streams := make([][]byte, len(files))
	for i, f := range files {
		rewriteIDAT(b, f, 0, func(s []byte) []byte {
			streams[i] = bytes.Clone(s)
			return s
		})
	}
	inflateOnly := func(newReader func(io.Reader) (io.ReadCloser, error)) func(b *testing.B) {
		return func(b *testing.B) {
			var src bytes.Reader
			src.Reset(streams[0])
			zr, err := newReader(&src)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 8192)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				src.Reset(streams[i%len(streams)])
				if err := zr.(zlib.Resetter).Reset(&src, nil); err != nil {
					b.Fatal(err)
				}
				for {
					_, err := zr.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		}
	}
	b.Run("inflate-only-stdlib-zlib", inflateOnly(zlib.NewReader))
	b.Run("inflate-only-klauspost-zlib", inflateOnly(kzlib.NewReader))
	b.Run("image-png", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			img, err := png.Decode(bytes.NewReader(files[i%len(files)]))
			if err != nil {
				b.Fatal(err)
			}
			pngToRGB(img)
			i++
		}
	})
}

// pngToRGB converts an image/png result to packed RGB over white, the way a
// caller without the fast path would.
func pngToRGB(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	if m, ok := img.(*image.RGBA); ok {
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*b.Dx()]
			for x := 0; x < len(row); x += 4 {
				out = append(out, row[x], row[x+1], row[x+2])
			}
		}
		return out
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, compositeRef(c.R, c.A), compositeRef(c.G, c.A), compositeRef(c.B, c.A))
		}
	}
	return out
}

// fuzzSeeds are small valid PNGs of several kinds.
func fuzzSeeds(tb testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(13, 14))
	imgs := encoderImages(rng, 3, 2)
	seeds := [][]byte{validSample(tb)}
	for _, kind := range []string{"gray8", "rgb8", "rgba8", "palette3", "palette16", "gray16", "rgba16"} {
		seeds = append(seeds, encodePNG(tb, imgs[kind], png.BestSpeed))
	}
	px := func(x, y int) []uint16 { return []uint16{uint16(x+y) % 4} }
	seeds = append(seeds,
		rawPNG{w: 5, h: 2, depth: 2, ctype: 0, px: px, trns: []byte{0, 2}}.build(tb),
		rawPNG{w: 5, h: 2, depth: 2, ctype: 3, px: px, plte: []byte{1, 2, 3, 4, 5, 6}, trns: []byte{0x80}, idatSize: 5}.build(tb),
		rawPNG{w: 3, h: 2, depth: 8, ctype: 4, px: func(x, y int) []uint16 { return []uint16{uint16(x * 9), uint16(y * 99)} }}.build(tb),
		rawPNG{w: 3, h: 2, depth: 16, ctype: 2, px: func(x, y int) []uint16 { return []uint16{1, 2, 3} }, trns: []byte{0, 1, 0, 2, 0, 3}}.build(tb),
		rawPNG{w: 3, h: 3, depth: 8, ctype: 2, interlace: true, px: func(x, y int) []uint16 { return []uint16{1, 2, 3} }}.build(tb),
	)
	return seeds
}

func FuzzDecodeRGB(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheck(t, data, seeds[0])
		// Most mutations break a CRC; with the CRCs repaired the same input
		// reaches the header, palette and zlib code.
		fuzzCheck(t, fixCRCs(data), seeds[0])
	})
}

// fixCRCs returns a copy of data with the CRC of every complete chunk
// recomputed.
func fixCRCs(data []byte) []byte {
	b := bytes.Clone(data)
	for pos := len(pngSignature); pos+12 <= len(b); {
		n := binary.BigEndian.Uint32(b[pos:])
		if uint64(n) > uint64(len(b)-pos-12) {
			break
		}
		end := pos + 8 + int(n)
		binary.BigEndian.PutUint32(b[end:], crc32.ChecksumIEEE(b[pos+4:end]))
		pos = end + 4
	}
	return b
}

// fuzzCheck decodes data and checks the result against image/png, and a
// reused decoder against a fresh one.
func fuzzCheck(t *testing.T, data, other []byte) {
	t.Helper()
	const maxPixels = 1 << 16
	var d pngDecoder
	w, h, rgb, handled, err := d.decodeRGB(data, maxPixels)
	if err != nil {
		if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrImageTooLarge) {
			t.Fatalf("error wraps neither ErrDecode nor ErrImageTooLarge: %v", err)
		}
	} else if handled {
		if w <= 0 || h <= 0 || len(rgb) != 3*w*h {
			t.Fatalf("%dx%d with %d bytes", w, h, len(rgb))
		}
	} else if len(data) >= 29 && string(data[:8]) == pngSignature && data[28] != 1 {
		t.Fatalf("non-interlaced PNG not handled")
	}
	rgb = bytes.Clone(rgb)

	// Reuse after a different image gives the same answer, and so does
	// reading split IDAT data in place.
	d.decodeRGB(other, maxPixels)
	d.gatherMax = -1
	w2, h2, rgb2, handled2, err2 := d.decodeRGB(data, maxPixels)
	if w2 != w || h2 != h || handled2 != handled || (err2 == nil) != (err == nil) || !bytes.Equal(rgb2, rgb) {
		t.Fatalf("reused decoder disagrees: %v %v / %v %v", handled, err, handled2, err2)
	}

	cfg, cerr := png.DecodeConfig(bytes.NewReader(data))
	if cerr != nil || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return
	}
	img, perr := png.Decode(bytes.NewReader(data))
	if perr != nil {
		return
	}
	if err != nil {
		t.Fatalf("image/png decodes it, the fast path says %v", err)
	}
	if handled {
		if j := firstDiff(rgb, pngRefRGB(t, img)); j >= 0 {
			t.Fatalf("pixels differ from image/png at byte %d", j)
		}
	}
}
