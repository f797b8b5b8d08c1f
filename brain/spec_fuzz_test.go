package brain

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzModelSpec writes arbitrary bytes as the spec beside a model
// (model.onnx.json) and reads it as the uniqueness run does: every refusal
// wraps ErrBadSpec; a spec that is accepted and normalised has an input
// size, layout and channel order LoadModel can use, turns every 8-bit level
// into a finite input value, is left as it is by a second normalise, and
// survives a JSON round trip unchanged.
func FuzzModelSpec(f *testing.F) {
	for _, s := range []string{
		`{"name": "m", "width": 224, "height": 224, "layout": "NCHW", "channels": "RGB",
		  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "output": "emb"}`,
		`{"width": 28, "height": 28, "channels": "GRAY", "mean": [0.5], "std": [0.5], "scale": 1}`,
		`{"width": 64, "height": 32, "layout": "NHWC", "channels": "BGR", "fixed_batch": 8, "input": "x"}`,
		`{"width": 8, "height": 8, "std": [1e-45, 1, 1], "scale": 3e38}`,
		`{"width": -1, "height": 9000}`,
		`{"width": 8, "height": 8, "channels": "GRAY", "mean": [0, 1]}`,
		`{"width": "8"}`, `[]`, `null`, ``, `{"mean": [1, 2, 3, 4]}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	model := filepath.Join(dir, "model.onnx")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(model+".json", data, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := SpecBeside(model)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("spec error %v does not wrap ErrBadSpec", err)
			}
			return
		}
		if spec.Path != model || spec.Name == "" {
			t.Fatalf("spec %+v: path or name not filled in", spec)
		}
		js, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		var back ModelSpec
		if err := json.Unmarshal(js, &back); err != nil || back != spec {
			t.Fatalf("spec %+v written as %s reads back as %+v (%v)", spec, js, back, err)
		}
		n, err := spec.normalise()
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("normalise error %v does not wrap ErrBadSpec", err)
			}
			return
		}
		if n.Width < 1 || n.Height < 1 || n.Width > 8192 || n.Height > 8192 ||
			(n.Layout != NCHW && n.Layout != NHWC) || (n.Channels != RGB && n.Channels != BGR && n.Channels != GRAY) ||
			n.Scale == 0 || n.FixedBatch < 0 {
			t.Fatalf("normalised spec %+v is not usable", n)
		}
		if again, err := n.normalise(); err != nil || again != n {
			t.Fatalf("normalise is not stable: %+v, then %+v (%v)", n, again, err)
		}
		pre := newPreprocessor(&n)
		for c := range n.Channels.count() {
			for v, x := range pre.lut[c] {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("spec %+v turns level %d of channel %d into %v", n, v, c, x)
				}
			}
		}
	})
}

// exifSegment wraps a TIFF structure in a JPEG holding it as its APP1 Exif
// segment, between the start of image and a start of scan.
func exifSegment(tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9)
}

// orientationTIFF is a TIFF header whose IFD0 holds extra entries and then
// the Orientation tag with value o, in byte order bo.
func orientationTIFF(bo binary.AppendByteOrder, o uint16, extra int) []byte {
	t := []byte("II")
	if bo == binary.AppendByteOrder(binary.BigEndian) {
		t = []byte("MM")
	}
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8)
	t = bo.AppendUint16(t, uint16(extra+1))
	for range extra {
		t = bo.AppendUint16(t, 0x0100) // ImageWidth
		t = bo.AppendUint16(t, 3)
		t = bo.AppendUint32(t, 1)
		t = bo.AppendUint32(t, 640)
	}
	t = bo.AppendUint16(t, 0x0112)
	t = bo.AppendUint16(t, 3)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint16(t, o)
	return append(t, 0, 0, 0, 0, 0, 0)
}

// FuzzEXIFOrientation feeds arbitrary bytes to the EXIF orientation reader,
// both as a whole file and as the Exif segment of a JPEG: it never panics,
// always gives an orientation from 1 to 8, and a JPEG gives the
// orientation its Exif TIFF structure holds (1 when it holds none).
func FuzzEXIFOrientation(f *testing.F) {
	for o := uint16(0); o <= 9; o++ {
		f.Add(orientationTIFF(binary.LittleEndian, o, int(o%3)))
		f.Add(orientationTIFF(binary.BigEndian, o, 0))
	}
	f.Add(exifSegment(orientationTIFF(binary.BigEndian, 6, 1)))
	f.Add([]byte("II*\x00\xff\xff\xff\xff"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\xff\xff"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE1, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d of the file", o)
		}
		want := tiffOrientation(data)
		if want < 0 || want > 8 {
			t.Fatalf("TIFF orientation %d", want)
		}
		if want == 0 {
			want = 1
		}
		if len(data) > 0xFFFF-8 {
			return
		}
		if got := jpegOrientation(exifSegment(data)); got != want {
			t.Fatalf("JPEG with this Exif: orientation %d, its TIFF structure holds %d", got, want)
		}
	})
}
