package tfjs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain/onnx"
	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/tfjs"
)

// mobileBlock builds a small MobileNetV2-like graph on a 9x9x3 input: a
// Relu6 convolution, a Relu6 depthwise one, a linear 1x1 projection, a
// residual sum with the first convolution's output and an average pool.
func mobileBlock() *graph {
	g := newGraph(9, 9, 3)
	c1 := g.add(convNode("c1", "_FusedConv2D", "x", g.konst("w1", 3, 3, 3, 8), g.konst("b1", 8), 2, "BiasAdd", "Relu6"))
	dw := g.add(convNode("dw", "FusedDepthwiseConv2dNative", c1, g.konst("wd", 3, 3, 8, 1), g.konst("bd", 8), 1, "BiasAdd", "Relu6"))
	pr := g.add(convNode("pr", "_FusedConv2D", dw, g.konst("wp", 1, 1, 8, 8), g.konst("bp", 8), 1, "BiasAdd"))
	sum := g.add(tfjs.Node{Name: "sum", Op: "AddV2", Input: []string{pr, c1}})
	g.add(tfjs.Node{Name: "pool", Op: "AvgPool", Input: []string{sum}, Attr: map[string]tfjs.Attr{
		"ksize": ints(1, 5, 5, 1), "strides": ints(1, 1, 1, 1), "padding": {S: b64("VALID")}, "data_format": {S: b64("NHWC")},
	}})
	return g
}

