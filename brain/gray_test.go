package brain

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// bt601Luma is the documented luma of GRAY, written out here rather than
// taken from the code under test: BT.601's 0.299, 0.587, 0.114 in 16-bit
// fixed point, rounded.
func bt601Luma(r, g, b uint8) uint8 {
	return uint8((19595*int(r) + 38470*int(g) + 7471*int(b) + 32768) >> 16)
}

func TestLuma(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r, g, b uint8
		want    uint8
	}{
		// The levels Pillow's convert("L") gives for the primaries.
		{"red", 255, 0, 0, 76},
		{"green", 0, 255, 0, 150},
		{"blue", 0, 0, 255, 29},
		{"white", 255, 255, 255, 255},
		{"black", 0, 0, 0, 0},
		{"orange", 255, 128, 0, 151},
	} {
		if got := luma(tc.r, tc.g, tc.b); got != tc.want {
			t.Errorf("%s: luma(%d, %d, %d) = %d, want %d", tc.name, tc.r, tc.g, tc.b, got, tc.want)
		}
	}
	for v := range 256 {
		if got := luma(uint8(v), uint8(v), uint8(v)); got != uint8(v) {
			t.Errorf("grey %d: luma %d", v, got)
		}
	}
}

// grayImage is a w x h greyscale image of random levels.
func grayImage(rng *rand.Rand, w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	return img
}

// colourImage is a w x h opaque image of random colours.
func colourImage(rng *rand.Rand, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 0xff
	}
	return img
}

// pngOf encodes img as PNG at the default compression.
func pngOf(t *testing.T, img image.Image) []byte {
	return encodePNG(t, img, png.DefaultCompression)
}

