package brain

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
	"time"
)

// adam7PNG writes a w x h 16-bit RGBA Adam7-interlaced PNG whose pixel
// (x, y) is px(x, y) (nil: every sample zero, a small file that the image
// package decodes into 8 bytes a pixel).
func adam7PNG(t testing.TB, w, h int, px func(x, y int) [4]uint16) []byte {
	t.Helper()
	var out bytes.Buffer
	chunk := func(typ string, body []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(body)))
		out.Write(n[:])
		out.WriteString(typ)
		out.Write(body)
		binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(append([]byte(typ), body...)))
		out.Write(n[:])
	}
	out.WriteString(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9], ihdr[12] = 16, 6, 1
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	for _, p := range adam7Passes {
		pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]
		if pw <= 0 || ph <= 0 {
			continue
		}
		row := make([]byte, 1+8*pw) // filter 0, then the samples
		for r := 0; r < ph; r++ {
			if px != nil {
				for i := 0; i < pw; i++ {
					v := px(p[0]+i*p[2], p[1]+r*p[3])
					for c := 0; c < 4; c++ {
						binary.BigEndian.PutUint16(row[1+8*i+2*c:], v[c])
					}
				}
			}
			zw.Write(row)
		}
	}
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// jpegHeader is the start of a JPEG up to its frame header: w x h, 4:2:0
// colour, progressive or baseline. Enough for DecodeConfig.
func jpegHeader(w, h int, progressive bool) []byte {
	sof := byte(0xC0)
	if progressive {
		sof = 0xC2
	}
	return []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // JFIF
		0xFF, sof, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
}

// TestDecodeMemoryIsBoundedPerImage: images whose decoding would take more
// than MaxDecodeBytes are refused from their header, before any decoding;
// the bound follows the bit depth, interlacing and JPEG mode.
func TestDecodeMemoryIsBoundedPerImage(t *testing.T) {
	lim := limits{}.orDefault()
	for _, tc := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"8000x8000 16-bit RGBA Adam7 PNG", adam7Header(8000, 8000, 16, 6, 1), false},
		{"5000x5000 16-bit RGBA PNG", adam7Header(5000, 5000, 16, 6, 0), true},
		{"6000x6000 16-bit RGBA PNG", adam7Header(6000, 6000, 16, 6, 0), false},
		{"8000x8000 8-bit RGBA PNG", adam7Header(8000, 8000, 8, 6, 0), true},
		{"8000x8000 8-bit gray Adam7 PNG", adam7Header(8000, 8000, 8, 0, 1), true},
		{"8000x8000 baseline JPEG", jpegHeader(8000, 8000, false), true},
		{"8000x8000 progressive JPEG", jpegHeader(8000, 8000, true), false},
		{"5000x5000 progressive JPEG", jpegHeader(5000, 5000, true), true},
	} {
		_, cost, err := checkHeader(tc.data, lim)
		if tc.ok && err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrImageTooLarge) {
			t.Errorf("%s: accepted (estimated %d MiB), want ErrImageTooLarge", tc.name, cost>>20)
		}
	}
	// A real interlaced 16-bit image: under a bound below its decode
	// memory it is decoded reduced, and comes out as it does when decoded
	// whole by the image package.
	spec := specFor(8, 8)
	pre := newPreprocessor(&spec)
	data := adam7PNG(t, 300, 200, func(x, y int) [4]uint16 {
		a := uint16(0xffff)
		if x > 250 {
			a = 0x8000 // half transparent: composited over white
		}
		return [4]uint16{uint16(x * 200), uint16(y * 300), uint16((x + y) * 100), a}
	})
	small := limits{maxDecode: 256 << 10}.orDefault()
	if _, _, err := checkHeader(data, small); !errors.Is(err, errDecodeTooLarge) {
		t.Fatalf("checkHeader under 256 KiB: %v, want errDecodeTooLarge", err)
	}
	var sc scratch
	whole, reduced := make([]float32, pre.size()), make([]float32, pre.size())
	if err := pre.loadTensor(context.Background(), bytes.NewReader(data), lim, whole, &sc); err != nil {
		t.Fatal(err)
	}
	if err := pre.loadTensor(context.Background(), bytes.NewReader(data), small, reduced, &sc); err != nil {
		t.Fatalf("300x200 16-bit Adam7 PNG (0.7 MiB to decode whole) under a 256 KiB bound: %v", err)
	}
	for i := range whole {
		if d := whole[i] - reduced[i]; d > 0.05 || d < -0.05 {
			t.Fatalf("value %d: %v decoded whole, %v reduced", i, whole[i], reduced[i])
		}
	}
}

// TestHugeInterlacedPNGDecodesInLittleMemory: a PNG that would take
// hundreds of megabytes to decode whole is decoded reduced, allocating a
// small part of that.
func TestHugeInterlacedPNGDecodesInLittleMemory(t *testing.T) {
	data := adam7PNG(t, 4000, 4000, nil)
	spec := specFor(48, 48)
	pre := newPreprocessor(&spec)
	var sc scratch
	lim := limits{maxDecode: 64 << 20}.orDefault() // whole, it needs 183 MiB
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := pre.loadTensor(context.Background(), bytes.NewReader(data), lim, make([]float32, pre.size()), &sc); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Fatalf("decoding allocated %d MiB", got>>20)
	}
}

// adam7Header is a PNG signature and IHDR declaring w x h at depth and
// colour type ctype, interlaced or not.
func adam7Header(w, h int, depth, ctype, interlace byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9], ihdr[12] = depth, ctype, interlace
	out := []byte(pngSignature)
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, "IHDR"...)
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
}

// TestDecodeBudgetIsShared: the decode budget is granted in order and never
// over its total; a waiter gives up when its context ends, and those behind
// it are served.
func TestDecodeBudgetIsShared(t *testing.T) {
	b := newByteBudget(100)
	ctx := context.Background()
	a, _ := b.acquire(ctx, 70)
	got := make(chan int64, 2)
	go func() { n, _ := b.acquire(ctx, 50); got <- n }()
	select {
	case <-got:
		t.Fatal("granted 50 bytes with 30 free")
	case <-time.After(50 * time.Millisecond):
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.acquire(cctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait returned %v", err)
	}
	b.release(a)
	select {
	case n := <-got:
		if n != 50 {
			t.Fatalf("granted %d", n)
		}
		b.release(n)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not served after the release")
	}
	if n, _ := b.acquire(ctx, 1000); n != 100 {
		t.Fatalf("a request over the total got %d, want the total", n)
	}
}
