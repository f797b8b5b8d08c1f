package query

import (
	"context"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestAggregatesReadMetadataColumns: aggregates whose filters and values
// are metadata ints read the metadata columns (EXPLAIN says so) and give
// what a scan of the samples gives, before and after writes.
func TestAggregatesReadMetadataColumns(t *testing.T) {
	old := db.ColumnMinSamples
	db.ColumnMinSamples = 1
	defer func() { db.ColumnMinSamples = old }()
	d := openFixtureDB(t)
	ctx := context.Background()
	rows := func(sql string) string {
		t.Helper()
		res, err := d.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var b strings.Builder
		for _, r := range res.Rows {
			for i, v := range r {
				if i > 0 {
					b.WriteString(" ")
				}
				if v.Kind() == db.KindString {
					b.WriteString(v.AsString())
				} else {
					b.WriteString(v.String())
				}
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	// Each query, then the same with a filter on the filepath that the
	// columns cannot serve, so that it reads the samples.
	queries := []struct{ sql, scan, plan string }{
		{"SELECT count(*) FROM walkthrough WHERE metadata.width > 32",
			"SELECT count(*) FROM walkthrough WHERE metadata.width > 32 AND filepath LIKE '%'",
			"filter metadata.width > 32\n  metadata columns metadata.width"},
		{"SELECT metadata.width, count(*) FROM walkthrough WHERE metadata.height >= 16 GROUP BY metadata.width",
			"SELECT metadata.width, count(*) FROM walkthrough WHERE metadata.height >= 16 AND filepath LIKE '%' GROUP BY metadata.width",
			"filter metadata.height >= 16\n  metadata columns metadata.width, metadata.height"},
		{"SELECT min(metadata.height), max(metadata.width), sum(metadata.size_bytes), avg(metadata.width), count(DISTINCT metadata.num_channels) FROM walkthrough WHERE NOT metadata.width IN (8, 16)",
			"SELECT min(metadata.height), max(metadata.width), sum(metadata.size_bytes), avg(metadata.width), count(DISTINCT metadata.num_channels) FROM walkthrough WHERE NOT metadata.width IN (8, 16) AND filepath LIKE '%'",
			"metadata columns"},
	}
	check := func(step string) {
		t.Helper()
		for _, q := range queries {
			got, want := rows(q.sql), rows(q.scan)
			if got != want {
				t.Errorf("%s: %s\n got %s\nwant %s", step, q.sql, got, want)
			}
			if plan := rows("EXPLAIN " + q.sql); !strings.Contains(plan, q.plan) {
				t.Errorf("%s: EXPLAIN %s:\n%s\nwant it to contain %q", step, q.sql, plan, q.plan)
			}
			if plan := rows("EXPLAIN " + q.scan); strings.Contains(plan, "metadata columns") {
				t.Errorf("%s: EXPLAIN %s reads columns:\n%s", step, q.scan, plan)
			}
		}
	}
	check("after the ingest")
	if got := rows(queries[0].sql); got != "3\n" {
		t.Fatalf("%s: %s, want 3 (the fixture's 64, 64 and 40 pixel wide images)", queries[0].sql, got)
	}
	if _, err := d.Exec(ctx, "DELETE FROM walkthrough WHERE metadata.width = 64"); err != nil {
		t.Fatal(err)
	}
	check("after a delete")
	if _, err := d.Exec(ctx, "UPDATE walkthrough SET metadata.height = NULL WHERE metadata.width = 32"); err != nil {
		t.Fatal(err)
	}
	check("after an update")
}
