package brain

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// Names of the built-in descriptors: training-free image models that
// fosql builds as ONNX graphs in Go and runs through ONNX Runtime like any
// other model. They need no file and no network.
const (
	// DescriptorName is descriptor-v1: colour thumbnails and histograms
	// and oriented-gradient energy of the whole 48x48 picture.
	DescriptorName = "fosql-descriptor-v1"
	// DescriptorShortName is descriptor-v1's short name in `model = '…'`.
	DescriptorShortName = "descriptor-v1"
	// DescriptorV2Name is descriptor-v2 (the default model): descriptor-v1's
	// blocks on the picture with its plain bars trimmed off and on the
	// whole picture, luminance as BT.601 luma, weaker colour blocks,
	// whole-image pools weighted to the middle, gradient energy over
	// rings around the middle, signed square roots of every block's
	// values before the block is normalised, and the wedges a small
	// rotation leaves at the corners painted over before the graph
	// (ModelSpec.FillRotationCorners). QUALITY.md measures both on real
	// images.
	DescriptorV2Name = "fosql-descriptor-v2"
	// DescriptorV2ShortName is descriptor-v2's short name.
	DescriptorV2ShortName = "descriptor-v2"
)

// builtinDescriptor is one built-in descriptor: its names, the graph's
// configuration and its identity.
type builtinDescriptor struct {
	name, short string
	cfg         descConfig
	dim         int
	// wedges: rotation wedges are painted over before the graph
	// (ModelSpec.FillRotationCorners).
	wedges bool
	// identity is specIdentity of the descriptor's spec and graph, written
	// down so that a freshness check, which needs only the identity, does
	// not build and hash the graph (most of a short query's time);
	// TestBuiltinIdentity builds every graph and fails when one no longer
	// matches.
	identity string
	once     sync.Once
	data     []byte
	err      error
}

// descriptorV1 and descriptorV2 are the built-in descriptors.
var (
	descriptorV1 = &builtinDescriptor{
		name: DescriptorName, short: DescriptorShortName, cfg: descV1Config, dim: DescriptorDim,
		identity: "sha256:b6d6bb1594621e310b762e715ba60e7d7093c0ca732e757f6bb5e09edf98841a",
	}
	descriptorV2 = &builtinDescriptor{
		name: DescriptorV2Name, short: DescriptorV2ShortName, cfg: descV2Config, dim: DescriptorV2Dim, wedges: true,
		identity: "sha256:331da4b550a3410d5c2ad7625cc6182cec8558f475bd9df56a01bd0261cf4f4e",
	}
	builtins = []*builtinDescriptor{descriptorV1, descriptorV2}
)

// Lengths of the built-in descriptors' embeddings.
const (
	DescriptorDim   = 477  // descriptor-v1
	DescriptorV2Dim = 1306 // descriptor-v2
)

// defaultDescriptor is the default model: the built-in descriptor with the
// best near-duplicate results of `make quality` (QUALITY.md).
var defaultDescriptor = descriptorV2

// DefaultModelName is the name of the default model.
const DefaultModelName = DescriptorV2Name

// BuiltinName returns the name of the built-in descriptor that a
// `model = '…'` value names — its name or short name in any case, or
// "builtin" for the default — and "" when it names none.
func BuiltinName(name string) string {
	if b := builtinNamed(name); b != nil {
		return b.name
	}
	return ""
}

// builtinNamed is the built-in descriptor name names, or nil.
func builtinNamed(name string) *builtinDescriptor {
	if strings.EqualFold(name, "builtin") {
		return defaultDescriptor
	}
	for _, b := range builtins {
		if strings.EqualFold(name, b.name) || strings.EqualFold(name, b.short) {
			return b
		}
	}
	return nil
}

// builtinOf is the built-in descriptor a spec describes (a spec with no
// file whose name is a built-in's), or nil.
func builtinOf(spec ModelSpec) *builtinDescriptor {
	if spec.Path != "" {
		return nil
	}
	for _, b := range builtins {
		if spec.Name == b.name {
			return b
		}
	}
	return nil
}

