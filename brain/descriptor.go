package brain

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// DescriptorName is the Name of the built-in default model's spec.
const DescriptorName = "fosql-descriptor-v1"

// DescriptorShortName is another name of the built-in descriptor in
// `model = '…'`, the one it keeps beside later built-in models.
const DescriptorShortName = "descriptor-v1"

// IsDescriptorName reports whether a `model = '…'` value names the built-in
// descriptor: its name, its short name or "builtin", in any case.
func IsDescriptorName(name string) bool {
	return strings.EqualFold(name, DescriptorName) || strings.EqualFold(name, DescriptorShortName) || strings.EqualFold(name, "builtin")
}

// descriptorSize is the built-in model's input width and height. 48 finds
// planted copies as well as 64 and 96 on the synthetic sets and runs about
// 1.6x faster than 64 (BENCHMARKS.md).
const descriptorSize = 48

// descriptorBatch is the batch size Embed uses for the built-in model.
const descriptorBatch = 64

// DefaultModel returns a new instance of the built-in default model: a
// training-free image descriptor that fosql builds as an ONNX graph in Go and
// runs through ONNX Runtime like any other model. It needs no file and no
// network. The caller closes it.
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
// the blocks are concatenated, and the result is L2-normalised: 477 values
// (DescriptorDim).
//
// The weights were chosen on the zoo's synthetic sets with planted copies;
// BENCHMARKS.md reports its near-duplicate recall per transform (crop,
// JPEG re-encode, brightness/contrast, resize, rotation, mirror, exact).
func DefaultModel() (*Model, error) {
	data, err := descriptorGraph()
	if err != nil {
		return nil, err
	}
	// One intra-op thread: the graph's many small operators gain little
	// from ONNX Runtime's threads (1.3x on 2), so Embed runs one batch
	// per core instead (1.8x); see BENCHMARKS.md.
	return loadModelWith(DefaultModelSpec(), data, sessionConfig{noLayoutOpt: true, threads: 1})
}

// DescriptorDim is the length of the built-in model's embeddings.
const DescriptorDim = 477

// DefaultModelSpec is the spec of the built-in model (its Path is empty: the
// graph is built in memory).
func DefaultModelSpec() ModelSpec {
	return ModelSpec{
		Name:     DescriptorName,
		Width:    descriptorSize,
		Height:   descriptorSize,
		Layout:   NCHW,
		Channels: RGB,
		Scale:    1.0 / 255,
		Std:      [3]float32{1, 1, 1},
		Input:    "image",
		Output:   "embedding",
	}
}

var descriptorOnce struct {
	sync.Once
	data []byte
	err  error
}

// descriptorGraph returns the serialised built-in model, built once.
func descriptorGraph() ([]byte, error) {
	descriptorOnce.Do(func() {
		descriptorOnce.data, descriptorOnce.err = buildDescriptor(defaultDescConfig)
	})
	return descriptorOnce.data, descriptorOnce.err
}

// descConfig gives the weight of each descriptor block; a zero weight
// leaves the block out.
type descConfig struct {
	size   int        // input width and height, a multiple of 16 (>= 32)
	lum    [3]float32 // luminance thumbnails 2x2, 4x4, 8x8
	chroma [3]float32 // chroma thumbnails 2x2, 4x4, 8x8
	lumHist,
	hueGlobal, hue2 float32
	gradGlobal [3]float32 // whole-image gradient energy at scales 1, 1/2, 1/4
	grad4      [3]float32 // 4x4 grid of gradient energy at scales 1, 1/2, 1/4
}

