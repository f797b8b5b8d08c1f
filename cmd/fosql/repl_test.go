package main

import (
	"bytes"
	"context"
	"io"
	"os"
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
	return &shell{d: d, out: out, errw: errs, prog: newProgressPrinter(errs, false), format: query.FormatTSV}, out, errs
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
	if code := sh.loop(context.Background(), strings.NewReader(input), false); code != 0 {
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
	if code := sh2.loop(context.Background(), strings.NewReader(".quit\nCREATE DATASET never;\n"), false); code != 0 {
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
	go func() { done <- sh.loop(context.Background(), r, false) }()
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
