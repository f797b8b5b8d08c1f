package query

import (
	"context"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
)

// TestDuplicatesFromSQL computes duplicates on vectors made elsewhere,
// reads them back through SQL, and checks that a query naming the group
// recomputes it, with the same options, once the dataset changes.
func TestDuplicatesFromSQL(t *testing.T) {
	ctx := context.Background()
	d, add := vectorsDB(t)
	for i := range 5 {
		add(i)
	}
	ds, err := d.Store().Dataset("vecs")
	if err != nil {
		t.Fatal(err)
	}
	// The same vector as sample 1, added after it: its duplicate.
	if _, err := ds.Add(ctx, []db.NewSample{{Filepath: "/copy_of_v1.png",
		Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats([]float64{1, 1})})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', metric = 'euclidean', threshold = 0.5)"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT filepath, insights.duplicates.dist, insights.duplicates.exact FROM vecs WHERE insights.duplicates.of IS NOT NULL"
	res, err := d.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0].AsString() != "/copy_of_v1.png" || res.Rows[0][1].AsFloat() != 0 {
		t.Fatalf("duplicates: %v", res.Rows)
	}
	add(12) // [12, 144]: far from everything, so nothing new duplicates
	res, err = d.Query(ctx, q)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("after adding a distinct sample: %v, %v", res, err)
	}
	for _, bad := range []string{
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', k = 3)",
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', metric = 'euclidean')",
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', threshold = -1)",
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', ratio = 0)",
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', ratio = 1.5)",
		"COMPUTE DUPLICATES ON vecs WITH (embeddings = 'emb', pixels = 'maybe')",
	} {
		if _, err := d.Exec(ctx, bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	runs, _ := ds.Runs()
	if string(runs[brain.DuplicatesGroup].Options) != `{"embeddings":"emb","metric":"euclidean","ratio":0.4,"threshold":0.5}` {
		t.Fatalf("run options %s", runs[brain.DuplicatesGroup].Options)
	}
}
