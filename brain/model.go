package brain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain/onnx"
	"github.com/fosql/fosql/db"
)

// Layout is the memory layout of a model's image input.
type Layout string

// Input layouts.
const (
	// NCHW is batch, channel, height, width (PyTorch exports).
	NCHW Layout = "NCHW"
	// NHWC is batch, height, width, channel (TensorFlow exports).
	NHWC Layout = "NHWC"
)

// ChannelOrder is the order of colour channels a model expects.
type ChannelOrder string

// Channel orders.
const (
	// RGB puts red first (most PyTorch and TensorFlow models).
	RGB ChannelOrder = "RGB"
	// BGR puts blue first (models trained with OpenCV or Caffe).
	BGR ChannelOrder = "BGR"
	// GRAY is one luminance channel (greyscale models such as MNIST
	// classifiers). Each pixel, after transparency is composited over white,
	// becomes the 8-bit luma of ITU-R BT.601,
	// L = (19595 R + 38470 G + 7471 B + 32768) >> 16 — the weights 0.299,
	// 0.587, 0.114 in 16-bit fixed point, rounded, as Pillow's
	// convert("L") computes it — so a grey pixel keeps its level. Mean and
	// Std then take one value each.
	GRAY ChannelOrder = "GRAY"
)

// count is the number of colour channels of the order: 1 for GRAY, else 3.
func (c ChannelOrder) count() int {
	if c == GRAY {
		return 1
	}
	return 3
}

// Bounds on the model files the brain reads. Both are opened with
// db.OpenUserFile: only regular files (links followed) are read, so a model
// path naming a FIFO or a device such as /dev/zero is an error at once.
const (
	// MaxModelBytes is the largest ONNX model file accepted: 2 GiB, the
	// most a protocol buffer message (and so an ONNX file without external
	// data) can hold.
	MaxModelBytes = 2 << 30
	// MaxSpecBytes is the largest model spec (JSON) file accepted.
	MaxSpecBytes = 1 << 20
)

// readModelFile reads the ONNX file of spec under MaxModelBytes.
func readModelFile(spec ModelSpec) ([]byte, error) {
	data, err := db.ReadUserFile(spec.Path, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("brain: model %q: %w", spec.Name, err)
	}
	return data, nil
}

// ErrBadSpec is wrapped by LoadModel's errors about a ModelSpec that does not
// fit its model (missing tensors, wrong input shape, bad fields).
var ErrBadSpec = errors.New("brain: bad model spec")

// ModelSpec tells how to feed an ONNX image model and where to read its
// embedding. An input pixel of 8-bit level v in colour channel c becomes
// (v*Scale - Mean[c]) / Std[c]; Mean and Std are always given in R, G, B
// order, whatever Channels says. A GRAY model has one channel, the
// pixel's luma (see GRAY), normalised by Mean[0] and Std[0]; its other
// Mean and Std entries must be 0 (in JSON, one-element lists). A spec
// under which some level would become an infinite or NaN input is refused.
type ModelSpec struct {
	// Name labels the model in run records and messages.
	Name string `json:"name"`
	// Path is the .onnx file. Not part of the model's identity.
	Path string `json:"path,omitempty"`
	// Width and Height are the input size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Layout is NCHW or NHWC; empty means NCHW.
	Layout Layout `json:"layout"`
	// Channels is RGB, BGR or GRAY (one luminance channel); empty means
	// RGB.
	Channels ChannelOrder `json:"channels"`
	// Scale multiplies 8-bit pixel levels before Mean and Std apply; 0 means
	// 1/255 (levels in [0, 1]).
	Scale float32 `json:"scale"`
	// Mean and Std normalise each channel; a zero Std counts as 1. GRAY
	// uses only the first entry of each.
	Mean [3]float32 `json:"mean"`
	Std  [3]float32 `json:"std"`
	// Input is the image input tensor; empty means the graph's only input.
	Input string `json:"input"`
	// Output is the embedding tensor: a graph output, or an intermediate
	// tensor that LoadModel exposes as an extra output. Empty means the
	// graph's first output. It is flattened per image.
	Output string `json:"output"`
	// FixedBatch is the batch size the model requires when its batch axis is
	// fixed; 0 reads it from the model (a numeric first input dimension is
	// fixed, a symbolic one dynamic). A fixed-batch model's last batch is
	// padded; a batch of 1 is fed one image at a time.
	FixedBatch int `json:"fixed_batch"`
	// FillRotationCorners paints over the wedges a small rotation leaves
	// at a picture's corners (filled white or black) with the picture's
	// own pixels beside them, before the model sees it, so that a turned
	// copy is judged by its picture rather than its corners.
	FillRotationCorners bool `json:"fill_rotation_corners,omitempty"`
}

