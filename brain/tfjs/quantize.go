package tfjs

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/fosql/fosql/brain/onnx"
	"google.golang.org/protobuf/proto"
)

// Range is the calibrated range of an activation tensor: the smallest and
// largest value it took on the calibration images.
type Range struct {
	Min, Max float32
}

// RangesOutput is the only output of the model CalibrationModel returns.
const RangesOutput = "ranges"

// relu6Max is the top of a Relu6 (Clip(0, 6)) output's known range.
const relu6Max = 6

// quantTarget is an activation tensor that Quantize stores as uint8: an
// input of a Conv, of an Add of two activations, or of an average pool.
type quantTarget struct {
	name string
	// clip is the Clip(0, 6) node that makes the tensor, or nil. Its range
	// is known, and the quantisation (which saturates at 0 and 6) replaces
	// the Clip.
	clip *onnx.NodeProto
}

// graphIndex is what the quantisation passes need to know about a graph.
type graphIndex struct {
	inits    map[string]*onnx.TensorProto
	producer map[string]*onnx.NodeProto
}

func indexGraph(g *onnx.GraphProto) graphIndex {
	ix := graphIndex{inits: map[string]*onnx.TensorProto{}, producer: map[string]*onnx.NodeProto{}}
	for _, t := range g.Initializer {
		ix.inits[t.Name] = t
	}
	for _, n := range g.Node {
		for _, o := range n.Output {
			ix.producer[o] = n
		}
	}
	return ix
}

// isRelu6 reports whether n is Clip with constant bounds 0 and 6.
func (ix graphIndex) isRelu6(n *onnx.NodeProto) bool {
	if n == nil || n.OpType != "Clip" || len(n.Input) != 3 {
		return false
	}
	lo, err1 := ix.scalar(n.Input[1])
	hi, err2 := ix.scalar(n.Input[2])
	return err1 == nil && err2 == nil && lo == 0 && hi == relu6Max
}

// scalar reads a one-value float initializer.
func (ix graphIndex) scalar(name string) (float32, error) {
	v, err := ix.floats(name)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("tfjs: quantize: %q holds %d values, want 1", name, len(v))
	}
	return v[0], nil
}

