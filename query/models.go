package query

import (
	"fmt"
	"strings"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/zoo"
)

// showModels lists the model zoo: one row per model with its embedding
// size, input size, whether it can be used now, its licence, where its file
// lives (or must be put) and where to download it.
func showModels() *Result {
	res := &Result{Columns: []Column{
		{Name: "name", Type: TypeString},
		{Name: "embedding_dim", Type: TypeInt},
		{Name: "input", Type: TypeString},
		{Name: "present", Type: TypeBool},
		{Name: "license", Type: TypeString},
		{Name: "file", Type: TypeString},
		{Name: "download", Type: TypeString},
		{Name: "description", Type: TypeString},
	}, Rows: [][]db.Value{}}
	for _, m := range zoo.Models() {
		file := "(built in)"
		if !m.Builtin {
			p, err := m.Path()
			if err != nil {
				file = err.Error()
			} else {
				file = p
			}
		}
		download := m.URL
		if download == "" && !m.Builtin {
			download = "(" + zoo.SetupCommand + ")"
		}
		res.Rows = append(res.Rows, []db.Value{
			db.String(m.Name),
			db.Int(int64(m.EmbeddingDim)),
			db.String(fmt.Sprintf("%dx%d %s", m.Width, m.Height, m.Channels)),
			db.Bool(m.Present()),
			db.String(m.License),
			db.String(file),
			db.String(download),
			db.String(m.Description),
		})
	}
	return res
}

// resolveModel turns `model = '…'` into a model spec: a name the model zoo
// lists (its file must be in place, else the error says where to put it),
// or a path to an .onnx file with its spec beside it.
func resolveModel(name string) (brain.ModelSpec, error) {
	m, ok := zoo.LookupModel(name)
	if !ok {
		if strings.HasSuffix(name, ".onnx") {
			return brain.SpecBeside(name)
		}
		return brain.ModelSpec{}, fmt.Errorf("%w: %w", brain.ErrOption, zoo.Unknown(name))
	}
	if m.Builtin {
		// The brain takes the built-in model's name before it resolves.
		return brain.ModelSpec{}, fmt.Errorf("%w: model %s is built in: name it exactly %q", brain.ErrOption, name, brain.DescriptorName)
	}
	if err := m.Check(); err != nil {
		return brain.ModelSpec{}, err
	}
	path, err := m.Path()
	if err != nil {
		return brain.ModelSpec{}, err
	}
	return brain.ModelSpec{
		Name:     m.Name,
		Path:     path,
		Width:    m.Width,
		Height:   m.Height,
		Layout:   brain.Layout(m.Layout),
		Channels: brain.ChannelOrder(m.Channels),
		Mean:     m.Mean,
		Std:      m.Std,
		Input:    m.Input,
		Output:   m.Output,
	}, nil
}