// normalise fills defaults and validates the fields that need no model.
func (s ModelSpec) normalise() (ModelSpec, error) {
	if s.Layout == "" {
		s.Layout = NCHW
	}
	if s.Channels == "" {
		s.Channels = RGB
	}
	if s.Scale == 0 {
		s.Scale = 1.0 / 255
	}
	if s.Channels == GRAY && (s.Mean[1] != 0 || s.Mean[2] != 0 || s.Std[1] != 0 || s.Std[2] != 0) {
		return s, fmt.Errorf("%w: channels GRAY take one mean and one std, spec gives mean %v, std %v", ErrBadSpec, s.Mean, s.Std)
	}
	for c := range s.Channels.count() {
		if s.Std[c] == 0 {
			s.Std[c] = 1
		}
		// The input is linear in the level: finite at 0 and 255, finite
		// at every level.
		for _, v := range [...]float32{0, 255} {
			if x := (float32(v*s.Scale) - s.Mean[c]) / s.Std[c]; math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return s, fmt.Errorf("%w: scale %g, mean %g and std %g turn level %g of channel %d into %g; a model's inputs must be finite",
					ErrBadSpec, s.Scale, s.Mean[c], s.Std[c], v, c, x)
			}
		}
	}
	switch {
	case s.Width <= 0 || s.Height <= 0 || s.Width > 8192 || s.Height > 8192:
		return s, fmt.Errorf("%w: input size %dx%d", ErrBadSpec, s.Width, s.Height)
	case s.Layout != NCHW && s.Layout != NHWC:
		return s, fmt.Errorf("%w: layout %q (want NCHW or NHWC)", ErrBadSpec, s.Layout)
	case s.Channels != RGB && s.Channels != BGR && s.Channels != GRAY:
		return s, fmt.Errorf("%w: channel order %q (want RGB, BGR or GRAY)", ErrBadSpec, s.Channels)
	case s.FixedBatch < 0:
		return s, fmt.Errorf("%w: fixed batch %d", ErrBadSpec, s.FixedBatch)
	}
	return s, nil
}

// Model is a loaded image model: an ONNX Runtime session plus the
// preprocessing its spec asks for. Its methods are safe for concurrent use
// until Close.
type Model struct {
	spec     ModelSpec
	identity string
	dim      int
	pre      *preprocessor

	// singleThreaded: the session runs each call on the caller's thread
	// only, so Embed runs several batches at once instead.
	singleThreaded bool

	mu      sync.RWMutex
	session *ort.DynamicAdvancedSession
}

// LoadModel reads the ONNX model at spec.Path (or builds the built-in
// descriptor a spec of BuiltinSpec names) and prepares it for Embed. It
// starts ONNX Runtime (InitRuntime) if needed, exposes spec.Output as a graph
// output when it is an intermediate tensor, and runs one probe batch to learn
// the embedding dimension.
func LoadModel(spec ModelSpec) (*Model, error) {
	if spec.Path == "" && builtinOf(spec) == nil {
		return nil, fmt.Errorf("%w: no model path", ErrBadSpec)
	}
	return loadSpec(spec, nil)
}