// descriptorSize is the built-in descriptors' working width and height.
// 48 finds planted copies as well as 64 and 96 on the synthetic sets and
// runs about 1.6x faster than 64 (BENCHMARKS.md).
const descriptorSize = 48

// descriptorBatch is the batch size Embed uses for the built-in models.
const descriptorBatch = 64

// DefaultModel returns a new instance of the default model, the built-in
// descriptor-v2. The caller closes it.
func DefaultModel() (*Model, error) { return defaultDescriptor.load() }

// BuiltinSpec returns the spec of the built-in descriptor a `model = '…'`
// value names (see BuiltinName); ok is false when it names none. Its Path
// is empty: the graph is built in memory.
func BuiltinSpec(name string) (spec ModelSpec, ok bool) {
	b := builtinNamed(name)
	if b == nil {
		return ModelSpec{}, false
	}
	return b.spec(), true
}

// DefaultModelSpec is the spec of the default model.
func DefaultModelSpec() ModelSpec { return defaultDescriptor.spec() }

// spec is the descriptor's ModelSpec: RGB, NCHW, levels scaled to [0, 1].
func (b *builtinDescriptor) spec() ModelSpec {
	in := b.cfg.Size
	if b.cfg.Input > 0 {
		in = b.cfg.Input
	}
	return ModelSpec{
		Name:     b.name,
		Width:    in,
		Height:   in,
		Layout:   NCHW,
		Channels: RGB,
		Scale:    1.0 / 255,
		Std:      [3]float32{1, 1, 1},
		Input:    "image",
		Output:   "embedding",

		FillRotationCorners: b.wedges,
	}
}

// graph returns the descriptor's serialised graph, built once.
func (b *builtinDescriptor) graph() ([]byte, error) {
	b.once.Do(func() { b.data, b.err = buildDescriptor(b.cfg) })
	return b.data, b.err
}

// load returns a new instance of the descriptor.
func (b *builtinDescriptor) load() (*Model, error) {
	data, err := b.graph()
	if err != nil {
		return nil, err
	}
	// One intra-op thread: the graph's many small operators gain little
	// from ONNX Runtime's threads (1.3x on 2), so Embed runs one batch
	// per core instead (1.8x); see BENCHMARKS.md.
	return loadModelWith(b.spec(), data, sessionConfig{noLayoutOpt: true, threads: 1})
}

// loadSpec loads the model spec describes: a built-in descriptor, or an
// ONNX file (its bytes data when the caller read them, else read here).
func loadSpec(spec ModelSpec, data []byte) (*Model, error) {
	if b := builtinOf(spec); b != nil {
		return b.load()
	}
	if data == nil {
		var err error
		if data, err = readModelFile(spec); err != nil {
			return nil, err
		}
	}
	return loadModelBytes(spec, data)
}

// descConfig gives the weight of each descriptor block; a zero weight
// leaves the block out. The fields after the weights are the options of
// later descriptors; their zero values give descriptor-v1's graph.
type descConfig struct {
	Size   int        // working width and height, a multiple of 16 (>= 32)
	Lum    [3]float32 // luminance thumbnails 2x2, 4x4, 8x8
	Chroma [3]float32 // chroma thumbnails 2x2, 4x4, 8x8
	LumHist,
	HueGlobal, Hue2 float32
	GradGlobal [3]float32 // whole-image gradient energy at scales 1, 1/2, 1/4
	Grad4      [3]float32 // 4x4 grid of gradient energy at scales 1, 1/2, 1/4

	// Input is the input's width and height when it differs from Size:
	// the image is then brought to Size by the trim's crop (cropResize).
	Input int
	// Luma601 makes luminance ITU-R BT.601 luma (0.299, 0.587, 0.114),
	// the grey a greyscale conversion keeps, instead of (R+G+B)/3.
	Luma601 bool
	// Trim crops plain bars off each side before anything else (see
	// trimBars).
	Trim                        bool
	TrimTol, TrimShare, TrimMax float32
	// FullWeight, when set with Trim, adds the blocks of the whole
	// (untrimmed) image too, at this weight against the trimmed image's 1.
	FullWeight float32
	// Centre weighs the whole-image pools towards the middle: a pixel at
	// normalised radius r (1 at the middle of an edge) counts
	// max(0.1, 1 - Centre·r²/2).
	Centre float32
	// RingGrad weighs a block of gradient energy per direction pooled
	// over concentric rings around the middle, which a rotation about the
	// middle does not move.
	RingGrad float32
	// Power takes the signed square root of every block's values before
	// the block is centred and normalised, so that a few strong cells
	// (an edge, a patch of colour) weigh less against the rest.
	Power bool
}

