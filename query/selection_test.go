package query

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// column returns the values of column c of a result as strings.
func column(t *testing.T, res *Result, c int) []string {
	t.Helper()
	var out []string
	for _, r := range res.Rows {
		out = append(out, r[c].AsString())
	}
	return out
}

func TestSelectionInSQL(t *testing.T) {
	ctx := context.Background()
	d := openFixtureDB(t)
	all, err := d.Query(ctx, "SELECT id FROM walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	ids := column(t, all, 0)
	res, err := d.Query(ctx, "SELECT id FROM walkthrough WHERE id IN SELECTION")
	if err != nil || len(res.Rows) != 0 {
		t.Fatalf("empty selection: %v rows, %v", len(res.Rows), err)
	}
	ds, _ := d.Store().Dataset("walkthrough")
	pick := []string{ids[4], ids[1]}
	var pickIDs []db.ID
	for _, s := range pick {
		id, _ := db.ParseID(s)
		pickIDs = append(pickIDs, id)
	}
	if err := ds.SetSelection(pickIDs); err != nil {
		t.Fatal(err)
	}
	want := []string{ids[1], ids[4]}
	for _, q := range []string{
		"SELECT id FROM walkthrough WHERE id IN SELECTION",
		"select id from walkthrough where id in selection order by id",
		"SELECT id FROM walkthrough WHERE id IN SELECTION OR id = 'nope' ORDER BY id",
		"SELECT id FROM walkthrough WHERE NOT (id NOT IN SELECTION) ORDER BY id",
	} {
		res, err := d.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := column(t, res, 0); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	res, err = d.Query(ctx, "SELECT count(*) FROM walkthrough WHERE id NOT IN SELECTION")
	if err != nil || res.Rows[0][0].AsInt() != int64(len(ids)-2) {
		t.Fatalf("NOT IN SELECTION count: %v %v", res.Rows, err)
	}
	// Tagging through the selection, then reading the tag back.
	if _, err := d.Exec(ctx, "UPDATE walkthrough ADD TAG 'dup' WHERE id IN SELECTION"); err != nil {
		t.Fatal(err)
	}
	res, err = d.Query(ctx, "SELECT id FROM walkthrough WHERE 'dup' IN tags ORDER BY id")
	if err != nil || !slices.Equal(column(t, res, 0), want) {
		t.Fatalf("tagged = %v, %v; want %v", res, err, want)
	}
	// The same statement again sees a changed selection (no stale plan).
	if err := ds.SetSelection(pickIDs[:1]); err != nil {
		t.Fatal(err)
	}
	res, err = d.Query(ctx, "SELECT id FROM walkthrough WHERE id IN SELECTION")
	if err != nil || !slices.Equal(column(t, res, 0), []string{ids[4]}) {
		t.Fatalf("after changing the selection: %v, %v", res, err)
	}
	// Only id has a selection; a back-quoted `selection` is a field.
	if _, err := d.Query(ctx, "SELECT id FROM walkthrough WHERE filepath IN SELECTION"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("filepath IN SELECTION: %v, want ErrUnsupported", err)
	}
	if _, err := d.Query(ctx, "SELECT id FROM walkthrough WHERE 'x' IN `selection`"); err == nil || !strings.Contains(err.Error(), `unknown field "selection"`) {
		t.Fatalf("a field named selection: %v, want it read as a field", err)
	}
}

func TestCreateViewSavesAndLists(t *testing.T) {
	ctx := context.Background()
	d := openFixtureDB(t)
	if _, err := d.Exec(ctx, "CREATE DATASET other"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "CREATE VIEW dups AS SELECT id, filepath FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "CREATE VIEW dups AS SELECT id FROM walkthrough"); !errors.Is(err, ErrViewExists) {
		t.Fatalf("second CREATE VIEW: %v, want ErrViewExists", err)
	}
	if _, err := d.Exec(ctx, "CREATE VIEW dups AS SELECT id FROM other"); !errors.Is(err, ErrViewExists) {
		t.Fatalf("CREATE VIEW of the same name on another dataset: %v, want ErrViewExists", err)
	}
	if _, err := d.Exec(ctx, "CREATE OR REPLACE VIEW dups AS SELECT id FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "CREATE VIEW bad AS SELECT id FROM walkthrough WHERE widht > 3"); err == nil || !strings.Contains(err.Error(), "widht") {
		t.Fatalf("a view with an unknown field: %v", err)
	}
	if _, err := d.Exec(ctx, "CREATE VIEW out AS SELECT id FROM walkthrough INTO OUTFILE 'x.csv'"); err == nil {
		t.Fatal("a view with INTO OUTFILE was accepted")
	}
	res, err := d.Query(ctx, "SHOW VIEWS")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0].AsString() != "dups" || res.Rows[0][1].AsString() != "walkthrough" ||
		res.Rows[0][2].AsString() != "SELECT id FROM walkthrough WHERE 'dup' IN tags" {
		t.Fatalf("SHOW VIEWS = %v", res.Rows)
	}
	if _, err := d.Exec(ctx, "DROP VIEW dups"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "DROP VIEW dups"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("second DROP VIEW: %v", err)
	}
	if _, err := d.Exec(ctx, "DROP VIEW IF EXISTS dups"); err != nil {
		t.Fatal(err)
	}
}