// loadModelBytes is LoadModel for a model already in memory. Its session
// runs each call on one thread (the caller's), and Embed runs one call per
// core: for a CNN such as mobilenet-v2 that costs the least CPU per image
// and gives the most images per second. ORT's own intra-op threads split
// every convolution and wait for each other between layers; with two of
// them a 224x224 image took 16–20 ms of CPU against 15–16 ms for one
// thread per call, and more on a loaded machine (BENCHMARKS.md, "The
// pretrained CNN").
func loadModelBytes(spec ModelSpec, data []byte) (*Model, error) {
	return loadModelWith(spec, data, sessionConfig{threads: 1})
}

// loadModelWith is loadModelBytes with explicit session settings.
func loadModelWith(spec ModelSpec, data []byte, cfg sessionConfig) (*Model, error) {
	spec, err := spec.normalise()
	if err != nil {
		return nil, err
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("brain: model %q is not an ONNX model: %w", spec.Name, err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("brain: model %q has no graph", spec.Name)
	}
	inputInfo, err := findInput(g, &spec)
	if err != nil {
		return nil, err
	}
	if err := checkInputShape(inputInfo, &spec); err != nil {
		return nil, err
	}
	edited, err := exposeOutput(g, &spec)
	if err != nil {
		return nil, err
	}
	sessionBytes := data
	if edited {
		sessionBytes, err = proto.MarshalOptions{Deterministic: true}.Marshal(&mp)
		if err != nil {
			return nil, fmt.Errorf("brain: model %q: write edited graph: %w", spec.Name, err)
		}
	}
	if err := InitRuntime(); err != nil {
		return nil, err
	}
	opts, err := newSessionOptions(cfg)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(sessionBytes, []string{spec.Input}, []string{spec.Output}, opts)
	if err != nil {
		return nil, fmt.Errorf("brain: model %q: create session: %w", spec.Name, err)
	}
	m := &Model{spec: spec, session: sess, pre: newPreprocessor(&spec), singleThreaded: cfg.threads == 1}
	m.identity = modelIdentity(data, spec)
	probe := 1
	if spec.FixedBatch > 0 {
		probe = spec.FixedBatch
	}
	out, shape, err := m.run(make([]float32, probe*m.pre.size()), probe)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("brain: model %q: probe run: %w", spec.Name, err)
	}
	if len(shape) == 0 || shape[0] != int64(probe) {
		m.Close()
		return nil, fmt.Errorf("%w: model %q: output %q has shape %v, want batch %d first", ErrBadSpec, spec.Name, spec.Output, shape, probe)
	}
	m.dim = len(out) / probe
	if m.dim == 0 {
		m.Close()
		return nil, fmt.Errorf("%w: model %q: output %q is empty", ErrBadSpec, spec.Name, spec.Output)
	}
	return m, nil
}

// findInput resolves spec.Input against the graph's inputs (initializers
// listed as inputs do not count).
func findInput(g *onnx.GraphProto, spec *ModelSpec) (*onnx.ValueInfoProto, error) {
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var real []*onnx.ValueInfoProto
	for _, in := range g.GetInput() {
		if !inits[in.GetName()] {
			real = append(real, in)
		}
	}
	if spec.Input == "" {
		if len(real) != 1 {
			return nil, fmt.Errorf("%w: model %q has %d inputs: name the image input", ErrBadSpec, spec.Name, len(real))
		}
		spec.Input = real[0].GetName()
		return real[0], nil
	}
	for _, in := range real {
		if in.GetName() == spec.Input {
			return in, nil
		}
	}
	return nil, fmt.Errorf("%w: model %q has no input %q (inputs: %v)", ErrBadSpec, spec.Name, spec.Input, valueNames(real))
}