// descV1Config is descriptor-v1's configuration.
//
// Input: 48x48 RGB, NCHW, levels scaled to [0, 1]. The graph turns the image
// into luminance L = (R+G+B)/3 and two opponent chroma channels
// O1 = (R-G)/2 and O2 = (R+G-2B)/4, standardises L per image (zero mean,
// unit variance, so brightness and contrast shifts cancel), and computes
// these blocks (lengths after mirror folding):
//
//   - luminance thumbnails: standardised L average-pooled to 2x2, 4x4 and
//     8x8 grids (4 + 16 + 64);
//   - chroma thumbnails: O1 and O2 pooled to 2x2 and 4x4 (8 + 32);
//   - luminance histogram: soft (triangular) binning of standardised L into
//     9 bins centred on -2, -1.5, ..., 2 (9);
//   - hue energy: the (O1, O2) vector split into 8 soft direction bins,
//     pooled over the whole image and over a 2x2 grid (8 + 32);
//   - oriented-gradient energy: Sobel gradients of standardised L at full,
//     half and quarter resolution, split into 8 soft direction bins, pooled
//     over the whole image at each scale (3 x 16) and over a 4x4 grid at
//     full and half resolution (2 x 128).
//
// Every block is invariant to a horizontal mirror. For a pooled grid F,
// with M the grid flipped left to right (and gradient directions
// reflected), a block keeps F+M and |F-M| over the left half of the
// columns; a global direction histogram v keeps v+p and |v-p| with p its
// reflected bins. Blocks of non-negative energies are centred (their mean
// bin subtracted), each block is L2-normalised with a small floor (so a
// flat image stays near zero instead of amplifying noise) and weighted,
// the blocks are concatenated, and the result is L2-normalised: 477 values.
// The weights were searched on three synthetic sets of 2,000 images (seeds
// 7, 11, 23) and checked on two others (seeds 31, 47); see BENCHMARKS.md.
var descV1Config = descConfig{
	Size:       descriptorSize,
	Lum:        [3]float32{0.4, 0.9, 0.6},
	Chroma:     [3]float32{0.1, 0.6, 0},
	LumHist:    1.4,
	HueGlobal:  1.25,
	Hue2:       1.1,
	GradGlobal: [3]float32{0.9, 0.7, 0.2},
	Grad4:      [3]float32{0.7, 0.7, 0},
}

// descV2Config is descriptor-v2's configuration: the input is 64x64; the
// plain bars around the picture (a border, a letterbox, a flat background)
// are trimmed off (trimBars) and what is left resampled to 48x48
// (cropResize); descriptor-v1's blocks are computed on it and, at weight
// 0.8, on the whole input resampled to 48x48 as well (2 x 653 values).
// Against descriptor-v1: luminance is BT.601 luma (what a greyscale copy
// keeps), the hue blocks and luminance thumbnails weigh less, an 8x8
// chroma thumbnail is added and the grids of gradient energy weigh more,
// whole-image pools weigh the middle more than the corners (Centre), a block of gradient energy
// per direction over six rings around the middle is added (RingGrad), and
// every block's values are replaced by their signed square roots before it
// is normalised (Power).
// Each change was kept for what it did to `make quality`'s near-duplicate
// figures on the tuxpaint, wallpaper and Fashion-MNIST collections
// (QUALITY.md): above all crops, borders and greyscale copies.
var descV2Config = func() descConfig {
	c := descV1Config
	c.Lum = [3]float32{0.1, 0.4, 0.3}
	c.Chroma = [3]float32{0.1, 0.6, 0.3}
	c.HueGlobal, c.Hue2 = 0.8, 0.9
	c.Grad4 = [3]float32{1.1, 1.1, 0}
	c.Input = 64
	c.Luma601 = true
	c.Trim, c.TrimTol, c.TrimShare, c.TrimMax = true, 0.06, 0.8, 0.3
	c.FullWeight = 0.8
	c.Centre = 0.6
	c.RingGrad = 1.0
	c.Power = true
	return c
}()

