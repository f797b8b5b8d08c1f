package db

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestReadOnlyOpen: a store opened read-only reads what was written,
// writes and creates no file, refuses writes with ErrReadOnly, shares the
// store with another reader, and keeps a writer out while it is open.
func TestReadOnlyOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := addN(t, mustDataset(t, d, "ro"), 3, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, dir)

	r1, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	ds, err := r2.Dataset("ro")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ds.Count(); err != nil || n != 3 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	if s, err := ds.Get(ids[1]); err != nil || s.ID != ids[1] {
		t.Fatalf("Get: %v", err)
	}
	if _, err := ds.AddTags(ctx, ids, "x"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("AddTags on a read-only store: %v", err)
	}
	if _, err := r2.CreateDataset("new"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("CreateDataset on a read-only store: %v", err)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("a writer while readers have the store: %v", err)
	}
	r2.Close()
	r1.Close()
	if after := storeFiles(t, dir); after != before {
		t.Errorf("read-only opens changed the store's files:\nbefore %s\nafter  %s", before, after)
	}

	// A store that does not exist yet opens only read-write.
	if _, err := Open(filepath.Join(t.TempDir(), "none"), &Options{ReadOnly: true}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only open of a new store: %v", err)
	}
}

// storeFiles lists the store's files with their sizes.
func storeFiles(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, storeDirName))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		s += e.Name() + ":" + strconv.FormatInt(info.Size(), 10) + " "
	}
	return s
}
