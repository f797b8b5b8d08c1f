// Command tfjs2onnx converts a TensorFlow.js graph model directory
// (model.json or model.min.js, and its weight shards) into an ONNX file.
//
//	tfjs2onnx -in DIR -out model.onnx [-output NAME=NODE]...
//
// Each -output names a graph output and the TensorFlow node it carries;
// without any, the nodes no other node reads become the outputs. The file
// is written beside its final path and renamed into place, so a reader
// never sees half a model.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/brain/tfjs"
)

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

func main() {
	in := flag.String("in", "", "the TensorFlow.js model directory")
	out := flag.String("out", "", "the ONNX file to write")
	var outputs outputFlags
	flag.Var(&outputs, "output", "a graph output as NAME=NODE (repeatable)")
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out, outputs); err != nil {
		fmt.Fprintln(os.Stderr, "tfjs2onnx:", err)
		os.Exit(1)
	}
}

func run(in, out string, outputs []tfjs.Output) error {
	m, err := tfjs.ReadDir(in)
	if err != nil {
		return err
	}
	mp, err := tfjs.Convert(m, tfjs.Options{Outputs: outputs})
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
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