// floats reads a float initializer.
func (ix graphIndex) floats(name string) ([]float32, error) {
	t, ok := ix.inits[name]
	if !ok || t.DataType != int32(onnx.TensorProto_FLOAT) {
		return nil, fmt.Errorf("tfjs: quantize: %q is not a float initializer", name)
	}
	if t.RawData == nil {
		return slices.Clone(t.FloatData), nil
	}
	if len(t.RawData)%4 != 0 {
		return nil, fmt.Errorf("tfjs: quantize: initializer %q has %d raw bytes", name, len(t.RawData))
	}
	v := make([]float32, len(t.RawData)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return v, nil
}

// targets lists, in graph order, the activation tensors Quantize stores as
// uint8.
func (ix graphIndex) targets(g *onnx.GraphProto) []quantTarget {
	seen := map[string]bool{}
	var out []quantTarget
	add := func(name string) {
		if seen[name] || ix.inits[name] != nil {
			return
		}
		seen[name] = true
		t := quantTarget{name: name}
		if p := ix.producer[name]; ix.isRelu6(p) {
			t.clip = p
		}
		out = append(out, t)
	}
	for _, n := range g.Node {
		switch n.OpType {
		case "Conv", "AveragePool", "GlobalAveragePool":
			add(n.Input[0])
		case "Add":
			if len(n.Input) == 2 && ix.inits[n.Input[0]] == nil && ix.inits[n.Input[1]] == nil {
				add(n.Input[0])
				add(n.Input[1])
			}
		}
	}
	return out
}

// CalibrationTensors lists, in graph order, the activation tensors of m
// whose ranges Quantize needs: the inputs of its convolutions, of its
// additions of two activations (residual sums) and of its average pools,
// except the outputs of a Relu6, whose range [0, 6] is known.
func CalibrationTensors(m *onnx.ModelProto) []string {
	ix := indexGraph(m.Graph)
	var names []string
	for _, t := range ix.targets(m.Graph) {
		if t.clip == nil {
			names = append(names, t.name)
		}
	}
	return names
}

// CalibrationModel returns a copy of m whose one output, RangesOutput, is
// [N, 2K] for the K tensors CalibrationTensors lists: per image, each
// tensor's minimum then its maximum. Running it over calibration images
// gives the ranges Quantize needs in one pass.
func CalibrationModel(m *onnx.ModelProto) (*onnx.ModelProto, []string, error) {
	names := CalibrationTensors(m)
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("tfjs: calibrate: the model has no tensor to calibrate")
	}
	out := proto.Clone(m).(*onnx.ModelProto)
	g := out.Graph
	var parts []string
	for i, name := range names {
		flat := fmt.Sprintf("calibrate/%d/flat", i)
		g.Node = append(g.Node, &onnx.NodeProto{OpType: "Flatten", Name: flat, Input: []string{name}, Output: []string{flat}, Attribute: []*onnx.AttributeProto{attrInt("axis", 1)}})
		for _, op := range []string{"ReduceMin", "ReduceMax"} {
			o := fmt.Sprintf("calibrate/%d/%s", i, op)
			g.Node = append(g.Node, &onnx.NodeProto{OpType: op, Name: o, Input: []string{flat}, Output: []string{o},
				Attribute: []*onnx.AttributeProto{attrInts("axes", 1), attrInt("keepdims", 1)}})
			parts = append(parts, o)
		}
	}
	g.Node = append(g.Node, &onnx.NodeProto{OpType: "Concat", Name: RangesOutput, Input: parts, Output: []string{RangesOutput}, Attribute: []*onnx.AttributeProto{attrInt("axis", 1)}})
	g.Output = []*onnx.ValueInfoProto{valueInfo(RangesOutput, []int64{-1, int64(2 * len(names))}, "N")}
	return out, names, nil
}

// RoundRange widens r to a round form: its bounds move outward to
// multiples of 1/128 of the power of two at or above the larger of |Min|
// and |Max|. The stored ranges then do not change with the last bits of
// floating-point arithmetic (another CPU's kernels, another thread count),
// and the quantisation step grows by under 1%.
func RoundRange(r Range) Range {
	m := math.Max(math.Abs(float64(r.Min)), math.Abs(float64(r.Max)))
	if m == 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return r
	}
	step := math.Exp2(math.Ceil(math.Log2(m))) / 128
	return Range{Min: float32(math.Floor(float64(r.Min)/step) * step), Max: float32(math.Ceil(float64(r.Max)/step) * step)}
}

// activationParams gives the uint8 scale and zero point of a range: the
// range is widened to hold 0 (so that zero, such as convolution padding,
// is exact), 0..255 spans it.
func activationParams(r Range) (scale float32, zero uint8, err error) {
	lo, hi := math.Min(float64(r.Min), 0), math.Max(float64(r.Max), 0)
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, fmt.Errorf("range [%g, %g] is not finite", r.Min, r.Max)
	}
	if hi == lo {
		return 1, 0, nil
	}
	s := (hi - lo) / 255
	z := math.Round(-lo / s)
	return float32(s), uint8(min(max(z, 0), 255)), nil
}

