package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
)

// The crash harness: a real fosql process runs a statement and is killed
// with SIGKILL at a random moment; the database is then reopened and its
// invariants checked. Every statement is all or nothing, so the database
// must be exactly as it was before the statement or exactly as a run to
// the end leaves it; CHECK DATABASE must find nothing (indexes, counts,
// run records, no half statement); and the full-text index must agree
// with the samples.
//
// FOSQL_CRASH_KILLS sets the number of kills (make crashtest: 100; make
// test: the short default), FOSQL_CRASH_SEED the seed.

// crashOp is one statement the harness kills.
type crashOp struct {
	name, sql string
	before    string        // the state's fingerprint before it
	after     string        // and after a run to the end
	took      time.Duration // how long that run took
}

func TestCrashKills(t *testing.T) {
	kills := envInt(t, "FOSQL_CRASH_KILLS", 14)
	seed := envInt(t, "FOSQL_CRASH_SEED", 1)
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	work := t.TempDir()
	// Every dataset keeps metadata columns, so that kills land while an
	// add appends to them too.
	t.Setenv("FOSQL_COLUMN_MIN_SAMPLES", "50")

	// The base database: a dataset of real pictures and one of records
	// whose media lives elsewhere.
	imgs := crashPictures(t, filepath.Join(work, "img"), 90, 0)
	more := crashPictures(t, filepath.Join(work, "more"), 120, 1000)
	recs := crashRecords(t, filepath.Join(work, "recs.jsonl"), 0, 6000)
	moreRecs := crashRecords(t, filepath.Join(work, "more.jsonl"), 6000, 9000)
	base := filepath.Join(work, "base")
	crashRun(t, base, fmt.Sprintf("CREATE DATASET img FROM IMAGES '%s'; IMPORT INTO recs FROM '%s' WITH (check_files = false);", imgs, recs))

	ops := []*crashOp{
		{name: "ingest", sql: fmt.Sprintf("CREATE DATASET IF NOT EXISTS img FROM IMAGES '%s'", more)},
		{name: "bulk import", sql: fmt.Sprintf("IMPORT INTO recs FROM '%s' WITH (check_files = false)", moreRecs)},
		{name: "bulk tag", sql: "UPDATE recs ADD TAG 'k'"},
		{name: "bulk set", sql: "UPDATE recs SET flag = 1 WHERE score >= 100"},
		{name: "delete", sql: "DELETE FROM recs WHERE score < 700"},
		{name: "uniqueness", sql: "COMPUTE UNIQUENESS ON img"},
		{name: "duplicates", sql: "COMPUTE DUPLICATES ON img"},
	}
	baseState := crashState(t, base)
	for _, op := range ops {
		dir := filepath.Join(work, "full-"+strings.ReplaceAll(op.name, " ", "-"))
		copyTree(t, base, dir)
		start := time.Now()
		crashRun(t, dir, op.sql)
		op.took = time.Since(start)
		op.before, op.after = baseState, crashState(t, dir)
		if op.after == op.before {
			t.Fatalf("%s changes nothing; the harness would prove nothing", op.name)
		}
		os.RemoveAll(dir)
	}

	landed, checked, broken := 0, 0, 0
	for k := range kills {
		op := ops[k%len(ops)]
		dir := filepath.Join(work, fmt.Sprintf("kill-%d", k))
		copyTree(t, base, dir)
		delay := time.Duration(rng.Float64() * float64(op.took))
		cmd := exec.Command(os.Args[0], "-db", dir, "-q", "-e", op.sql)
		cmd.Env = append(os.Environ(), processEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s ended on its own with %v before the kill: %s", op.name, err, tail(stderr.String()))
			}
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err != nil {
				landed++
			}
		}
		// Reopen and check.
		state := crashState(t, dir)
		checked++
		if state != op.before && state != op.after {
			broken++
			t.Errorf("kill %d (%s at %s): the database is neither as before the statement nor as after it", k, op.name, delay.Round(time.Millisecond))
		}
		for _, p := range crashCheck(t, dir) {
			checked++
			if p != "" {
				broken++
				t.Errorf("kill %d (%s at %s): %s", k, op.name, delay.Round(time.Millisecond), p)
			}
		}
		os.RemoveAll(dir)
	}
	summary := fmt.Sprintf("crashtest: %d kills (%d landed while the statement ran), %d invariants checked, %d broken", kills, landed, checked, broken)
	t.Log(summary)
	fmt.Println(summary)
	// A kill that comes after the statement ended checks the finished
	// state only; none landing at all would make the run vacuous.
	if kills > 0 && landed == 0 {
		t.Errorf("none of %d kills landed while fosql ran", kills)
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// crashRun runs statements through a fosql process and fails on an error.
func crashRun(t *testing.T, dir, sql string) {
	t.Helper()
	if code, _, stderr := fosqlProcess(t, 5*time.Minute, "-db", dir, "-q", "-e", sql); code != 0 {
		t.Fatalf("%s: exit %d: %s", sql, code, tail(stderr))
	}
}

// crashPictures writes n distinct textured PNGs (numbered from first),
// with a few exact copies among them.
func crashPictures(t testing.TB, dir string, n, first int) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for i := range n {
		k := first + i
		if i%10 == 9 {
			k-- // an exact copy of the previous picture
		}
		rng := rand.New(rand.NewPCG(uint64(k), 5))
		img := image.NewRGBA(image.Rect(0, 0, 40, 32))
		for y := range 32 {
			for x := range 40 {
				img.Set(x, y, color.RGBA{uint8(rng.IntN(256)), uint8((x * y * k) % 256), uint8(k % 256), 255})
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%05d.png", first+i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// crashRecords writes records from..to-1 as JSON lines.
func crashRecords(t *testing.T, path string, from, to int) string {
	t.Helper()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{"filepath": "/elsewhere/r%05d.jpg", "tags": ["t%d"], "score": %d, "metadata": {"width": %d, "height": 16}}`+"\n", i, i%5, i%1000, 16*(1+i%7))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// crashState is a fingerprint of everything a user can read of the
// database but the ids of samples a statement adds (they differ from run
// to run): each sample's fields, tags and insights, with the ids they
// refer to, which are the base database's.
func crashState(t *testing.T, dir string) string {
	t.Helper()
	d, err := db.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopening %s: %v", dir, err)
	}
	defer d.Close()
	names, err := d.DatasetNames()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, name := range names {
		ds, err := d.Dataset(name)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for s, err := range ds.Samples(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			doc := s.Doc().With(db.FieldID, db.Missing())
			lines = append(lines, doc.String())
		}
		sort.Strings(lines)
		fmt.Fprintf(h, "%s %d\n%s\n", name, len(lines), strings.Join(lines, "\n"))
		runs, err := ds.Runs()
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(runs))
		for k, r := range runs {
			keys = append(keys, k+":"+string(r.Status))
		}
		sort.Strings(keys)
		fmt.Fprintln(h, keys)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// crashCheck checks a reopened database: CHECK DATABASE finds nothing,
// and the full-text index finds every sample of recs by its file type.
// It returns one entry per invariant: "" when it holds, else what broke.
func crashCheck(t *testing.T, dir string) []string {
	t.Helper()
	d, err := db.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopening %s: %v", dir, err)
	}
	defer d.Close()
	var out []string
	problems, err := d.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 {
		out = append(out, "")
	}
	for _, p := range problems {
		out = append(out, "CHECK DATABASE: "+p.String())
	}
	ds, err := d.Dataset("recs")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := ds.Count()
	hits, err := ds.Search(context.Background(), []string{"filepath"}, "jpg")
	switch {
	case err != nil:
		out = append(out, "full-text search: "+err.Error())
	case int64(len(hits)) != n:
		out = append(out, fmt.Sprintf("the full-text index finds %d of the %d samples", len(hits), n))
	default:
		out = append(out, "")
	}
	return out
}

// copyTree copies a database directory.
func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		w, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, src); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
