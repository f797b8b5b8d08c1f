package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/brain/onnx"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/tfjs"
	"github.com/fosql/fosql/zoo"
)

// outputFlags collects repeated -output NAME=NODE flags.
type outputFlags []tfjs.Output

func (o *outputFlags) String() string { return fmt.Sprint(*o) }

func (o *outputFlags) Set(s string) error {
	name, node, ok := strings.Cut(s, "=")
	if !ok || name == "" || node == "" {
		return fmt.Errorf("want NAME=NODE, got %q", s)
	}
	*o = append(*o, tfjs.Output{Name: name, Node: node})
	return nil
}

// runConvertTFJS is `fosql convert-tfjs -in DIR -out model.onnx [-any-size]
// [-output NAME=NODE]...`: it converts a TensorFlow.js graph model directory
// (model.json or model.min.js, and its weight shards) into an ONNX file.
// Each -output names a graph output and the TensorFlow node it carries;
// without any, the nodes no other node reads become the outputs. -any-size
// converts with tfjs.Options.AnySize. -int8 writes the int8 form
// (tfjs.Quantize) with activation ranges calibrated on -calibration images
// of fosql's synthetic set (seed 1, no planted copies), generated in a
// temporary folder, so the result is the same on every run. The file
// is written beside its final path and renamed into place, so a reader
// never sees half a model. It returns the exit status.
func runConvertTFJS(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql convert-tfjs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the TensorFlow.js model directory")
	out := fs.String("out", "", "the ONNX file to write")
	anySize := fs.Bool("any-size", false, "accept any input height and width (the head's fixed pool becomes a global one)")
	int8 := fs.Bool("int8", false, "write the int8 (QDQ) form, calibrated on generated images")
	calibration := fs.Int("calibration", defaultCalibrationImages, "with -int8: the number of generated calibration images")
	var outputs outputFlags
	fs.Var(&outputs, "output", "a graph output as NAME=NODE (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || *out == "" || fs.NArg() > 0 || (*int8 && (*anySize || *calibration < 1 || *calibration > zoo.MaxSyntheticN)) {
		fmt.Fprintln(stderr, "usage: fosql convert-tfjs -in DIR -out model.onnx [-any-size | -int8 [-calibration N]] [-output NAME=NODE]...")
		return 2
	}
	calibrate := 0
	if *int8 {
		calibrate = *calibration
	}
	if err := convertTFJS(ctx, *in, *out, tfjs.Options{Outputs: outputs, AnySize: *anySize}, calibrate); err != nil {
		fmt.Fprintln(stderr, "fosql convert-tfjs:", err)
		return 1
	}
	return 0
}

// defaultCalibrationImages is how many generated images calibrate an
// int8 conversion unless -calibration says otherwise.
const defaultCalibrationImages = 256

// convertTFJS converts the model in dir in to the ONNX file out; calibrate
// > 0 makes it the int8 form, calibrated on that many generated images.
func convertTFJS(ctx context.Context, in, out string, opts tfjs.Options, calibrate int) error {
	m, err := tfjs.ReadDir(in)
	if err != nil {
		return err
	}
	mp, err := tfjs.Convert(m, opts)
	if err != nil {
		return err
	}
	if calibrate > 0 {
		if mp, err = quantizeTFJS(ctx, mp, calibrate); err != nil {
			return err
		}
	}
	data, err := tfjs.Marshal(mp)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".part*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// quantizeTFJS calibrates the float model mp on n images of the synthetic
// set and returns its int8 form. The images are fed as the converted
// TensorFlow.js models take them: the graph input's NHWC size, RGB levels
// scaled to [0, 1].
func quantizeTFJS(ctx context.Context, mp *onnx.ModelProto, n int) (*onnx.ModelProto, error) {
	spec, err := tfjsInputSpec(mp)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fosql-calibration-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	set, err := zoo.GenerateSynthetic(ctx, dir, zoo.SyntheticOptions{N: n, CopyFraction: -1, Seed: 1})
	if err != nil {
		return nil, err
	}
	items := make([]brain.Item, len(set.Images))
	for i, im := range set.Images {
		items[i] = brain.Item{ID: im.Path, Media: brain.File(im.Path)}
	}
	ranges, err := tfjs.Calibrate(ctx, mp, spec, items)
	if err != nil {
		return nil, err
	}
	return tfjs.Quantize(mp, ranges)
}

// tfjsInputSpec is how a converted TensorFlow.js image model is fed: its
// one input is [N, H, W, 3] with known H and W, RGB levels in [0, 1].
func tfjsInputSpec(mp *onnx.ModelProto) (brain.ModelSpec, error) {
	ins := mp.Graph.Input
	if len(ins) != 1 {
		return brain.ModelSpec{}, fmt.Errorf("-int8: the model has %d inputs, want one image input", len(ins))
	}
	var dims []int64
	if t := ins[0].Type.GetTensorType(); t != nil && t.Shape != nil {
		for _, d := range t.Shape.Dim {
			dims = append(dims, d.GetDimValue())
		}
	}
	if len(dims) != 4 || dims[1] <= 0 || dims[2] <= 0 || dims[3] != 3 {
		return brain.ModelSpec{}, fmt.Errorf("-int8: input %q has shape %v, want [N, H, W, 3] with known H and W", ins[0].Name, dims)
	}
	return brain.ModelSpec{Name: "calibration", Width: int(dims[2]), Height: int(dims[1]), Layout: brain.NHWC, Channels: brain.RGB, Input: ins[0].Name}, nil
}
