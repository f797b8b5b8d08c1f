package brain

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// specFor is an RGB, NCHW spec with levels in [0, 1] and the given size.
func specFor(w, h int) ModelSpec {
	s, err := ModelSpec{Name: "t", Width: w, Height: h}.normalise()
	if err != nil {
		panic(err)
	}
	return s
}

// preprocessBytes runs the whole loading path on encoded bytes.
func preprocessBytes(t *testing.T, spec ModelSpec, data []byte) []float32 {
	t.Helper()
	pre := newPreprocessor(&spec)
	out := make([]float32, pre.size())
	var sc scratch
	if err := pre.loadTensor(context.Background(), bytes.NewReader(data), limits{}.orDefault(), out, &sc); err != nil {
		t.Fatal(err)
	}
	return out
}

// pixelNCHW returns the RGB value at (x, y) of an NCHW tensor of w x h.
func pixelNCHW(v []float32, w, h, x, y int) [3]float32 {
	p := w * h
	return [3]float32{v[y*w+x], v[p+y*w+x], v[2*p+y*w+x]}
}

func near(a, b [3]float32, tol float32) bool {
	for c := range a {
		if math.Abs(float64(a[c]-b[c])) > float64(tol) {
			return false
		}
	}
	return true
}

var (
	red   = [3]float32{1, 0, 0}
	green = [3]float32{0, 1, 0}
	blue  = [3]float32{0, 0, 1}
	white = [3]float32{1, 1, 1}
)

// quadrants draws a w x h image with four solid quadrants.
func quadrants(w, h int, tl, tr, bl, br color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := tl
			switch {
			case x >= w/2 && y < h/2:
				c = tr
			case x < w/2 && y >= h/2:
				c = bl
			case x >= w/2 && y >= h/2:
				c = br
			}
			img.Set(x, y, c)
		}
	}
	return img
}

var (
	cRed   = color.RGBA{255, 0, 0, 255}
	cGreen = color.RGBA{0, 255, 0, 255}
	cBlue  = color.RGBA{0, 0, 255, 255}
	cWhite = color.RGBA{255, 255, 255, 255}
)

func TestDecodeFormats(t *testing.T) {
	img := quadrants(32, 16, cRed, cBlue, cRed, cBlue) // left red, right blue
	enc := map[string]func() []byte{
		"png": func() []byte { var b bytes.Buffer; png.Encode(&b, img); return b.Bytes() },
		"jpeg": func() []byte {
			var b bytes.Buffer
			jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
			return b.Bytes()
		},
		"gif": func() []byte {
			pal := image.NewPaletted(img.Rect, color.Palette{cRed, cBlue})
			for y := 0; y < 16; y++ {
				for x := 0; x < 32; x++ {
					pal.Set(x, y, img.At(x, y))
				}
			}
			var b bytes.Buffer
			gif.Encode(&b, pal, nil)
			return b.Bytes()
		},
		"bmp":  func() []byte { var b bytes.Buffer; bmp.Encode(&b, img); return b.Bytes() },
		"tiff": func() []byte { var b bytes.Buffer; tiff.Encode(&b, img, nil); return b.Bytes() },
		"webp": func() []byte {
			data, err := os.ReadFile(filepath.Join("testdata", "red-blue.webp"))
			if err != nil {
				t.Fatal(err)
			}
			return data
		},
	}
	for name, f := range enc {
		t.Run(name, func(t *testing.T) {
			v := preprocessBytes(t, specFor(8, 4), f())
			if got := pixelNCHW(v, 8, 4, 1, 1); !near(got, red, 0.12) {
				t.Errorf("left pixel %v, want red", got)
			}
			if got := pixelNCHW(v, 8, 4, 6, 2); !near(got, blue, 0.12) {
				t.Errorf("right pixel %v, want blue", got)
			}
		})
	}
}

