package db

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Fixtures for the ingest tests. Names start with scanfx so that they do not
// clash with other tests of the package.

// scanfxRGBA returns an opaque w x h picture whose colours depend on seed.
func scanfxRGBA(w, h, seed int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x*37 + seed), uint8(y*53 + 3*seed), uint8((x + y) * 11), 0xff})
		}
	}
	return m
}

// scanfxNoise returns an opaque w x h picture of random pixels, which
// compresses badly and so makes files larger than the read buffer.
func scanfxNoise(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.Uint32())
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	return m
}

// scanfxGray returns a w x h gray ramp.
func scanfxGray(w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	return m
}

// scanfxEncode encodes m as png, jpeg, gif, bmp or tiff.
func scanfxEncode(t testing.TB, format string, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&b, m, nil)
	case "bmp":
		err = bmp.Encode(&b, m)
	case "tiff":
		err = tiff.Encode(&b, m, nil)
	case "tiff-deflate":
		err = tiff.Encode(&b, m, &tiff.Options{Compression: tiff.Deflate})
	default:
		t.Fatalf("unknown format %q", format)
	}
	if err != nil {
		t.Fatalf("encode %s: %v", format, err)
	}
	return b.Bytes()
}

// scanfxAnimatedGIF encodes a two-frame looping GIF with a transparent
// colour, so the file holds extension blocks and several images.
func scanfxAnimatedGIF(t testing.TB) []byte {
	t.Helper()
	pal := color.Palette{color.Transparent, color.Black, color.White, color.RGBA{0xff, 0, 0, 0xff}}
	var frames []*image.Paletted
	for i := range 2 {
		p := image.NewPaletted(image.Rect(0, 0, 6, 5), pal)
		for j := range p.Pix {
			p.Pix[j] = uint8((j + i) % 4)
		}
		frames = append(frames, p)
	}
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{Image: frames, Delay: []int{10, 10}, LoopCount: 0})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scanfxPNGChunk returns one PNG chunk with its CRC.
func scanfxPNGChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// scanfxRawPNG builds an 8-bit PNG by hand, for colour types and sizes that
// image/png does not write. With rows nil the file has no IDAT chunk (a
// header that only declares a size); with end false it has no IEND.
func scanfxRawPNG(w, h uint32, colorType byte, rows [][]byte, end bool) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, colorType, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, scanfxPNGChunk("IHDR", ihdr)...)
	if rows != nil {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		for _, r := range rows {
			zw.Write([]byte{0}) // filter: none
			zw.Write(r)
		}
		zw.Close()
		out = append(out, scanfxPNGChunk("IDAT", z.Bytes())...)
	}
	if end {
		out = append(out, scanfxPNGChunk("IEND", nil)...)
	}
	return out
}

// scanfxRawTIFF builds a little-endian 8-bit gray TIFF whose directory comes
// before the pixel data (x/image/tiff writes it after), so that a cut in the
// pixel data leaves the directory intact.
func scanfxRawTIFF(w, h int) []byte {
	type entry struct{ tag, typ, val uint32 }
	const dataOff = 8 + 2 + 9*12 + 4
	entries := []entry{
		{256, 3, uint32(w)}, {257, 3, uint32(h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
		{273, 4, dataOff}, {277, 3, 1}, {278, 3, uint32(h)}, {279, 4, uint32(w * h)},
	}
	le := binary.LittleEndian
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = le.AppendUint16(b, uint16(e.tag))
		b = le.AppendUint16(b, uint16(e.typ))
		b = le.AppendUint32(b, 1)
		if e.typ == 3 {
			b = le.AppendUint16(b, uint16(e.val))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.val)
		}
	}
	b = le.AppendUint32(b, 0) // no next IFD
	for i := range w * h {
		b = append(b, uint8(i*5))
	}
	return b
}

// scanfxWithThumbnail inserts an APP1 (EXIF) segment that holds a whole
// JPEG thumbnail, with its own EOI marker, right after main's SOI.
func scanfxWithThumbnail(main, thumb []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), thumb...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, main[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, main[2:]...)
}

