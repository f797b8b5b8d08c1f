package query

import (
	"context"
	"slices"
	"testing"

	"github.com/fosql/fosql/db"
)

// QuoteString's literal reads back as exactly the string, whatever it
// holds, in a comparison, in a value that UPDATE … SET writes and in a tag.
func TestQuoteStringRoundTrip(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	for _, s := range []string{
		"it's", `back\slash`, "nul\x00byte", "new\nline", "tab\there", "100%", "under_score",
		`\%`, `\_`, "é, 猫, \U0001F600", "caf\xe9 \xff", `trailing\`, `\`, "''", `\'`, "",
		"all: ' \\ \x00 \n \t % _ é \xfe \\",
	} {
		q := QuoteString(s)
		if _, err := d.Exec(ctx, "UPDATE walkthrough SET note = "+q+" WHERE filepath LIKE '%/cat_01.png'"); err != nil {
			t.Errorf("UPDATE SET note = %s: %v", q, err)
			continue
		}
		r, err := d.Query(ctx, "SELECT note FROM walkthrough WHERE note = "+q)
		if err != nil || len(r.Rows) != 1 || r.Rows[0][0].AsString() != s {
			t.Errorf("WHERE note = %s: %v %v, want one row holding %q", q, r, err, s)
		}
		if s == "" {
			continue // a tag is not empty
		}
		if _, err := d.Exec(ctx, "UPDATE walkthrough ADD TAG "+q+" WHERE filepath LIKE '%dog_01%'"); err != nil {
			t.Errorf("ADD TAG %s: %v", q, err)
			continue
		}
		r, err = d.Query(ctx, "SELECT tags FROM walkthrough WHERE "+q+" IN tags")
		if err != nil || len(r.Rows) != 1 || !slices.ContainsFunc(r.Rows[0][0].Items(), func(v db.Value) bool { return v.AsString() == s }) {
			t.Errorf("%s IN tags: %v %v, want one row tagged %q", q, r, err, s)
		}
		if _, err := d.Exec(ctx, "UPDATE walkthrough REMOVE TAG "+q); err != nil {
			t.Errorf("REMOVE TAG %s: %v", q, err)
		}
	}
}
