package query

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// seedStatements returns the SQL of every record in the logic test files.
func seedStatements(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/sql/*.test")
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range parseLogicFile(strings.Split(string(b), "\n")) {
			switch r.header[0] {
			case "statement", "query", "bind":
				out = append(out, strings.Join(r.body, "\n"))
			}
		}
	}
	out = append(out, "SELEC id FRM walkthrough", "SELECT id FROM walkthrough WHERE 'dup' IN tags AND ? NOT IN tags",
		"SELECT `a.b.c.d` FROM w", "SELECT 'unterminated", "/* unterminated", "UPDATE w ADD TAG 'x', 'y' WHERE a.b = 1 LIMIT 3",
		"SELECT id, _distance FROM w WHERE n > 1 ORDER BY SIMILARITY TO FILE ? WITH (model = 'm', metric = euclidean) LIMIT 3 OFFSET 1",
		"SELECT id FROM w ORDER BY SIMILARITY TO")
	return out
}

// FuzzParse: parsing never panics, and a syntax error points inside the
// script.
func FuzzParse(f *testing.F) {
	for _, s := range seedStatements(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		_, err := Parse(sql)
		if err == nil {
			return
		}
		if errors.Is(err, ErrInternal) {
			t.Fatalf("Parse(%q): %v", sql, err)
		}
		var se *SyntaxError
		if errors.As(err, &se) {
			if se.Offset < 0 || se.Offset > len(sql) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("Parse(%q): position out of range: %+v", sql, se)
			}
			_ = se.Error()
		}
	})
}

var (
	fuzzOnce sync.Once
	fuzzDB   *DB
	fuzzRoot string
)

// FuzzExec: running any statement on a small database never panics (a
// recovered panic shows as ErrInternal). Statements that read or write
// files outside the fixture (FROM IMAGES, INTO OUTFILE, INSERT,
// SIMILARITY TO FILE) are skipped.
func FuzzExec(f *testing.F) {
	for _, s := range seedStatements(f) {
		f.Add(s)
	}
	fuzzOnce.Do(func() {
		root, err := os.MkdirTemp("", "fosql-fuzz")
		if err != nil {
			f.Fatal(err)
		}
		fuzzRoot = writeFixture(f, root)
		if fuzzDB, err = Open(":memory:", nil); err != nil {
			f.Fatal(err)
		}
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := lex(sql)
		if err != nil {
			return
		}
		for _, tk := range toks {
			if tk.is("IMAGES") || tk.is("OUTFILE") || tk.is("INSERT") || tk.is("FILE") {
				return
			}
		}
		if _, err := fuzzDB.Store().Dataset("walkthrough"); err != nil {
			if _, err := fuzzDB.Exec(ctx, "CREATE DATASET walkthrough FROM IMAGES ? RECURSIVE", filepath.Join(fuzzRoot, "data")); err != nil {
				t.Fatal(err)
			}
		}
		_, err = fuzzDB.Exec(ctx, sql, "x", 1, 2.5)
		if errors.Is(err, ErrInternal) {
			t.Fatalf("Exec(%q): %v", sql, err)
		}
	})
}
