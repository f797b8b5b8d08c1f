package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/brain/tfjs"
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
// converts with tfjs.Options.AnySize. The file
// is written beside its final path and renamed into place, so a reader
// never sees half a model. It returns the exit status.
func runConvertTFJS(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql convert-tfjs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the TensorFlow.js model directory")
	out := fs.String("out", "", "the ONNX file to write")
	anySize := fs.Bool("any-size", false, "accept any input height and width (the head's fixed pool becomes a global one)")
	var outputs outputFlags
	fs.Var(&outputs, "output", "a graph output as NAME=NODE (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: fosql convert-tfjs -in DIR -out model.onnx [-any-size] [-output NAME=NODE]...")
		return 2
	}
	if err := convertTFJS(*in, *out, tfjs.Options{Outputs: outputs, AnySize: *anySize}); err != nil {
		fmt.Fprintln(stderr, "fosql convert-tfjs:", err)
		return 1
	}
	return 0
}

// convertTFJS converts the model in dir in to the ONNX file out.
func convertTFJS(in, out string, opts tfjs.Options) error {
	m, err := tfjs.ReadDir(in)
	if err != nil {
		return err
	}
	mp, err := tfjs.Convert(m, opts)
	if err != nil {
		return err
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