// descBlock names one block of the descriptor and its length.
type descBlock struct {
	name string
	dim  int
}

// buildDescriptor writes the descriptor graph for cfg.
func buildDescriptor(cfg descConfig) ([]byte, error) {
	data, _, err := buildDescriptorBlocks(cfg)
	return data, err
}

// buildDescriptorBlocks writes the descriptor graph for cfg and lists its
// blocks in embedding order.
func buildDescriptorBlocks(cfg descConfig) ([]byte, []descBlock, error) {
	s := cfg.Size
	if s%16 != 0 || s <= 0 {
		return nil, nil, fmt.Errorf("brain: descriptor size %d is not a multiple of 16", s)
	}
	b := newGraph("fosql_descriptor")
	S := int64(s)
	image := "image"
	if cfg.Input > 0 && cfg.Input != s && !cfg.Trim {
		return nil, nil, fmt.Errorf("brain: descriptor input %d differs from its size %d without a trim", cfg.Input, s)
	}
	in := S
	if cfg.Input > 0 {
		in = int64(cfg.Input)
	}
	b.input(image, []int64{-1, 3, in, in}, "batch")
	// Opponent colour space by a 1x1 convolution: L, O1, O2.
	lumRow := []float32{1.0 / 3, 1.0 / 3, 1.0 / 3}
	if cfg.Luma601 {
		lumRow = []float32{0.299, 0.587, 0.114}
	}
	opp := b.floatInit("opponent", []int64{3, 3, 1, 1}, append(lumRow,
		0.5, -0.5, 0,
		0.25, 0.25, -0.5,
	))
	var out descBlocks
	if cfg.Trim {
		if cfg.FullWeight > 0 {
			full := image
			if in != S {
				full = b.cropResize(image, b.constF([]int64{1, 4}, 0, 0, float32(in), float32(in)), in, S)
			}
			b.descriptorBlocks(&out, full, opp, S, cfg, cfg.FullWeight, "full/")
		}
		b.descriptorBlocks(&out, b.cropResize(image, b.trimBars(image, in, cfg), in, S), opp, S, cfg, 1, "")
	} else {
		b.descriptorBlocks(&out, image, opp, S, cfg, 1, "")
	}
	blocks, layout, dim := out.blocks, out.layout, out.dim
	if len(blocks) == 0 {
		return nil, nil, fmt.Errorf("brain: descriptor has no blocks")
	}

	cat := b.op("Concat", blocks, attrInt("axis", 1))
	n2 := b.rowSum(b.op("Mul", []string{cat, cat}), dim)
	b.node("Div", []string{cat, b.op("Sqrt", []string{b.op("Add", []string{n2, b.constF(nil, 1e-12)})})}, "embedding")
	b.output("embedding", 1 /* FLOAT */, []int64{-1, dim}, "batch")
	data, err := b.model("fosql")
	return data, layout, err
}

// descBlocks collects a descriptor's weighted, normalised blocks.
type descBlocks struct {
	blocks []string
	layout []descBlock
	dim    int64
}