func TestLayoutChannelOrderAndNormalisation(t *testing.T) {
	// A 2x1 image: left pixel (10, 20, 30), right pixel (200, 100, 50).
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.RGBA{10, 20, 30, 255})
	img.Set(1, 0, color.RGBA{200, 100, 50, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	norm := func(v, c int, mean, std [3]float32) float32 { return (float32(v)/255 - mean[c]) / std[c] }
	mean, std := [3]float32{0.5, 0.4, 0.3}, [3]float32{0.2, 0.25, 0.5}
	left, right := [3]int{10, 20, 30}, [3]int{200, 100, 50}
	for _, tc := range []struct {
		layout Layout
		order  ChannelOrder
		want   func(l, r [3]float32) []float32
	}{
		{NCHW, RGB, func(l, r [3]float32) []float32 { return []float32{l[0], r[0], l[1], r[1], l[2], r[2]} }},
		{NCHW, BGR, func(l, r [3]float32) []float32 { return []float32{l[2], r[2], l[1], r[1], l[0], r[0]} }},
		{NHWC, RGB, func(l, r [3]float32) []float32 { return []float32{l[0], l[1], l[2], r[0], r[1], r[2]} }},
		{NHWC, BGR, func(l, r [3]float32) []float32 { return []float32{l[2], l[1], l[0], r[2], r[1], r[0]} }},
	} {
		t.Run(string(tc.layout)+"/"+string(tc.order), func(t *testing.T) {
			spec, err := ModelSpec{Width: 2, Height: 1, Layout: tc.layout, Channels: tc.order, Mean: mean, Std: std}.normalise()
			if err != nil {
				t.Fatal(err)
			}
			got := preprocessBytes(t, spec, b.Bytes())
			var l, r [3]float32
			for c := 0; c < 3; c++ {
				l[c], r[c] = norm(left[c], c, mean, std), norm(right[c], c, mean, std)
			}
			want := tc.want(l, r)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("tensor %v, want %v", got, want)
				}
			}
		})
	}
}

