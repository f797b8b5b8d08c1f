package db

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// storeFixture writes a database whose store holds two tables (two
// sessions that each wrote samples) and returns its directory; the
// MANIFEST as the first session left it is kept beside the store.
func storeFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	for session := range 2 {
		d, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := d.Dataset("w")
		if errors.Is(err, ErrNotFound) {
			ds, err = d.CreateDataset("w")
		}
		if err != nil {
			t.Fatal(err)
		}
		samples := make([]NewSample, 300)
		for i := range samples {
			samples[i] = NewSample{Filepath: fmt.Sprintf("/data/s%d/img%04d.png", session, i)}
		}
		if _, err := ds.Add(ctx, samples); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if session == 0 {
			// kept outside the store for a test that restores it
			b, err := os.ReadFile(filepath.Join(dir, "store", "MANIFEST"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST.session1"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "store", "*.sst"))
	if len(tables) != 2 {
		t.Fatalf("fixture has %d tables, want 2", len(tables))
	}
	return dir
}

// storeSnapshot maps each file of the store to its size and hash.
func storeSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "store", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%d %x", len(b), sha256.Sum256(b))
	}
	return out
}

// tableFooter returns where a table's index starts and ends.
func tableFooter(t *testing.T, path string) (indexStart, indexEnd int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pos := len(b) - 4
	pos -= int(binary.BigEndian.Uint32(b[pos:]))
	pos -= 4
	indexLen := int(binary.BigEndian.Uint32(b[pos:]))
	return pos - indexLen, pos
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5a
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesDamagedStore damages each kind of store file in turn:
// opening must fail with ErrDamaged, name the file, and change nothing.
func TestOpenRefusesDamagedStore(t *testing.T) {
	firstTable := func(dir string) string { return filepath.Join(dir, "store", "000001.sst") }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"MANIFEST truncated to half", func(t *testing.T, dir string) {
			truncateHalf(t, filepath.Join(dir, "store", "MANIFEST"))
		}, "MANIFEST is damaged"},
		{"MANIFEST cut to its header", func(t *testing.T, dir string) {
			os.Truncate(filepath.Join(dir, "store", "MANIFEST"), 8)
		}, "is not named by the MANIFEST"},
		{"MANIFEST removed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "store", "MANIFEST"))
		}, "MANIFEST is missing"},
		{"table truncated to half", func(t *testing.T, dir string) {
			truncateHalf(t, firstTable(dir))
		}, "table 000001.sst is damaged"},
		{"table cut by 3 bytes", func(t *testing.T, dir string) {
			st, _ := os.Stat(firstTable(dir))
			os.Truncate(firstTable(dir), st.Size()-3)
		}, "table 000001.sst is damaged"},
		{"table emptied", func(t *testing.T, dir string) {
			os.Truncate(firstTable(dir), 0)
		}, "table 000001.sst is damaged"},
		{"table index overwritten", func(t *testing.T, dir string) {
			start, end := tableFooter(t, firstTable(dir))
			flipByte(t, firstTable(dir), (start+end)/2)
		}, "table 000001.sst is damaged"},
		{"table last block overwritten", func(t *testing.T, dir string) {
			start, _ := tableFooter(t, firstTable(dir))
			flipByte(t, firstTable(dir), start-12)
		}, "table 000001.sst is damaged"},
		{"table removed", func(t *testing.T, dir string) {
			os.Remove(firstTable(dir))
		}, "table 000001.sst is missing"},
		{"MANIFEST of an earlier session", func(t *testing.T, dir string) {
			// The MANIFEST loses its last record (the second session's
			// table): that table holds the newest versions.
			b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.session1"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "store", "MANIFEST"), b, 0o600)
		}, "table 000002.sst is not named by the MANIFEST"},
		{"KEYREGISTRY truncated", func(t *testing.T, dir string) {
			truncateHalf(t, filepath.Join(dir, "store", "KEYREGISTRY"))
		}, "KEYREGISTRY is damaged"},
		{"DISCARD truncated", func(t *testing.T, dir string) {
			os.Truncate(filepath.Join(dir, "store", "DISCARD"), 1000)
		}, "DISCARD is damaged"},
		{"value log cut inside its header", func(t *testing.T, dir string) {
			logs, _ := filepath.Glob(filepath.Join(dir, "store", "*.vlog"))
			os.Truncate(logs[0], 7)
		}, ".vlog is damaged"},
	}
	fixture := storeFixture(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			if err := os.CopyFS(dir, os.DirFS(fixture)); err != nil {
				t.Fatal(err)
			}
			c.damage(t, dir)
			before := storeSnapshot(t, dir)
			d, err := Open(dir, nil)
			if err == nil {
				d.Close()
				t.Fatal("a damaged store opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want ErrDamaged saying %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "db: open "+dir+": ") {
				t.Fatalf("error %q does not name the database", err)
			}
			if after := storeSnapshot(t, dir); !mapsEqual(before, after) {
				t.Fatalf("opening a damaged store changed it:\nbefore %v\nafter  %v", before, after)
			}
			if problems := CheckStore(dir, &CheckOptions{Thorough: true}); len(problems) == 0 {
				t.Fatal("CheckStore (thorough) found nothing")
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOpenDropsWhatACrashLeaves adds a table as a crash inside a
// compaction leaves one, written but not yet named by the MANIFEST: it
// holds no version newer than the named tables hold. It is not damage:
// the database opens with its samples, and Badger removes the table.
func TestOpenDropsWhatACrashLeaves(t *testing.T) {
	dir := storeFixture(t)
	b, err := os.ReadFile(filepath.Join(dir, "store", "000001.sst"))
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "store", "000009.sst")
	if err := os.WriteFile(leftover, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := CheckStore(dir, nil); len(p) != 0 {
		t.Fatalf("problems %v", p)
	}
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, err := d.Dataset("w")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ds.Count(); err != nil || n != 600 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the leftover table is still there: %v", err)
	}
}

// TestCheckStoreThoroughReadsEveryBlock damages a table's first block,
// which opening does not read: only the thorough check finds it.
func TestCheckStoreThoroughReadsEveryBlock(t *testing.T) {
	dir := storeFixture(t)
	if p := CheckStore(dir, &CheckOptions{Thorough: true}); len(p) != 0 {
		t.Fatalf("a sound store has problems: %v", p)
	}
	table := filepath.Join(dir, "store", "000001.sst")
	start, _ := tableFooter(t, table)
	if start < 8<<10 {
		t.Fatalf("table has %d bytes of blocks, too few for a first block apart from the last", start)
	}
	flipByte(t, table, 40)
	if p := CheckStore(dir, nil); len(p) != 0 {
		t.Fatalf("the quick check read the first block: %v", p)
	}
	p := CheckStore(dir, &CheckOptions{Thorough: true})
	if len(p) != 1 || p[0].File != "store/000001.sst" || !strings.Contains(p[0].Message, "block 0") {
		t.Fatalf("thorough check = %v, want one problem in block 0 of store/000001.sst", p)
	}
}

func TestOpenEmptyPathIsAnError(t *testing.T) {
	t.Chdir(t.TempDir())
	d, err := Open("", nil)
	if err == nil {
		d.Close()
		t.Fatal(`Open("") opened a database`)
	}
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), MemoryPath) {
		t.Fatalf(`Open(""): %v, want ErrInvalid pointing to %s`, err, MemoryPath)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Fatalf(`Open("") created %v`, entries)
	}
	d, err = Open("", &Options{InMemory: true})
	if err != nil {
		t.Fatalf("Options.InMemory with no path: %v", err)
	}
	d.Close()
}