// descriptorBlocks appends to out the blocks cfg asks for, computed on
// image ([N,3,S,S]) and weighted by scale, their names prefixed.
func (b *graphBuilder) descriptorBlocks(out *descBlocks, image, opp string, S int64, cfg descConfig, scale float32, prefix string) {
	y := b.op("Conv", []string{image, opp})
	lum := b.op("Slice", []string{y, b.constI(0), b.constI(1), b.constI(1)})
	chroma := b.op("Slice", []string{y, b.constI(1), b.constI(3), b.constI(1)})

	// Standardise luminance per image.
	mu := b.op("ReduceMean", []string{lum}, attrInts("axes", 2, 3), attrInt("keepdims", 1))
	lc := b.op("Sub", []string{lum, mu})
	v := b.op("ReduceMean", []string{b.op("Mul", []string{lc, lc})}, attrInts("axes", 2, 3), attrInt("keepdims", 1))
	sd := b.op("Sqrt", []string{b.op("Add", []string{v, b.constF(nil, 1e-4)})})
	ln := b.op("Div", []string{lc, sd})

	// add appends a weighted, normalised block. Energy blocks (non-negative
	// values) are centred first and get a lower floor.
	add := func(name, vec string, n int64, weight float32, energy bool) {
		if weight <= 0 {
			return
		}
		floor := float32(0.05)
		if cfg.Power {
			vec = b.op("Mul", []string{b.op("Sign", []string{vec}), b.op("Sqrt", []string{b.op("Abs", []string{vec})})})
		}
		if energy {
			floor = 0.01
			m := b.op("Div", []string{b.rowSum(vec, n), b.constF(nil, float32(n))})
			vec = b.op("Sub", []string{vec, m})
		}
		out.blocks = append(out.blocks, b.blockNorm(vec, n, weight*scale, floor))
		out.layout = append(out.layout, descBlock{prefix + name, int(n)})
		out.dim += n
	}
	pool := func(x string, k int64) string {
		return b.op("AveragePool", []string{x}, attrInts("kernel_shape", k, k), attrInts("strides", k, k))
	}
	// global averages x ([N,C,n,n]) over the image, weighted to the
	// middle when cfg.Centre is set.
	global := func(x string, n int64) string {
		if cfg.Centre > 0 {
			x = b.op("Mul", []string{x, b.centreMask(n, cfg.Centre)})
		}
		return b.op("Flatten", []string{b.op("GlobalAveragePool", []string{x})}, attrInt("axis", 1))
	}

	// Luminance and chroma thumbnails.
	for i, g := range [3]int64{2, 4, 8} {
		if w := cfg.Lum[i]; w > 0 {
			add(fmt.Sprintf("lum%d", g), b.mirrorFold(pool(ln, S/g), g, nil), g*g, w, false)
		}
		if w := cfg.Chroma[i]; w > 0 {
			add(fmt.Sprintf("chroma%d", g), b.mirrorFold(pool(chroma, S/g), g, nil), 2*g*g, w, false)
		}
	}

	// Luminance histogram: triangular bins of width 0.5 centred on -2..2.
	if cfg.LumHist > 0 {
		centres := make([]float32, 9)
		for i := range centres {
			centres[i] = -2 + 0.5*float32(i)
		}
		dist := b.op("Abs", []string{b.op("Sub", []string{ln, b.constF([]int64{1, 9, 1, 1}, centres...)})})
		tri := b.op("Relu", []string{b.op("Sub", []string{b.constF(nil, 1), b.op("Mul", []string{dist, b.constF(nil, 2)})})})
		add("lumhist", global(tri, S), 9, cfg.LumHist, true)
	}

	// Hue energy in 8 directions of the (O1, O2) plane.
	if cfg.HueGlobal > 0 || cfg.Hue2 > 0 {
		hue := b.directional(chroma, 8)
		add("hue", global(hue, S), 8, cfg.HueGlobal, true)
		add("hue2", b.mirrorFold(pool(hue, S/2), 2, nil), 8*4, cfg.Hue2, true)
	}

	// Oriented-gradient energy at scales 1, 1/2 and 1/4.
	mirror := []int64{4, 3, 2, 1, 0, 7, 6, 5} // direction k -> 180° - k·45°
	x := ln
	for i := 0; i < 3; i++ {
		if i > 0 {
			x = pool(x, 2)
		}
		if cfg.GradGlobal[i] <= 0 && cfg.Grad4[i] <= 0 {
			continue
		}
		n := S >> i
		sobel := b.constF([]int64{2, 1, 3, 3},
			-1, 0, 1, -2, 0, 2, -1, 0, 1, // d/dx
			-1, -2, -1, 0, 0, 0, 1, 2, 1, // d/dy
		)
		g := b.op("Conv", []string{x, sobel}, attrInts("pads", 1, 1, 1, 1))
		e := b.directional(g, 8)
		add(fmt.Sprintf("grad/%d", 1<<i), b.permFold(global(e, n), mirror), 16, cfg.GradGlobal[i], true)
		add(fmt.Sprintf("grad4/%d", 1<<i), b.mirrorFold(pool(e, n/4), 4, mirror), 8*16, cfg.Grad4[i], true)
		if i == 0 && cfg.RingGrad > 0 {
			folded := b.op("Add", []string{e, b.op("Gather", []string{e, b.constI(mirror...)}, attrInt("axis", 1))})
			add("ringgrad", b.rings(folded, 8, n), 8*descRings, cfg.RingGrad, true)
		}
	}
}

