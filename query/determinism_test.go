package query

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Same input, same answer: two databases built from the same folder give
// bit-identical uniqueness scores and the same nearest neighbours and
// duplicate groups, named by file (the ids differ between databases), with
// exact copies among the pictures so that ties must break the same way.
func TestSameFolderSameAnswer(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	writePNGs(t, img, 40)
	for _, name := range []string{"p0003.png", "p0011.png", "p0027.png"} { // exact copies: ties
		b, err := os.ReadFile(filepath.Join(img, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(img, "copy-"+name), b, 0o644)
	}
	answer := func(name string) map[string]string {
		d, err := Open(filepath.Join(dir, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		bg := context.Background()
		if _, err := d.Exec(bg, "CREATE DATASET d FROM IMAGES ?; COMPUTE UNIQUENESS ON d; COMPUTE DUPLICATES ON d", img); err != nil {
			t.Fatal(err)
		}
		r, err := d.Query(bg, "SELECT id, filepath, insights.uniqueness.scalar, insights.uniqueness.nearest_id, insights.duplicates.of FROM d")
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]string{}
		for _, row := range r.Rows {
			byID[row[0].AsString()] = filepath.Base(row[1].AsString())
		}
		out := map[string]string{}
		for _, row := range r.Rows {
			out[byID[row[0].AsString()]] = row[2].String() + " nearest " + byID[row[3].AsString()] + " of " + byID[row[4].AsString()]
		}
		return out
	}
	a, b := answer("a"), answer("b")
	if len(a) != 43 {
		t.Fatalf("%d samples", len(a))
	}
	for file, got := range a {
		if b[file] != got {
			t.Errorf("%s: %s in one database, %s in the other", file, got, b[file])
		}
	}
}
