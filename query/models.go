package query

import (
	"fmt"

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