// WebP files made with cwebp 1.2.4 (Debian package webp): there is no WebP
// encoder in Go.
var scanfxWebP = map[string]string{
	// 3x2, lossless (VP8L) with alpha
	"lossless-alpha": "5249464634000000574542505650384c270000002f024000102f3078028124c451471c64810021569657c12529982608042863c501a744f43f961700",
	// 5x4, lossless (VP8L), opaque
	"lossless-rgb": "524946462c000000574542505650384c1f0000002f04c00000993244f43f3611d1ff804020096c7fb4194666b422284901000700",
	// 5x4, lossy (VP8)
	"lossy": "524946465a00000057454250565038204e0000005002009d012a0500040001402625b002744c807ea001d9adc36c0000fef365579c5e111f2f3f3a96752ef5fc819f0de8fdfa7dacebe4bff51c357fd7c8aa8ffdff38745ac4cffffa302f9ef68000",
	// 3x2, lossy with an alpha chunk (VP8X + ALPH + VP8)
	"lossy-alpha": "524946467400000057454250565038580a00000010000000020000010000414c50480700000000ff9b37ff9b37005650382046000000f001009d012a0300020001402625a80274ba000308f78c7000fed2a72857ebfb5fa597ff5ce1867cffc833ff39c30cf9f7b0ff8ff965fbfff26ff96fa57d357dfff937f81000",
}

func scanfxWebPBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(scanfxWebP[name])
	if err != nil || len(b) == 0 {
		t.Fatalf("webp fixture %q: %v", name, err)
	}
	return b
}

