package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain/onnx"
)

func TestConvertTFJSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-in", "d"},
		{"-in", "d", "-out", "m.onnx", "-int8", "-any-size"},
		{"-in", "d", "-out", "m.onnx", "-int8", "-calibration", "0"},
		{"-in", "d", "-out", "m.onnx", "extra"},
	} {
		var stderr bytes.Buffer
		if code := runConvertTFJS(context.Background(), args, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the usage", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := runConvertTFJS(context.Background(), []string{"-in", t.TempDir(), "-out", t.TempDir() + "/m.onnx", "-int8"}, &stderr); code != 1 || !strings.Contains(stderr.String(), "model.json") {
		t.Errorf("a folder without a model: exit %d, stderr %q", code, stderr.String())
	}
}

// TestTFJSInputSpec checks how -int8 feeds the calibration images: the
// graph input's NHWC size, and an error for an input it cannot feed.
func TestTFJSInputSpec(t *testing.T) {
	input := func(dims ...int64) *onnx.ModelProto {
		shape := &onnx.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		tt := &onnx.TypeProto_Tensor{ElemType: int32(onnx.TensorProto_FLOAT), Shape: shape}
		return &onnx.ModelProto{Graph: &onnx.GraphProto{Input: []*onnx.ValueInfoProto{{Name: "input", Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}}}}
	}
	spec, err := tfjsInputSpec(input(0, 224, 160, 3))
	if err != nil || spec.Width != 160 || spec.Height != 224 || spec.Layout != "NHWC" || spec.Input != "input" {
		t.Errorf("spec %+v, %v; want 160 wide, 224 high, NHWC", spec, err)
	}
	for _, dims := range [][]int64{{0, 3, 224, 224}, {0, 0, 0, 3}, {224, 224, 3}} {
		if _, err := tfjsInputSpec(input(dims...)); err == nil || !strings.Contains(err.Error(), "-int8") {
			t.Errorf("input %v: error %v", dims, err)
		}
	}
}
