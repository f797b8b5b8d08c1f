package db

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFullTextIndexOfOlderLayoutIsRebuilt: an index directory that holds
// no index file of the current layout (an index bleve's default type
// wrote, or anything else) is replaced by one rebuilt from the samples.
func TestFullTextIndexOfOlderLayoutIsRebuilt(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "txt")
	if _, err := ds.Add(ctx, []NewSample{{Filepath: "/data/pets/kitten_01.jpg"}, {Filepath: "/data/pets/puppy.jpg"}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := ds.Search(ctx, []string{"filepath"}, "kitten"); err != nil || len(hits) != 1 {
		t.Fatalf("search = %v, %v", hits, err)
	}
	id := ds.id
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	textDir := filepath.Join(dir, "text", strconv.FormatUint(id, 16))
	if err := os.RemoveAll(textDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(textDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(textDir, "index_meta.json"), []byte(`{"storage":"boltdb","index_type":"scorch"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(dir, nil)
	if err == nil {
		defer d2.Close()
		ds, err = d2.Dataset("txt")
	}
	if err != nil {
		t.Fatal(err)
	}
	if hits, err := ds.Search(ctx, []string{"filepath"}, "puppy kitten"); err != nil || len(hits) != 2 {
		t.Fatalf("search after the rebuild = %v, %v", hits, err)
	}
	if _, err := os.Stat(filepath.Join(textDir, "index_meta.json")); !os.IsNotExist(err) {
		t.Fatalf("the older index is still there: %v", err)
	}
}

// TestFullTextKeepsStartupLight: bleve's top-level package links in its
// default index type, whose initialisation builds fuzzy-search automata
// in every process that links it (milliseconds before main, in every
// one-shot command); the store must not depend on it.
func TestFullTextKeepsStartupLight(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/blevesearch/bleve/v2" || strings.HasPrefix(pkg, "github.com/blevesearch/bleve/v2/index/scorch") {
			t.Errorf("db depends on %s", pkg)
		}
	}
}
