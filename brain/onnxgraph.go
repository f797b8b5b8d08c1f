package brain

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain/onnx"
)

// graphOpset is the ONNX operator set the graphs built here target. Opset 17
// keeps the reduction axes of ReduceMean/ReduceSum as attributes.
const graphOpset = 17

// graphIRVersion is the ONNX IR version written with graphOpset.
const graphIRVersion = 8

// graphBuilder assembles an ONNX graph with the protobuf types of
// brain/onnx. Names are given by the caller; nodes are kept in the order
// they are added, which must be a topological order.
type graphBuilder struct {
	g   *onnx.GraphProto
	seq int
}

func newGraph(name string) *graphBuilder {
	return &graphBuilder{g: &onnx.GraphProto{Name: name}}
}

// tmp returns a fresh intermediate tensor name with the given prefix.
func (b *graphBuilder) tmp(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s_%d", prefix, b.seq)
}

// node appends a node with one output named out and returns out. attrs are
// built with the attr* helpers.
func (b *graphBuilder) node(op string, inputs []string, out string, attrs ...*onnx.AttributeProto) string {
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		OpType:    op,
		Name:      out + "_" + op,
		Input:     inputs,
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

// op is node with a generated output name.
func (b *graphBuilder) op(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	return b.node(op, inputs, b.tmp(op), attrs...)
}

// floatInit adds a float32 initializer with raw little-endian data.
func (b *graphBuilder) floatInit(name string, dims []int64, data []float32) string {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name:     name,
		Dims:     append([]int64(nil), dims...),
		DataType: int32(onnx.TensorProto_FLOAT),
		RawData:  raw,
	})
	return name
}

// intInit adds an int64 initializer.
func (b *graphBuilder) intInit(name string, dims []int64, data []int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name:      name,
		Dims:      append([]int64(nil), dims...),
		DataType:  int32(onnx.TensorProto_INT64),
		Int64Data: append([]int64(nil), data...),
	})
	return name
}

// constF adds a float initializer with a generated name.
func (b *graphBuilder) constF(dims []int64, data ...float32) string {
	return b.floatInit(b.tmp("c"), dims, data)
}

// constI adds a 1-D int64 initializer with a generated name.
func (b *graphBuilder) constI(data ...int64) string {
	return b.intInit(b.tmp("ci"), []int64{int64(len(data))}, data)
}

// constScalarI adds a scalar int64 initializer with a generated name.
func (b *graphBuilder) constScalarI(v int64) string {
	return b.intInit(b.tmp("ci"), []int64{}, []int64{v})
}

// input declares a float32 graph input; a dim < 0 is symbolic (named by
// dimParam).
func (b *graphBuilder) input(name string, dims []int64, dimParam string) {
	b.g.Input = append(b.g.Input, valueInfo(name, onnx.TensorProto_FLOAT, dims, dimParam))
}

// output declares a graph output of the given element type; dims may be nil
// for an unknown shape.
func (b *graphBuilder) output(name string, elem onnx.TensorProto_DataType, dims []int64, dimParam string) {
	b.g.Output = append(b.g.Output, valueInfo(name, elem, dims, dimParam))
}

// valueInfo describes a tensor. dims == nil leaves the shape unknown; a
// negative dim becomes the symbolic dimension dimParam.
func valueInfo(name string, elem onnx.TensorProto_DataType, dims []int64, dimParam string) *onnx.ValueInfoProto {
	t := &onnx.TypeProto_Tensor{ElemType: int32(elem)}
	if dims != nil {
		shape := &onnx.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnx.TensorShapeProto_Dimension{}
			if d < 0 {
				dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: dimParam}
			} else {
				dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}
			}
			shape.Dim = append(shape.Dim, dim)
		}
		t.Shape = shape
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: t}},
	}
}

func attrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// model wraps the graph in a ModelProto and serialises it deterministically.
func (b *graphBuilder) model(producer string) ([]byte, error) {
	m := &onnx.ModelProto{
		IrVersion:       graphIRVersion,
		ProducerName:    producer,
		ProducerVersion: "1",
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: graphOpset}},
		Graph:           b.g,
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("brain: serialise ONNX graph %q: %w", b.g.Name, err)
	}
	return out, nil
}