// descRings is the number of rings rings pools over.
const descRings = 6

// rings averages x ([N,c,n,n]) over descRings soft concentric rings
// around the middle (triangular in the radius, normalised so that the
// middle of an edge is 1 and the corners about 1.4): [N, c·descRings].
func (b *graphBuilder) rings(x string, c, n int64) string {
	w := make([]float32, n*n*descRings)
	step := math.Sqrt2 / (descRings - 1)
	for k := 0; k < descRings; k++ {
		var sum float64
		for y := int64(0); y < n; y++ {
			for x := int64(0); x < n; x++ {
				dx := (float64(x) + 0.5 - float64(n)/2) / (float64(n) / 2)
				dy := (float64(y) + 0.5 - float64(n)/2) / (float64(n) / 2)
				v := max(0, 1-math.Abs(math.Hypot(dx, dy)-float64(k)*step)/step)
				w[(y*n+x)*descRings+int64(k)] = float32(v)
				sum += v
			}
		}
		for i := int64(0); i < n*n; i++ {
			w[i*descRings+int64(k)] /= float32(sum)
		}
	}
	flat := b.op("Reshape", []string{x, b.constI(0, c, n*n)})
	pooled := b.op("MatMul", []string{flat, b.constF([]int64{n * n, descRings}, w...)})
	return b.op("Flatten", []string{pooled}, attrInt("axis", 1))
}

// centreMask is an [1,1,n,n] weight that is largest in the middle: a pixel
// at normalised radius r (1 at the middle of an edge) weighs
// max(0.1, 1 - strength·r²/2), scaled so the weights average 1.
func (b *graphBuilder) centreMask(n int64, strength float32) string {
	w := make([]float32, n*n)
	var sum float64
	for y := int64(0); y < n; y++ {
		for x := int64(0); x < n; x++ {
			dx := (float64(x) + 0.5 - float64(n)/2) / (float64(n) / 2)
			dy := (float64(y) + 0.5 - float64(n)/2) / (float64(n) / 2)
			v := max(0.1, 1-float64(strength)*(dx*dx+dy*dy)/2)
			w[y*n+x] = float32(v)
			sum += v
		}
	}
	for i := range w {
		w[i] = float32(float64(w[i]) * float64(n*n) / sum)
	}
	return b.constF([]int64{1, 1, n, n}, w...)
}

