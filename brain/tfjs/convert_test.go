package tfjs_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain/tfjs"
)

// The tests below build small TensorFlow.js graphs, convert them, run them
// in ONNX Runtime and compare with the TensorFlow ops computed directly in
// NHWC here, so layouts, filter re-layout and "SAME" padding are checked
// on odd sizes where the padding is uneven.

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func ints(v ...int64) tfjs.Attr {
	a := tfjs.Attr{}
	a.List = &tfjs.ListAttr{}
	for _, x := range v {
		a.List.I = append(a.List.I, tfjs.Int(x))
	}
	return a
}

func strs(v ...string) tfjs.Attr {
	a := ints()
	for _, s := range v {
		a.List.S = append(a.List.S, b64(s))
	}
	return a
}

// graph collects nodes and constants for a test model.
type graph struct {
	m   *tfjs.Model
	rng *rand.Rand
}

func newGraph(h, w, c int64) *graph {
	g := &graph{m: &tfjs.Model{Weights: map[string]*tfjs.Tensor{}}, rng: rand.New(rand.NewPCG(1, 2))}
	shape := tfjs.Attr{Shape: tfjs.ShapeOf(-1, h, w, c)}
	g.add(tfjs.Node{Name: "x", Op: "Placeholder", Attr: map[string]tfjs.Attr{"shape": shape, "dtype": {Type: "DT_FLOAT"}}})
	return g
}

func (g *graph) add(n tfjs.Node) string {
	g.m.Nodes = append(g.m.Nodes, n)
	return n.Name
}

// konst adds a Const node with random values in [-1, 1).
func (g *graph) konst(name string, shape ...int64) string {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(g.rng.Float64()*2 - 1)
	}
	g.m.Weights[name] = &tfjs.Tensor{Shape: shape, Float: v}
	return g.add(tfjs.Node{Name: name, Op: "Const"})
}

// tensor is an NHWC (or any row-major) array for the reference ops.
type tensor struct {
	shape []int64
	v     []float32
}

func (t tensor) at(i ...int64) float32 {
	off := int64(0)
	for k, x := range i {
		off = off*t.shape[k] + x
	}
	return t.v[off]
}

