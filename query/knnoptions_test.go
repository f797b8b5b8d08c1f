package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
)

// TestComputeMemoryAndExactFromSQL: WITH (memory = …) bounds a run (one
// that cannot fit fails, saying what it needs) and exact = true is
// accepted and recorded; SELECT shows the field's vectors exactly as
// written.
func TestComputeMemoryAndExactFromSQL(t *testing.T) {
	ctx := context.Background()
	d, add := vectorsDB(t)
	for i := range 6 {
		add(i)
	}
	_, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'emb', memory = '4KB')")
	if !errors.Is(err, brain.ErrMemory) || !strings.Contains(err.Error(), "memory = 4 KiB") {
		t.Fatalf("err = %v, want ErrMemory naming the bound", err)
	}
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'emb', memory = '1GB', exact = true)"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT emb, insights.uniqueness.scalar FROM vecs ORDER BY insights.uniqueness.scalar DESC LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][1].AsFloat() != 1 {
		t.Fatalf("rows %v", res.Rows)
	}
	written := map[string]bool{}
	for i := range 6 {
		written[fmt.Sprintf("[%d,%d]", i, i*i)] = true
	}
	if !written[res.Rows[0][0].String()] {
		t.Fatalf("emb reads back as %v, not as written", res.Rows[0][0])
	}
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON vecs WITH (embeddings = 'emb', exact = 'maybe')"); err == nil {
		t.Fatal("exact = 'maybe' accepted")
	}
}
