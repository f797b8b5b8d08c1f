package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		sql        string
		line, col  int
		near, hint string
		caret      string // the two rendered lines: source and caret
	}{
		{"SELEC id FRM walkthrough", 1, 1, "SELEC", "did you mean SELECT?",
			"  SELEC id FRM walkthrough\n  ^"},
		{"SELECT id FRM walkthrough", 1, 15, "walkthrough", "did you mean FROM instead of FRM?",
			"  SELECT id FRM walkthrough\n                ^"},
		{"SELECT id FROM w WHER x = 1", 1, 23, "x", "did you mean WHERE instead of WHER?",
			"  SELECT id FROM w WHER x = 1\n                        ^"},
		{"SELECT id\nFROM w\nWHERE x = 1 ORDR BY id", 3, 13, "ORDR", "did you mean ORDER?",
			"  WHERE x = 1 ORDR BY id\n              ^"},
		{"SELECT id FROM w WHERE x = (", 1, 29, "", "",
			"  SELECT id FROM w WHERE x = (\n                              ^"},
		{"SELECT id FROM w WHERE x = )", 1, 28, ")", "",
			"  SELECT id FROM w WHERE x = )\n                             ^"},
		{"SELECT id FROM w WHERE 'dup' IN tags AND", 1, 41, "", "",
			"  SELECT id FROM w WHERE 'dup' IN tags AND\n                                          ^"},
		{"SELECT id FROM w WHERE 'dup' IN tags tags", 1, 38, "tags", "",
			"  SELECT id FROM w WHERE 'dup' IN tags tags\n                                       ^"},
		{"SELECT metadata.width FROM w WHERE metadata.width >> = 3", 1, 54, "=", "",
			"  SELECT metadata.width FROM w WHERE metadata.width >> = 3\n  " + strings.Repeat(" ", 53) + "^"},
		{"SELECT id FROM w; SELECT id FROM w WHERE\n\tx ==", 2, 5, "=", "",
			"  \tx ==\n  \t   ^"},
		{"SELECT 'é' FROM w WHER x", 1, 24, "x", "did you mean WHERE instead of WHER?",
			"  SELECT 'é' FROM w WHER x\n                         ^"},
		{"CREATE DATASET w FRM IMAGES 'd'", 1, 18, "FRM", "did you mean FROM?",
			"  CREATE DATASET w FRM IMAGES 'd'\n                   ^"},
		{"SELECT id FROM fashion-mnist LIMIT 3", 1, 23, "-", "a name with '-' goes in backquotes: `fashion-mnist` (LOAD ZOO names datasets with '_': fashion_mnist)",
			"  SELECT id FROM fashion-mnist LIMIT 3\n                        ^"},
		{"SELECT id FROM w LIMIT 10 INTO OUTFILE", 1, 39, "", "",
			"  SELECT id FROM w LIMIT 10 INTO OUTFILE\n  " + strings.Repeat(" ", 38) + "^"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := Parse(tt.sql)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Line != tt.line || se.Column != tt.col || se.Near != tt.near || se.Hint != tt.hint {
				t.Errorf("line %d col %d near %q hint %q; want line %d col %d near %q hint %q",
					se.Line, se.Column, se.Near, se.Hint, tt.line, tt.col, tt.near, tt.hint)
			}
			msg := se.Error()
			if i := strings.Index(msg, "\n"); i < 0 || msg[i+1:] != tt.caret {
				t.Errorf("rendered:\n%s\nwant the lines:\n%s", msg, tt.caret)
			}
		})
	}
}

func TestNameSuggestions(t *testing.T) {
	d := openFixtureDB(t)
	ctx := context.Background()
	tests := []struct {
		sql, want string
		is        error
	}{
		{"SELECT * FROM walktrough", `unknown dataset "walktrough" (did you mean "walkthrough"?)`, ErrUnknownDataset},
		{"SELECT * FROM WALKTHROUGH", `unknown dataset "WALKTHROUGH" (did you mean "walkthrough"?)`, ErrUnknownDataset},
		{"SELECT * FROM zzz", `unknown dataset "zzz"`, ErrUnknownDataset},
		{"DESCRIBE walkthru", `unknown dataset "walkthru" (did you mean "walkthrough"?)`, ErrUnknownDataset},
		{"SELECT filepaht FROM walkthrough", `unknown field "filepaht" in dataset "walkthrough" (did you mean "filepath"?)`, ErrUnknownField},
		{"SELECT id FROM walkthrough ORDER BY metadata.hieght", `unknown field "metadata.hieght" in dataset "walkthrough" (did you mean "metadata.height"?)`, ErrUnknownField},
		{"SELECT count(*) FROM walkthrough WHERE metadata.width >= 'abc'", "type mismatch: metadata.width holds int values; it cannot be compared with the string 'abc'", ErrTypeMismatch},
	}
	for _, tt := range tests {
		_, err := d.Exec(ctx, tt.sql)
		if err == nil || err.Error() != tt.want || !errors.Is(err, tt.is) {
			t.Errorf("%s:\n got %v\nwant %s", tt.sql, err, tt.want)
		}
	}
	var ne *NameError
	_, err := d.Exec(ctx, "SELECT * FROM walktrough")
	if !errors.As(err, &ne) || ne.Suggestion != "walkthrough" {
		t.Errorf("NameError = %#v", ne)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"walktrough", "walkthrough", 1}, {"kitten", "sitting", 3}, {"SELEC", "select", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestHintLooksBackPastDottedNames(t *testing.T) {
	_, err := Parse("SELECT id FROM walkthrough WHER metadata.width > 3")
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Hint, "WHERE instead of WHER") {
		t.Fatalf("err = %v", err)
	}
}

// An unknown name of a megabyte costs no more than a short one: its
// error is found at once and shows the start of the name.
func TestLongUnknownName(t *testing.T) {
	d := openFixtureDB(t)
	name := strings.Repeat("a", 900_000)
	start := time.Now()
	_, err := d.Query(context.Background(), "SELECT "+name+" FROM walkthrough")
	var ne *NameError
	if !errors.As(err, &ne) || ne.Name != name {
		t.Fatalf("a long unknown name: %.200v", err)
	}
	if msg := err.Error(); len(msg) > 300 || !strings.Contains(msg, "(900000 bytes)") {
		t.Errorf("the message of a long unknown name: %.400s", msg)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a long unknown name took %v", took)
	}
}

// A syntax error on a long line shows the line around the spot, with the
// caret under it, not the whole line.
func TestSyntaxErrorOnLongLine(t *testing.T) {
	sql := "SELECT count(*) FROM w WHERE filepath IN (" + strings.Repeat("'x', ", 20_000) + "'y' 'z')"
	_, err := Parse(sql)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want a syntax error, got %.200v", err)
	}
	msg := err.Error()
	if len(msg) > 500 {
		t.Fatalf("the message is %d bytes long: %.300s", len(msg), msg)
	}
	lines := strings.Split(msg, "\n")
	if len(lines) != 3 {
		t.Fatalf("want message, source and caret lines:\n%s", msg)
	}
	src, caret := []rune(lines[1]), []rune(lines[2])
	at := len(caret) - 1
	if caret[at] != '^' || at >= len(src) || !strings.HasPrefix(string(src[at:]), "'z'") {
		t.Errorf("the caret is not under 'z':\n%s", msg)
	}
	if se.Column != utf8.RuneCountInString(sql[:strings.Index(sql, "'z'")])+1 {
		t.Errorf("column %d", se.Column)
	}
}