// samePads is TensorFlow's "SAME" rule: output ceil(in/stride), the odd
// pixel of padding at the end.
func samePads(in, k, s int64) (out, before int64) {
	out = (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return out, total / 2
}

// refConv is TensorFlow's Conv2D (depthwise when dw) on NHWC with "SAME"
// padding, plus bias and an optional Relu6.
func refConv(x, w tensor, bias []float32, stride int64, dw, relu6 bool) tensor {
	N, H, W, C := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	kh, kw, co := w.shape[0], w.shape[1], w.shape[3]
	oh, ph := samePads(H, kh, stride)
	ow, pw := samePads(W, kw, stride)
	oc := co
	if dw {
		oc = C * co
	}
	out := tensor{shape: []int64{N, oh, ow, oc}, v: make([]float32, N*oh*ow*oc)}
	i := 0
	for n := int64(0); n < N; n++ {
		for y := int64(0); y < oh; y++ {
			for xx := int64(0); xx < ow; xx++ {
				for o := int64(0); o < oc; o++ {
					var sum float64
					for a := int64(0); a < kh; a++ {
						for b := int64(0); b < kw; b++ {
							iy, ix := y*stride+a-ph, xx*stride+b-pw
							if iy < 0 || iy >= H || ix < 0 || ix >= W {
								continue
							}
							if dw {
								c, m := o/co, o%co
								sum += float64(x.at(n, iy, ix, c)) * float64(w.at(a, b, c, m))
								continue
							}
							for c := int64(0); c < C; c++ {
								sum += float64(x.at(n, iy, ix, c)) * float64(w.at(a, b, c, o))
							}
						}
					}
					v := float32(sum) + bias[o]
					if relu6 {
						v = min(max(v, 0), 6)
					}
					out.v[i] = v
					i++
				}
			}
		}
	}
	return out
}

// refAvgPool is TensorFlow's AvgPool on NHWC with "SAME" padding, which
// averages over the pixels inside the image only.
func refAvgPool(x tensor, k, stride int64) tensor {
	N, H, W, C := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh, ph := samePads(H, k, stride)
	ow, pw := samePads(W, k, stride)
	out := tensor{shape: []int64{N, oh, ow, C}, v: make([]float32, N*oh*ow*C)}
	i := 0
	for n := int64(0); n < N; n++ {
		for y := int64(0); y < oh; y++ {
			for xx := int64(0); xx < ow; xx++ {
				for c := int64(0); c < C; c++ {
					var sum float64
					cnt := 0
					for a := int64(0); a < k; a++ {
						for b := int64(0); b < k; b++ {
							iy, ix := y*stride+a-ph, xx*stride+b-pw
							if iy >= 0 && iy < H && ix >= 0 && ix < W {
								sum += float64(x.at(n, iy, ix, c))
								cnt++
							}
						}
					}
					out.v[i] = float32(sum / float64(cnt))
					i++
				}
			}
		}
	}
	return out
}

func weightsOf(g *graph, name string) tensor {
	t := g.m.Weights[name]
	return tensor{shape: t.Shape, v: t.Float}
}

func convNode(name, op, x, w, b string, stride int64, fused ...string) tfjs.Node {
	return tfjs.Node{Name: name, Op: op, Input: []string{x, w, b}, Attr: map[string]tfjs.Attr{
		"strides":     ints(1, stride, stride, 1),
		"dilations":   ints(1, 1, 1, 1),
		"padding":     {S: b64("SAME")},
		"data_format": {S: b64("NHWC")},
		"fused_ops":   strs(fused...),
		"num_args":    {I: 1},
	}}
}

// runONNX converts g with one output and runs it on x.
func runONNX(t *testing.T, g *graph, out string, x tensor) tensor {
	t.Helper()
	return runONNXWith(t, g, tfjs.Options{}, out, x)
}

// runONNXWith is runONNX with conversion options.
func runONNXWith(t *testing.T, g *graph, opts tfjs.Options, out string, x tensor) tensor {
	t.Helper()
	opts.Outputs = []tfjs.Output{{Name: "out", Node: out}}
	mp, err := tfjs.Convert(g.m, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := runModel(t, mp, "x", "out", x)
	return got
}

func randomInput(h, w, c int64) tensor {
	rng := rand.New(rand.NewPCG(3, 4))
	x := tensor{shape: []int64{2, h, w, c}, v: make([]float32, 2*h*w*c)}
	for i := range x.v {
		x.v[i] = float32(rng.Float64()*4 - 1)
	}
	return x
}

func compare(t *testing.T, got, want tensor) {
	t.Helper()
	if fmt.Sprint(got.shape) != fmt.Sprint(want.shape) {
		t.Fatalf("shape %v, want %v", got.shape, want.shape)
	}
	for i := range want.v {
		if d := math.Abs(float64(got.v[i] - want.v[i])); d > 1e-4*(1+math.Abs(float64(want.v[i]))) {
			t.Fatalf("value %d: %g, want %g", i, got.v[i], want.v[i])
		}
	}
}

func TestConvertMatchesTensorFlowOps(t *testing.T) {
	cases := []struct {
		name      string
		h, w, c   int64
		k, stride int64
		depthwise bool
		relu6     bool
		pool      int64 // an AvgPool of this size and stride 2 after the conv; 0 for none
	}{
		{name: "conv 3x3 stride 2, odd size", h: 7, w: 9, c: 3, k: 3, stride: 2, relu6: true},
		{name: "conv 3x3 stride 2, even size", h: 8, w: 6, c: 3, k: 3, stride: 2},
		{name: "conv 1x1", h: 5, w: 5, c: 4, k: 1, stride: 1, relu6: true},
		{name: "conv 4x4 stride 1 (padding 1 before, 2 after)", h: 6, w: 5, c: 2, k: 4, stride: 1},
		{name: "depthwise 3x3 stride 1", h: 6, w: 7, c: 4, k: 3, stride: 1, depthwise: true, relu6: true},
		{name: "depthwise 3x3 stride 2, odd size", h: 7, w: 5, c: 3, k: 3, stride: 2, depthwise: true, relu6: true},
		{name: "conv then SAME avg pool 3 stride 2", h: 7, w: 8, c: 3, k: 3, stride: 1, pool: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(tc.h, tc.w, tc.c)
			op, co := "_FusedConv2D", int64(5)
			if tc.depthwise {
				op, co = "FusedDepthwiseConv2dNative", 2
			}
			w := g.konst("w", tc.k, tc.k, tc.c, co)
			oc := co
			if tc.depthwise {
				oc = tc.c * co
			}
			b := g.konst("b", oc)
			fused := []string{"BiasAdd"}
			if tc.relu6 {
				fused = append(fused, "Relu6")
			}
			out := g.add(convNode("conv", op, "x", w, b, tc.stride, fused...))
			x := randomInput(tc.h, tc.w, tc.c)
			want := refConv(x, weightsOf(g, w), g.m.Weights[b].Float, tc.stride, tc.depthwise, tc.relu6)
			if tc.pool > 0 {
				out = g.add(tfjs.Node{Name: "pool", Op: "AvgPool", Input: []string{out}, Attr: map[string]tfjs.Attr{
					"ksize": ints(1, tc.pool, tc.pool, 1), "strides": ints(1, 2, 2, 1), "padding": {S: b64("SAME")}, "data_format": {S: b64("NHWC")},
				}})
				want = refAvgPool(want, tc.pool, 2)
			}
			compare(t, runONNX(t, g, out, x), want)
		})
	}
}

// TestConvertHead checks the classifier path: a residual AddV2, a VALID
// global AvgPool, Squeeze of H and W, _FusedMatMul with bias and Softmax.
func TestConvertHead(t *testing.T) {
	const h, w, c, classes = 3, 4, 6, 5
	g := newGraph(h, w, c)
	scale := g.konst("scale", c)
	sum := g.add(tfjs.Node{Name: "add", Op: "AddV2", Input: []string{"x", "x"}})
	mul := g.add(tfjs.Node{Name: "mul", Op: "Mul", Input: []string{sum, scale}})
	pool := g.add(tfjs.Node{Name: "pool", Op: "AvgPool", Input: []string{mul}, Attr: map[string]tfjs.Attr{
		"ksize": ints(1, h, w, 1), "strides": ints(1, 1, 1, 1), "padding": {S: b64("VALID")}, "data_format": {S: b64("NHWC")},
	}})
	sq := g.add(tfjs.Node{Name: "squeeze", Op: "Squeeze", Input: []string{pool}, Attr: map[string]tfjs.Attr{"squeeze_dims": ints(1, 2)}})
	mw := g.konst("mw", c, classes)
	mb := g.konst("mb", classes)
	mm := g.add(tfjs.Node{Name: "mm", Op: "_FusedMatMul", Input: []string{sq, mw, mb}, Attr: map[string]tfjs.Attr{"fused_ops": strs("BiasAdd")}})
	sm := g.add(tfjs.Node{Name: "softmax", Op: "Softmax", Input: []string{mm}})
	g.add(tfjs.Node{Name: "Identity", Op: "Identity", Input: []string{sm}})

	x := randomInput(h, w, c)
	sc, wm, bm := g.m.Weights[scale].Float, weightsOf(g, mw), g.m.Weights[mb].Float
	want := tensor{shape: []int64{2, classes}}
	for n := int64(0); n < 2; n++ {
		feat := make([]float64, c)
		for y := int64(0); y < h; y++ {
			for xx := int64(0); xx < w; xx++ {
				for ch := int64(0); ch < c; ch++ {
					feat[ch] += float64(2*x.at(n, y, xx, ch)*sc[ch]) / (h * w)
				}
			}
		}
		logits := make([]float64, classes)
		var total float64
		for k := range logits {
			logits[k] = float64(bm[k])
			for ch := int64(0); ch < c; ch++ {
				logits[k] += feat[ch] * float64(wm.at(ch, int64(k)))
			}
		}
		for k := range logits {
			logits[k] = math.Exp(logits[k])
			total += logits[k]
		}
		for k := range logits {
			want.v = append(want.v, float32(logits[k]/total))
		}
	}
	compare(t, runONNX(t, g, "Identity", x), want)
}

// TestConvertAnySize converts a strided SAME convolution and a head pool
// over its whole output with AnySize, and runs the one model at the
// declared size and at other sizes, odd and even: each is the convolution
// (TensorFlow's padding) averaged over every position.
func TestConvertAnySize(t *testing.T) {
	const h, w, c, co = 7, 9, 3, 4
	g := newGraph(h, w, c)
	cw := g.konst("w", 3, 3, c, co)
	cb := g.konst("b", co)
	conv := g.add(convNode("conv", "_FusedConv2D", "x", cw, cb, 2, "BiasAdd", "Relu6"))
	oh, ow := int64(h+1)/2, int64(w+1)/2
	pool := g.add(tfjs.Node{Name: "pool", Op: "AvgPool", Input: []string{conv}, Attr: map[string]tfjs.Attr{
		"ksize": ints(1, oh, ow, 1), "strides": ints(1, 1, 1, 1), "padding": {S: b64("VALID")}, "data_format": {S: b64("NHWC")},
	}})
	g.add(tfjs.Node{Name: "squeeze", Op: "Squeeze", Input: []string{pool}, Attr: map[string]tfjs.Attr{"squeeze_dims": ints(1, 2)}})
	mp, err := tfjs.Convert(g.m, tfjs.Options{AnySize: true, Outputs: []tfjs.Output{{Name: "out", Node: "squeeze"}}})
	if err != nil {
		t.Fatal(err)
	}
	var global bool
	for _, n := range mp.Graph.Node {
		global = global || n.OpType == "GlobalAveragePool"
	}
	if !global {
		t.Error("AnySize: the head's pool is not a GlobalAveragePool")
	}
	for _, size := range [][2]int64{{h, w}, {5, 6}, {12, 11}} {
		x := randomInput(size[0], size[1], c)
		y := refConv(x, weightsOf(g, cw), g.m.Weights[cb].Float, 2, false, true)
		want := tensor{shape: []int64{2, co}}
		for n := int64(0); n < 2; n++ {
			for k := int64(0); k < co; k++ {
				var sum float64
				for i := int64(0); i < y.shape[1]; i++ {
					for j := int64(0); j < y.shape[2]; j++ {
						sum += float64(y.at(n, i, j, k))
					}
				}
				want.v = append(want.v, float32(sum/float64(y.shape[1]*y.shape[2])))
			}
		}
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			compare(t, runONNXWith(t, g, tfjs.Options{AnySize: true}, "squeeze", x), want)
		})
	}
}

func TestConvertErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *graph)
		want  []string
		is    error
	}{
		{
			name: "unsupported op names the op and the node",
			build: func(g *graph) {
				g.add(tfjs.Node{Name: "my/resize", Op: "ResizeBilinear", Input: []string{"x"}})
			},
			want: []string{"ResizeBilinear", `"my/resize"`},
			is:   tfjs.ErrUnsupported,
		},
		{
			name: "unsupported fused activation",
			build: func(g *graph) {
				w, b := g.konst("w", 1, 1, 3, 2), g.konst("b", 2)
				g.add(convNode("conv/elu", "_FusedConv2D", "x", w, b, 1, "BiasAdd", "Elu"))
			},
			want: []string{"_FusedConv2D", `"conv/elu"`, "Elu"},
			is:   tfjs.ErrUnsupported,
		},
		{
			name: "unsupported padding",
			build: func(g *graph) {
				w, b := g.konst("w", 1, 1, 3, 2), g.konst("b", 2)
				n := convNode("conv/explicit", "_FusedConv2D", "x", w, b, 1, "BiasAdd")
				n.Attr["padding"] = tfjs.Attr{S: b64("EXPLICIT")}
				g.add(n)
			},
			want: []string{"EXPLICIT", `"conv/explicit"`},
			is:   tfjs.ErrUnsupported,
		},
		{
			name: "input made by no node",
			build: func(g *graph) {
				g.add(tfjs.Node{Name: "relu", Op: "Relu", Input: []string{"missing"}})
			},
			want: []string{`"relu"`, `"missing"`},
		},
		{
			name: "Const without weights",
			build: func(g *graph) {
				g.add(tfjs.Node{Name: "lonely", Op: "Const"})
			},
			want: []string{`"lonely"`, "manifest"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(4, 4, 3)
			tc.build(g)
			_, err := tfjs.Convert(g.m, tfjs.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
}
