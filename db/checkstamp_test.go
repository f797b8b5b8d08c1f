//go:build linux

package db

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStampSkipsUnchangedStore: a read-write close stamps the store, a
// read-only open neither writes nor needs more than the stamp, and any
// change to a file (damage included) is checked again.
func TestStampSkipsUnchangedStore(t *testing.T) {
	dir := storeFixture(t)
	stampPath := filepath.Join(dir, stampName)
	stamp := readStamp(dir)
	if stamp == nil {
		t.Fatal("a read-write close left no stamp")
	}
	// Every file is in it, the last ones the close touched included: the
	// stamp waits for the clock to pass their tick.
	entries, _ := os.ReadDir(filepath.Join(dir, storeDirName))
	if len(stamp) != len(entries) {
		t.Fatalf("stamp names %d files, the store has %d", len(stamp), len(entries))
	}
	before, _ := os.ReadFile(stampPath)
	d, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if after, _ := os.ReadFile(stampPath); string(after) != string(before) {
		t.Fatal("a read-only open rewrote the stamp")
	}

	// Unchanged files are not read again: a table whose stamp still
	// matches is trusted (here, one damaged behind the stamp's back is
	// restamped by hand to prove it is not read).
	table := filepath.Join(dir, storeDirName, "000001.sst")
	start, end := tableFooter(t, table)
	flipByte(t, table, (start+end)/2)
	if p := CheckStore(dir, nil); len(p) == 0 {
		t.Fatal("the damage is not visible to CheckStore")
	}
	if _, err := Open(dir, &Options{ReadOnly: true}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "000001.sst") {
		t.Fatalf("open of a store damaged since its stamp: %v, want ErrDamaged naming the table", err)
	}
	forged := readStamp(dir)
	info, err := os.Stat(table)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := statStamp(info)
	st.maxVersion = forged["000001.sst"].maxVersion
	forged["000001.sst"] = st
	if p, _ := checkStore(dir, CheckOptions{}, forged); len(p) != 0 {
		t.Fatalf("a store matching its stamp was read again: %v", p)
	}
	if p, _ := checkStore(dir, CheckOptions{Thorough: true}, forged); len(p) == 0 {
		t.Fatal("a thorough check trusted the stamp")
	}
	delete(forged, "DISCARD") // any other file differing: the tables that match are still trusted
	if p, _ := checkStore(dir, CheckOptions{}, forged); len(p) != 0 {
		t.Fatalf("a matching table was read again: %v", p)
	}
	forged = readStamp(dir)
	if p, _ := checkStore(dir, CheckOptions{}, forged); len(p) == 0 {
		t.Fatal("a table changed since its stamp was trusted")
	}
}

// TestStampFileIsVerified: a stamp that does not read back whole is
// ignored, and files changed in the stamp's own clock tick are left out.
func TestStampFileIsVerified(t *testing.T) {
	dir := storeFixture(t)
	b, err := os.ReadFile(filepath.Join(dir, stampName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseStamp(b); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{string(b[:len(b)/2]), strings.Replace(string(b), "sst 1", "sst 2", 1), "", "crc 0\n"} {
		if s, err := parseStamp([]byte(bad)); err == nil {
			t.Errorf("stamp %q parsed as %v", bad, s)
		}
	}
	future := storeStamp{"MANIFEST": {size: 1, mtime: time.Now().Add(time.Hour).UnixNano(), ctime: 1}}
	if err := writeStamp(dir, future); err != nil {
		t.Fatal(err)
	}
	if s := readStamp(dir); s == nil || len(s) != 0 {
		t.Fatalf("a file changed after the stamp was written is in it: %v", s)
	}
}