// exifJPEG encodes img as JPEG with an APP1 Exif segment holding orientation.
func exifJPEG(t *testing.T, img image.Image, orientation uint16, order binary.ByteOrder) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	tiffHdr := make([]byte, 8+2+12+4)
	if order == binary.LittleEndian {
		copy(tiffHdr, "II")
	} else {
		copy(tiffHdr, "MM")
	}
	order.PutUint16(tiffHdr[2:], 42)
	order.PutUint32(tiffHdr[4:], 8)
	order.PutUint16(tiffHdr[8:], 1)       // one entry
	order.PutUint16(tiffHdr[10:], 0x0112) // Orientation
	order.PutUint16(tiffHdr[12:], 3)      // SHORT
	order.PutUint32(tiffHdr[14:], 1)      // count
	order.PutUint16(tiffHdr[18:], orientation)
	payload := append([]byte("Exif\x00\x00"), tiffHdr...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	return append(out, data[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	// The displayed picture is 32x16: red, green over blue, white. Each case
	// stores it as a camera would for that orientation tag.
	r, g, b, w := cRed, cGreen, cBlue, cWhite
	for _, tc := range []struct {
		o              uint16
		sw, sh         int
		tl, tr, bl, br color.Color // stored quadrants
	}{
		{1, 32, 16, r, g, b, w},
		{2, 32, 16, g, r, w, b}, // mirrored
		{3, 32, 16, w, b, g, r}, // rotated 180°
		{4, 32, 16, b, w, r, g}, // flipped vertically
		{5, 16, 32, r, b, g, w}, // transposed
		{6, 16, 32, g, w, r, b}, // needs 90° clockwise
		{7, 16, 32, w, g, b, r}, // transverse
		{8, 16, 32, b, r, w, g}, // needs 90° counter-clockwise
	} {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			stored := quadrants(tc.sw, tc.sh, tc.tl, tc.tr, tc.bl, tc.br)
			data := exifJPEG(t, stored, tc.o, order)
			if got := jpegOrientation(data); got != int(tc.o) {
				t.Fatalf("orientation %d (%v): parsed %d", tc.o, order, got)
			}
			v := preprocessBytes(t, specFor(32, 16), data)
			for _, q := range []struct {
				x, y int
				want [3]float32
			}{{8, 4, red}, {24, 4, green}, {8, 12, blue}, {24, 12, white}} {
				if got := pixelNCHW(v, 32, 16, q.x, q.y); !near(got, q.want, 0.1) {
					t.Errorf("orientation %d (%v): displayed (%d,%d) = %v, want %v", tc.o, order, q.x, q.y, got, q.want)
				}
			}
		}
	}
}

func TestJPEGOrientationMalformed(t *testing.T) {
	good := exifJPEG(t, quadrants(8, 8, cRed, cRed, cRed, cRed), 6, binary.BigEndian)
	for name, data := range map[string][]byte{
		"empty":           nil,
		"png":             []byte("\x89PNG\r\n\x1a\n"),
		"truncated-app1":  good[:12],
		"bad-orientation": exifJPEG(t, quadrants(8, 8, cRed, cRed, cRed, cRed), 9, binary.BigEndian),
	} {
		if got := jpegOrientation(data); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}

func TestAlphaGrayPaletted(t *testing.T) {
	// Fully transparent pixels become white; gray stays gray; paletted
	// colours come through as RGB.
	trans := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	var b1 bytes.Buffer
	png.Encode(&b1, trans)
	if got := pixelNCHW(preprocessBytes(t, specFor(4, 4), b1.Bytes()), 4, 4, 1, 1); !near(got, white, 1e-6) {
		t.Errorf("transparent pixel %v, want white", got)
	}
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range gray.Pix {
		gray.Pix[i] = 51
	}
	var b2 bytes.Buffer
	png.Encode(&b2, gray)
	if got := pixelNCHW(preprocessBytes(t, specFor(4, 4), b2.Bytes()), 4, 4, 2, 2); !near(got, [3]float32{0.2, 0.2, 0.2}, 1e-6) {
		t.Errorf("gray pixel %v, want 0.2 in every channel", got)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
	for i := range pal.Pix {
		pal.Pix[i] = uint8(pal.Palette.Index(cGreen))
	}
	var b3 bytes.Buffer
	png.Encode(&b3, pal)
	if got := pixelNCHW(preprocessBytes(t, specFor(4, 4), b3.Bytes()), 4, 4, 0, 3); !near(got, green, 1e-6) {
		t.Errorf("paletted pixel %v, want green", got)
	}
}

// pngWithSize returns a valid PNG whose header declares w x h pixels.
func pngWithSize(t *testing.T, w, h uint32) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	data := b.Bytes()
	// IHDR data starts at 16: width, height; its CRC covers type+data.
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

func TestBadImages(t *testing.T) {
	var jb bytes.Buffer
	jpeg.Encode(&jb, quadrants(64, 64, cRed, cGreen, cBlue, cWhite), nil)
	spec := specFor(8, 8)
	pre := newPreprocessor(&spec)
	for _, tc := range []struct {
		name string
		data []byte
		lim  limits
		want error
	}{
		{"bomb", pngWithSize(t, 100000, 100000), limits{}, ErrImageTooLarge},
		{"over-pixel-limit", pngWithSize(t, 300, 300), limits{maxPixels: 300*300 - 1}, ErrImageTooLarge},
		{"over-byte-limit", jb.Bytes(), limits{maxBytes: 100}, ErrImageTooLarge},
		{"empty", nil, limits{}, ErrDecode},
		{"text", []byte("hello, not an image"), limits{}, ErrDecode},
		{"truncated-jpeg", jb.Bytes()[:len(jb.Bytes())/2], limits{}, ErrDecode},
		{"header-only-png", pngWithSize(t, 1, 1)[:33], limits{}, ErrDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc scratch
			err := pre.loadTensor(context.Background(), bytes.NewReader(tc.data), tc.lim.orDefault(), make([]float32, pre.size()), &sc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestShrinkPaths(t *testing.T) {
	// Large images take the box pre-filter; every path must keep colours.
	gray := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range gray.Pix {
		gray.Pix[i] = 51
	}
	var gb bytes.Buffer
	png.Encode(&gb, gray)
	if got := pixelNCHW(preprocessBytes(t, specFor(8, 8), gb.Bytes()), 8, 8, 3, 3); !near(got, [3]float32{0.2, 0.2, 0.2}, 1e-6) {
		t.Errorf("shrunk gray pixel %v", got)
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, quadrants(400, 200, cRed, cGreen, cBlue, cWhite), &jpeg.Options{Quality: 100})
	v := preprocessBytes(t, specFor(8, 4), jb.Bytes())
	for _, q := range []struct {
		x, y int
		want [3]float32
	}{{0, 0, red}, {7, 0, green}, {0, 3, blue}, {7, 3, white}} {
		if got := pixelNCHW(v, 8, 4, q.x, q.y); !near(got, q.want, 0.1) {
			t.Errorf("shrunk JPEG (%d,%d) = %v, want %v", q.x, q.y, got, q.want)
		}
	}
	// The YCbCr box filter averages: a 2x2 checker of black and white
	// becomes mid-grey.
	checker := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if (x+y)%2 == 0 {
				checker.Set(x, y, cWhite)
			} else {
				checker.Set(x, y, color.Black)
			}
		}
	}
	var cb bytes.Buffer
	png.Encode(&cb, checker)
	if got := pixelNCHW(preprocessBytes(t, specFor(4, 4), cb.Bytes()), 4, 4, 1, 1); !near(got, [3]float32{0.5, 0.5, 0.5}, 0.01) {
		t.Errorf("checker shrunk to %v, want mid-grey (no aliasing)", got)
	}
}