// trimBars crops plain bars (borders, letterboxes, a flat background) off
// every side of the images x ([N,3,in,in]) and returns the boxes left,
// [N,4]: x1, y1, x2, y2 in pixels. From each edge inward, a row (column) is
// part of a bar while at least cfg.TrimShare of its pixels are within
// cfg.TrimTol (mean absolute difference over the channels) of the mean
// colour of its middle half: bars may carry a little of something else at
// their ends (the corners a rotation filled, the bars of the other axis).
// At most cfg.TrimMax of the size is cut per side; a plain image is left
// whole.
func (b *graphBuilder) trimBars(x string, in int64, cfg descConfig) string {
	maxCut := b.constI(int64(float32(in) * cfg.TrimMax))
	// sides returns how many lines are bars at the start and at the end of
	// one axis (2: rows, 3: columns), each [N,1,1] int64.
	sides := func(axis int64) (string, string) {
		along := 5 - axis // the axis a line runs along
		mid := b.op("Slice", []string{x, b.constI(in / 4), b.constI(in - in/4), b.constI(along)})
		colour := b.op("ReduceMean", []string{mid}, attrInts("axes", along), attrInt("keepdims", 1))
		diff := b.op("ReduceMean", []string{b.op("Abs", []string{b.op("Sub", []string{x, colour})})},
			attrInts("axes", 1), attrInt("keepdims", 1))
		near := b.op("Cast", []string{b.op("Less", []string{diff, b.constF(nil, cfg.TrimTol)})}, attrInt("to", 1 /* FLOAT */))
		share := b.op("ReduceMean", []string{near}, attrInts("axes", along), attrInt("keepdims", 1))
		stop := b.op("Cast", []string{b.op("Less", []string{share, b.constF(nil, cfg.TrimShare)})}, attrInt("to", 6 /* INT32 */))
		if axis == 3 { // columns: move the lines to axis 2
			stop = b.op("Transpose", []string{stop}, attrInts("perm", 0, 1, 3, 2))
		}
		// The first line that is no bar; ArgMax finds the first maximum.
		first := func(v string) string {
			return b.op("Min", []string{b.op("ArgMax", []string{v}, attrInt("axis", 2), attrInt("keepdims", 0)), maxCut})
		}
		rev := b.op("Slice", []string{stop, b.constI(-1), b.constI(math.MinInt64), b.constI(2), b.constI(-1)})
		return first(stop), first(rev)
	}
	top, bottom := sides(2)
	left, right := sides(3)
	f := func(v string) string {
		return b.op("Reshape", []string{b.op("Cast", []string{v}, attrInt("to", 1 /* FLOAT */)), b.constI(-1, 1)})
	}
	size := b.constF(nil, float32(in))
	return b.op("Concat", []string{f(left), f(top), b.op("Sub", []string{size, f(right)}), b.op("Sub", []string{size, f(bottom)})},
		attrInt("axis", 1))
}

// cropResize resamples box i of rois ([N,4]: x1, y1, x2, y2 in pixels of
// the in x in images x) of each image of x ([N,C,in,in]) to out x out
// pixels by area averaging: output pixel o along an axis averages the
// source over [lo + o·step, lo + (o+1)·step], step = (hi-lo)/out, each
// source pixel weighted by its overlap. The weights form one matrix per
// image and axis, so the resampling is two batched matrix products.
func (b *graphBuilder) cropResize(x, rois string, in, out int64) string {
	outIdx := make([]float32, out)
	for i := range outIdx {
		outIdx[i] = float32(i)
	}
	pix := make([]float32, in)
	for i := range pix {
		pix[i] = float32(i)
	}
	o := b.constF([]int64{1, out}, outIdx...)
	p0 := b.constF([]int64{1, 1, in}, pix...)
	p1 := b.op("Add", []string{p0, b.constF(nil, 1)})
	// weights returns the [N,out,in] resampling matrix of the axis whose
	// box runs from column lo to column hi of rois.
	weights := func(lo, hi int64) string {
		start := b.op("Slice", []string{rois, b.constI(lo), b.constI(lo + 1), b.constI(1)})
		end := b.op("Slice", []string{rois, b.constI(hi), b.constI(hi + 1), b.constI(1)})
		step := b.op("Div", []string{b.op("Sub", []string{end, start}), b.constF(nil, float32(out))})
		from := b.op("Add", []string{start, b.op("Mul", []string{o, step})})
		to := b.op("Add", []string{from, step})
		from = b.op("Unsqueeze", []string{from, b.constI(2)})
		to = b.op("Unsqueeze", []string{to, b.constI(2)})
		overlap := b.op("Relu", []string{b.op("Sub", []string{b.op("Min", []string{to, p1}), b.op("Max", []string{from, p0})})})
		return b.op("Div", []string{overlap, b.op("Unsqueeze", []string{step, b.constI(2)})})
	}
	wy := b.op("Unsqueeze", []string{weights(1, 3), b.constI(1)})                                                         // [N,1,out,in]
	wx := b.op("Unsqueeze", []string{b.op("Transpose", []string{weights(0, 2)}, attrInts("perm", 0, 2, 1)), b.constI(1)}) // [N,1,in,out]
	return b.op("MatMul", []string{b.op("MatMul", []string{wy, x}), wx})
}

