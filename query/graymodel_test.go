package query

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/onnx"
)

// grayNetFilters is the number of convolution filters of writeGrayNet's
// network, and so the embedding's length.
const grayNetFilters = 3

// grayNetWeights are the fixed 3x3 weights (grayNetFilters x 9) and the
// biases of writeGrayNet's convolution.
func grayNetWeights() (w, b []float32) {
	for i := range grayNetFilters * 9 {
		w = append(w, float32(math.Cos(float64(3*i+2)))*0.4)
	}
	return w, []float32{-0.2, 0, 0.3}
}

// writeGrayNet writes a greyscale CNN as exported MNIST models declare it —
// input "Input3" of shape [1,1,28,28], a fixed batch of one — to path:
// Conv 3x3 (grayNetWeights) -> Relu -> GlobalAveragePool -> Flatten.
func writeGrayNet(t *testing.T, path string) {
	t.Helper()
	dims := func(ds ...int64) *onnx.TensorShapeProto {
		s := &onnx.TensorShapeProto{}
		for _, d := range ds {
			s.Dim = append(s.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return s
	}
	tensor := func(name string, shape *onnx.TensorShapeProto) *onnx.ValueInfoProto {
		return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
			TensorType: &onnx.TypeProto_Tensor{ElemType: int32(onnx.TensorProto_FLOAT), Shape: shape}}}}
	}
	floats := func(name string, shape []int64, v []float32) *onnx.TensorProto {
		raw := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		return &onnx.TensorProto{Name: name, Dims: shape, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
	}
	node := func(op string, in []string, out string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
		return &onnx.NodeProto{OpType: op, Name: out, Input: in, Output: []string{out}, Attribute: attrs}
	}
	w, b := grayNetWeights()
	g := &onnx.GraphProto{
		Name:        "gray-net",
		Input:       []*onnx.ValueInfoProto{tensor("Input3", dims(1, 1, 28, 28))},
		Output:      []*onnx.ValueInfoProto{tensor("embedding", dims(1, grayNetFilters))},
		Initializer: []*onnx.TensorProto{floats("w", []int64{grayNetFilters, 1, 3, 3}, w), floats("b", []int64{grayNetFilters}, b)},
		Node: []*onnx.NodeProto{
			node("Conv", []string{"Input3", "w", "b"}, "conv",
				&onnx.AttributeProto{Name: "kernel_shape", Type: onnx.AttributeProto_INTS, Ints: []int64{3, 3}}),
			node("Relu", []string{"conv"}, "relu"),
			node("GlobalAveragePool", []string{"relu"}, "pooled"),
			node("Flatten", []string{"pooled"}, "embedding", &onnx.AttributeProto{Name: "axis", Type: onnx.AttributeProto_INT, I: 1}),
		},
	}
	data, err := proto.Marshal(&onnx.ModelProto{IrVersion: 8, OpsetImport: []*onnx.OperatorSetIdProto{{Version: 17}}, Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// grayNetReference computes writeGrayNet's network on a 28 x 28 plane.
func grayNetReference(x []float64) []float64 {
	w, b := grayNetWeights()
	out := make([]float64, grayNetFilters)
	for f := range out {
		for y := range 26 {
			for xx := range 26 {
				v := float64(b[f])
				for k := range 9 {
					v += float64(w[f*9+k]) * x[(y+k/3)*28+xx+k%3]
				}
				out[f] += max(v, 0) / (26 * 26)
			}
		}
	}
	return out
}

// TestGrayModelFromSQL runs COMPUTE UNIQUENESS with a greyscale CNN of
// fixed batch 1 named by path, its spec beside it, on a folder of grey
// and colour PNGs, and checks the stored embeddings against the network
// computed here on the documented preprocessing: the BT.601 luma
// (19595 R + 38470 G + 7471 B + 32768) >> 16, then (L/255 - mean) / std.
func TestGrayModelFromSQL(t *testing.T) {
	if err := brain.InitRuntime(); err != nil {
		if errors.Is(err, brain.ErrRuntimeNotFound) {
			t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
		}
		t.Fatal(err)
	}
	ctx := context.Background()
	models, images := t.TempDir(), t.TempDir()
	model := filepath.Join(models, "gray.onnx")
	writeGrayNet(t, model)
	spec := `{"name": "gray-net", "width": 28, "height": 28, "channels": "GRAY", "mean": [0.5], "std": [0.25]}`
	if err := os.WriteFile(model+".json", []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	const mean, std = 0.5, 0.25

	rng := rand.New(rand.NewPCG(7, 8))
	want := map[string][]float64{}
	for i := range 5 {
		var img image.Image
		x := make([]float64, 28*28)
		if i < 4 {
			g := image.NewGray(image.Rect(0, 0, 28, 28))
			for p := range g.Pix {
				g.Pix[p] = uint8(rng.IntN(256))
				x[p] = (float64(g.Pix[p])/255 - mean) / std
			}
			img = g
		} else {
			c := image.NewRGBA(image.Rect(0, 0, 28, 28))
			for p := range x {
				r, g, b := rng.IntN(256), rng.IntN(256), rng.IntN(256)
				copy(c.Pix[4*p:], []uint8{uint8(r), uint8(g), uint8(b), 0xff})
				l := (19595*r + 38470*g + 7471*b + 32768) >> 16
				x[p] = (float64(l)/255 - mean) / std
			}
			img = c
		}
		name := filepath.Join(images, fmt.Sprintf("img%d.png", i))
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		want[name] = grayNetReference(x)
	}

	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, "CREATE DATASET g FROM IMAGES ?", images); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, fmt.Sprintf("COMPUTE UNIQUENESS ON g WITH (model = '%s')", model)); err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT filepath, insights.uniqueness.embedding, insights.uniqueness.scalar FROM g")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
	}
	top := 0.0
	for _, row := range res.Rows {
		path, vec := row[0].AsString(), row[1].Items()
		w, ok := want[path]
		if !ok || len(vec) != len(w) {
			t.Fatalf("%s: embedding %v, want %v", path, row[1], w)
		}
		for f := range vec {
			if math.Abs(vec[f].AsFloat()-w[f]) > 1e-5*max(1, math.Abs(w[f])) {
				t.Errorf("%s: embedding %v, want %v", filepath.Base(path), row[1], w)
				break
			}
		}
		top = max(top, row[2].AsFloat())
	}
	if top != 1 {
		t.Errorf("largest uniqueness %v, want 1", top)
	}
}
