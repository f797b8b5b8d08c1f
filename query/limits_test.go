package query

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// Every limit refuses a statement over it with a *LimitError naming the
// limit, and lets the same statement just under it through.
func TestStatementLimits(t *testing.T) {
	repeat := func(s string, n int, sep string) string { return strings.TrimSuffix(strings.Repeat(s+sep, n), sep) }
	for _, tt := range []struct {
		name       string
		over, near string // over the limit; the same shape within it
	}{
		{"MaxStatementBytes",
			"SELECT count(*) FROM w WHERE MATCH (filepath) AGAINST ('" + strings.Repeat("a ", MaxStatementBytes/2) + "')",
			"SELECT count(*) FROM w WHERE filepath = '" + strings.Repeat("a", MaxStatementBytes-100) + "'"},
		{"MaxStatementBytes", // a comment inside a statement counts; one before it does not
			"SELECT count(*) /*" + strings.Repeat("x", MaxStatementBytes) + "*/ FROM w",
			"/*" + strings.Repeat("x", MaxStatementBytes) + "*/ SELECT count(*) FROM w"},
		{"MaxStatementTokens",
			"SELECT " + repeat("a", MaxStatementTokens/2+1, ",") + " FROM w",
			"SELECT " + repeat("a", MaxStatementTokens/2-10, ",") + " FROM w"},
		{"MaxInListValues",
			"SELECT id FROM w WHERE metadata.width IN (" + repeat("1", MaxInListValues+1, ",") + ")",
			"SELECT id FROM w WHERE metadata.width IN (" + repeat("1", MaxInListValues, ",") + ")"},
		{"MaxExprDepth",
			"SELECT id FROM w WHERE " + strings.Repeat("NOT ", MaxExprDepth+1) + "metadata.width = 1",
			"SELECT id FROM w WHERE " + strings.Repeat("NOT ", MaxExprDepth-1) + "metadata.width = 1"},
		{"MaxExprDepth",
			"SELECT id FROM w WHERE metadata.width = " + strings.Repeat("- ", MaxExprDepth+1) + "1",
			"SELECT id FROM w WHERE metadata.width = " + strings.Repeat("- ", 100) + "1"},
		{"MaxExprDepth",
			"SELECT id FROM w WHERE " + strings.Repeat("(", MaxExprDepth+1) + "metadata.width = 1" + strings.Repeat(")", MaxExprDepth+1),
			"SELECT id FROM w WHERE " + strings.Repeat("(", 50) + "metadata.width = 1" + strings.Repeat(")", 50)},
		{"MaxExprTerms",
			"SELECT id FROM w WHERE " + repeat("metadata.width = 1", MaxExprTerms/2+1, " OR "),
			"SELECT id FROM w WHERE " + repeat("metadata.width = 1", MaxExprTerms/2-1, " OR ")},
		{"MaxExprTerms", // minus signs between operands are terms, not nesting
			"SELECT id FROM w WHERE metadata.width = " + repeat("1", MaxExprTerms+2, " - "),
			"SELECT id FROM w WHERE metadata.width = " + repeat("1", MaxExprTerms, " - ")},
	} {
		_, err := Parse(tt.over)
		var le *LimitError
		if !errors.As(err, &le) || !errors.Is(err, ErrTooLarge) || le.Name != tt.name {
			t.Errorf("%s: over the limit: got %v", tt.name, trimErr(err))
		} else if !strings.Contains(err.Error(), "query."+tt.name) || le.Line != 1 {
			t.Errorf("%s: the message does not name the limit and its place: %v", tt.name, err)
		}
		if _, err := Parse(tt.near); errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: within the limit: %v", tt.name, err)
		}
	}
}

// trimErr shortens an error for a test message (a syntax error quotes
// its line, which can be a megabyte here).
func trimErr(err error) string {
	if err == nil {
		return "no error"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// A script is not limited as a whole: each of its statements is.
func TestStatementLimitIsPerStatement(t *testing.T) {
	one := "SELECT count(*) FROM w WHERE filepath = '" + strings.Repeat("a", MaxStatementBytes/2) + "';\n"
	sts, err := Parse(strings.Repeat(one, 3))
	if err != nil || len(sts) != 3 {
		t.Fatalf("three statements of half the limit: %d statements, %v", len(sts), trimErr(err))
	}
	_, err = Parse(one + "SELECT 1 FROM w WHERE a = '" + strings.Repeat("b", MaxStatementBytes) + "'")
	var le *LimitError
	if !errors.As(err, &le) || le.Line != 2 || le.Col != 1 {
		t.Fatalf("a second statement over the limit: want a LimitError at line 2, column 1, got %v", trimErr(err))
	}
}

// A statement over the limit is refused without building its tokens: the
// memory it takes stays a small multiple of the text, not of its words.
func TestLongStatementRefusedCheaply(t *testing.T) {
	sql := "SELECT count(*) FROM w WHERE MATCH (filepath) AGAINST ('" + strings.Repeat("a ", 5_000_000) + "')"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Parse(sql)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a 10 MB statement: %v", trimErr(err))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refusing a 10 MB statement allocated %d bytes", grew)
	}
}

