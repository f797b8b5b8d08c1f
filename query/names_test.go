package query

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// A misspelt key of a computed column is an unknown field, found before
// the column's job runs: with every image gone, the job could only fail
// on the files.
func TestMisspeltComputedColumnFailsBeforeComputing(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	var ops []string
	d, err := Open(":memory:", &Options{Progress: func(p Progress) { ops = append(ops, p.Op) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE DATASET ds FROM IMAGES ?", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	ops = nil
	for sql, want := range map[string]string{
		"SELECT insights.uniqueness.scalr FROM ds":                                "insights.uniqueness.scalar",
		"SELECT id FROM ds ORDER BY insights.uniquenes.scalar":                    "insights.uniqueness.scalar",
		"SELECT id FROM ds WHERE insights.duplicates.off IS NOT NULL":             "insights.duplicates.of",
		"SELECT insights.uniqueness.scalar, filepathh FROM ds":                    "filepath",
		"UPDATE ds ADD TAG 'x' WHERE insights.uniqueness.scalr < 0.5":             "insights.uniqueness.scalar",
		"DELETE FROM ds WHERE insights.uniqueness.scalar < 0.5 AND filepat = 'a'": "filepath",
	} {
		_, err := d.Exec(ctx, sql)
		var ne *NameError
		if !errors.As(err, &ne) || ne.Suggestion != want {
			t.Errorf("%s: want an unknown field suggesting %s, got %v", sql, want, err)
		}
	}
	for _, op := range ops {
		if strings.HasPrefix(op, "compute") {
			t.Errorf("a statement with an unknown name started %q", op)
			break
		}
	}
	ds, err := d.Store().Dataset("ds")
	if err != nil {
		t.Fatal(err)
	}
	if runs, err := ds.Runs(); err != nil || len(runs) != 0 {
		t.Errorf("runs after statements with unknown names: %v %v", runs, err)
	}
}

// No statement lets Ensure start a job before all of it is checked:
// names anywhere in it, the values it compares and writes.
func TestNothingComputedBeforeTheStatementChecks(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	calls := 0
	d, err := Open(":memory:", &Options{
		Ensure: func(context.Context, *db.Dataset, []string, bool, func(insights.Progress)) error {
			calls++
			return nil
		},
		InsightKeys: map[string][]string{"uniqueness": {"scalar"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE DATASET w FROM IMAGES ? RECURSIVE", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	exists := filepath.Join(root, "exists.csv")
	if err := os.WriteFile(exists, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT insights.uniqueness.scalr FROM w",
		"SELECT insights.uniqueness.scalar FROM w WHERE metadata.widht > 3",
		"SELECT insights.uniqueness.scalar FROM w WHERE metadata.width = 'wide'",
		"SELECT insights.uniqueness.scalar FROM w WHERE filepath LIKE 3",
		"SELECT id FROM w ORDER BY insights.uniqueness.scalar LIMIT -1",
		"SELECT id, count(*) FROM w GROUP BY insights.uniqueness.scalar HAVING nosuch > 1",
		"UPDATE w SET label = metadata.width WHERE insights.uniqueness.scalar > 0.5",
		"UPDATE w ADD TAG 5 WHERE insights.uniqueness.scalar > 0.5",
		"UPDATE w SET insights.uniqueness.scalar = 1 WHERE insights.uniqueness.scalar > 0.5",
		"DELETE FROM w WHERE insights.uniqueness.scalar > 0.5 AND tagz = 'x'",
		"SELECT insights.nosuch.scalar FROM w",
		"SELECT insights.uniqueness.scalar FROM w INTO OUTFILE 'scores.txt'",
		"SELECT insights.uniqueness.scalar FROM w INTO OUTFILE " + QuoteString(exists),
	} {
		if _, err := d.Exec(ctx, sql); err == nil {
			t.Errorf("%s: no error", sql)
		}
		if calls != 0 {
			t.Fatalf("%s: Ensure ran before the statement's error", sql)
		}
	}
	// A well-formed statement does ask for its computed column (which
	// this Ensure leaves without values: an error after the call).
	_, err = d.Exec(ctx, "SELECT id FROM w ORDER BY insights.uniqueness.scalar")
	if calls != 1 {
		t.Errorf("a good statement: Ensure called %d times (%v), want once", calls, err)
	}
}

// COMPUTE of a group nothing computes names the groups there are.
func TestComputeUnknownGroup(t *testing.T) {
	d := openFixtureDB(t)
	_, err := d.Exec(context.Background(), "COMPUTE UNIQUENES ON walkthrough")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "did you mean UNIQUENESS?") {
		t.Errorf("COMPUTE UNIQUENES: %v", err)
	}
}