// directional splits a 2-channel vector field x ([N,2,H,W]) into k soft
// direction bins: channel j is max(0, <v, u_j> - cos(45°)|v|) for the unit
// vector u_j at angle j·360°/k, an energy that is non-zero within ±45° of u_j.
func (b *graphBuilder) directional(x string, k int) string {
	w := make([]float32, 2*k)
	for j := 0; j < k; j++ {
		a := 2 * math.Pi * float64(j) / float64(k)
		w[2*j], w[2*j+1] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	proj := b.op("Conv", []string{x, b.constF([]int64{int64(k), 2, 1, 1}, w...)})
	sq := b.op("ReduceSum", []string{b.op("Mul", []string{x, x}), b.constI(1)}, attrInt("keepdims", 1))
	mag := b.op("Sqrt", []string{b.op("Add", []string{sq, b.constF(nil, 1e-8)})})
	thr := b.op("Mul", []string{mag, b.constF(nil, float32(math.Sqrt2/2))})
	return b.op("Relu", []string{b.op("Sub", []string{proj, thr})})
}

// mirrorFold makes a pooled grid f ([N,C,g,g], g even) invariant to a
// left-right mirror: with m = f flipped along x and, when perm is given, its
// channels reordered by perm, it returns the flattened concatenation of
// (f+m) and |f-m| over the left g/2 columns: [N, C*g*g] values.
func (b *graphBuilder) mirrorFold(f string, g int64, perm []int64) string {
	flip := b.op("Slice", []string{f, b.constI(-1), b.constI(math.MinInt64), b.constI(3), b.constI(-1)})
	if perm != nil {
		flip = b.op("Gather", []string{flip, b.constI(perm...)}, attrInt("axis", 1))
	}
	half := func(x string) string {
		left := b.op("Slice", []string{x, b.constI(0), b.constI(g / 2), b.constI(3)})
		return b.op("Flatten", []string{left}, attrInt("axis", 1))
	}
	sum := half(b.op("Add", []string{f, flip}))
	diff := half(b.op("Abs", []string{b.op("Sub", []string{f, flip})}))
	return b.op("Concat", []string{sum, diff}, attrInt("axis", 1))
}

// permFold makes a vector of direction bins v ([N,k]) invariant to the
// channel permutation perm that a mirror applies: it returns v+p and |v-p|
// with p = v permuted ([N, 2k]).
func (b *graphBuilder) permFold(v string, perm []int64) string {
	p := b.op("Gather", []string{v, b.constI(perm...)}, attrInt("axis", 1))
	sum := b.op("Add", []string{v, p})
	diff := b.op("Abs", []string{b.op("Sub", []string{v, p})})
	return b.op("Concat", []string{sum, diff}, attrInt("axis", 1))
}

// blockNorm scales a block [N,k] to weight·v/sqrt(|v|²+floor²): unit length
// (times weight) for strong signals, proportionally less for blocks whose
// energy is near the floor.
func (b *graphBuilder) blockNorm(v string, k int64, weight, floor float32) string {
	n2 := b.rowSum(b.op("Mul", []string{v, v}), k)
	den := b.op("Sqrt", []string{b.op("Add", []string{n2, b.constF(nil, floor*floor)})})
	return b.op("Mul", []string{b.op("Div", []string{v, den}), b.constF(nil, weight)})
}

// rowSumAlign is the row length, in values, that rowSum pads to: 64 bytes,
// the alignment of ONNX Runtime's buffers and more than any SIMD width.
const rowSumAlign = 16

// rowSum sums each row of x ([N,k]) into [N,1]. ONNX Runtime's ReduceSum
// over the last axis groups the additions by the memory alignment of each
// row, so with a row length that is not a multiple of the SIMD width, rows
// at odd and even batch positions were summed in different orders and the
// same image got embeddings differing in the last bit depending on where it
// sat in its batch. Padding the rows with zeros to a multiple of
// rowSumAlign values gives every row the same alignment, hence the same
// order of additions; the zeros do not change the sums.
func (b *graphBuilder) rowSum(x string, k int64) string {
	if pad := (rowSumAlign - k%rowSumAlign) % rowSumAlign; pad > 0 {
		x = b.op("Pad", []string{x, b.constI(0, 0, 0, pad)})
	}
	return b.op("ReduceSum", []string{x, b.constI(1)}, attrInt("keepdims", 1))
}