// TestGrayMatchesRGBOnGreySources: a grey source has luma equal to its
// level, so a GRAY tensor must equal the red plane of the RGB tensor of the
// same file, on every path (the small-PNG decoder, the image package's
// decoders, enlarging, shrinking, EXIF orientation) and in both layouts.
func TestGrayMatchesRGBOnGreySources(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, grayImage(rng, 9, 7), nil); err != nil {
		t.Fatal(err)
	}
	const w, h = 12, 10
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"small png", pngOf(t, grayImage(rng, 7, 5))},
		{"exact-size png", pngOf(t, grayImage(rng, w, h))},
		{"large png", pngOf(t, grayImage(rng, 50, 37))},
		{"small gif", gifBuf.Bytes()},
		{"small jpeg turned 90°", exifJPEG(t, grayImage(rng, 5, 7), 6, binary.BigEndian)},
		{"large jpeg mirrored", exifJPEG(t, grayImage(rng, 40, 30), 2, binary.LittleEndian)},
		{"large jpeg turned 270°", exifJPEG(t, grayImage(rng, 30, 40), 8, binary.BigEndian)},
	} {
		for _, layout := range []Layout{NCHW, NHWC} {
			t.Run(tc.name+"/"+string(layout), func(t *testing.T) {
				rgb := specFor(w, h)
				gray := rgb
				gray.Channels, gray.Layout = GRAY, layout
				gray.Mean, gray.Std = [3]float32{0.25}, [3]float32{0.5}
				rgb.Mean, rgb.Std = [3]float32{0.25, 0.25, 0.25}, [3]float32{0.5, 0.5, 0.5}
				want := preprocessBytes(t, rgb, tc.data)[:w*h] // the red plane
				got := preprocessBytes(t, gray, tc.data)
				if len(got) != w*h {
					t.Fatalf("GRAY tensor has %d values, want %d", len(got), w*h)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("value %d (x %d, y %d): GRAY %v, red plane of RGB %v", i, i%w, i/w, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestGrayConvertsColourToLuma: colour pixels become the documented luma,
// on the small path (exact size: no interpolation) and the large path
// (a 4x larger picture of solid quadrants, read at the quadrants' centres).
func TestGrayConvertsColourToLuma(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	spec := ModelSpec{Width: 16, Height: 12, Channels: GRAY}
	src := colourImage(rng, 16, 12)
	got := preprocessBytes(t, spec, pngOf(t, src))
	for y := range 12 {
		for x := range 16 {
			c := src.RGBAAt(x, y)
			want := float64(bt601Luma(c.R, c.G, c.B)) / 255
			if g := float64(got[y*16+x]); math.Abs(g-want) > 1e-6 {
				t.Fatalf("(%d, %d) %v: %v, want luma %v", x, y, c, g, want)
			}
		}
	}
	orange := color.RGBA{255, 128, 0, 255}
	large := quadrants(64, 48, cRed, cGreen, cBlue, orange)
	got = preprocessBytes(t, spec, pngOf(t, large))
	for _, q := range []struct {
		x, y int
		c    color.RGBA
	}{{4, 3, cRed}, {12, 3, cGreen}, {4, 9, cBlue}, {12, 9, orange}} {
		want := float64(bt601Luma(q.c.R, q.c.G, q.c.B)) / 255
		if g := float64(got[q.y*16+q.x]); math.Abs(g-want) > 1e-6 {
			t.Errorf("large image, %v quadrant: %v, want luma %v", q.c, g, want)
		}
	}
	// Transparency is composited over white before the conversion.
	clear := image.NewNRGBA(image.Rect(0, 0, 16, 12))
	if g := preprocessBytes(t, spec, pngOf(t, clear))[5]; g != 1 {
		t.Errorf("transparent pixel: %v, want white (1)", g)
	}
}

// grayCNN builds a small greyscale CNN as exported models declare it:
// input "Input3" of 1 x 28 x 28 (NCHW, or NHWC transposed to NCHW), a 3x3
// convolution to grayFilters channels with fixed weights and biases, Relu,
// GlobalAveragePool and Flatten to the output "embedding". batch < 0 makes
// the batch axis symbolic.
func grayCNN(t *testing.T, layout Layout, batch int64) []byte {
	t.Helper()
	b := newGraph("gray-cnn")
	in := "Input3"
	if layout == NHWC {
		b.input(in, []int64{batch, 28, 28, 1}, "n")
		in = b.op("Transpose", []string{in}, attrInts("perm", 0, 3, 1, 2))
	} else {
		b.input(in, []int64{batch, 1, 28, 28}, "n")
	}
	wts, bias := grayCNNWeights()
	w := b.floatInit("conv_w", []int64{grayFilters, 1, 3, 3}, wts)
	bb := b.floatInit("conv_b", []int64{grayFilters}, bias)
	b.node("Conv", []string{in, w, bb}, "conv", attrInts("kernel_shape", 3, 3))
	b.node("Relu", []string{"conv"}, "relu")
	b.node("GlobalAveragePool", []string{"relu"}, "pooled")
	b.node("Flatten", []string{"pooled"}, "embedding", attrInt("axis", 1))
	b.output("embedding", 1, []int64{batch, grayFilters}, "n")
	data, err := b.model("test")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const grayFilters = 6

// grayCNNWeights are the convolution's fixed weights (grayFilters x 3 x 3)
// and biases: a mix of signs so that Relu cuts some responses.
func grayCNNWeights() (w, b []float32) {
	for i := range grayFilters * 9 {
		w = append(w, float32(math.Sin(float64(7*i+1)))*0.5)
	}
	for f := range grayFilters {
		b = append(b, float32(f-2)*0.1)
	}
	return w, b
}

// grayCNNReference computes grayCNN on one 28 x 28 input plane in float64.
func grayCNNReference(x []float64) []float64 {
	w, b := grayCNNWeights()
	out := make([]float64, grayFilters)
	for f := range grayFilters {
		sum := 0.0
		for y := range 26 {
			for xx := range 26 {
				v := float64(b[f])
				for ky := range 3 {
					for kx := range 3 {
						v += float64(w[f*9+ky*3+kx]) * x[(y+ky)*28+xx+kx]
					}
				}
				sum += max(v, 0)
			}
		}
		out[f] = sum / (26 * 26)
	}
	return out
}

// TestGrayCNNEndToEnd loads a greyscale CNN declared [1,1,28,28] (the
// shape that was refused) and with a symbolic batch, in both layouts, and
// checks Embed against the network computed here on the documented
// preprocessing: luma, then (L/255 - mean) / std.
func TestGrayCNNEndToEnd(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const mean, std = 0.1307, 0.3081
	var items []Item
	var want [][]float64
	add := func(id string, img image.Image, levels func(x, y int) uint8) {
		items = append(items, Item{ID: id, Media: bytesMedia(pngOf(t, img))})
		x := make([]float64, 28*28)
		for y := range 28 {
			for xx := range 28 {
				x[y*28+xx] = (float64(levels(xx, y))/255 - mean) / std
			}
		}
		want = append(want, grayCNNReference(x))
	}
	for i := range 6 {
		g := grayImage(rng, 28, 28)
		add("grey"+string(rune('a'+i)), g, func(x, y int) uint8 { return g.GrayAt(x, y).Y })
	}
	c := colourImage(rng, 28, 28)
	add("colour", c, func(x, y int) uint8 {
		p := c.RGBAAt(x, y)
		return bt601Luma(p.R, p.G, p.B)
	})

	for _, layout := range []Layout{NCHW, NHWC} {
		var embeddings [][]float32
		for _, tc := range []struct {
			name      string
			batch     int64
			batchSize int
			wantFixed int
		}{
			{"fixed batch 1", 1, 0, 1},
			{"dynamic batch of 4", -1, 4, 0},
		} {
			t.Run(string(layout)+"/"+tc.name, func(t *testing.T) {
				spec := ModelSpec{Name: "gray-cnn", Path: writeModel(t, grayCNN(t, layout, tc.batch)), Width: 28, Height: 28,
					Layout: layout, Channels: GRAY, Mean: [3]float32{mean}, Std: [3]float32{std}}
				m, err := LoadModel(spec)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if m.Dim() != grayFilters || m.Spec().FixedBatch != tc.wantFixed || m.Spec().Input != "Input3" {
					t.Fatalf("Dim %d, FixedBatch %d, input %q; want %d, %d, Input3", m.Dim(), m.Spec().FixedBatch, m.Spec().Input, grayFilters, tc.wantFixed)
				}
				emb, err := Embed(context.Background(), m, items, EmbedOptions{BatchSize: tc.batchSize})
				if err != nil {
					t.Fatal(err)
				}
				if len(emb.IDs) != len(items) {
					t.Fatalf("%d embeddings, want %d (skipped %v)", len(emb.IDs), len(items), emb.Skipped)
				}
				var vecs []float32
				for i := range items {
					v := emb.Vector(i)
					for f := range v {
						if d := math.Abs(float64(v[f]) - want[i][f]); d > 1e-5*max(1, math.Abs(want[i][f])) {
							t.Errorf("%s: embedding %v, want %v", items[i].ID, v, want[i])
							break
						}
					}
					vecs = append(vecs, v...)
				}
				embeddings = append(embeddings, vecs)
			})
		}
		// One image at a time gives what batches of 4 give.
		if len(embeddings) == 2 {
			for i := range embeddings[0] {
				if d := math.Abs(float64(embeddings[0][i] - embeddings[1][i])); d > 1e-6 {
					t.Errorf("%s: value %d is %v with batch 1, %v with batches of 4", layout, i, embeddings[0][i], embeddings[1][i])
				}
			}
		}
	}
}

// TestGraySpecErrors: the input check understands one channel and says
// what the model declares and what the spec says.
func TestGraySpecErrors(t *testing.T) {
	needRuntime(t)
	gray := writeModel(t, grayCNN(t, NCHW, 1))
	colour := writeModel(t, tinyModel(t, NCHW, -1, 28, 28))
	for _, tc := range []struct {
		name string
		spec ModelSpec
		want []string // in the message
	}{
		{"RGB spec, 1-channel model", ModelSpec{Path: gray, Width: 28, Height: 28},
			[]string{`input "Input3" has shape [1 1 28 28]`, "as NCHW: 1 channel, 28x28", "spec says NCHW, 3 channels (RGB), 28x28", `"channels": "GRAY"`}},
		{"GRAY spec, 3-channel model", ModelSpec{Path: colour, Width: 28, Height: 28, Channels: GRAY},
			[]string{"[n 3 28 28]", "as NCHW: 3 channels, 28x28", "spec says NCHW, 1 channel (GRAY), 28x28", `"channels": "RGB"`}},
		{"GRAY spec, NHWC for an NCHW model", ModelSpec{Path: gray, Width: 28, Height: 28, Channels: GRAY, Layout: NHWC},
			[]string{"as NHWC: 28 channels, 28x1", "spec says NHWC, 1 channel (GRAY), 28x28", `the shape fits "layout": "NCHW"`}},
		{"GRAY spec, wrong size", ModelSpec{Path: gray, Width: 32, Height: 32, Channels: GRAY},
			[]string{"as NCHW: 1 channel, 28x28", "spec says NCHW, 1 channel (GRAY), 32x32"}},
		{"GRAY with three means", ModelSpec{Path: gray, Width: 28, Height: 28, Channels: GRAY, Mean: [3]float32{0.5, 0.5, 0.5}},
			[]string{"GRAY take one mean and one std"}},
		{"GRAY with three stds", ModelSpec{Path: gray, Width: 28, Height: 28, Channels: GRAY, Std: [3]float32{0.5, 0.5, 0.5}},
			[]string{"GRAY take one mean and one std"}},
		{"batch 1 model, spec batch 2", ModelSpec{Path: gray, Width: 28, Height: 28, Channels: GRAY, FixedBatch: 2},
			[]string{`input "Input3" has batch 1, spec says 2`}},
		{"unknown channel order", ModelSpec{Path: gray, Width: 28, Height: 28, Channels: "L"},
			[]string{`channel order "L" (want RGB, BGR or GRAY)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(tc.spec)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadSpec) {
				t.Errorf("error %v does not wrap ErrBadSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestGraySpecRoundTrips: the resolved spec of a GRAY model loads again to
// the same identity, and GRAY is part of the identity.
func TestGraySpecRoundTrips(t *testing.T) {
	needRuntime(t)
	data := grayCNN(t, NCHW, -1)
	spec := ModelSpec{Name: "g", Path: writeModel(t, data), Width: 28, Height: 28, Channels: GRAY, Mean: [3]float32{0.5}}
	m, err := LoadModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	again, err := LoadModel(m.Spec())
	if err != nil {
		t.Fatalf("reloading the resolved spec %+v: %v", m.Spec(), err)
	}
	defer again.Close()
	if again.Identity() != m.Identity() {
		t.Error("the resolved spec has another identity")
	}
	if got := m.Spec().Std; got != [3]float32{1, 0, 0} {
		t.Errorf("resolved Std %v, want [1 0 0]", got)
	}
}
