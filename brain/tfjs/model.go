package tfjs

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// ErrFormat is wrapped by every error about a model that is not a
// TensorFlow.js graph model this package can read.
var ErrFormat = errors.New("tfjs: not a readable graph model")

// Model is a TensorFlow.js graph model: its nodes and its weights,
// dequantised to float32 (or int32 for integer tensors).
type Model struct {
	// Nodes are the graph's nodes in the order model.json lists them.
	Nodes []Node
	// Weights holds every tensor of the weights manifest by name.
	Weights map[string]*Tensor
}

// Tensor is a constant tensor read from the weight shards.
type Tensor struct {
	// Shape is the tensor's shape; empty for a scalar.
	Shape []int64
	// Float holds float32 values; Int holds int32 values instead when the
	// tensor is an integer tensor.
	Float []float32
	Int   []int32
}

// Node is one node of a graph model's topology.
type Node struct {
	Name  string          `json:"name"`
	Op    string          `json:"op"`
	Input []string        `json:"input"`
	Attr  map[string]Attr `json:"attr"`
}

// Attr is a node attribute as model.json writes it: the field that is set
// depends on the attribute's type. S holds base64 (as in TensorFlow's JSON).
type Attr struct {
	S      string       `json:"s"`
	I      Int          `json:"i"`
	F      float64      `json:"f"`
	B      bool         `json:"b"`
	Type   string       `json:"type"`
	Shape  *TensorShape `json:"shape"`
	Tensor *TensorAttr  `json:"tensor"`
	List   *ListAttr    `json:"list"`
}

// TensorAttr describes a Const node's tensor (its values are in the
// weights).
type TensorAttr struct {
	Dtype       string      `json:"dtype"`
	TensorShape TensorShape `json:"tensorShape"`
}

// ListAttr is a list-valued attribute.
type ListAttr struct {
	S []string  `json:"s"`
	I []Int     `json:"i"`
	F []float64 `json:"f"`
}

// TensorShape is a shape attribute; a size of -1 is unknown.
type TensorShape struct {
	Dim         []Dim `json:"dim"`
	UnknownRank bool  `json:"unknownRank"`
}

// Dim is one dimension of a TensorShape.
type Dim struct {
	Size Int `json:"size"`
}

// ShapeOf returns the TensorShape with the given sizes.
func ShapeOf(sizes ...int64) *TensorShape {
	s := &TensorShape{}
	for _, d := range sizes {
		s.Dim = append(s.Dim, Dim{Size: Int(d)})
	}
	return s
}

// Int reads an integer written either as a JSON number or as a string
// (TensorFlow's JSON writes int64 values as strings).
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Int) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, err)
	}
	*f = Int(v)
	return nil
}

// str decodes a string attribute.
func (a Attr) str() string {
	b, err := base64.StdEncoding.DecodeString(a.S)
	if err != nil {
		return a.S
	}
	return string(b)
}

// ints returns a list attribute's integers.
func (a Attr) ints() []int64 {
	if a.List == nil {
		return nil
	}
	out := make([]int64, len(a.List.I))
	for i, v := range a.List.I {
		out[i] = int64(v)
	}
	return out
}

// strs returns a list attribute's strings, decoded.
func (a Attr) strs() []string {
	if a.List == nil {
		return nil
	}
	out := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		out[i] = Attr{S: s}.str()
	}
	return out
}

// dims returns a shape attribute's dimensions (-1 for unknown).
func (s *TensorShape) dims() []int64 {
	if s == nil {
		return nil
	}
	out := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		out[i] = int64(d.Size)
	}
	return out
}