// runModel runs an ONNX model with input x and one output, on one thread
// with ORT's full optimisation, and returns the output (its shape and
// values) and the op types (with their domains) of the graph ONNX Runtime
// runs after its optimisations.
func runModel(t *testing.T, mp *onnx.ModelProto, input, output string, x tensor) (tensor, map[string]int) {
	t.Helper()
	data, err := tfjs.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := brain.InitRuntime(); err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	dump := filepath.Join(t.TempDir(), "optimised.onnx")
	if err := errors.Join(opts.SetOptimizedModelFilePath(dump), opts.SetIntraOpNumThreads(1),
		opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{input}, []string{output}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	in, err := ort.NewTensor(ort.NewShape(x.shape...), x.v)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	res := outs[0].(*ort.Tensor[float32])
	return tensor{shape: res.GetShape(), v: append([]float32(nil), res.GetData()...)}, optimisedOps(t, dump)
}

// readONNX reads an ONNX file.
func readONNX(t *testing.T, path string) *onnx.ModelProto {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// optimisedOps counts the op types (as domain:op) of the ONNX file path.
func optimisedOps(t *testing.T, path string) map[string]int {
	t.Helper()
	m := readONNX(t, path)
	ops := map[string]int{}
	for _, n := range m.Graph.Node {
		ops[n.Domain+":"+n.OpType]++
	}
	return ops
}

// floatConvs counts the float convolutions among ops (plain or NCHWc).
func floatConvs(ops map[string]int) int {
	n := 0
	for op, c := range ops {
		if strings.HasSuffix(op, ":Conv") {
			n += c
		}
	}
	return n
}

// TestQuantizeBlock calibrates a small MobileNetV2-like block on its input,
// quantises it and checks that ONNX Runtime runs every convolution and the
// residual sum as integer kernels, and that the result stays within a few
// quantisation steps of the float model's.
func TestQuantizeBlock(t *testing.T) {
	g := mobileBlock()
	mp, err := tfjs.Convert(g.m, tfjs.Options{Outputs: []tfjs.Output{{Name: "out", Node: "pool"}}})
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(9, 9, 3)
	wantT, _ := runModel(t, mp, "x", "out", x)
	want := wantT.v

	// The calibration model gives each tensor's per-image min and max.
	cm, names, err := tfjs.CalibrationModel(mp)
	if err != nil {
		t.Fatal(err)
	}
	// The first conv's input, the projection's output, the sum: the Relu6
	// outputs need no range.
	if len(names) != 3 {
		t.Fatalf("calibration tensors %v, want the first conv's input, the projection's output and the sum", names)
	}
	mmT, _ := runModel(t, cm, "x", tfjs.RangesOutput, x)
	mm := mmT.v
	row := 2 * len(names) // two images, a row each
	if len(mm) != 2*row {
		t.Fatalf("%d calibration values, want %d", len(mm), 2*row)
	}
	ranges := map[string]tfjs.Range{}
	for k, name := range names {
		r := tfjs.Range{Min: min(mm[2*k], mm[row+2*k]), Max: max(mm[2*k+1], mm[row+2*k+1])}
		if !(r.Min < r.Max) {
			t.Fatalf("range of %s: %v", name, r)
		}
		ranges[name] = tfjs.RoundRange(r)
	}
	if lo, hi := ranges[names[0]].Min, ranges[names[0]].Max; lo > -0.99 || hi < 2.9 {
		t.Errorf("input range [%g, %g], want about [-1, 3]", lo, hi)
	}

	if _, err := tfjs.Quantize(mp, map[string]tfjs.Range{names[0]: ranges[names[0]]}); err == nil || !strings.Contains(err.Error(), names[1]) {
		t.Errorf("a missing range: error %v, want one naming %q", err, names[1])
	}
	qm, err := tfjs.Quantize(mp, ranges)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range qm.Graph.Node {
		if n.OpType == "Clip" {
			t.Errorf("Clip %s is left: the quantisation to [0, 6] replaces it", n.Name)
		}
	}
	gotT, ops := runModel(t, qm, "x", "out", x)
	got := gotT.v
	if ops["com.microsoft:QLinearConv"] != 3 || ops["com.microsoft:QLinearAdd"] != 1 || floatConvs(ops) != 0 {
		t.Errorf("optimised graph %v: want 3 QLinearConv, 1 QLinearAdd and no float Conv", ops)
	}
	var maxRef, maxDiff float64
	for i := range want {
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("largest difference %.3g, largest value %.3g", maxDiff, maxRef)
	if len(got) != len(want) || !(maxDiff <= 0.05*maxRef) {
		t.Errorf("int8 output differs from float by %.3g (largest value %.3g)", maxDiff, maxRef)
	}
}

func TestRoundRange(t *testing.T) {
	for _, c := range []struct{ in, want tfjs.Range }{
		{tfjs.Range{Min: -0.9999, Max: 0.9999}, tfjs.Range{Min: -1, Max: 1}},
		{tfjs.Range{Min: -3.01, Max: 17.2}, tfjs.Range{Min: -3.25, Max: 17.25}},
		{tfjs.Range{Min: 0, Max: 6}, tfjs.Range{Min: 0, Max: 6}},
		{tfjs.Range{Min: 0, Max: 0}, tfjs.Range{Min: 0, Max: 0}},
	} {
		if got := tfjs.RoundRange(c.in); got != c.want {
			t.Errorf("RoundRange(%v) = %v, want %v", c.in, got, c.want)
		}
		// Last-bit noise does not move it.
		if got := tfjs.RoundRange(tfjs.Range{Min: c.in.Min * (1 + 1e-6), Max: c.in.Max * (1 - 1e-6)}); got != c.want && c.in.Max != 6 {
			t.Errorf("RoundRange of %v nudged = %v, want %v", c.in, got, c.want)
		}
	}
}

// goldenItems are the images of the golden test.
func goldenItems(t *testing.T) ([]brain.Item, golden) {
	t.Helper()
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	items := make([]brain.Item, len(want.Images))
	for i, img := range want.Images {
		items[i] = brain.Item{ID: img.Image, Media: brain.File(filepath.Join("testdata", img.Image))}
	}
	return items, want
}

// TestQuantizeDeterministic converts nsfwjs's model to int8 twice,
// calibrated on the same images, and gets the same bytes.
func TestQuantizeDeterministic(t *testing.T) {
	m, err := tfjs.ReadDir(nsfwjsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	items, _ := goldenItems(t)
	spec := brain.ModelSpec{Name: "calibration", Width: 224, Height: 224, Layout: brain.NHWC, Input: "input"}
	var first []byte
	for run := range 2 {
		mp, err := tfjs.Convert(m, tfjs.Options{Outputs: []tfjs.Output{{Name: "embedding", Node: featureNode}}})
		if err != nil {
			t.Fatal(err)
		}
		ranges, err := tfjs.Calibrate(context.Background(), mp, spec, items)
		if err != nil {
			t.Fatal(err)
		}
		qm, err := tfjs.Quantize(mp, ranges)
		if err != nil {
			t.Fatal(err)
		}
		data, err := tfjs.Marshal(qm)
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Fatalf("two int8 conversions differ (%d and %d bytes)", len(first), len(data))
		}
	}
}

// int8CosineFloor is the least cosine similarity accepted between the
// int8 model's 1792-d feature and TensorFlow.js's float one on a golden
// image.
const int8CosineFloor = 0.98

// TestInt8MatchesFloat checks the int8 model `make setup` writes
// (mobilenet-v2-int8.onnx) against TensorFlow.js's float features and
// scores on the golden images: per image, the cosine similarity of the
// features is at least int8CosineFloor and the top class is the same. It
// also checks that ONNX Runtime runs all 52 convolutions and 10 residual
// sums as integer kernels.
func TestInt8MatchesFloat(t *testing.T) {
	path := filepath.Join(modelDir(t), "mobilenet-v2", "mobilenet-v2-int8.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("run `make setup`: %v", err)
	}
	items, want := goldenItems(t)
	for _, out := range []string{"embedding", "scores"} {
		got := embedImages(t, brain.ModelSpec{Name: "mobilenet-v2-int8", Path: path, Width: 224, Height: 224, Layout: brain.NHWC, Output: out}, items)
		for i, img := range want.Images {
			vec := got.Vector(i)
			if out == "scores" {
				if argmax32(vec) != argmax64(img.Scores) {
					t.Errorf("top class of %s: %d, TensorFlow.js %d", img.Image, argmax32(vec), argmax64(img.Scores))
				}
				continue
			}
			var dot, a, b float64
			for j, r := range img.Embedding {
				dot += float64(vec[j]) * r
				a += float64(vec[j]) * float64(vec[j])
				b += r * r
			}
			cos := dot / math.Sqrt(a*b)
			t.Logf("%s: cosine %.4f", img.Image, cos)
			if !(cos >= int8CosineFloor) {
				t.Errorf("%s: cosine %.4f with the float feature, want >= %g", img.Image, cos, int8CosineFloor)
			}
		}
	}
	_, ops := runModel(t, readONNX(t, path), "input", "embedding", tensor{shape: []int64{1, 224, 224, 3}, v: make([]float32, 224*224*3)})
	if ops["com.microsoft:QLinearConv"] != 52 || ops["com.microsoft:QLinearAdd"] != 10 || floatConvs(ops) != 0 {
		t.Errorf("optimised graph %v: want 52 QLinearConv, 10 QLinearAdd and no float Conv", ops)
	}
}