// Quantize returns an int8 form of m, a float model Convert made, in ONNX's
// QDQ format, which ONNX Runtime fuses into integer kernels (QLinearConv,
// QLinearAdd): each convolution's weights become int8, symmetric, with one
// scale per output channel; its bias int32 at the input's scale times the
// weight's; the activations it reads, and both operands of each residual
// sum, are stored as uint8 (QuantizeLinear, then DequantizeLinear before
// each reader). A Relu6 output gets the range [0, 6], and the Clip goes:
// the quantisation saturates there. Every other such tensor needs its
// range in ranges (from calibration, see CalibrationModel); a missing one
// is an error. m is not changed.
func Quantize(m *onnx.ModelProto, ranges map[string]Range) (*onnx.ModelProto, error) {
	out := proto.Clone(m).(*onnx.ModelProto)
	g := out.Graph
	ix := indexGraph(g)
	type qparams struct {
		src   string // the tensor QuantizeLinear reads
		scale float32
		q     string // QuantizeLinear's output
	}
	params := map[string]*qparams{}
	drop := map[*onnx.NodeProto]bool{}
	var extra []*onnx.TensorProto
	after := map[string][]*onnx.NodeProto{} // nodes to emit after the producer of a tensor
	inputQ := map[string][]*onnx.NodeProto{}
	for _, t := range ix.targets(g) {
		p := &qparams{src: t.name}
		var zero uint8
		if t.clip != nil {
			p.src = t.clip.Input[0]
			p.scale = float32(relu6Max) / 255
			drop[t.clip] = true
		} else {
			r, ok := ranges[t.name]
			if !ok {
				return nil, fmt.Errorf("tfjs: quantize: no calibrated range for tensor %q", t.name)
			}
			var err error
			if p.scale, zero, err = activationParams(r); err != nil {
				return nil, fmt.Errorf("tfjs: quantize: tensor %q: %w", t.name, err)
			}
		}
		p.q = t.name + "/q"
		extra = append(extra,
			&onnx.TensorProto{Name: p.q + "/scale", DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{p.scale}},
			&onnx.TensorProto{Name: p.q + "/zero", DataType: int32(onnx.TensorProto_UINT8), Int32Data: []int32{int32(zero)}})
		qn := &onnx.NodeProto{OpType: "QuantizeLinear", Name: p.q, Input: []string{p.src, p.q + "/scale", p.q + "/zero"}, Output: []string{p.q}}
		if ix.producer[p.src] == nil {
			inputQ[p.src] = append(inputQ[p.src], qn)
		} else {
			after[p.src] = append(after[p.src], qn)
		}
		params[t.name] = p
	}
	// Rebuild the node list: each QuantizeLinear right after the node that
	// makes its tensor, one DequantizeLinear per reader right before it.
	var nodes []*onnx.NodeProto
	for _, in := range g.Input {
		nodes = append(nodes, inputQ[in.Name]...)
	}
	seq := 0
	for _, n := range g.Node {
		if drop[n] {
			continue
		}
		xScale := float32(0) // the scale of a Conv's quantised input
		for i, in := range n.Input {
			p, ok := params[in]
			if !ok {
				continue
			}
			if i == 0 {
				xScale = p.scale
			}
			seq++
			dq := fmt.Sprintf("%s/dq#%d", in, seq)
			nodes = append(nodes, &onnx.NodeProto{OpType: "DequantizeLinear", Name: dq, Input: []string{p.q, p.q + "/scale", p.q + "/zero"}, Output: []string{dq}})
			n.Input[i] = dq
		}
		if n.OpType == "Conv" && xScale > 0 {
			dqs, inits, err := quantizeConvParams(ix, n, xScale)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, dqs...)
			extra = append(extra, inits...)
		}
		nodes = append(nodes, n)
		for _, o := range n.Output {
			nodes = append(nodes, after[o]...)
		}
	}
	g.Node = nodes
	// Drop the float weights and biases the int8 ones replace, and add the
	// new initializers.
	used := map[string]bool{}
	for _, n := range g.Node {
		for _, in := range n.Input {
			used[in] = true
		}
	}
	var inits []*onnx.TensorProto
	for _, t := range g.Initializer {
		if used[t.Name] {
			inits = append(inits, t)
		}
	}
	g.Initializer = append(inits, extra...)
	if out.ProducerName != "" {
		out.ProducerName += " (int8)"
	}
	return out, nil
}

