package query

import (
	"context"
	"fmt"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestEmbeddingsReadBack computes uniqueness from user-supplied vectors
// with the brain's provider (no model runs) and reads the vectors the run
// used back through insights.uniqueness.embedding.
// vectorsDB opens an in-memory database with an empty dataset vecs, and
// returns a function that adds sample i: filepath /v{i}.png, field emb =
// [i, i*i], and any extra fields.
func vectorsDB(t *testing.T) (*DB, func(i int, extra ...db.Field)) {
	t.Helper()
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.Store().CreateDataset("vecs")
	if err != nil {
		t.Fatal(err)
	}
	return d, func(i int, extra ...db.Field) {
		t.Helper()
		fields := append([]db.Field{{Name: "emb", Value: db.Floats([]float64{float64(i), float64(i * i)})}}, extra...)
		if _, err := ds.Add(context.Background(), []db.NewSample{{Filepath: fmt.Sprintf("/v%d.png", i), Fields: db.Doc(fields...)}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmbeddingsReadBack(t *testing.T) {
	ctx := context.Background()
	d, add := vectorsDB(t)
	for i := range 5 {
		add(i)
	}
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'emb', metric = 'euclidean')"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT filepath, insights.uniqueness.embedding, insights.uniqueness.scalar FROM vecs ORDER BY insights.uniqueness.scalar DESC LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0].AsString() != "/v4.png" || !db.Equal(res.Rows[0][1], db.Floats([]float64{4, 16})) {
		t.Fatalf("rows = %v", res.Rows)
	}
	if res.Columns[1].Type != TypeList {
		t.Fatalf("embedding column type %v", res.Columns[1].Type)
	}
}
