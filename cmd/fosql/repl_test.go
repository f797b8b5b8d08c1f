package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fosql/fosql/query"
)

func TestStatementComplete(t *testing.T) {
	for text, want := range map[string]bool{
		"SELECT 1;":                       true,
		"SELECT 1":                        false,
		"SELECT 1;  \n":                   true,
		"SELECT ';'":                      false,
		"SELECT 'a;'\n;":                  true,
		"SELECT 'it''s;'":                 false,
		"SELECT 'it''s';":                 true,
		`SELECT "x;";`:                    true,
		"SELECT 1 -- the end;\n":          false,
		"SELECT 1; -- done\n":             true,
		"SELECT /* ; */ 1":                false,
		"SELECT /* ; */ 1;":               true,
		"SELECT /* never closed ;":        false,
		"SELECT 1; SELECT 2":              false,
		"SELECT 'a\\';'":                  false,
		"UPDATE w ADD TAG 'x' WHERE 1;\n": true,
	} {
		if got := statementComplete(text); got != want {
			t.Errorf("statementComplete(%q) = %v, want %v", text, got, want)
		}
	}
}

// newTestShell returns a shell on an in-memory database, writing rows to
// out and everything else to errs.
func newTestShell(t *testing.T) (sh *shell, out, errs *bytes.Buffer) {
	t.Helper()
	d, err := query.Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	out, errs = &bytes.Buffer{}, &bytes.Buffer{}
	return newShell(d, ":memory:", out, errs, query.FormatTSV, newProgressPrinter(errs, false)), out, errs
}

// TestShellLoop types a session: statements over several lines, an error
// that does not end the session, dot commands, and a last statement
// without its semicolon when input ends.
func TestShellLoop(t *testing.T) {
	sh, out, errs := newTestShell(t)
	input := strings.Join([]string{
		"CREATE DATASET a;",
		"CREATE DATASET",
		"  b",
		"  ;",
		"SELEC nonsense;",
		".mode csv",
		".timer on",
		".nope",
		"SHOW",
		"DATASETS",
	}, "\n")
	if code := sh.loop(context.Background(), newReaderSource(strings.NewReader(input), nil)); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := out.String(); got != "name,samples\na,0\nb,0\n" {
		t.Errorf("stdout = %q", got)
	}
	for _, want := range []string{"syntax error", "unknown command .nope", "s)\n"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errs)
		}
	}
	sh2, _, _ := newTestShell(t)
	if code := sh2.loop(context.Background(), newReaderSource(strings.NewReader(".quit\nCREATE DATASET never;\n"), nil)); code != 0 {
		t.Fatalf(".quit: exit %d", code)
	}
}

// TestShellInterruptDropsTypedStatement: Ctrl-C at the prompt forgets the
// lines typed so far.
func TestShellInterruptDropsTypedStatement(t *testing.T) {
	sh, out, errs := newTestShell(t)
	sigs := make(chan os.Signal, 1)
	sh.interrupts = sigs
	r, w := io.Pipe()
	done := make(chan int)
	go func() { done <- sh.loop(context.Background(), newReaderSource(r, nil)) }()
	io.WriteString(w, "SELECT everything\n")
	waitFor(t, "the typed line", func() bool { return sh.typed() != "" })
	sigs <- os.Interrupt
	waitFor(t, "the interrupt", func() bool { return sh.typed() == "" })
	io.WriteString(w, "SHOW DATASETS;\n")
	w.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if out.String() != "name\tsamples\n" || strings.Contains(errs.String(), "error") {
		t.Fatalf("stdout %q, stderr %q", out, errs)
	}
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen", what)
		}
	}
}