func TestOpenRefusesForeignDirectory(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(home, nil)
	if err == nil {
		d.Close()
		t.Fatal("a directory of other files opened as a database")
	}
	if !errors.Is(err, ErrNotDatabase) {
		t.Fatalf("error %v, want ErrNotDatabase", err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 1 {
		t.Fatalf("refused directory now holds %d entries", len(entries))
	}
	file := filepath.Join(home, "notes.txt")
	if _, err := Open(file, nil); !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("a file as the database: %v, want ErrNotDatabase saying it is not a directory", err)
	}
	empty := t.TempDir()
	d, err = Open(empty, nil)
	if err != nil {
		t.Fatalf("empty directory: %v", err)
	}
	mustDataset(t, d, "w")
	d.Close()
	d, err = Open(empty, nil)
	if err != nil {
		t.Fatalf("reopening a database: %v", err)
	}
	d.Close()
}

// TestReadOnlyOpensDoNotGrowStore opens, reads and closes a database 50
// times: the store keeps its tables, its file count and its size.
func TestReadOnlyOpensDoNotGrowStore(t *testing.T) {
	dir := storeFixture(t)
	cycle := func() {
		d, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := d.Dataset("w")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := ds.Count(); err != nil || n != 600 {
			t.Fatalf("count = %d, %v", n, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cycle() // Badger starts a fresh value log at each open; this one settles the pair it keeps
	files, size, tables := storeUsage(t, dir)
	for range 50 {
		cycle()
	}
	files2, size2, tables2 := storeUsage(t, dir)
	if files2 != files || size2 != size || !slices.Equal(tables, tables2) {
		t.Fatalf("50 read-only opens: %d files, %d bytes, tables %v; before %d files, %d bytes, tables %v",
			files2, size2, tables2, files, size, tables)
	}
}

func storeUsage(t *testing.T, dir string) (files int, size int64, tables []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		files++
		size += info.Size()
		if strings.HasSuffix(e.Name(), ".sst") {
			tables = append(tables, e.Name())
		}
	}
	return files, size, tables
}

// crashFixture copies a database while it is open with samples written
// since the last flush, which is what a crash leaves: the samples are
// only in a write-ahead (.mem) file. It returns the copy and that file.
func crashFixture(t *testing.T) (dir, wal string) {
	t.Helper()
	live := filepath.Join(t.TempDir(), "live")
	d, err := Open(live, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds := mustDataset(t, d, "w")
	for batch := range 3 {
		samples := make([]NewSample, 100)
		for i := range samples {
			samples[i] = NewSample{Filepath: fmt.Sprintf("/data/crash/b%d/img%03d.png", batch, i)}
		}
		if _, err := ds.Add(ctx, samples); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(t.TempDir(), "crashed")
	copySparse(t, live, dir)
	wals, _ := filepath.Glob(filepath.Join(dir, "store", "*.mem"))
	if len(wals) != 1 {
		t.Fatalf("the copy has write-ahead logs %v, want one", wals)
	}
	return dir, wals[0]
}

// copySparse copies the files of a database directory, leaving holes
// where they are zero (the files Badger maps are made at full size).
func copySparse(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := os.Create(dst)
		if err != nil {
			return err
		}
		defer f.Close()
		const chunk = 4096
		for off := 0; off < len(data); off += chunk {
			part := data[off:min(off+chunk, len(data))]
			if slices.ContainsFunc(part, func(b byte) bool { return b != 0 }) {
				if _, err := f.WriteAt(part, int64(off)); err != nil {
					return err
				}
			}
		}
		return f.Truncate(int64(len(data)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lastLogEntry returns where the last entry of a log file starts and ends.
func lastLogEntry(t *testing.T, path string) (start, end int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 20
	for {
		e, ok := logEntryEnd(data, off)
		if !ok || e == 0 {
			return start, off
		}
		start, off = off, e
	}
}

// TestOpenAfterCrashReplaysTheLog opens what a crash leaves, whole and
// with its last entry torn: both open. An entry damaged in the middle of
// the log, with entries after it that Badger's replay would drop, is
// refused naming the file.
func TestOpenAfterCrashReplaysTheLog(t *testing.T) {
	openCount := func(dir string) (int64, error) {
		d, err := Open(dir, nil)
		if err != nil {
			return 0, err
		}
		defer d.Close()
		ds, err := d.Dataset("w")
		if err != nil {
			return 0, err
		}
		return ds.Count()
	}
	t.Run("whole", func(t *testing.T) {
		dir, _ := crashFixture(t)
		if n, err := openCount(dir); err != nil || n != 300 {
			t.Fatalf("count = %d, %v", n, err)
		}
	})
	t.Run("last entry torn", func(t *testing.T) {
		dir, wal := crashFixture(t)
		start, end := lastLogEntry(t, wal)
		b, _ := os.ReadFile(wal)
		clear(b[start+(end-start)/2 : end])
		os.WriteFile(wal, b, 0o644)
		if p := CheckStore(dir, nil); len(p) != 0 {
			t.Fatalf("problems %v", p)
		}
		if n, err := openCount(dir); err != nil || n != 200 {
			t.Fatalf("count = %d, %v; want the first two batches", n, err)
		}
	})
	t.Run("entry damaged in the middle", func(t *testing.T) {
		dir, wal := crashFixture(t)
		b, _ := os.ReadFile(wal)
		b[200] ^= 0x5a
		os.WriteFile(wal, b, 0o644)
		before := storeSnapshot(t, dir)
		_, err := openCount(dir)
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "write-ahead log "+filepath.Base(wal)+" is damaged") {
			t.Fatalf("error %v, want ErrDamaged naming %s", err, filepath.Base(wal))
		}
		if after := storeSnapshot(t, dir); !mapsEqual(before, after) {
			t.Fatal("opening a damaged store changed it")
		}
	})
}

// TestSampleIDsIncreaseAcrossSessions writes in sessions separated by
// read-only ones (which lease no ids): every id is new and later than
// the ones before.
func TestSampleIDsIncreaseAcrossSessions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	var all []ID
	for session := range 4 {
		d, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := d.Dataset("w")
		if errors.Is(err, ErrNotFound) {
			ds, err = d.CreateDataset("w")
		}
		if err != nil {
			t.Fatal(err)
		}
		if session%2 == 0 {
			samples := make([]NewSample, 10)
			for i := range samples {
				samples[i] = NewSample{Filepath: fmt.Sprintf("/data/s%d/%d.png", session, i)}
			}
			ids, err := ds.Add(ctx, samples)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, ids...)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i].String() <= all[i-1].String() {
			t.Fatalf("id %s after %s", all[i], all[i-1])
		}
	}
}