type modelFile struct {
	Format        string `json:"format"`
	ModelTopology struct {
		Node []Node `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string      `json:"paths"`
		Weights []weightEntry `json:"weights"`
	} `json:"weightsManifest"`
}

type weightEntry struct {
	Name         string  `json:"name"`
	Shape        []int64 `json:"shape"`
	Dtype        string  `json:"dtype"`
	Quantization *struct {
		Min   float64 `json:"min"`
		Scale float64 `json:"scale"`
		Dtype string  `json:"dtype"`
	} `json:"quantization"`
}

// MaxFileBytes bounds each file ReadDir reads.
const MaxFileBytes = 512 << 20

// ReadDir reads the graph model in dir: model.json, or model.min.js when
// there is no model.json, and the weight shards its manifest names (each
// as the raw file, or as name.min.js holding it in base64).
func ReadDir(dir string) (*Model, error) {
	var topo []byte
	var err error
	for _, name := range []string{"model.json", "model.min.js"} {
		path := filepath.Join(dir, name)
		topo, err = readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if name == "model.min.js" {
			if topo, err = exportedLiteral(topo, path); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrFormat, err)
			}
		}
		break
	}
	if topo == nil {
		return nil, fmt.Errorf("tfjs: %s has neither model.json nor model.min.js: %w", dir, fs.ErrNotExist)
	}
	return Read(topo, func(path string) ([]byte, error) { return readShard(filepath.Join(dir, filepath.FromSlash(path))) })
}

// Read parses a model.json document and reads its weights with shard,
// which returns the bytes of a shard named by a manifest path.
func Read(modelJSON []byte, shard func(path string) ([]byte, error)) (*Model, error) {
	var mf modelFile
	if err := json.Unmarshal(modelJSON, &mf); err != nil {
		return nil, fmt.Errorf("%w: model.json: %v", ErrFormat, err)
	}
	if mf.Format != "" && mf.Format != "graph-model" {
		return nil, fmt.Errorf("%w: format %q (want graph-model)", ErrFormat, mf.Format)
	}
	if len(mf.ModelTopology.Node) == 0 {
		return nil, fmt.Errorf("%w: model.json has no nodes", ErrFormat)
	}
	m := &Model{Nodes: mf.ModelTopology.Node, Weights: map[string]*Tensor{}}
	for _, group := range mf.WeightsManifest {
		var data []byte
		for _, p := range group.Paths {
			b, err := shard(p)
			if err != nil {
				return nil, err
			}
			data = append(data, b...)
		}
		off := 0
		for _, w := range group.Weights {
			t, n, err := decodeWeight(w, data[off:])
			if err != nil {
				return nil, err
			}
			off += n
			m.Weights[w.Name] = t
		}
		if off != len(data) {
			return nil, fmt.Errorf("%w: weight group %v holds %d bytes, its manifest %d", ErrFormat, group.Paths, len(data), off)
		}
	}
	return m, nil
}

// decodeWeight decodes one manifest entry from the front of data and
// reports how many bytes it took.
func decodeWeight(w weightEntry, data []byte) (*Tensor, int, error) {
	count := int64(1)
	for _, d := range w.Shape {
		if d < 0 || (d > 0 && count > math.MaxInt32/d) {
			return nil, 0, fmt.Errorf("%w: weight %q has shape %v", ErrFormat, w.Name, w.Shape)
		}
		count *= d
	}
	n := int(count)
	t := &Tensor{Shape: append([]int64{}, w.Shape...)}
	stored := w.Dtype
	if w.Quantization != nil {
		stored = w.Quantization.Dtype
	}
	size := map[string]int{"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2, "bool": 1}[stored]
	if size == 0 {
		return nil, 0, fmt.Errorf("%w: weight %q has dtype %q", ErrFormat, w.Name, stored)
	}
	if len(data) < n*size {
		return nil, 0, fmt.Errorf("%w: weight %q needs %d bytes, the shards hold %d more", ErrFormat, w.Name, n*size, len(data))
	}
	data = data[:n*size]
	if w.Dtype == "int32" && w.Quantization == nil {
		t.Int = make([]int32, n)
		for i := range t.Int {
			t.Int[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return t, n * size, nil
	}
	if w.Dtype != "float32" && w.Dtype != "int32" {
		return nil, 0, fmt.Errorf("%w: weight %q has dtype %q", ErrFormat, w.Name, w.Dtype)
	}
	vals := make([]float32, n)
	switch stored {
	case "float32":
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case "uint8", "uint16":
		q := w.Quantization
		for i := range vals {
			var v uint32
			if size == 1 {
				v = uint32(data[i])
			} else {
				v = uint32(binary.LittleEndian.Uint16(data[2*i:]))
			}
			vals[i] = float32(float64(v)*q.Scale + q.Min)
		}
	case "float16":
		for i := range vals {
			vals[i] = halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
		}
	default:
		return nil, 0, fmt.Errorf("%w: weight %q quantised as %q", ErrFormat, w.Name, stored)
	}
	if w.Dtype == "int32" {
		t.Int = make([]int32, n)
		for i, v := range vals {
			t.Int[i] = int32(math.Round(float64(v)))
		}
		return t, n * size, nil
	}
	t.Float = vals
	return t, n * size, nil
}

// halfToFloat widens an IEEE 754 half-precision value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		v := float32(frac) / 1024 / 16384
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("tfjs: %s is not a regular file", path)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("tfjs: %s is larger than %d bytes", path, MaxFileBytes)
	}
	return os.ReadFile(path)
}

// readShard reads a weight shard: the raw file when it exists, else the
// base64 string exported by path.min.js.
func readShard(path string) ([]byte, error) {
	b, err := readFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	script, err := readFile(path + ".min.js")
	if err != nil {
		return nil, fmt.Errorf("tfjs: weight shard %s (or %s.min.js): %w", path, path, err)
	}
	js, err := exportedLiteral(script, path+".min.js")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	var b64 string
	if err := json.Unmarshal(js, &b64); err != nil {
		return nil, fmt.Errorf("%w: %s.min.js does not export a string", ErrFormat, path)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s.min.js: base64: %v", ErrFormat, path, err)
	}
	return raw, nil
}