// TestScriptStartingWithBOM: a script whose first bytes are a UTF-8 byte
// order mark runs, on stdin, through -e and in the line-by-line loop.
func TestScriptStartingWithBOM(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "db")
	code, out, errs := runShell(t, "\uFEFFCREATE DATASET a;\nSHOW DATASETS;\n", "-db", dbDir)
	if code != 0 || out != "name\tsamples\na\t0\n" {
		t.Errorf("stdin: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = runShell(t, "", "-db", dbDir, "-e", "\uFEFFSHOW DATASETS")
	if code != 0 || out != "name\tsamples\na\t0\n" {
		t.Errorf("-e: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, first := range []string{"\uFEFFSHOW DATASETS;", "\uFEFF.mode csv"} {
		sh, out, errs := newTestShell(t)
		if code := sh.loop(context.Background(), newReaderSource(strings.NewReader(first+"\nSHOW DATASETS;\n"), nil)); code != 0 || errs.Len() != 0 || !strings.HasPrefix(out.String(), "name") {
			t.Errorf("loop, first line %q: exit %d, stdout %q, stderr %q", first, code, out, errs)
		}
	}
}

// TestScriptStatementTooLong: a script statement longer than the limit
// is an error naming its line, read no further than the limit; the
// statements before it ran.
func TestScriptStatementTooLong(t *testing.T) {
	sr := newStatementReader(strings.NewReader("SELECT 1;\nSELECT '"+strings.Repeat("a", 5000)+"';\n"), 1000)
	if text, line, err := sr.next(); err != nil || text != "SELECT 1;" || line != 1 {
		t.Fatalf("first statement: %q line %d, %v", text, line, err)
	}
	_, _, err := sr.next()
	if !errors.Is(err, errStatementTooLong) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "1000 bytes") {
		t.Fatalf("long statement: %v", err)
	}

	// Through the shell: the limit of the shell itself, one endless literal.
	dbDir := filepath.Join(t.TempDir(), "db")
	long := io.MultiReader(strings.NewReader("CREATE DATASET a;\nSELECT '"), endless('a'))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-db", dbDir}, long, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "statement too long: longer than") || !strings.Contains(stderr.String(), "created dataset a") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}

	// In the loop: the statement is dropped, the session goes on.
	sh, out, errs := newTestShell(t)
	input := io.MultiReader(strings.NewReader("SELECT '"), io.LimitReader(endless('a'), maxStatementBytes-10),
		strings.NewReader("\n"+strings.Repeat("aaaaaaaaaa\n", 10)+"';\nSHOW DATASETS;\n"))
	sh.loop(context.Background(), newReaderSource(input, nil))
	if !strings.Contains(errs.String(), "statement too long") || !strings.Contains(out.String(), "name\tsamples") {
		t.Errorf("loop: stdout %q, stderr %q", out, errs)
	}
}

// endless is a reader of the byte c without end.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// TestStatementReaderSplits: statements end at semicolons outside
// quotes and comments; blanks and comments after the last one are not a
// statement; each statement knows its line.
func TestStatementReaderSplits(t *testing.T) {
	script := "-- a comment; not the end\nSELECT 'a;b', \"c;\" FROM `x;y`;  SELECT 'it''s;' /* ; */;\n\n" +
		"SELECT 'back\\\\';\n# done;\n-- end\n"
	sr := newStatementReader(strings.NewReader(script), 1<<20)
	var got []string
	var lines []int
	for {
		text, line, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, text)
		lines = append(lines, line)
	}
	want := []string{"-- a comment; not the end\nSELECT 'a;b', \"c;\" FROM `x;y`;", "SELECT 'it''s;' /* ; */;", "SELECT 'back\\\\';"}
	if strings.Join(got, "|") != strings.Join(want, "|") || fmt.Sprint(lines) != "[1 2 4]" {
		t.Errorf("statements %q at lines %v, want %q at [1 2 4]", got, lines, want)
	}
}

// TestScriptStopsAtFirstError: a script's statements run in order; the
// first error stops it and names the statement and its place in the
// script.
func TestScriptStopsAtFirstError(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "db")
	script := "CREATE DATASET a;\n\n-- the mistake:\nSELEC * FROM a;\nCREATE DATASET never;\n"
	code, _, errs := runShell(t, script, "-db", dbDir)
	if code != 1 || !strings.Contains(errs, "created dataset a\n") || !strings.Contains(errs, "fosql: statement 2: syntax error at line 4, column 1 near 'SELEC'") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	_, out, _ := runShell(t, "", "-db", dbDir, "-e", "SHOW DATASETS")
	if out != "name\tsamples\na\t0\n" {
		t.Errorf("datasets after the script: %q", out)
	}
}

// TestScriptRuntimeErrorNamesLine: an error that is not a syntax error
// names the line the statement starts on.
func TestScriptRuntimeErrorNamesLine(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "db")
	code, _, errs := runShell(t, "CREATE DATASET a;\nSELECT * FROM nope;\n", "-db", dbDir)
	if code != 1 || !strings.Contains(errs, "fosql: statement 2 (line 2): ") || !strings.Contains(errs, "nope") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// TestCompleter: Tab offers meta commands, keywords in the case typed,
// dataset names, the stored field paths of the dataset the statement
// names, and the computed columns before they exist.
func TestCompleter(t *testing.T) {
	sh, _, errs := newTestShell(t)
	if err := sh.run(context.Background(), "CREATE DATASET pets; INSERT INTO pets (filepath, `ground_truth.label`) VALUES ('"+
		filepath.Join(writePNGs(t, 1), "imga.png")+"', 'cat');"); err != nil {
		t.Fatal(err, errs)
	}
	c := &completer{sh: sh}
	complete := func(line string) []string {
		got, n := c.Do([]rune(line), len([]rune(line)))
		word := string([]rune(line)[len([]rune(line))-n:])
		var out []string
		for _, g := range got {
			out = append(out, word+string(g))
		}
		return out
	}
	for line, want := range map[string]string{
		".sch":                                  ".schema",
		".mode ma":                              "markdown",
		"sel":                                   "select",
		"SEL":                                   "SELECT",
		"SELECT * FROM pe":                      "pets",
		"SELECT ground_truth.la":                "ground_truth.label",
		"SELECT id FROM pets WHERE metadata.wi": "metadata.width",
		"SELECT insights.uniqueness.sc":         "insights.uniqueness.scalar",
	} {
		got := complete(line)
		if !slices.Contains(got, want) {
			t.Errorf("Tab after %q offers %q, not %q", line, got, want)
		}
	}
}
