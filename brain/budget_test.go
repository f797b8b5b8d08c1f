package brain

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

// adam7PNG writes a w x h 16-bit RGBA Adam7-interlaced PNG of zeros: a
// small file that the image package decodes into 8 bytes a pixel.
func adam7PNG(t testing.TB, w, h int) []byte {
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
	for _, p := range [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]
		if pw == 0 {
			continue
		}
		row := make([]byte, 1+8*pw)
		for y := 0; y < ph; y++ {
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
	// A real interlaced 16-bit image under a lower bound: refused; under
	// the default one: embedded.
	spec := specFor(8, 8)
	pre := newPreprocessor(&spec)
	data := adam7PNG(t, 300, 300)
	var sc scratch
	err := pre.loadTensor(context.Background(), bytes.NewReader(data), limits{maxDecode: 1 << 20}.orDefault(), make([]float32, pre.size()), &sc)
	if !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("300x300 16-bit Adam7 PNG (1.0 MiB to decode) under a 1 MiB bound: %v", err)
	}
	if err := pre.loadTensor(context.Background(), bytes.NewReader(data), lim, make([]float32, pre.size()), &sc); err != nil {
		t.Fatal(err)
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
