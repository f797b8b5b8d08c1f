package brain

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// restartJPEG writes a baseline grayscale JPEG of w x h pixels (multiples
// of 8) whose 8x8 blocks are flat at level(bx, by), with a restart interval
// of one MCU: a restart marker after every block.
func restartJPEG(w, h int, level func(bx, by int) uint8) []byte {
	var b bytes.Buffer
	segment := func(marker byte, body ...byte) {
		b.Write([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
		b.Write(body)
	}
	b.Write([]byte{0xFF, 0xD8})
	quant := make([]byte, 65) // table 0, every step 1
	for i := 1; i < len(quant); i++ {
		quant[i] = 1
	}
	segment(0xDB, quant...)
	segment(0xC0, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	// DC table 0: the usual luminance DC code lengths, categories 0-11.
	segment(0xC4, 0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	// AC table 0: end of block only, coded as the single bit 0.
	segment(0xC4, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00)
	segment(0xDD, 0, 1)
	segment(0xDA, 1, 1, 0x00, 0, 63, 0)
	dcCodes := [12]struct{ code, n uint32 }{{0, 2}, {2, 3}, {3, 3}, {4, 3}, {5, 3}, {6, 3}, {14, 4}, {30, 5}, {62, 6}, {126, 7}, {254, 8}, {510, 9}}
	var acc, nacc uint32
	put := func(v, n uint32) {
		for i := int(n) - 1; i >= 0; i-- {
			acc = acc<<1 | (v>>uint(i))&1
			if nacc++; nacc == 8 {
				b.WriteByte(byte(acc))
				if byte(acc) == 0xFF {
					b.WriteByte(0)
				}
				acc, nacc = 0, 0
			}
		}
	}
	mcus := (w / 8) * (h / 8)
	for m := 0; m < mcus; m++ {
		// The DC predictor restarts at 0 after every marker.
		diff := (int(level(m%(w/8), m/(w/8))) - 128) * 8
		mag, cat := max(diff, -diff), 0
		for mag>>cat != 0 {
			cat++
		}
		put(dcCodes[cat].code, dcCodes[cat].n)
		if cat > 0 {
			bits := diff
			if diff < 0 {
				bits = diff - 1
			}
			put(uint32(bits)&(1<<cat-1), uint32(cat))
		}
		put(0, 1) // end of block
		for nacc != 0 {
			put(1, 1) // pad to a byte with ones before the marker
		}
		if m < mcus-1 {
			b.Write([]byte{0xFF, 0xD0 + byte(m%8)})
		}
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// TestJPEGRestartIntervalOfOneEmbeds: a valid JPEG with a restart marker
// after every MCU decodes to the levels it encodes and embeds.
func TestJPEGRestartIntervalOfOneEmbeds(t *testing.T) {
	needRuntime(t)
	data := restartJPEG(64, 48, func(bx, by int) uint8 { return uint8(20 + bx*25 + by*5) })
	img, _, err := decodeImage(data, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.At(8*3+4, 8*2+4); !sameGray(got, 20+3*25+2*5) {
		t.Fatalf("block (3, 2) decoded as %v, want level %d", got, 20+3*25+2*5)
	}
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	path := filepath.Join(t.TempDir(), "dri.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	emb, err := Embed(context.Background(), m, []Item{{ID: "dri", Media: File(path)}}, EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.IDs) != 1 {
		t.Fatalf("a JPEG with restart interval 1 was skipped: %v", emb.Skipped)
	}
}

// TestProgressiveRestartJPEGSaysWhy: the valid JPEGs Go's decoder cannot
// read (progressive, 4:2:0, restart markers; written by cjpeg -progressive
// -restart 1B) are skipped with a reason that says what kind of file it is
// and what to do, not only the decoder's "missing 0xff00 sequence".
func TestProgressiveRestartJPEGSaysWhy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "progressive-restart.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	spec := specFor(8, 8)
	pre := newPreprocessor(&spec)
	var sc scratch
	err = pre.loadTensor(context.Background(), bytes.NewReader(data), limits{}.orDefault(), make([]float32, pre.size()), &sc)
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "progressive JPEG with restart markers") {
		t.Fatalf("err = %v, want ErrDecode explaining the file", err)
	}
}

// sameGray reports whether c is the gray level v, give or take the rounding
// of the inverse DCT.
func sameGray(c color.Color, v int) bool {
	g := color.GrayModel.Convert(c).(color.Gray)
	return int(g.Y) >= v-1 && int(g.Y) <= v+1
}
