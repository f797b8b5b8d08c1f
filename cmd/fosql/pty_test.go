package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/fosql/fosql/db"
)

// The tests in this file type into the shell through a real
// pseudo-terminal, as a user at a terminal would: line editing, history,
// completion and Ctrl-C are the terminal's business and cannot be
// checked through pipes.

// ptyShell is the shell running under a pseudo-terminal.
type ptyShell struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{} // closed when the output ends
}

// ansiEscape matches the terminal control sequences the line editor and
// the progress bars write.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMNOPZc]`)

// startPTY starts fosql with args under a new pseudo-terminal, with home
// as HOME and its XDG state folder, so the history file is the test's
// own; the cache (ONNX Runtime, models) stays the user's.
func startPTY(t *testing.T, home string, args ...string) *ptyShell {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), processEnv+"=1", "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME="+cache, "TERM=xterm")
	cmd.Env = withoutEnv(cmd.Env, "FOSQL_HISTORY")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyShell{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			if n > 0 {
				p.mu.Lock()
				p.out.Write(buf[:n])
				p.mu.Unlock()
				if bytes.Contains(buf[:n], []byte("\x1b[6n")) {
					tty.Write([]byte("\x1b[1;1R")) // the cursor position, as a terminal answers
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { p.close() })
	p.waitFor("fosql> ", 0, 20*time.Second)
	return p
}

// withoutEnv drops the variable name from env.
func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// mark is the length of the output so far: waitFor looks after it.
func (p *ptyShell) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Len()
}

// screen is the output after mark, without control sequences.
func (p *ptyShell) screen(mark int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ansiEscape.ReplaceAllString(string(p.out.Bytes()[mark:]), "")
}

// waitFor waits until text shows in the output after mark.
func (p *ptyShell) waitFor(text string, mark int, limit time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(p.screen(mark), text) {
		if time.Now().After(deadline) {
			p.t.Fatalf("%q did not show within %s; the terminal shows:\n%s", text, limit, p.screen(0))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expect types keys and waits until text shows in what follows.
func (p *ptyShell) expect(keys, text string, limit time.Duration) {
	p.t.Helper()
	m := p.mark()
	p.typeText(keys)
	p.waitFor(text, m, limit)
}

// typeText sends keys to the terminal.
func (p *ptyShell) typeText(s string) {
	p.t.Helper()
	if _, err := p.tty.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// quit leaves the shell with Ctrl-D and waits for it to end.
func (p *ptyShell) quit() {
	p.t.Helper()
	p.typeText("\x04")
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("Ctrl-D did not end the shell; it shows:\n%s", p.screen(0))
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("the shell ended with %v:\n%s", err, p.screen(0))
	}
}

// close ends the shell if it still runs.
func (p *ptyShell) close() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
	p.tty.Close()
}

// TestPTYHistoryAcrossSessions: a statement typed over two lines is one
// history entry, kept in the history file, and a second session recalls
// it with Up and runs it with Enter.
func TestPTYHistoryAcrossSessions(t *testing.T) {
	home := t.TempDir()
	dbDir := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET hist"); code != 0 {
		t.Fatal(errs)
	}
	p := startPTY(t, home, "-db", dbDir)
	m := p.mark()
	p.expect("SELECT count(*) AS total\r", "...>", 5*time.Second)
	p.typeText("  FROM hist;\r")
	p.waitFor("total", m, 10*time.Second)
	p.quit()

	data, err := os.ReadFile(filepath.Join(home, ".local", "state", "fosql", "history"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "SELECT count(*) AS total FROM hist;\n") {
		t.Fatalf("the history file does not hold the statement as one entry:\n%s", data)
	}

	p = startPTY(t, home, "-db", dbDir)
	p.expect("\x1b[A", "SELECT count(*) AS total FROM hist;", 5*time.Second) // Up
	p.expect("\r", "total", 10*time.Second)
	p.quit()
}

// TestPTYCompleteFieldPath: Tab completes a field path of the dataset
// the statement names, and a meta command.
func TestPTYCompleteFieldPath(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "db")
	imgs := writePNGs(t, 3)
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET pics FROM IMAGES '"+imgs+"'"); code != 0 {
		t.Fatal(errs)
	}
	setScores(t, dbDir, "pics")
	p := startPTY(t, t.TempDir(), "-db", dbDir, "-auto-compute", "off")
	p.expect("SELECT id FROM pics ORDER BY insights.uniqueness.sc\t", "insights.uniqueness.scalar", 5*time.Second)
	p.expect(" DESC LIMIT 1;\r", "(1 row)", 10*time.Second)
	p.expect("SELECT metadata.wi\t", "metadata.width", 5*time.Second)
	p.typeText("\x15\x03") // Ctrl-U, Ctrl-C: drop the line
	p.expect(".sch\t", ".schema", 5*time.Second)
	p.expect(" pics\r", "metadata.width", 10*time.Second)
	p.quit()
}