// quantizeConvParams makes the int8 weights and int32 bias of Conv node n,
// whose input has scale xScale, with the DequantizeLinear nodes that give
// them back to n (n's inputs are rewired to those), and returns both.
func quantizeConvParams(ix graphIndex, n *onnx.NodeProto, xScale float32) ([]*onnx.NodeProto, []*onnx.TensorProto, error) {
	if len(n.Input) < 2 {
		return nil, nil, fmt.Errorf("tfjs: quantize: Conv %q has no weights", n.Name)
	}
	wName := n.Input[1]
	w, err := ix.floats(wName)
	if err != nil {
		return nil, nil, err
	}
	dims := ix.inits[wName].Dims
	if len(dims) != 4 || dims[0] <= 0 || len(w)%int(dims[0]) != 0 {
		return nil, nil, fmt.Errorf("tfjs: quantize: Conv %q: weights of shape %v", n.Name, dims)
	}
	outC := int(dims[0])
	per := len(w) / outC
	wq := make([]byte, len(w))
	wScale := make([]float32, outC)
	for c := range outC {
		var m float64
		for _, v := range w[c*per : (c+1)*per] {
			m = math.Max(m, math.Abs(float64(v)))
		}
		s := m / 127
		if s == 0 {
			s = 1
		}
		wScale[c] = float32(s)
		for i, v := range w[c*per : (c+1)*per] {
			wq[c*per+i] = byte(int8(min(max(math.Round(float64(v)/float64(wScale[c])), -127), 127)))
		}
	}
	base := wName + "/int8"
	inits := []*onnx.TensorProto{
		{Name: base, Dims: slices.Clone(dims), DataType: int32(onnx.TensorProto_INT8), RawData: wq},
		{Name: base + "/scale", Dims: []int64{int64(outC)}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: wScale},
		{Name: base + "/zero", Dims: []int64{int64(outC)}, DataType: int32(onnx.TensorProto_INT8), RawData: make([]byte, outC)},
	}
	dqs := []*onnx.NodeProto{{OpType: "DequantizeLinear", Name: base + "/dq", Input: []string{base, base + "/scale", base + "/zero"}, Output: []string{base + "/dq"}, Attribute: []*onnx.AttributeProto{attrInt("axis", 0)}}}
	n.Input[1] = base + "/dq"
	if len(n.Input) < 3 || n.Input[2] == "" {
		return dqs, inits, nil
	}
	bName := n.Input[2]
	b, err := ix.floats(bName)
	if err != nil {
		return nil, nil, err
	}
	if len(b) != outC {
		return nil, nil, fmt.Errorf("tfjs: quantize: Conv %q: %d biases for %d output channels", n.Name, len(b), outC)
	}
	bq := make([]byte, 4*outC)
	bScale := make([]float32, outC)
	for c, v := range b {
		bScale[c] = xScale * wScale[c]
		q := min(max(math.Round(float64(v)/float64(bScale[c])), math.MinInt32), math.MaxInt32)
		binary.LittleEndian.PutUint32(bq[4*c:], uint32(int32(q)))
	}
	bbase := bName + "/int32"
	inits = append(inits,
		&onnx.TensorProto{Name: bbase, Dims: []int64{int64(outC)}, DataType: int32(onnx.TensorProto_INT32), RawData: bq},
		&onnx.TensorProto{Name: bbase + "/scale", Dims: []int64{int64(outC)}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: bScale},
		&onnx.TensorProto{Name: bbase + "/zero", Dims: []int64{int64(outC)}, DataType: int32(onnx.TensorProto_INT32), RawData: make([]byte, 4*outC)})
	dqs = append(dqs, &onnx.NodeProto{OpType: "DequantizeLinear", Name: bbase + "/dq", Input: []string{bbase, bbase + "/scale", bbase + "/zero"}, Output: []string{bbase + "/dq"}, Attribute: []*onnx.AttributeProto{attrInt("axis", 0)}})
	n.Input[2] = bbase + "/dq"
	return dqs, inits, nil
}
