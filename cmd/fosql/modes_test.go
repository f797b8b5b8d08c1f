package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/query"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/modes")

// TestModesGolden runs a script on stdin for every output mode: rows as
// the mode prints them, then the same rows with .headers off and a
// .nullvalue; stdout must equal testdata/modes/<mode>.golden (go test
// ./cmd/fosql -run TestModesGolden -rewrite writes them).
func TestModesGolden(t *testing.T) {
	imgs := writePNGs(t, 3)
	dbDir := filepath.Join(t.TempDir(), "db")
	setup := "CREATE DATASET g;\n" +
		"INSERT INTO g (filepath, tags, `ground_truth.label`, score) VALUES " +
		"('" + filepath.Join(imgs, "imga.png") + "', '[\"<img src=q>\",\"dup\"]', 'cat|dog', 0.125), " +
		"('" + filepath.Join(imgs, "imgb.png") + "', '', 'bird & \"owl\"', NULL), " +
		"('" + filepath.Join(imgs, "imgc.png") + "', 'x', 'émeu', 1234567.5);\n"
	if code, _, errs := runShell(t, setup, "-db", dbDir); code != 0 {
		t.Fatal(errs)
	}
	const sel = "SELECT `ground_truth.label` AS label, score, tags, metadata.width FROM g ORDER BY label;\n"
	for _, mode := range query.FormatNames() {
		t.Run(mode, func(t *testing.T) {
			script := ".mode " + mode + "\n" + sel + ".headers off\n.nullvalue -\n" + sel
			code, out, errs := runShell(t, script, "-db", dbDir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden := filepath.Join("testdata", "modes", mode+".golden")
			if *rewrite {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/fosql -run TestModesGolden -rewrite writes it)", err)
			}
			if out != string(want) {
				t.Errorf("stdout differs from %s:\n%s\nwant:\n%s", golden, out, want)
			}
			if strings.Contains(out, `\u003c`) {
				t.Errorf("a JSON HTML escape in %s output:\n%s", mode, out)
			}
		})
	}
}
