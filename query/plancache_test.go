package query

import (
	"context"
	"fmt"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestPlanCacheFollowsWrites runs the same statements before and after
// writes made through the Go API (not SQL), and checks that a repeated
// statement never answers from a plan made before the write: SELECT *
// picks up a new field, and a computed column is recomputed when the
// dataset changes.
func TestPlanCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	d, add := vectorsDB(t)
	for i := range 4 {
		add(i)
	}
	star := "SELECT * FROM vecs LIMIT 1"
	cols := func() []string {
		t.Helper()
		res, err := d.Query(ctx, star)
		if err != nil {
			t.Fatal(err)
		}
		return res.ColumnNames()
	}
	before := cols()
	if again := cols(); fmt.Sprint(again) != fmt.Sprint(before) {
		t.Fatalf("repeated SELECT * columns %v, first %v", again, before)
	}
	add(4, db.Field{Name: "label", Value: db.String("cat")})
	after := cols()
	if len(after) != len(before)+1 {
		t.Fatalf("SELECT * after a new field: columns %v, before %v", after, before)
	}

	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'emb', metric = 'euclidean')"); err != nil {
		t.Fatal(err)
	}
	top := "SELECT filepath, insights.uniqueness.scalar FROM vecs ORDER BY insights.uniqueness.scalar DESC LIMIT 1"
	first := func() string {
		t.Helper()
		res, err := d.Query(ctx, top)
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].AsString()
	}
	if got := first(); got != "/v4.png" {
		t.Fatalf("most unique %s, want /v4.png", got)
	}
	if got := first(); got != "/v4.png" {
		t.Fatalf("repeated: most unique %s, want /v4.png", got)
	}
	// A far-away sample makes the stored scores stale; the next query
	// must see that and recompute, not reuse the plan that found them
	// fresh.
	add(40)
	if got := first(); got != "/v40.png" {
		t.Fatalf("after adding a far sample: most unique %s, want /v40.png", got)
	}
}
