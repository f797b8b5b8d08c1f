package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fosql/fosql/query"
)

// writePNGs makes a folder with n images and one bad file.
func writePNGs(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8*(i+1), 8))); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "img"+string(rune('a'+i))+".png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.png"), []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runShell(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestShellOneShot(t *testing.T) {
	imgs := writePNGs(t, 3)
	dbDir := filepath.Join(t.TempDir(), "new", "db") // created when missing
	code, out, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET w FROM IMAGES '"+imgs+"'; SHOW DATASETS")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "name\tsamples\nw\t3\n" {
		t.Errorf("stdout = %q", out)
	}
	if !strings.Contains(errs, "skipped "+filepath.Join(imgs, "bad.png")+": not an image") ||
		!strings.Contains(errs, "3 images added, 1 files skipped") {
		t.Errorf("stderr lacks the skip report: %q", errs)
	}

	// TSV: header, untruncated, floats in plain decimal.
	code, out, errs = runShell(t, "", "-db", dbDir, "-e",
		"SELECT metadata.width, avg(metadata.height) / 1 FROM w GROUP BY metadata.width")
	if code == 0 {
		t.Errorf("expression in select list accepted: %q", out)
	}
	code, out, errs = runShell(t, "", "-db", dbDir, "-e",
		"SELECT metadata.width AS w, avg(metadata.height) AS h FROM w GROUP BY metadata.width ORDER BY w DESC LIMIT 2")
	if code != 0 || out != "w\th\n24\t8\n16\t8\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// Errors: stderr, exit 1, position shown.
	code, out, errs = runShell(t, "", "-db", dbDir, "-e", "SELEC id FRM w")
	if code != 1 || out != "" || !strings.Contains(errs, "line 1, column 1 near 'SELEC': did you mean SELECT?") || strings.Contains(errs, "panic") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = runShell(t, "", "-db", dbDir, "-e", "SELECT * FROM ww")
	if code != 1 || !strings.Contains(errs, `did you mean "w"?`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}

	// A script on stdin; CSV output.
	code, out, errs = runShell(t, "UPDATE w ADD TAG 'dup' WHERE metadata.width = 8;\nSELECT filepath, tags FROM w WHERE 'dup' IN tags;\n",
		"-db", dbDir, "-format", "csv")
	if code != 0 || out != "filepath,tags\n"+filepath.Join(imgs, "imga.png")+",\"[\"\"dup\"\"]\"\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.Contains(errs, "1 row matched, 1 row changed") {
		t.Errorf("stderr %q", errs)
	}
}

func TestShellDefaultDBAndFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env.db")
	t.Setenv("FOSQL_DB", dir)
	if code, _, errs := runShell(t, "", "-e", "CREATE DATASET x"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("FOSQL_DB not used: %v", err)
	}
	if code, _, errs := runShell(t, "", "-format", "xml", "-e", "SHOW DATASETS"); code != 2 || !strings.Contains(errs, "xml") {
		t.Errorf("bad -format: exit %d %q", code, errs)
	}
	if code, _, errs := runShell(t, "", "-help"); code != 0 || !strings.Contains(errs, "FOSQL_DB") || !strings.Contains(errs, "fosql.db") {
		t.Errorf("-help: exit %d %q", code, errs)
	}
	if code, _, _ := runShell(t, "", "extra"); code != 2 {
		t.Errorf("stray argument: exit %d", code)
	}
}

