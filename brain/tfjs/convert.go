package tfjs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain/onnx"
)

// ErrUnsupported is wrapped by Convert's error for a node whose op (or
// attribute) has no ONNX mapping here; the message names the op and node.
var ErrUnsupported = errors.New("tfjs: unsupported")

// onnxOpset and irVersion are the ONNX operator set and IR version the
// converted model declares.
const (
	onnxOpset = 17
	irVersion = 8
)

// Output names one output of the converted model.
type Output struct {
	// Name is the ONNX graph output's name.
	Name string
	// Node is the TensorFlow node whose value the output carries.
	Node string
}

// Options configure Convert.
type Options struct {
	// Outputs are the graph outputs, in order. Empty means one output per
	// node that no other node reads, named after the node.
	Outputs []Output
	// BatchParam names the symbolic batch dimension of a Placeholder whose
	// first dimension is unknown; empty means "N".
	BatchParam string
	// Producer is written as the model's producer name; empty means "fosql".
	Producer string
	// AnySize makes the model accept any input height and width: the
	// image input's H and W are left unknown in the graph, SAME-padded
	// windows pad by ONNX's SAME_UPPER rule (TensorFlow's) instead of fixed
	// pads, and an average or max pool whose VALID window covers its whole
	// input at the declared size (a classifier head's pool) becomes a
	// global pool. At the declared size the model computes the same values.
	AnySize bool
}

// value is a TensorFlow tensor as the converter knows it.
type value struct {
	name  string  // ONNX tensor name
	shape []int64 // TensorFlow (NHWC) shape; -1 for an unknown size; nil when the rank is unknown
	nchw  bool    // a 4-D tensor held transposed to NCHW in the graph
	konst *Tensor // set for Const nodes: its data, not yet an ONNX tensor
}

type converter struct {
	m      *Model
	opts   Options
	g      *onnx.GraphProto
	values map[string]*value
	inits  map[string]bool
	seq    int
}

// Convert turns m into an ONNX model.
func Convert(m *Model, opts Options) (*onnx.ModelProto, error) {
	if opts.BatchParam == "" {
		opts.BatchParam = "N"
	}
	if opts.Producer == "" {
		opts.Producer = "fosql"
	}
	c := &converter{m: m, opts: opts, g: &onnx.GraphProto{Name: "tfjs"}, values: map[string]*value{}, inits: map[string]bool{}}
	for _, n := range m.Nodes {
		if err := c.node(n); err != nil {
			return nil, err
		}
	}
	outs := opts.Outputs
	if len(outs) == 0 {
		outs = c.sinks()
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("tfjs: the graph has no outputs")
	}
	for _, o := range outs {
		v, ok := c.values[o.Node]
		if !ok {
			return nil, fmt.Errorf("tfjs: output %q: no node %q", o.Name, o.Node)
		}
		if v.konst != nil {
			return nil, fmt.Errorf("tfjs: output %q: node %q is a constant", o.Name, o.Node)
		}
		src := v.name
		if v.nchw {
			src = c.op("Transpose", []string{src}, attrInts("perm", 0, 2, 3, 1))
		}
		c.g.Node = append(c.g.Node, &onnx.NodeProto{OpType: "Identity", Name: o.Name + "/Identity", Input: []string{src}, Output: []string{o.Name}})
		c.g.Output = append(c.g.Output, valueInfo(o.Name, c.graphDims(v.shape), opts.BatchParam))
	}
	return &onnx.ModelProto{
		IrVersion:       irVersion,
		ProducerName:    opts.Producer,
		ProducerVersion: "1",
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: onnxOpset}},
		Graph:           c.g,
	}, nil
}

// Marshal serialises an ONNX model deterministically.
func Marshal(m *onnx.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("tfjs: write ONNX model: %w", err)
	}
	return b, nil
}

// sinks lists the non-constant nodes no other node reads.
func (c *converter) sinks() []Output {
	read := map[string]bool{}
	for _, n := range c.m.Nodes {
		for _, in := range n.Input {
			read[inputName(in)] = true
		}
	}
	var outs []Output
	for _, n := range c.m.Nodes {
		if !read[n.Name] && n.Op != "Const" {
			outs = append(outs, Output{Name: n.Name, Node: n.Name})
		}
	}
	return outs
}

// inputName strips an output index (":0") and a control marker ("^").
func inputName(in string) string {
	in = strings.TrimPrefix(in, "^")
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		in = in[:i]
	}
	return in
}

