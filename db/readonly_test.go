package db

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
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

// TestReadOnlyOpenAndTheJournal: the undo records a committed statement
// left behind (a crash before they were removed) change no answer, so a
// read-only open reads past them and leaves them to the next read-write
// open, which removes them; an unfinished statement's records must be
// undone first, so a read-only open refuses that store with ErrReadOnly.
func TestReadOnlyOpenAndTheJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := mustDataset(t, d, "j")
	addN(t, ds, 3, nil)
	leftover := func(keys ...[]byte) {
		err := d.bdb.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Set(k, []byte("undo")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	leftover(journalBatchKey(ds.id, 0), journalBatchKey(ds.id, 1))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open with a finished statement's undo records: %v", err)
	}
	rds, err := r.Dataset("j")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rds.Count(); err != nil || n != 3 {
		t.Errorf("Count = %d, %v", n, err)
	}
	if n := journalKeys(t, r); n != 2 {
		t.Errorf("%d undo records after a read-only open, want the 2 left for a writer", n)
	}
	r.Close()

	if d, err = Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	if n := journalKeys(t, d); n != 0 {
		t.Errorf("%d undo records after a read-write open, want none", n)
	}
	if ds, err = d.Dataset("j"); err != nil {
		t.Fatal(err)
	}
	leftover(journalHeaderKey(ds.id), journalBatchKey(ds.id, 0))
	d.Close()
	if _, err := Open(dir, &Options{ReadOnly: true}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only open of a store with an unfinished statement: %v, want ErrReadOnly", err)
	}
}