// TestShellEmptyDBIsAnError: an empty -db (an unset shell variable) and a
// FOSQL_DB set but empty are errors; nothing is created, in memory or in
// the working directory. Unset FOSQL_DB means ./fosql.db.
func TestShellEmptyDBIsAnError(t *testing.T) {
	imgs := writePNGs(t, 2)
	cwd := t.TempDir()
	t.Chdir(cwd)
	create := "CREATE DATASET w FROM IMAGES '" + imgs + "'"
	for _, db := range []string{"", " "} {
		code, out, errs := runShell(t, "", "-db", db, "-e", create)
		if code != 1 || out != "" || !strings.Contains(errs, "fosql: -db is empty; name a directory, or :memory: for a private in-memory database") ||
			strings.Contains(errs, "images added") {
			t.Errorf("-db %q: exit %d, stdout %q, stderr %q", db, code, out, errs)
		}
		var serveErr bytes.Buffer
		if code := runServe(context.Background(), []string{"-db", db, "-addr", "127.0.0.1:0"}, &serveErr); code != 1 ||
			!strings.Contains(serveErr.String(), "-db is empty") {
			t.Errorf("serve -db %q: exit %d %s", db, code, &serveErr)
		}
	}
	t.Setenv("FOSQL_DB", "")
	code, _, errs := runShell(t, "", "-e", create)
	if code != 1 || !strings.Contains(errs, "fosql: FOSQL_DB is set but empty") || strings.Contains(errs, "images added") {
		t.Errorf("FOSQL_DB empty: exit %d, stderr %q", code, errs)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("an empty database path created %v in the working directory", entries)
	}
	// -db given wins over FOSQL_DB, empty or not.
	mem := []string{"-db", ":memory:", "-e", create}
	if code, _, errs := runShell(t, "", mem...); code != 0 {
		t.Errorf("-db :memory: with FOSQL_DB empty: exit %d %s", code, errs)
	}
	os.Unsetenv("FOSQL_DB")
	if code, _, errs := runShell(t, "", "-e", "CREATE DATASET x"); code != 0 {
		t.Fatalf("FOSQL_DB unset: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(cwd, "fosql.db")); err != nil {
		t.Errorf("FOSQL_DB unset: ./fosql.db not used: %v", err)
	}
}

// TestShellReportsEverySkippedSample: samples a computation cannot read
// are each named on stderr with the reason, however fast they come, and
// the closing line counts them.
func TestShellReportsEverySkippedSample(t *testing.T) {
	imgs := writePNGs(t, 6)
	dbDir := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET s FROM IMAGES '"+imgs+"'"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	garbage := []string{filepath.Join(imgs, "imgb.png"), filepath.Join(imgs, "imge.png")}
	for _, p := range garbage {
		if err := os.WriteFile(p, []byte("garbage, not a PNG"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gone := filepath.Join(imgs, "imgc.png")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runShell(t, "", "-db", dbDir, "-e", "COMPUTE UNIQUENESS ON s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, p := range garbage {
		if !strings.Contains(errs, "skipped "+p+": ") || !strings.Contains(errs, "cannot decode image") {
			t.Errorf("stderr does not report %s as undecodable: %s", p, errs)
		}
	}
	if !strings.Contains(errs, "skipped "+gone+": ") || !strings.Contains(errs, "no such file") {
		t.Errorf("stderr does not report %s as gone: %s", gone, errs)
	}
	if !strings.Contains(errs, "computed insights.uniqueness on s (3 samples skipped)\n") {
		t.Errorf("the closing line does not count the skipped samples: %s", errs)
	}
}

// TestProgressNeverDropsSkips: on a terminal and off it, progress lines
// are throttled but every skip report is written whole, on a line of its
// own, and counted.
func TestProgressNeverDropsSkips(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		p := newProgressPrinter(&buf, tty)
		for i := range 100 {
			p.report(query.Progress{Op: "compute uniqueness", Phase: "embed", Done: int64(i), Total: 100})
			if i%10 == 3 {
				p.report(query.Progress{Op: "compute uniqueness", Phase: "skip", Detail: fmt.Sprintf("/img/%d.png: cannot decode image", i)})
			}
		}
		p.report(query.Progress{Op: "compute uniqueness", Phase: "embed", Done: 100, Total: 100})
		p.done()
		out := buf.String()
		for i := 3; i < 100; i += 10 {
			line := fmt.Sprintf("compute uniqueness: skipped /img/%d.png: cannot decode image\n", i)
			if !strings.Contains(out, "\n"+line) && !strings.Contains(out, "\r"+line) {
				t.Errorf("tty %v: skip report %d missing or not on its own line:\n%q", tty, i, out)
			}
		}
		count, last := regexp.MustCompile(`embed: (\d+)/100`), "embed: 100/100"
		if tty { // the bar: "compute uniqueness embed  42% |████   | (42/100, 120 items/s) [0s:1s]"
			count, last = regexp.MustCompile(`\((\d+)/100`), "(100/100"
		}
		counts := map[string]bool{}
		for _, m := range count.FindAllStringSubmatch(out, -1) {
			counts[m[1]] = true
		}
		if len(counts) > 3 {
			t.Errorf("tty %v: %d progress counts shown for 100 reports in a moment: not throttled", tty, len(counts))
		}
		if !strings.Contains(out, last) {
			t.Errorf("tty %v: the last progress line of the phase is missing: %q", tty, out)
		}
		if n := p.takeSkipped(); n != 10 {
			t.Errorf("tty %v: %d skips counted, want 10", tty, n)
		}
	}
}

// TestClosingLineCountsSkips: the closing line of a statement says how
// many samples were skipped.
func TestClosingLineCountsSkips(t *testing.T) {
	for _, c := range []struct {
		msg     string
		skipped int
		want    string
	}{
		{"computed insights.uniqueness on s", 0, "computed insights.uniqueness on s"},
		{"computed insights.uniqueness on s", 2, "computed insights.uniqueness on s (2 samples skipped)"},
		{"computed insights.duplicates on s", 1, "computed insights.duplicates on s (1 sample skipped)"},
		{"", 3, "3 samples skipped"},
		{"", 0, ""},
	} {
		if got := closingLine(c.msg, c.skipped); got != c.want {
			t.Errorf("closingLine(%q, %d) = %q, want %q", c.msg, c.skipped, got, c.want)
		}
	}
}

// TestDemoEmptyDirIsAnError: the demo does not take an empty -dir for
// the working directory.
func TestDemoEmptyDirIsAnError(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	var stdout, stderr bytes.Buffer
	err := demo(context.Background(), []string{"-dir", "", "-n", "10"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-dir is empty") {
		t.Errorf("demo -dir \"\": %v", err)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("demo -dir \"\" wrote %v in the working directory", entries)
	}
}

// TestReadOnlyScript: a single read opens the store read-only; a query
// whose insight must be computed first is run again read-write; the
// answers are the same either way.
func TestReadOnlyScript(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want bool
	}{
		{"SELECT id FROM w LIMIT 1", true},
		{"SHOW DATASETS", true},
		{"DESCRIBE w", true},
		{"EXPLAIN SELECT id FROM w", true},
		{"SELECT id FROM w ORDER BY insights.uniqueness.scalar DESC LIMIT 10", true},
		{"SELECT id FROM w INTO OUTFILE 'x.csv'", false},
		{"SELECT id FROM w; SELECT id FROM w", false},
		{"UPDATE w ADD TAG 'x' WHERE id = 'a'", false},
		{"CREATE DATASET x", false},
		{"SELEC nonsense", false},
	} {
		if got := readOnlyScript(c.sql); got != c.want {
			t.Errorf("readOnlyScript(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
	imgs := writePNGs(t, 2)
	dbDir := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "SHOW DATASETS"); code != 0 { // a new store: read-write
		t.Fatal(errs)
	}
	if code, _, errs := runShell(t, "", "-db", dbDir, "-e", "CREATE DATASET w FROM IMAGES '"+imgs+"'"); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runShell(t, "", "-db", dbDir, "-e", "SELECT count(*) AS n FROM w")
	if code != 0 || out != "n\n2\n" {
		t.Errorf("a read-only SELECT: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = runShell(t, "", "-db", dbDir, "-e", "SELECT id FROM w WHERE MATCH (filepath) AGAINST ('imga')")
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("a full-text search, which builds its index read-write: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// Auto-compute is on: the first query of the scores computes them
	// (read-write), the next only reads them and leaves every file of the
	// store as it was.
	top := "SELECT id FROM w ORDER BY insights.uniqueness.scalar DESC LIMIT 1"
	code, first, errs := runShell(t, "", "-db", dbDir, "-e", top)
	if code != 0 || strings.Count(first, "\n") != 2 {
		t.Fatalf("a query that computes its scores: exit %d, stdout %q, stderr %q", code, first, errs)
	}
	before := storeFiles(t, dbDir)
	code, again, errs := runShell(t, "", "-db", dbDir, "-e", top)
	if code != 0 || again != first {
		t.Errorf("the same query of fresh scores: exit %d, stdout %q (before %q), stderr %q", code, again, first, errs)
	}
	if after := storeFiles(t, dbDir); !maps.Equal(before, after) {
		t.Errorf("a query of fresh scores wrote to the store:\nbefore %v\nafter  %v", before, after)
	}
}

// storeFiles lists the files under a database directory with their sizes
// and modification times.
func storeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		files[p] = fmt.Sprint(info.Size(), " ", info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestProgressLinesWithoutTerminal: off a terminal, a phase that reports
// rarely still gets a line with its counts at least every interval, one
// more when it ends, and none at all when progress is off.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var buf syncBuffer
		p := newProgressPrinter(&buf, false)
		p.every = 100 * time.Millisecond
		p.setQuiet(quiet)
		p.report(query.Progress{Op: "compute uniqueness", Phase: "knn", Done: 10, Total: 100})
		time.Sleep(550 * time.Millisecond) // no report meanwhile
		p.report(query.Progress{Op: "compute uniqueness", Phase: "knn", Done: 100, Total: 100})
		p.done()
		out := buf.String()
		repeats := strings.Count(out, "compute uniqueness knn: 10/100\n")
		ends := strings.Count(out, "compute uniqueness knn: 100/100\n")
		switch {
		case quiet && out != "":
			t.Errorf("progress off printed %q", out)
		case !quiet && (repeats < 3 || ends != 1):
			t.Errorf("%d lines of 10/100 in 550 ms at a 100 ms interval, %d of 100/100:\n%s", repeats, ends, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
