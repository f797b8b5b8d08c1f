//go:build linux

package db

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A full disk is an error, never a crash: on a small tmpfs, writes go on
// until the reserve is reached, then each is refused with ErrDiskFull and
// nothing of it stays (a statement refused half-way is undone), and the
// database reopens with everything committed before.
func TestDiskFullIsAnError(t *testing.T) {
	mnt := smallDisk(t, "160m")
	dir := filepath.Join(mnt, "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := mustDataset(t, d, "ds")
	blob := randomText(20 << 10)
	var committed int64
	var full error
	for stmt := 0; stmt < 1000 && full == nil; stmt++ {
		samples := make([]NewSample, 50)
		for i := range samples {
			samples[i] = NewSample{Filepath: fmt.Sprintf("/f/%d-%d", stmt, i), Fields: Doc(Field{"blob", String(blob)})}
		}
		if _, err := ds.Add(ctx, samples); err != nil {
			full = err
			break
		}
		committed += 50
	}
	if !errors.Is(full, ErrDiskFull) || !strings.Contains(full.Error(), "nothing was changed") {
		t.Fatalf("after %d samples: %v, want a disk-full error saying nothing was changed", committed, full)
	}
	if committed == 0 {
		t.Fatal("no write fitted at all; the test proves nothing")
	}
	if c, _ := ds.Count(); c != committed {
		t.Fatalf("count %d after the refused write, want %d", c, committed)
	}
	if p := mustCheck(t, d); len(p) != 0 {
		t.Fatalf("CHECK after disk full: %v", p)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("closing on a full disk: %v", err)
	}
	d, err = Open(dir, nil)
	if err != nil {
		t.Fatalf("reopening on a full disk: %v", err)
	}
	defer d.Close()
	ds, err = d.Dataset("ds")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := ds.Count(); c != committed {
		t.Fatalf("count %d after reopening, want %d", c, committed)
	}
}

// smallDisk mounts a tmpfs of the given size for the test, or skips it
// where that is not allowed.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "mnt")
	os.MkdirAll(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs here (needs root): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	return mnt
}

// randomText is n bytes of text that does not compress, as real data
// often does not: Badger compresses its tables.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)[:n]
}

// A statement that spans batches and meets the reserve half-way is undone
// whole.
func TestDiskFullHalfWayUndoesTheStatement(t *testing.T) {
	mnt := smallDisk(t, "150m")
	d, err := Open(filepath.Join(mnt, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds := mustDataset(t, d, "ds")
	addN(t, ds, 10, nil)
	samples := make([]NewSample, 5000) // about 100 MB: more than the disk holds beside the reserve
	for i := range samples {
		samples[i] = NewSample{Filepath: fmt.Sprintf("/g/%d", i), Fields: Doc(Field{"blob", String(randomText(20 << 10))})}
	}
	if _, err := ds.Add(ctx, samples); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a statement larger than the disk: %v", err)
	}
	if c, _ := ds.Count(); c != 10 {
		t.Fatalf("count %d after the refused statement, want 10", c)
	}
	if p := mustCheck(t, d); len(p) != 0 {
		t.Fatalf("CHECK after an undone statement: %v", p)
	}
}