func (c *converter) unsupported(n Node, format string, args ...any) error {
	return fmt.Errorf("%w: op %s (node %q): %s", ErrUnsupported, n.Op, n.Name, fmt.Sprintf(format, args...))
}

// inputs resolves a node's data inputs (control inputs are dropped).
func (c *converter) inputs(n Node) ([]*value, error) {
	var vs []*value
	for _, in := range n.Input {
		if strings.HasPrefix(in, "^") {
			continue
		}
		if i := strings.LastIndexByte(in, ':'); i >= 0 && in[i+1:] != "0" {
			return nil, c.unsupported(n, "reads output %q of a multi-output node", in)
		}
		v, ok := c.values[inputName(in)]
		if !ok {
			return nil, fmt.Errorf("tfjs: node %q (%s) reads %q, which no earlier node makes", n.Name, n.Op, in)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func (c *converter) node(n Node) error {
	if _, dup := c.values[n.Name]; dup {
		return fmt.Errorf("tfjs: two nodes are named %q", n.Name)
	}
	if n.Op == "Placeholder" {
		return c.placeholder(n)
	}
	if n.Op == "Const" {
		t, ok := c.m.Weights[n.Name]
		if !ok {
			return fmt.Errorf("tfjs: Const node %q has no weights in the manifest", n.Name)
		}
		c.values[n.Name] = &value{shape: t.Shape, konst: t}
		return nil
	}
	in, err := c.inputs(n)
	if err != nil {
		return err
	}
	var out *value
	switch n.Op {
	case "Identity":
		if len(in) != 1 {
			return c.unsupported(n, "%d inputs", len(in))
		}
		c.values[n.Name] = in[0]
		return nil
	case "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		out, err = c.conv(n, in)
	case "AvgPool", "MaxPool":
		out, err = c.pool(n, in)
	case "Add", "AddV2", "Sub", "Mul", "BiasAdd":
		out, err = c.binary(n, in)
	case "Relu", "Relu6":
		if len(in) != 1 || in[0].konst != nil {
			return c.unsupported(n, "want one non-constant input")
		}
		out = &value{name: c.activation(n.Op, in[0].name), shape: in[0].shape, nchw: in[0].nchw}
	case "Squeeze":
		out, err = c.squeeze(n, in)
	case "MatMul", "_FusedMatMul":
		out, err = c.matmul(n, in)
	case "Softmax":
		if len(in) != 1 || in[0].konst != nil || in[0].nchw {
			return c.unsupported(n, "want one non-constant input that is not 4-D")
		}
		out = &value{name: c.op("Softmax", []string{in[0].name}, attrInt("axis", -1)), shape: in[0].shape}
	default:
		return fmt.Errorf("%w: op %s (node %q) has no ONNX mapping", ErrUnsupported, n.Op, n.Name)
	}
	if err != nil {
		return err
	}
	c.values[n.Name] = out
	return nil
}

func (c *converter) placeholder(n Node) error {
	if t := n.Attr["dtype"].Type; t != "" && t != "DT_FLOAT" {
		return c.unsupported(n, "dtype %s (only DT_FLOAT inputs)", t)
	}
	var dims []int64
	if s := n.Attr["shape"].Shape; s != nil && !s.UnknownRank {
		dims = s.dims()
	}
	c.g.Input = append(c.g.Input, valueInfo(n.Name, c.graphDims(dims), c.opts.BatchParam))
	v := &value{name: n.Name, shape: dims}
	if len(dims) == 4 {
		v = &value{name: c.op("Transpose", []string{n.Name}, attrInts("perm", 0, 3, 1, 2)), shape: dims, nchw: true}
	}
	c.values[n.Name] = v
	return nil
}

// hw reads a 4-element NHWC attribute (strides, ksize, dilations) as its
// H and W entries; a missing one is def.
func hw(n Node, key string, def int64) ([2]int64, error) {
	a, ok := n.Attr[key]
	if !ok {
		return [2]int64{def, def}, nil
	}
	v := a.ints()
	if len(v) != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 {
		return [2]int64{}, fmt.Errorf("%w: op %s (node %q): %s %v", ErrUnsupported, n.Op, n.Name, key, v)
	}
	return [2]int64{v[1], v[2]}, nil
}

// spatial computes output sizes and pads (ONNX order: begins, then ends)
// for a window op; pads is nil and autoPad set when a size is unknown.
func spatial(n Node, inH, inW int64, kernel, stride, dil [2]int64) (outHW [2]int64, pads []int64, autoPad string, err error) {
	padding := n.Attr["padding"].str()
	in := [2]int64{inH, inW}
	pads = make([]int64, 4)
	for i := 0; i < 2; i++ {
		eff := (kernel[i]-1)*dil[i] + 1
		switch padding {
		case "SAME":
			if in[i] < 0 {
				outHW[i] = -1
				autoPad = "SAME_UPPER"
				continue
			}
			outHW[i] = (in[i] + stride[i] - 1) / stride[i]
			total := max((outHW[i]-1)*stride[i]+eff-in[i], 0)
			pads[i], pads[i+2] = total/2, total-total/2
		case "VALID":
			if in[i] < 0 {
				outHW[i] = -1
				continue
			}
			if in[i] < eff {
				return outHW, nil, "", fmt.Errorf("tfjs: node %q (%s): window %d is larger than the input %d", n.Name, n.Op, eff, in[i])
			}
			outHW[i] = (in[i]-eff)/stride[i] + 1
		default:
			return outHW, nil, "", fmt.Errorf("%w: op %s (node %q): padding %q", ErrUnsupported, n.Op, n.Name, padding)
		}
	}
	if autoPad != "" {
		pads = nil
	}
	return outHW, pads, autoPad, nil
}

func checkNHWC(n Node) error {
	if f := n.Attr["data_format"].str(); f != "" && f != "NHWC" {
		return fmt.Errorf("%w: op %s (node %q): data_format %s", ErrUnsupported, n.Op, n.Name, f)
	}
	return nil
}

// image4D checks that v is a 4-D activation.
func image4D(n Node, v *value) error {
	if v.konst != nil || !v.nchw || len(v.shape) != 4 {
		return fmt.Errorf("%w: op %s (node %q): input is not a 4-D NHWC activation", ErrUnsupported, n.Op, n.Name)
	}
	return nil
}

func (c *converter) conv(n Node, in []*value) (*value, error) {
	depthwise := strings.Contains(n.Op, "Depthwise")
	fused := strings.HasPrefix(n.Op, "_Fused") || strings.HasPrefix(n.Op, "Fused")
	if len(in) < 2 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	x, w := in[0], in[1]
	if err := image4D(n, x); err != nil {
		return nil, err
	}
	if err := checkNHWC(n); err != nil {
		return nil, err
	}
	if w.konst == nil || len(w.shape) != 4 || w.konst.Float == nil {
		return nil, c.unsupported(n, "filter is not a constant 4-D float tensor")
	}
	kh, kw, ci, co := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	if x.shape[3] >= 0 && x.shape[3] != ci {
		return nil, fmt.Errorf("tfjs: node %q (%s): input has %d channels, filter %d", n.Name, n.Op, x.shape[3], ci)
	}
	stride, err := hw(n, "strides", 1)
	if err != nil {
		return nil, err
	}
	dil, err := hw(n, "dilations", 1)
	if err != nil {
		return nil, err
	}
	outHW, pads, autoPad, err := spatial(n, x.shape[1], x.shape[2], [2]int64{kh, kw}, stride, dil)
	if err != nil {
		return nil, err
	}
	autoPad = c.sizeFree(n, autoPad)
	// Re-lay the filter: Conv2D [kh,kw,in,out] -> [out,in,kh,kw];
	// depthwise [kh,kw,in,mult] -> [in*mult,1,kh,kw] (output channel
	// c*mult+m, as TensorFlow orders them).
	src := w.konst.Float
	outC, inPerGroup, group := co, ci, int64(1)
	if depthwise {
		outC, inPerGroup, group = ci*co, 1, ci
	}
	dst := make([]float32, len(src))
	for i := int64(0); i < kh; i++ {
		for j := int64(0); j < kw; j++ {
			for a := int64(0); a < ci; a++ {
				for b := int64(0); b < co; b++ {
					v := src[((i*kw+j)*ci+a)*co+b]
					if depthwise {
						dst[(((a*co+b)*1+0)*kh+i)*kw+j] = v
					} else {
						dst[((b*ci+a)*kh+i)*kw+j] = v
					}
				}
			}
		}
	}
	wName := c.floatInit(c.tmp(n.Name+"/filter"), []int64{outC, inPerGroup, kh, kw}, dst)
	inputs := []string{x.name, wName}
	var post []string
	if fused {
		ops := n.Attr["fused_ops"].strs()
		extra := in[2:]
		if len(ops) == 0 || ops[0] != "BiasAdd" || len(extra) != 1 {
			return nil, c.unsupported(n, "fused ops %v with %d extra inputs (only BiasAdd, then an activation)", ops, len(extra))
		}
		b := extra[0]
		if b.konst == nil || b.konst.Float == nil || len(b.konst.Float) != int(outC) {
			return nil, c.unsupported(n, "bias is not a constant of %d floats", outC)
		}
		inputs = append(inputs, c.floatInit(c.tmp(n.Name+"/bias"), []int64{outC}, b.konst.Float))
		post = ops[1:]
	} else if len(in) != 2 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	attrs := []*onnx.AttributeProto{
		attrInts("kernel_shape", kh, kw),
		attrInts("strides", stride[0], stride[1]),
		attrInts("dilations", dil[0], dil[1]),
		attrInt("group", group),
	}
	if autoPad != "" {
		attrs = append(attrs, attrString("auto_pad", autoPad))
	} else {
		attrs = append(attrs, attrInts("pads", pads...))
	}
	out := c.op("Conv", inputs, attrs...)
	for _, a := range post {
		if a != "Relu" && a != "Relu6" {
			return nil, c.unsupported(n, "fused activation %q", a)
		}
		out = c.activation(a, out)
	}
	return &value{name: out, shape: []int64{x.shape[0], outHW[0], outHW[1], outC}, nchw: true}, nil
}

// activation appends Relu or Relu6 (as Clip to [0, 6]).
func (c *converter) activation(op, x string) string {
	if op == "Relu" {
		return c.op("Relu", []string{x})
	}
	lo, hi := "relu6/min", "relu6/max"
	if !c.inits[lo] {
		c.floatInit(lo, nil, []float32{0})
		c.floatInit(hi, nil, []float32{6})
	}
	return c.op("Clip", []string{x, lo, hi})
}

func (c *converter) pool(n Node, in []*value) (*value, error) {
	if len(in) != 1 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	x := in[0]
	if err := image4D(n, x); err != nil {
		return nil, err
	}
	if err := checkNHWC(n); err != nil {
		return nil, err
	}
	k, err := hw(n, "ksize", 1)
	if err != nil {
		return nil, err
	}
	stride, err := hw(n, "strides", 1)
	if err != nil {
		return nil, err
	}
	outHW, pads, autoPad, err := spatial(n, x.shape[1], x.shape[2], k, stride, [2]int64{1, 1})
	if err != nil {
		return nil, err
	}
	if c.opts.AnySize && n.Attr["padding"].str() == "VALID" && outHW == [2]int64{1, 1} && k == [2]int64{x.shape[1], x.shape[2]} {
		op := "GlobalMaxPool"
		if n.Op == "AvgPool" {
			op = "GlobalAveragePool"
		}
		return &value{name: c.op(op, []string{x.name}), shape: []int64{x.shape[0], 1, 1, x.shape[3]}, nchw: true}, nil
	}
	autoPad = c.sizeFree(n, autoPad)
	attrs := []*onnx.AttributeProto{attrInts("kernel_shape", k[0], k[1]), attrInts("strides", stride[0], stride[1])}
	if autoPad != "" {
		attrs = append(attrs, attrString("auto_pad", autoPad))
	} else {
		attrs = append(attrs, attrInts("pads", pads...))
	}
	op := "MaxPool"
	if n.Op == "AvgPool" {
		op = "AveragePool" // count_include_pad 0: padding does not count, as in TensorFlow
	}
	return &value{name: c.op(op, []string{x.name}, attrs...), shape: []int64{x.shape[0], outHW[0], outHW[1], x.shape[3]}, nchw: true}, nil
}

// sizeFree returns the auto_pad a window op n gets: with AnySize, a
// SAME-padded window pads by SAME_UPPER (the fixed pads computed for the
// declared size would be wrong at another size); otherwise autoPad as
// spatial chose it.
func (c *converter) sizeFree(n Node, autoPad string) string {
	if c.opts.AnySize && n.Attr["padding"].str() == "SAME" {
		return "SAME_UPPER"
	}
	return autoPad
}

// graphDims is how a 4-D NHWC shape is declared in the graph: with
// AnySize, its height and width are unknown.
func (c *converter) graphDims(dims []int64) []int64 {
	if !c.opts.AnySize || len(dims) != 4 {
		return dims
	}
	return []int64{dims[0], -1, -1, dims[3]}
}

// binary maps elementwise Add/Sub/Mul (and BiasAdd) with NumPy broadcasting.
// A constant operand of a 4-D activation is laid out to match: a scalar as
// it is, a vector over channels as [C,1,1], a 4-D constant transposed.
func (c *converter) binary(n Node, in []*value) (*value, error) {
	if len(in) != 2 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	if in[0].konst != nil && in[1].konst != nil {
		return nil, c.unsupported(n, "both inputs are constants")
	}
	nchw := in[0].nchw || in[1].nchw
	names := make([]string, 2)
	for i, v := range in {
		switch {
		case v.konst == nil:
			if nchw && !v.nchw {
				return nil, c.unsupported(n, "mixes a 4-D activation with a tensor of rank %d", len(v.shape))
			}
			names[i] = v.name
		case v.konst.Float == nil:
			return nil, c.unsupported(n, "integer constant operand")
		case !nchw || len(v.shape) == 0 || (len(v.shape) == 1 && v.shape[0] == 1):
			names[i] = c.floatInit(c.tmp(n.Name+"/const"), v.shape, v.konst.Float)
		case len(v.shape) == 1:
			names[i] = c.floatInit(c.tmp(n.Name+"/const"), []int64{v.shape[0], 1, 1}, v.konst.Float)
		case len(v.shape) == 4:
			names[i] = c.floatInit(c.tmp(n.Name+"/const"), []int64{v.shape[0], v.shape[3], v.shape[1], v.shape[2]}, nhwcToNCHW(v.konst.Float, v.shape))
		default:
			return nil, c.unsupported(n, "constant of shape %v beside a 4-D activation", v.shape)
		}
	}
	op := map[string]string{"Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul"}[n.Op]
	shape := in[0].shape
	if in[0].konst != nil || (len(in[1].shape) > len(shape) && in[1].konst == nil) {
		shape = in[1].shape
	}
	return &value{name: c.op(op, names), shape: shape, nchw: nchw}, nil
}

func nhwcToNCHW(src []float32, s []int64) []float32 {
	dst := make([]float32, len(src))
	N, H, W, C := s[0], s[1], s[2], s[3]
	for a := int64(0); a < N; a++ {
		for h := int64(0); h < H; h++ {
			for w := int64(0); w < W; w++ {
				for ch := int64(0); ch < C; ch++ {
					dst[((a*C+ch)*H+h)*W+w] = src[((a*H+h)*W+w)*C+ch]
				}
			}
		}
	}
	return dst
}

// nchwAxis maps a TensorFlow NHWC axis to the NCHW axis it is held at.
var nchwAxis = [4]int64{0, 2, 3, 1}

func (c *converter) squeeze(n Node, in []*value) (*value, error) {
	if len(in) != 1 || in[0].konst != nil {
		return nil, c.unsupported(n, "want one non-constant input")
	}
	x := in[0]
	rank := int64(len(x.shape))
	if x.shape == nil {
		return nil, c.unsupported(n, "input of unknown rank")
	}
	axes := n.Attr["squeeze_dims"].ints()
	if len(axes) == 0 {
		axes = n.Attr["axis"].ints()
	}
	if len(axes) == 0 {
		for i, d := range x.shape {
			if d == 1 {
				axes = append(axes, int64(i))
			} else if d < 0 {
				return nil, c.unsupported(n, "squeezes every size-1 axis of a shape with unknown sizes %v", x.shape)
			}
		}
	}
	if len(axes) == 0 {
		return nil, c.unsupported(n, "squeezes no axis of shape %v", x.shape)
	}
	drop := map[int64]bool{}
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank || (x.shape[a] != 1 && x.shape[a] >= 0) {
			return nil, fmt.Errorf("tfjs: node %q (Squeeze): axis %d of shape %v is not 1", n.Name, a, x.shape)
		}
		drop[a] = true
	}
	var shape []int64
	for i, d := range x.shape {
		if !drop[int64(i)] {
			shape = append(shape, d)
		}
	}
	src := x.name
	var onnxAxes []int64
	if x.nchw {
		// The kept axes must come out in TensorFlow's order; when the NCHW
		// order differs, squeeze from NHWC instead.
		var tfOrder, heldOrder []int64
		for a := int64(0); a < 4; a++ {
			if !drop[a] {
				tfOrder = append(tfOrder, a)
			}
		}
		for _, a := range []int64{0, 3, 1, 2} {
			if !drop[a] {
				heldOrder = append(heldOrder, a)
			}
		}
		if slices.Equal(tfOrder, heldOrder) {
			for a := range drop {
				onnxAxes = append(onnxAxes, nchwAxis[a])
			}
		} else {
			src = c.op("Transpose", []string{src}, attrInts("perm", 0, 2, 3, 1))
			for a := range drop {
				onnxAxes = append(onnxAxes, a)
			}
		}
	} else {
		for a := range drop {
			onnxAxes = append(onnxAxes, a)
		}
	}
	slices.Sort(onnxAxes)
	axesName := c.intInit(c.tmp(n.Name+"/axes"), []int64{int64(len(onnxAxes))}, onnxAxes)
	return &value{name: c.op("Squeeze", []string{src, axesName}), shape: shape}, nil
}

func (c *converter) matmul(n Node, in []*value) (*value, error) {
	if len(in) < 2 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	a, b := in[0], in[1]
	if a.konst != nil || a.nchw || len(a.shape) != 2 {
		return nil, c.unsupported(n, "first input is not a 2-D activation")
	}
	if b.konst == nil || b.konst.Float == nil || len(b.shape) != 2 {
		return nil, c.unsupported(n, "second input is not a constant 2-D float matrix")
	}
	transA, transB := n.Attr["transpose_a"].B, n.Attr["transpose_b"].B
	outDim := b.shape[1]
	if transB {
		outDim = b.shape[0]
	}
	rows := a.shape[0]
	if transA {
		rows = a.shape[1]
	}
	inputs := []string{a.name, c.floatInit(c.tmp(n.Name+"/weights"), b.shape, b.konst.Float)}
	var post []string
	if n.Op == "_FusedMatMul" {
		ops := n.Attr["fused_ops"].strs()
		extra := in[2:]
		if len(ops) == 0 || ops[0] != "BiasAdd" || len(extra) != 1 {
			return nil, c.unsupported(n, "fused ops %v with %d extra inputs (only BiasAdd, then an activation)", ops, len(extra))
		}
		bias := extra[0]
		if bias.konst == nil || bias.konst.Float == nil || int64(len(bias.konst.Float)) != outDim {
			return nil, c.unsupported(n, "bias is not a constant of %d floats", outDim)
		}
		inputs = append(inputs, c.floatInit(c.tmp(n.Name+"/bias"), []int64{outDim}, bias.konst.Float))
		post = ops[1:]
	} else if len(in) != 2 {
		return nil, c.unsupported(n, "%d inputs", len(in))
	}
	out := c.op("Gemm", inputs, attrInt("transA", boolInt(transA)), attrInt("transB", boolInt(transB)))
	for _, act := range post {
		if act != "Relu" && act != "Relu6" {
			return nil, c.unsupported(n, "fused activation %q", act)
		}
		out = c.activation(act, out)
	}
	return &value{name: out, shape: []int64{rows, outDim}}, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// tmp returns a fresh tensor name starting with prefix.
func (c *converter) tmp(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s#%d", prefix, c.seq)
}

// op appends a node with a fresh output name and returns that name.
func (c *converter) op(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	out := c.tmp(op)
	c.g.Node = append(c.g.Node, &onnx.NodeProto{OpType: op, Name: out, Input: inputs, Output: []string{out}, Attribute: attrs})
	return out
}

func (c *converter) floatInit(name string, dims []int64, data []float32) string {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	c.g.Initializer = append(c.g.Initializer, &onnx.TensorProto{Name: name, Dims: slices.Clone(dims), DataType: int32(onnx.TensorProto_FLOAT), RawData: raw})
	c.inits[name] = true
	return name
}

func (c *converter) intInit(name string, dims []int64, data []int64) string {
	c.g.Initializer = append(c.g.Initializer, &onnx.TensorProto{Name: name, Dims: slices.Clone(dims), DataType: int32(onnx.TensorProto_INT64), Int64Data: slices.Clone(data)})
	c.inits[name] = true
	return name
}

// valueInfo describes a float tensor; dims nil leaves the shape unknown and
// an unknown first dimension becomes the symbolic batch.
func valueInfo(name string, dims []int64, batch string) *onnx.ValueInfoProto {
	t := &onnx.TypeProto_Tensor{ElemType: int32(onnx.TensorProto_FLOAT)}
	if dims != nil {
		shape := &onnx.TensorShapeProto{}
		for i, d := range dims {
			dim := &onnx.TensorShapeProto_Dimension{}
			switch {
			case d >= 0:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}
			case i == 0:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: batch}
			}
			shape.Dim = append(shape.Dim, dim)
		}
		t.Shape = shape
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: t}}}
}

func attrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func attrString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_STRING, S: []byte(v)}
}