// The limits on what a value means apply to values written in the text
// and to values bound to placeholders alike, through every way in.
func TestValueLimits(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	words := strings.Repeat("kitten ", MaxMatchWords+1)
	pattern := strings.Repeat("%a", MaxLikePatternBytes/2+1)
	for _, tc := range []struct {
		name, sql string
		args      []any
	}{
		{"MaxMatchWords", "SELECT count(*) FROM walkthrough WHERE MATCH (filepath) AGAINST (" + QuoteString(words) + ")", nil},
		{"MaxMatchWords", "SELECT count(*) FROM walkthrough WHERE MATCH (filepath) AGAINST (?)", []any{words}},
		{"MaxLikePatternBytes", "SELECT count(*) FROM walkthrough WHERE filepath LIKE ?", []any{pattern}},
		{"MaxLikePatternBytes", "SELECT metadata.width AS w, count(*) AS n FROM walkthrough GROUP BY metadata.width HAVING w LIKE ?", []any{pattern}},
	} {
		_, err := d.Query(ctx, tc.sql, tc.args...)
		var le *LimitError
		if !errors.As(err, &le) || le.Name != tc.name {
			t.Errorf("%s: %s: got %v", tc.name, tc.sql[:min(len(tc.sql), 80)], trimErr(err))
		}
	}
	// Within the limits, the same statements run.
	r, err := d.Query(ctx, "SELECT count(*) FROM walkthrough WHERE MATCH (filepath) AGAINST (?)", strings.Repeat("kitten ", MaxMatchWords))
	if err != nil || r.Rows[0][0].AsInt() != 3 {
		t.Errorf("MATCH with %d words: %v %v", MaxMatchWords, r, err)
	}

	// database/sql goes through the same front door.
	sdb, err := sql.Open(DriverName, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	_, err = sdb.Exec("SELECT 1 FROM w WHERE a = '" + strings.Repeat("b", MaxStatementBytes) + "'")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("database/sql with a statement over MaxStatementBytes: %v", trimErr(err))
	}
}

// A UTF-8 byte-order mark, as some editors write at the start of a file,
// is read as a blank before a statement.
func TestByteOrderMarkIgnored(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	for _, sql := range []string{
		"\ufeffSELECT count(*) FROM walkthrough;\n",
		"\ufeff-- a script\nSELECT count(*) FROM walkthrough",
		"SET auto_compute = on;\n\ufeffSELECT count(*) FROM walkthrough", // a second file appended
	} {
		r, err := d.Query(ctx, sql)
		if err != nil {
			t.Errorf("%q: %v", sql, err)
			continue
		}
		if n := r.Rows[0][0].AsInt(); n != 9 {
			t.Errorf("%q: count %d, want 9", sql, n)
		}
	}
	// Inside a string it is kept.
	r, err := d.Query(ctx, "\ufeffSELECT count(*) FROM walkthrough WHERE filepath = '\ufeffx'")
	if err != nil || r.Rows[0][0].AsInt() != 0 {
		t.Errorf("a BOM inside a string: %v %v", r, err)
	}
	// Errors still point at the column a user sees.
	_, err = d.Query(ctx, "\ufeffSELEC count(*) FROM walkthrough")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 || se.Column != 1 || se.Near != "SELEC" {
		t.Errorf("a syntax error after a BOM: %v", err)
	}
}

// A long statement's plan is not kept after it ran: a server that answers
// many long statements would otherwise hold each one's syntax tree.
func TestLongStatementPlansNotKept(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	for i := range 3 {
		sql := "SELECT count(*) FROM walkthrough WHERE metadata.width IN (" + strings.Repeat("1,", 20000+i) + "32)"
		if _, err := d.Query(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	d.plans.plans.mu.Lock()
	kept := len(d.plans.plans.m)
	d.plans.plans.mu.Unlock()
	if kept != 0 {
		t.Errorf("%d plans of long statements kept", kept)
	}
	// A short statement's plan is kept.
	if _, err := d.Query(ctx, "SELECT count(*) FROM walkthrough WHERE metadata.width IN (1, 32)"); err != nil {
		t.Fatal(err)
	}
	d.plans.plans.mu.Lock()
	kept = len(d.plans.plans.m)
	d.plans.plans.mu.Unlock()
	if kept != 1 {
		t.Errorf("%d plans kept after a short statement, want 1", kept)
	}
}
