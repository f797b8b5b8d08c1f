package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