// checkInputShape compares the declared input shape with the spec and
// settles spec.FixedBatch.
func checkInputShape(in *onnx.ValueInfoProto, spec *ModelSpec) error {
	tt := in.GetType().GetTensorType()
	if tt == nil {
		return fmt.Errorf("%w: input %q is not a tensor", ErrBadSpec, spec.Input)
	}
	if et := onnx.TensorProto_DataType(tt.GetElemType()); et != onnx.TensorProto_FLOAT {
		return fmt.Errorf("%w: input %q has element type %v, want float", ErrBadSpec, spec.Input, et)
	}
	dims := tt.GetShape().GetDim()
	if dims == nil {
		return nil // unknown shape: trust the spec
	}
	if len(dims) != 4 {
		return fmt.Errorf("%w: input %q has rank %d, want 4 (%s)", ErrBadSpec, spec.Input, len(dims), spec.Layout)
	}
	if !fits(dims, inputWant(spec, spec.Layout)) {
		return fmt.Errorf("%w: input %q has shape %s (%s), spec says %s, %s, %dx%d%s", ErrBadSpec, spec.Input, shapeString(dims),
			declaredImage(dims, spec.Layout), spec.Layout, channelsString(spec.Channels), spec.Width, spec.Height, shapeHint(dims, spec))
	}
	if v, ok := dims[0].GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
		if spec.FixedBatch == 0 {
			spec.FixedBatch = int(v.DimValue)
		} else if int64(spec.FixedBatch) != v.DimValue {
			return fmt.Errorf("%w: input %q has batch %d, spec says %d", ErrBadSpec, spec.Input, v.DimValue, spec.FixedBatch)
		}
	}
	return nil
}

// channelsString describes a channel order with its channel count.
func channelsString(c ChannelOrder) string {
	if c.count() == 1 {
		return fmt.Sprintf("1 channel (%s)", c)
	}
	return fmt.Sprintf("%d channels (%s)", c.count(), c)
}

// declaredImage reads a rank-4 input shape in layout: its channel count and
// its width x height, "?" for a symbolic dimension.
func declaredImage(dims []*onnx.TensorShapeProto_Dimension, layout Layout) string {
	dim := func(i int) string {
		if v, ok := dims[i].GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
			return fmt.Sprint(v.DimValue)
		}
		return "?"
	}
	c, h, w := dim(1), dim(2), dim(3)
	if layout == NHWC {
		h, w, c = dim(1), dim(2), dim(3)
	}
	unit := "channels"
	if c == "1" {
		unit = "channel"
	}
	return fmt.Sprintf("as %s: %s %s, %sx%s", layout, c, unit, w, h)
}

// inputWant is the input shape a spec asks for, with -1 for the batch.
func inputWant(spec *ModelSpec, layout Layout) []int64 {
	nc := int64(spec.Channels.count())
	if layout == NHWC {
		return []int64{-1, int64(spec.Height), int64(spec.Width), nc}
	}
	return []int64{-1, nc, int64(spec.Height), int64(spec.Width)}
}

// fits reports whether a declared input shape agrees with want on every
// fixed image dimension.
func fits(dims []*onnx.TensorShapeProto_Dimension, want []int64) bool {
	for i := 1; i < 4; i++ {
		if v, ok := dims[i].GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 && v.DimValue != want[i] {
			return false
		}
	}
	return true
}

// shapeHint suggests the spec field that would make a declared input shape
// fit: the other layout, or the channel order of a 1- or 3-channel input.
func shapeHint(dims []*onnx.TensorShapeProto_Dimension, spec *ModelSpec) string {
	other := NHWC
	if spec.Layout == NHWC {
		other = NCHW
	}
	if fits(dims, inputWant(spec, other)) {
		return fmt.Sprintf(`; the shape fits "layout": %q`, other)
	}
	ci := 1
	if spec.Layout == NHWC {
		ci = 3
	}
	v, ok := dims[ci].GetValue().(*onnx.TensorShapeProto_Dimension_DimValue)
	switch {
	case !ok || int64(spec.Channels.count()) == v.DimValue:
		return ""
	case v.DimValue == 1:
		return `; a 1-channel input takes "channels": "GRAY"`
	case v.DimValue == 3:
		return `; a 3-channel input takes "channels": "RGB" or "BGR"`
	}
	return ""
}

