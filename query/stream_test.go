package query

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestStreamGivesWhatQueryGives runs statements through Stream and Query
// and compares what each writes: plain row queries stream (their Rows stay
// nil), and so do groups counted in key order; the others arrive whole, and both read the same rows.
func TestStreamGivesWhatQueryGives(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	for _, sql := range []string{"UPDATE walkthrough ADD TAG 'all'", "UPDATE walkthrough ADD TAG 'wide' WHERE metadata.width >= 32",
		"UPDATE walkthrough ADD TAG 'sub' WHERE filepath LIKE '%/sub/%'"} {
		if _, err := d.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		sql      string
		streamed bool
	}{
		{"SELECT id, filepath, metadata.width FROM walkthrough", true},
		{"SELECT filepath FROM walkthrough WHERE metadata.width >= 32 ORDER BY filepath LIMIT 3 OFFSET 1", true},
		{"SELECT * FROM walkthrough WHERE filepath LIKE '%kitten%'", true},
		{"SELECT DISTINCT metadata.width FROM walkthrough", false},
		{"SELECT metadata.width, count(*) FROM walkthrough GROUP BY metadata.width", true},
		{"SELECT tag, count(*) FROM walkthrough GROUP BY tag HAVING count(*) >= 1 LIMIT 2 OFFSET 1", true},
		{"SELECT filepath, count(*) AS n FROM walkthrough WHERE metadata.width > 0 GROUP BY filepath HAVING n = 1 LIMIT 3", true},
		{"SELECT tag, count(*) FROM walkthrough GROUP BY tag ORDER BY count(*) DESC", false},
		{"SELECT metadata.width, sum(metadata.height) FROM walkthrough GROUP BY metadata.width", false},
		{"SHOW DATASETS", false},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			whole, err := d.Query(ctx, tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := whole.Write(&want, FormatJSONL); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			calls := 0
			err = d.Stream(ctx, tc.sql, nil, func(_ Statement, r *Result) error {
				calls++
				if r.Streamed() != tc.streamed || tc.streamed != (r.Rows == nil) {
					t.Errorf("streamed = %v with %d rows, want streamed %v", r.Streamed(), len(r.Rows), tc.streamed)
				}
				return r.Write(&got, FormatJSONL)
			})
			if err != nil || calls != 1 {
				t.Fatalf("Stream: %v after %d results", err, calls)
			}
			if got.String() != want.String() || want.Len() == 0 {
				t.Fatalf("streamed:\n%s\nwhole:\n%s", got.String(), want.String())
			}
		})
	}
}

// TestStreamEachStopsAndReadsOnce: an error from the callback stops the
// rows, and a streamed result cannot be read twice.
func TestStreamEachStopsAndReadsOnce(t *testing.T) {
	d := openFixtureDB(t)
	stop := errors.New("enough")
	err := d.Stream(context.Background(), "SELECT filepath FROM walkthrough", nil, func(_ Statement, r *Result) error {
		n := 0
		err := r.Each(func([]db.Value) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("Each = %v after %d rows, want the callback's error after 1", err, n)
		}
		n = 0
		if err := r.Each(func([]db.Value) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("second Each: %v, %d rows", err, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutfileStreams: INTO OUTFILE writes every row of a plain query and
// reports the count.
func TestOutfileStreams(t *testing.T) {
	d := openFixtureDB(t)
	out := filepath.Join(t.TempDir(), "all.csv")
	res, err := d.Exec(context.Background(), "SELECT id, filepath FROM walkthrough INTO OUTFILE ?", out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(b), "\n")
	if res.RowsAffected == 0 || int64(lines) != res.RowsAffected+1 {
		t.Fatalf("%d lines written, %d rows reported", lines, res.RowsAffected)
	}
}