// setScores stores insights.uniqueness.scalar by hand on every sample of
// a dataset.
func setScores(t *testing.T, dbDir, name string) {
	t.Helper()
	store, err := db.Open(dbDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ds, err := store.Dataset(name)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[db.ID]db.Value{}
	for s, err := range ds.Samples(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		vals[s.ID] = db.Float(float64(len(vals)) / 10)
	}
	if err := ds.SetInsights(context.Background(), "uniqueness", "scalar", vals); err != nil {
		t.Fatal(err)
	}
}

// TestPTYCtrlCCancelsUniqueness: Ctrl-C during a real uniqueness run
// (large pictures, so that embedding takes seconds) cancels it, leaves
// no scores behind, and the shell goes on.
func TestPTYCtrlCCancelsUniqueness(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds large pictures")
	}
	imgs := t.TempDir()
	writeBigImages(t, imgs, 24, 1400)
	dbDir := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET big FROM IMAGES '"+imgs+"'"); code != 0 {
		t.Fatal(errs)
	}
	p := startPTY(t, t.TempDir(), "-db", dbDir)
	m := p.mark()
	p.typeText("COMPUTE UNIQUENESS ON big;\r")
	p.waitFor("embed", m, 20*time.Second) // the progress bar of the first phase
	start := time.Now()
	p.typeText("\x03")
	p.waitFor("fosql: cancelled", m, 20*time.Second)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the run took %s to stop after Ctrl-C", d)
	}
	p.expect("SHOW DATASETS;\r", "big", 10*time.Second)
	p.quit()

	store, err := db.Open(dbDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ds, err := store.Dataset("big")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := ds.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := runs["uniqueness"]; ok && r.Status == db.RunComplete {
		t.Errorf("the cancelled run is recorded as complete: %+v", r)
	}
	groups, err := ds.InsightGroups()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 0 {
		t.Errorf("the cancelled run left insights groups %v", groups)
	}
}

// TestPTYOutputAndRead: .output sends rows to a file and .output alone
// brings them back to the terminal; .read runs a script, and an error in
// it is reported with its place while the shell goes on.
func TestPTYOutputAndRead(t *testing.T) {
	dir := t.TempDir()
	dbDir := filepath.Join(dir, "db")
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET alpha; CREATE DATASET beta"); code != 0 {
		t.Fatal(errs)
	}
	script := filepath.Join(dir, "script.sql")
	if err := os.WriteFile(script, []byte("CREATE DATASET gamma;\nSELEC oops;\nCREATE DATASET never;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "rows.txt")
	p := startPTY(t, t.TempDir(), "-db", dbDir)
	p.typeText(".output " + outFile + "\r")
	p.typeText("SELECT name FROM (SHOW DATASETS);\r") // an error: nothing written
	m := p.mark()
	p.expect("SHOW DATASETS;\r", "fosql> ", 10*time.Second)
	if strings.Contains(p.screen(m), "alpha") {
		t.Errorf("rows went to the terminal under .output:\n%s", p.screen(m))
	}
	p.typeText(".output\r")
	m = p.mark()
	p.expect(".read "+script+"\r", "created dataset gamma", 10*time.Second)
	p.waitFor("statement 2: syntax error at line 2", m, 10*time.Second)
	p.expect("SHOW DATASETS;\r", "gamma", 10*time.Second)
	p.quit()

	rows, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rows), "alpha") || !strings.Contains(string(rows), "beta") || strings.Contains(string(rows), "gamma") {
		t.Errorf(".output file holds %q", rows)
	}
	if strings.Contains(p.screen(0), "never") {
		t.Errorf("the script went on after its error:\n%s", p.screen(0))
	}
}

// TestPTYCtrlDWhileAStatementRuns: a Ctrl-D typed while a statement
// runs (uniqueness here, which takes a moment) leaves the shell once the
// statement is done.
func TestPTYCtrlDWhileAStatementRuns(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "db")
	imgs := writePNGs(t, 40)
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET pics FROM IMAGES '"+imgs+"'"); code != 0 {
		t.Fatal(errs)
	}
	p := startPTY(t, t.TempDir(), "-db", dbDir)
	m := p.mark()
	p.typeText("COMPUTE UNIQUENESS ON pics;\r")
	p.waitFor("compute uniqueness", m, 20*time.Second) // its progress: it runs
	p.typeText("\x04")
	p.waitFor("computed insights.uniqueness", m, 20*time.Second)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("a Ctrl-D typed while the statement ran did not end the shell:\n%s", p.screen(0))
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("the shell ended with %v", err)
	}
}