// defaultDescConfig is the built-in model's configuration. The weights were
// searched on three synthetic sets of 2,000 images (seeds 7, 11, 23) and
// checked on two others (seeds 31, 47); see BENCHMARKS.md.
var defaultDescConfig = descConfig{
	size:       descriptorSize,
	lum:        [3]float32{0.4, 0.9, 0.6},
	chroma:     [3]float32{0.1, 0.6, 0},
	lumHist:    1.4,
	hueGlobal:  1.25,
	hue2:       1.1,
	gradGlobal: [3]float32{0.9, 0.7, 0.2},
	grad4:      [3]float32{0.7, 0.7, 0},
}

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
	s := cfg.size
	if s%16 != 0 || s <= 0 {
		return nil, nil, fmt.Errorf("brain: descriptor size %d is not a multiple of 16", s)
	}
	b := newGraph("fosql_descriptor")
	b.input("image", []int64{-1, 3, int64(s), int64(s)}, "batch")
	S := int64(s)

	// Opponent colour space by a 1x1 convolution: L, O1, O2.
	opp := b.floatInit("opponent", []int64{3, 3, 1, 1}, []float32{
		1.0 / 3, 1.0 / 3, 1.0 / 3,
		0.5, -0.5, 0,
		0.25, 0.25, -0.5,
	})
	y := b.op("Conv", []string{"image", opp})
	lum := b.op("Slice", []string{y, b.constI(0), b.constI(1), b.constI(1)})
	chroma := b.op("Slice", []string{y, b.constI(1), b.constI(3), b.constI(1)})

	// Standardise luminance per image.
	mu := b.op("ReduceMean", []string{lum}, attrInts("axes", 2, 3), attrInt("keepdims", 1))
	lc := b.op("Sub", []string{lum, mu})
	v := b.op("ReduceMean", []string{b.op("Mul", []string{lc, lc})}, attrInts("axes", 2, 3), attrInt("keepdims", 1))
	sd := b.op("Sqrt", []string{b.op("Add", []string{v, b.constF(nil, 1e-4)})})
	ln := b.op("Div", []string{lc, sd})

	var blocks []string
	var layout []descBlock
	dim := int64(0)
	// add appends a weighted, normalised block. Energy blocks (non-negative
	// values) are centred first and get a lower floor.
	add := func(name, vec string, n int64, weight float32, energy bool) {
		if weight <= 0 {
			return
		}
		floor := float32(0.05)
		if energy {
			floor = 0.01
			m := b.op("Div", []string{b.rowSum(vec, n), b.constF(nil, float32(n))})
			vec = b.op("Sub", []string{vec, m})
		}
		blocks = append(blocks, b.blockNorm(vec, n, weight, floor))
		layout = append(layout, descBlock{name, int(n)})
		dim += n
	}
	pool := func(x string, k int64) string {
		return b.op("AveragePool", []string{x}, attrInts("kernel_shape", k, k), attrInts("strides", k, k))
	}
	global := func(x string) string {
		return b.op("Flatten", []string{b.op("GlobalAveragePool", []string{x})}, attrInt("axis", 1))
	}

	// Luminance and chroma thumbnails.
	for i, g := range [3]int64{2, 4, 8} {
		if w := cfg.lum[i]; w > 0 {
			add(fmt.Sprintf("lum%d", g), b.mirrorFold(pool(ln, S/g), g, nil), g*g, w, false)
		}
		if w := cfg.chroma[i]; w > 0 {
			add(fmt.Sprintf("chroma%d", g), b.mirrorFold(pool(chroma, S/g), g, nil), 2*g*g, w, false)
		}
	}

	// Luminance histogram: triangular bins of width 0.5 centred on -2..2.
	if cfg.lumHist > 0 {
		centres := make([]float32, 9)
		for i := range centres {
			centres[i] = -2 + 0.5*float32(i)
		}
		dist := b.op("Abs", []string{b.op("Sub", []string{ln, b.constF([]int64{1, 9, 1, 1}, centres...)})})
		tri := b.op("Relu", []string{b.op("Sub", []string{b.constF(nil, 1), b.op("Mul", []string{dist, b.constF(nil, 2)})})})
		add("lumhist", global(tri), 9, cfg.lumHist, true)
	}

	// Hue energy in 8 directions of the (O1, O2) plane.
	if cfg.hueGlobal > 0 || cfg.hue2 > 0 {
		hue := b.directional(chroma, 8)
		add("hue", global(hue), 8, cfg.hueGlobal, true)
		add("hue2", b.mirrorFold(pool(hue, S/2), 2, nil), 8*4, cfg.hue2, true)
	}

	// Oriented-gradient energy at scales 1, 1/2 and 1/4.
	mirror := []int64{4, 3, 2, 1, 0, 7, 6, 5} // direction k -> 180° - k·45°
	x := ln
	for i := 0; i < 3; i++ {
		if i > 0 {
			x = pool(x, 2)
		}
		if cfg.gradGlobal[i] <= 0 && cfg.grad4[i] <= 0 {
			continue
		}
		n := S >> i
		sobel := b.constF([]int64{2, 1, 3, 3},
			-1, 0, 1, -2, 0, 2, -1, 0, 1, // d/dx
			-1, -2, -1, 0, 0, 0, 1, 2, 1, // d/dy
		)
		g := b.op("Conv", []string{x, sobel}, attrInts("pads", 1, 1, 1, 1))
		e := b.directional(g, 8)
		add(fmt.Sprintf("grad/%d", 1<<i), b.permFold(global(e), mirror), 16, cfg.gradGlobal[i], true)
		add(fmt.Sprintf("grad4/%d", 1<<i), b.mirrorFold(pool(e, n/4), 4, mirror), 8*16, cfg.grad4[i], true)
	}
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