// exposeOutput makes spec.Output a graph output, adding it when it is an
// intermediate tensor. It reports whether the graph changed.
func exposeOutput(g *onnx.GraphProto, spec *ModelSpec) (bool, error) {
	if spec.Output == "" {
		if len(g.GetOutput()) == 0 {
			return false, fmt.Errorf("%w: model %q has no outputs", ErrBadSpec, spec.Name)
		}
		spec.Output = g.GetOutput()[0].GetName()
		return false, nil
	}
	for _, o := range g.GetOutput() {
		if o.GetName() == spec.Output {
			return false, nil
		}
	}
	produced := false
	for _, n := range g.GetNode() {
		if slices.Contains(n.GetOutput(), spec.Output) {
			produced = true
			break
		}
	}
	if !produced {
		return false, fmt.Errorf("%w: model %q has no tensor %q (outputs: %v)", ErrBadSpec, spec.Name, spec.Output, valueNames(g.GetOutput()))
	}
	// Reuse the shape inference result when the model carries one.
	for _, vi := range g.GetValueInfo() {
		if vi.GetName() == spec.Output {
			g.Output = append(g.Output, proto.Clone(vi).(*onnx.ValueInfoProto))
			return true, nil
		}
	}
	g.Output = append(g.Output, valueInfo(spec.Output, onnx.TensorProto_FLOAT, nil, ""))
	return true, nil
}

func valueNames(vs []*onnx.ValueInfoProto) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.GetName()
	}
	return names
}

func shapeString(dims []*onnx.TensorShapeProto_Dimension) string {
	s := "["
	for i, d := range dims {
		if i > 0 {
			s += " "
		}
		switch v := d.GetValue().(type) {
		case *onnx.TensorShapeProto_Dimension_DimValue:
			s += fmt.Sprint(v.DimValue)
		case *onnx.TensorShapeProto_Dimension_DimParam:
			s += v.DimParam
		default:
			s += "?"
		}
	}
	return s + "]"
}

// modelIdentity hashes the model bytes and the spec fields that change what
// the embeddings are (everything but Name and Path).
func modelIdentity(data []byte, spec ModelSpec) string {
	canon := spec
	canon.Name, canon.Path = "", ""
	js, _ := json.Marshal(canon) // fixed struct: cannot fail
	h := sha256.New()
	h.Write(data)
	h.Write([]byte{0})
	h.Write(js)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Identity is "sha256:" and the hex SHA-256 of the model bytes and the
// canonical spec: equal identities give equal embeddings.
func (m *Model) Identity() string { return m.identity }

// Dim is the length of one embedding.
func (m *Model) Dim() int { return m.dim }

// Spec returns the model's spec with defaults filled in and tensor names and
// batch resolved.
func (m *Model) Spec() ModelSpec { return m.spec }

// Close releases the ONNX Runtime session. The model must not be used after.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session != nil {
		m.session.Destroy()
		m.session = nil
	}
}

// ErrClosed is returned when a closed Model is used.
var ErrClosed = errors.New("brain: model is closed")

// inputShape is the tensor shape of a batch of n images.
func (m *Model) inputShape(n int) ort.Shape {
	nc := int64(m.spec.Channels.count())
	if m.spec.Layout == NHWC {
		return ort.NewShape(int64(n), int64(m.spec.Height), int64(m.spec.Width), nc)
	}
	return ort.NewShape(int64(n), nc, int64(m.spec.Height), int64(m.spec.Width))
}

// run feeds a batch of n preprocessed images (n*pre.size() values) through
// the session and returns the flattened embedding output and its shape.
func (m *Model) run(batch []float32, n int) ([]float32, ort.Shape, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, nil, ErrClosed
	}
	in, err := ort.NewTensor(m.inputShape(n), batch)
	if err != nil {
		return nil, nil, fmt.Errorf("brain: input tensor: %w", err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := m.session.Run([]ort.Value{in}, outs); err != nil {
		return nil, nil, fmt.Errorf("brain: run model %q: %w", m.spec.Name, err)
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, nil, fmt.Errorf("%w: model %q: output %q is not a float32 tensor", ErrBadSpec, m.spec.Name, m.spec.Output)
	}
	return slices.Clone(t.GetData()), t.GetShape().Clone(), nil
}