// scanfxWrite writes data to dir/name and returns the path.
func scanfxWrite(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// scanfxSHA returns the lowercase hex SHA-256 of data.
func scanfxSHA(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func scanfxCut(b []byte, n int) []byte { return append([]byte{}, b[:n]...) }

func TestInspectImage(t *testing.T) {
	dir := t.TempDir()

	pngRGB := scanfxEncode(t, "png", scanfxRGBA(8, 6, 1))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i * 9)
	}
	pngRGBA := scanfxEncode(t, "png", nrgba)
	pngGray := scanfxEncode(t, "png", scanfxGray(7, 2))
	pngGA := scanfxRawPNG(3, 2, 4, [][]byte{{10, 255, 20, 128, 30, 0}, {40, 255, 50, 255, 60, 255}}, true)
	opaquePal := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
	transPal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Transparent, color.White})
	pngPal := scanfxEncode(t, "png", opaquePal)
	pngPalAlpha := scanfxEncode(t, "png", transPal)
	pngBig := scanfxEncode(t, "png", scanfxNoise(300, 300, 7)) // ~270 KB: several read buffers
	pngBomb := scanfxRawPNG(100000, 100000, 2, nil, true)
	pngBadCRC := append([]byte{}, pngRGB...)
	pngBadCRC[29] ^= 0xff // last byte of the IHDR CRC

	jpegRGB := scanfxEncode(t, "jpeg", scanfxRGBA(16, 8, 2))
	jpegGray := scanfxEncode(t, "jpeg", scanfxGray(9, 9))
	jpegBig := scanfxEncode(t, "jpeg", scanfxNoise(200, 150, 3))
	jpegThumb := scanfxWithThumbnail(jpegBig, scanfxEncode(t, "jpeg", scanfxRGBA(8, 8, 5)))

	gifOne := scanfxEncode(t, "gif", scanfxRGBA(9, 4, 3))
	gifAnim := scanfxAnimatedGIF(t)
	gifBomb := []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00\x3b")
	gifBadBlock := append(scanfxCut(gifAnim, len(gifAnim)-1), 0x00)

	bmp24 := scanfxEncode(t, "bmp", scanfxRGBA(5, 3, 4)) // rows padded from 15 to 16 bytes
	bmp32 := scanfxEncode(t, "bmp", nrgba)
	bmp8 := scanfxEncode(t, "bmp", scanfxGray(3, 3))

	tiffRGBA := scanfxEncode(t, "tiff", scanfxRGBA(6, 5, 6))
	tiffGray := scanfxEncode(t, "tiff-deflate", scanfxGray(10, 4))
	tiffPal := scanfxEncode(t, "tiff", opaquePal)
	tiffRaw := scanfxRawTIFF(12, 10)

	text := []byte("hello, this is not an image\n")

	type want struct {
		mime          string
		width, height int
		channels      int
	}
	tests := []struct {
		name      string
		file      string
		data      []byte
		maxPixels int64
		want      want
		wantErr   error // sentinel; nil means success
	}{
		{"png rgb", "a.png", pngRGB, 0, want{"image/png", 8, 6, 3}, nil},
		{"png rgba", "a.png", pngRGBA, 0, want{"image/png", 5, 3, 4}, nil},
		{"png gray", "a.png", pngGray, 0, want{"image/png", 7, 2, 1}, nil},
		{"png gray+alpha", "a.png", pngGA, 0, want{"image/png", 3, 2, 2}, nil},
		{"png palette", "a.png", pngPal, 0, want{"image/png", 4, 4, 3}, nil},
		{"png palette with transparency", "a.png", pngPalAlpha, 0, want{"image/png", 4, 4, 4}, nil},
		{"png larger than the read buffer", "a.png", pngBig, 0, want{"image/png", 300, 300, 3}, nil},
		{"png named .jpg is a png", "photo.jpg", pngRGB, 0, want{"image/png", 8, 6, 3}, nil},
		{"png with no extension", "picture", pngRGB, 0, want{"image/png", 8, 6, 3}, nil},
		{"png with bytes after IEND", "a.png", append(append([]byte{}, pngRGB...), "trailing"...), 0, want{"image/png", 8, 6, 3}, nil},
		{"png at exactly the pixel limit", "a.png", pngRGB, 48, want{"image/png", 8, 6, 3}, nil},
		{"jpeg ycbcr", "a.jpg", jpegRGB, 0, want{"image/jpeg", 16, 8, 3}, nil},
		{"jpeg gray", "a.jpeg", jpegGray, 0, want{"image/jpeg", 9, 9, 1}, nil},
		{"jpeg with exif thumbnail", "a.jpg", jpegThumb, 0, want{"image/jpeg", 200, 150, 3}, nil},
		{"jpeg with bytes after EOI", "a.jpg", append(append([]byte{}, jpegRGB...), 0, 0, 0, 0), 0, want{"image/jpeg", 16, 8, 3}, nil},
		{"gif", "a.gif", gifOne, 0, want{"image/gif", 9, 4, 3}, nil},
		{"gif animated", "a.gif", gifAnim, 0, want{"image/gif", 6, 5, 3}, nil},
		{"gif with bytes after trailer", "a.gif", append(append([]byte{}, gifOne...), "\x00\x00"...), 0, want{"image/gif", 9, 4, 3}, nil},
		{"bmp 24-bit", "a.bmp", bmp24, 0, want{"image/bmp", 5, 3, 3}, nil},
		{"bmp 32-bit, info header (alpha ignored)", "a.bmp", bmp32, 0, want{"image/bmp", 5, 3, 3}, nil},
		{"bmp 8-bit palette", "a.bmp", bmp8, 0, want{"image/bmp", 3, 3, 3}, nil},
		{"tiff rgba, directory last", "a.tif", tiffRGBA, 0, want{"image/tiff", 6, 5, 4}, nil},
		{"tiff gray deflate", "a.tiff", tiffGray, 0, want{"image/tiff", 10, 4, 1}, nil},
		{"tiff palette", "a.tiff", tiffPal, 0, want{"image/tiff", 4, 4, 3}, nil},
		{"tiff gray, directory first", "a.tiff", tiffRaw, 0, want{"image/tiff", 12, 10, 1}, nil},
		{"webp lossless alpha", "a.webp", scanfxWebPBytes(t, "lossless-alpha"), 0, want{"image/webp", 3, 2, 4}, nil},
		{"webp lossless opaque", "a.webp", scanfxWebPBytes(t, "lossless-rgb"), 0, want{"image/webp", 5, 4, 3}, nil},
		{"webp lossy", "a.webp", scanfxWebPBytes(t, "lossy"), 0, want{"image/webp", 5, 4, 3}, nil},
		{"webp lossy alpha", "a.webp", scanfxWebPBytes(t, "lossy-alpha"), 0, want{"image/webp", 3, 2, 4}, nil},

		{"empty", "a.png", nil, 0, want{}, ErrEmptyFile},
		{"text named .png", "a.png", text, 0, want{}, ErrNotImage},
		{"text starting with BM", "a.bmp", []byte("BMW is a car maker"), 0, want{}, ErrNotImage},
		{"gif magic only", "a.gif", []byte("GIF8"), 0, want{}, ErrNotImage},
		{"png bad header CRC", "a.png", pngBadCRC, 0, want{}, ErrNotImage},
		{"gif unknown block", "a.gif", gifBadBlock, 0, want{}, ErrNotImage},
		{"png cut in IDAT", "a.png", scanfxCut(pngBig, len(pngBig)/2), 0, want{}, ErrTruncated},
		{"png header only", "a.png", scanfxRawPNG(8, 6, 2, nil, false), 0, want{}, ErrTruncated},
		{"png cut in IHDR", "a.png", scanfxCut(pngRGB, 20), 0, want{}, ErrTruncated},
		{"png missing last byte", "a.png", scanfxCut(pngRGB, len(pngRGB)-1), 0, want{}, ErrTruncated},
		{"png 100000x100000", "a.png", pngBomb, 0, want{}, ErrImageTooLarge},
		{"png 100000x100000, header only", "a.png", scanfxRawPNG(100000, 100000, 2, nil, false), 0, want{}, ErrImageTooLarge},
		{"png above the pixel limit", "a.png", pngRGB, 47, want{}, ErrImageTooLarge},
		{"jpeg cut in half", "a.jpg", scanfxCut(jpegBig, len(jpegBig)/2), 0, want{}, ErrTruncated},
		{"jpeg without EOI", "a.jpg", scanfxCut(jpegRGB, len(jpegRGB)-2), 0, want{}, ErrTruncated},
		{"jpeg cut in header", "a.jpg", scanfxCut(jpegRGB, 100), 0, want{}, ErrTruncated},
		{"jpeg with thumbnail, main image cut", "a.jpg", scanfxCut(jpegThumb, len(jpegThumb)-500), 0, want{}, ErrTruncated},
		{"gif without trailer", "a.gif", scanfxCut(gifAnim, len(gifAnim)-1), 0, want{}, ErrTruncated},
		{"gif cut in half", "a.gif", scanfxCut(gifAnim, len(gifAnim)/2), 0, want{}, ErrTruncated},
		{"gif 65535x65535", "a.gif", gifBomb, 0, want{}, ErrImageTooLarge},
		{"bmp cut in pixels", "a.bmp", scanfxCut(bmp24, len(bmp24)-3), 0, want{}, ErrTruncated},
		{"bmp cut in header", "a.bmp", scanfxCut(bmp24, 20), 0, want{}, ErrTruncated},
		{"webp cut", "a.webp", scanfxCut(scanfxWebPBytes(t, "lossy"), 80), 0, want{}, ErrTruncated},
		{"webp cut in header", "a.webp", scanfxCut(scanfxWebPBytes(t, "lossy"), 14), 0, want{}, ErrTruncated},
		{"tiff cut, directory last", "a.tif", scanfxCut(tiffRGBA, len(tiffRGBA)-10), 0, want{}, ErrTruncated},
		{"tiff cut in pixels, directory first", "a.tif", scanfxCut(tiffRaw, len(tiffRaw)-7), 0, want{}, ErrTruncated},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := scanfxWrite(t, filepath.Join(dir, strings.Repeat("d", i+1)), tc.file, tc.data)
			md, err := InspectImage(p, tc.maxPixels)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("InspectImage = %+v, %v; want error %v", md, err, tc.wantErr)
				}
				t.Log(err)
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name the path", err)
				}
				if md != (ImageMetadata{}) {
					t.Errorf("metadata %+v returned with an error", md)
				}
				return
			}
			if err != nil {
				t.Fatalf("InspectImage: %v", err)
			}
			wantMD := ImageMetadata{
				SizeBytes:   int64(len(tc.data)),
				MimeType:    tc.want.mime,
				Width:       tc.want.width,
				Height:      tc.want.height,
				NumChannels: tc.want.channels,
				SHA256:      scanfxSHA(tc.data),
			}
			if md != wantMD {
				t.Errorf("InspectImage =\n %+v\nwant\n %+v", md, wantMD)
			}
		})
	}
}

