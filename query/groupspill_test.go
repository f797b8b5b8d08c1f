package query

import (
	"bytes"
	"context"
	"testing"

	"github.com/fosql/fosql/views"
)

// TestGroupBySpillsWithSameRows runs grouped counts with the views
// engine's spill limit far below the number of groups: the groups merged
// from runs on disk are the rows the in-memory count gives.
func TestGroupBySpillsWithSameRows(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	for _, sql := range []string{"UPDATE walkthrough ADD TAG 'wide' WHERE metadata.width >= 32",
		"UPDATE walkthrough SET label = 'wide' WHERE metadata.width >= 32", "UPDATE walkthrough SET label = NULL WHERE metadata.width < 20"} {
		if _, err := d.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{
		"SELECT filepath, count(*) FROM walkthrough GROUP BY filepath",
		"SELECT metadata.width AS w, count(*) AS n FROM walkthrough GROUP BY w HAVING n >= 1",
		"SELECT metadata.mime_type, count(*) FROM walkthrough WHERE metadata.width > 0 GROUP BY 1 LIMIT 2 OFFSET 1",
		"SELECT tag, count(*) FROM walkthrough GROUP BY tag",
		"SELECT label, count(*) FROM walkthrough GROUP BY label", // missing and null are one group
	}
	run := func(limit int) []string {
		saved := views.SpillLimit
		views.SpillLimit = limit
		defer func() { views.SpillLimit = saved }()
		var out []string
		for _, q := range queries {
			res, err := d.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var b bytes.Buffer
			if err := res.Write(&b, FormatJSONL); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.String())
		}
		return out
	}
	want, got := run(1<<20), run(2)
	for i, q := range queries {
		if got[i] != want[i] || want[i] == "" {
			t.Errorf("%s spilled:\n%s\nin memory:\n%s", q, got[i], want[i])
		}
	}
}