// The hand-made fixtures must be images that Go's decoders accept, or the
// tests above would prove nothing.
func TestInspectImageFixturesDecode(t *testing.T) {
	cases := map[string][]byte{
		"png gray+alpha":       scanfxRawPNG(3, 2, 4, [][]byte{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}, true),
		"tiff directory first": scanfxRawTIFF(12, 10),
		"jpeg with thumbnail":  scanfxWithThumbnail(scanfxEncode(t, "jpeg", scanfxRGBA(20, 10, 1)), scanfxEncode(t, "jpeg", scanfxRGBA(4, 4, 2))),
		"gif animated":         scanfxAnimatedGIF(t),
	}
	for name := range scanfxWebP {
		cases["webp "+name] = scanfxWebPBytes(t, name)
	}
	for name, data := range cases {
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: image.Decode: %v", name, err)
		}
	}
	if _, err := webp.Decode(bytes.NewReader(scanfxWebPBytes(t, "lossless-alpha"))); err != nil {
		t.Errorf("webp.Decode: %v", err)
	}
}

func TestInspectImageFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := scanfxWrite(t, dir, "good.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))

	dangling := filepath.Join(dir, "dangling.png")
	if err := os.Symlink(filepath.Join(dir, "missing.png"), dangling); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.png")
	if err := os.Symlink("loop.png", loop); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.png")
	if err := os.Symlink("good.png", link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		path   string
		is     error
		reason string
	}{
		{"missing file", filepath.Join(dir, "nope.png"), fs.ErrNotExist, ReasonUnreadable},
		{"dangling symlink", dangling, fs.ErrNotExist, ReasonUnreadable},
		{"symlink to itself", loop, ErrSymlinkLoop, ReasonSymlinkLoop},
		{"directory", dir, syscall.EISDIR, ReasonUnreadable},
		{"named pipe (does not block)", fifo, ErrNotRegular, ReasonUnreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := InspectImage(tc.path, 0)
			if !errors.Is(err, tc.is) {
				t.Fatalf("InspectImage(%s) error = %v, want %v", tc.path, err, tc.is)
			}
			if got := SkipReason(err); got != tc.reason {
				t.Errorf("SkipReason = %q, want %q", got, tc.reason)
			}
		})
	}

	t.Run("symlink to a file", func(t *testing.T) {
		a, err := InspectImage(good, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := InspectImage(link, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("through link %+v, direct %+v", b, a)
		}
	})

	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: file permissions do not apply")
		}
		p := scanfxWrite(t, dir, "secret.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err := InspectImage(p, 0)
		if !errors.Is(err, fs.ErrPermission) || SkipReason(err) != ReasonUnreadable {
			t.Fatalf("error = %v (reason %q), want permission denied, unreadable", err, SkipReason(err))
		}
	})
}

func TestSkipReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrEmptyFile, "empty"},
		{ErrTruncated, "truncated"},
		{ErrNotImage, "not an image"},
		{ErrImageTooLarge, "too large"},
		{ErrSymlinkLoop, "symlink loop"},
		{fs.ErrPermission, "unreadable"},
		{errors.New("disk on fire"), "unreadable"},
	}
	for _, tc := range tests {
		wrapped := tc.err
		if tc.err != nil {
			wrapped = errors.Join(errors.New("context"), tc.err)
		}
		if got := SkipReason(wrapped); got != tc.want {
			t.Errorf("SkipReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// The end checks see the file in whatever pieces the reader returns; their
// verdict must not depend on where the pieces are cut.
func TestImageEndCheckChunking(t *testing.T) {
	big := scanfxEncode(t, "jpeg", scanfxNoise(64, 48, 9))
	anim := scanfxAnimatedGIF(t)
	pngData := scanfxEncode(t, "png", scanfxNoise(40, 30, 4))
	inputs := []struct {
		name   string
		format *imgFormat
		data   []byte
		ok     bool
	}{
		{"png", imgFmtPNG, pngData, true},
		{"png cut", imgFmtPNG, scanfxCut(pngData, len(pngData)-5), false},
		{"jpeg", imgFmtJPEG, big, true},
		{"jpeg thumbnail", imgFmtJPEG, scanfxWithThumbnail(big, scanfxEncode(t, "jpeg", scanfxRGBA(4, 4, 1))), true},
		{"jpeg thumbnail cut", imgFmtJPEG, scanfxCut(scanfxWithThumbnail(big, scanfxEncode(t, "jpeg", scanfxRGBA(4, 4, 1))), len(big)), false},
		{"jpeg cut", imgFmtJPEG, scanfxCut(big, len(big)-1), false},
		{"gif", imgFmtGIF, anim, true},
		{"gif cut", imgFmtGIF, scanfxCut(anim, len(anim)-1), false},
	}
	for _, in := range inputs {
		for _, size := range []int{1, 2, 3, 5, 13, 64, 4096, len(in.data)} {
			c := imgNewEndCheck(in.format)
			for rest := in.data; len(rest) > 0; {
				k := min(size, len(rest))
				c.Write(rest[:k])
				rest = rest[k:]
			}
			r := c.result()
			if ok := r.truncated == "" && r.corrupt == ""; ok != in.ok {
				t.Errorf("%s in pieces of %d: result %+v, want complete=%v", in.name, size, r, in.ok)
			}
		}
	}
}

// A JPEG stream built marker by marker: a progressive-style file with
// several scans, tables between them, byte stuffing, restart markers and
// fill bytes. Only a real EOI may end it.
func TestImageJPEGEndMarkers(t *testing.T) {
	seg := func(code byte, payload ...byte) []byte {
		n := len(payload) + 2
		return append([]byte{0xff, code, byte(n >> 8), byte(n)}, payload...)
	}
	var b []byte
	b = append(b, 0xff, 0xd8)                                              // SOI
	b = append(b, seg(0xe1, []byte("Exif\x00\x00\xff\xd8\xff\xd9")...)...) // APP1 holding an EOI
	b = append(b, seg(0xdb, make([]byte, 65)...)...)                       // DQT
	b = append(b, seg(0xc2, make([]byte, 15)...)...)                       // SOF2
	b = append(b, seg(0xc4, make([]byte, 20)...)...)                       // DHT
	b = append(b, seg(0xda, make([]byte, 10)...)...)                       // SOS
	b = append(b, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56)                // data, stuffing, RST0
	b = append(b, 0xff, 0xff, 0xff)                                        // fill before a marker
	b = append(b, seg(0xc4, 0xff, 0xd9, 1, 2)...)                          // DHT whose payload holds FF D9
	b = append(b, seg(0xda, make([]byte, 10)...)...)                       // second scan
	b = append(b, 0x78, 0xff, 0x00, 0xff, 0xd7, 0x9a)
	complete := append(append([]byte{}, b...), 0xff, 0xd9) // EOI

	for _, tc := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"complete", complete, true},
		{"complete with trailing data", append(append([]byte{}, complete...), 0, 1, 2), true},
		{"no EOI", b, false},
		{"cut inside the APP1 after its EOI", complete[:18], false},
		{"cut inside the DHT after its FF D9", b[:bytes.Index(b, []byte{0xff, 0xd9, 1, 2})+2], false},
	} {
		c := imgNewEndCheck(imgFmtJPEG)
		c.Write(tc.data)
		r := c.result()
		if ok := r.truncated == ""; ok != tc.ok {
			t.Errorf("%s: %+v, want complete=%v", tc.name, r, tc.ok)
		}
	}
}

// FuzzInspectImage feeds arbitrary bytes to InspectImage: it must not panic
// or hang (10 s is ample for a fuzz input of a few kilobytes), must classify every failure as a content problem (never "unreadable"), and
// on success must describe exactly the bytes it was given. The streaming end
// checks must reach the same verdict whatever the read sizes.
func FuzzInspectImage(f *testing.F) {
	pngRGB := scanfxEncode(f, "png", scanfxRGBA(8, 6, 1))
	jpegRGB := scanfxEncode(f, "jpeg", scanfxRGBA(16, 8, 2))
	seeds := [][]byte{
		pngRGB, scanfxCut(pngRGB, 40),
		jpegRGB, scanfxCut(jpegRGB, 300),
		scanfxWithThumbnail(jpegRGB, scanfxEncode(f, "jpeg", scanfxRGBA(4, 4, 1))),
		scanfxAnimatedGIF(f),
		scanfxEncode(f, "bmp", scanfxRGBA(5, 3, 4)),
		scanfxEncode(f, "tiff", scanfxGray(10, 4)),
		scanfxRawTIFF(12, 10),
		scanfxRawPNG(3, 2, 4, [][]byte{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}, true),
		[]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00\x3b"),
		[]byte("hello"),
	}
	for name := range scanfxWebP {
		seeds = append(seeds, scanfxWebPBytes(f, name))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	p := filepath.Join(f.TempDir(), "input")
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var md ImageMetadata
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			md, err = InspectImage(p, limit)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("InspectImage has not returned after 10 s on %d bytes", len(data))
		}
		if err != nil {
			if r := SkipReason(err); r == ReasonUnreadable || r == ReasonSymlinkLoop {
				t.Fatalf("content error classified %q: %v", r, err)
			}
		} else {
			if md.SizeBytes != int64(len(data)) || md.SHA256 != scanfxSHA(data) {
				t.Fatalf("metadata %+v does not describe %d bytes", md, len(data))
			}
			if md.Width <= 0 || md.Height <= 0 || int64(md.Width)*int64(md.Height) > limit ||
				md.NumChannels < 1 || md.NumChannels > 4 || md.MimeType == "" {
				t.Fatalf("implausible metadata %+v", md)
			}
		}
		if format := imgSniff(data); format != nil {
			if whole := imgNewEndCheck(format); whole != nil {
				whole.Write(data)
				bytewise := imgNewEndCheck(format)
				for i := range data {
					bytewise.Write(data[i : i+1])
				}
				if a, b := whole.result(), bytewise.result(); a != b {
					t.Fatalf("end check differs: whole %+v, byte by byte %+v", a, b)
				}
			}
		}
	})
}
