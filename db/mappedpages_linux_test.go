package db

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// residentUnder sums the resident bytes (smaps "Rss:") of this process's
// mappings of files under dir.
func residentUnder(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, rest, ok := strings.Cut(line, " "); ok && strings.Contains(name, "-") && !strings.HasSuffix(name, ":") {
			in = strings.Contains(rest, dir+"/")
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// vectorStore writes n samples with a dim-float vector each into a new
// on-disk database, and reopens it so that they are read from its tables
// (none of which has been read yet); it returns the samples' ids too.
func vectorStore(t *testing.T, n, dim int) (*DB, *Dataset, string, []ID) {
	t.Helper()
	dir := t.TempDir()
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := d.CreateDataset("v")
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, dim)
	var batch []NewSample
	var ids []ID
	for i := 0; i < n; i++ {
		for j := range row {
			row[j] = float64(i*dim + j)
		}
		batch = append(batch, NewSample{Filepath: fmt.Sprintf("/v/%05d.png", i), Fields: Doc(Field{Name: "emb", Value: Floats(row)})})
		if len(batch) == 500 || i == n-1 {
			got, err := ds.Add(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got...)
			batch = batch[:0]
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if ds, err = d.Dataset("v"); err != nil {
		t.Fatal(err)
	}
	store, err := filepath.EvalSymlinks(filepath.Join(dir, storeDirName))
	if err != nil {
		t.Fatal(err)
	}
	return d, ds, store, ids
}

// sumVectors reads every vector of field emb and checks each against the
// values vectorStore wrote; it returns how many it read.
func sumVectors(t *testing.T, ds *Dataset, dim int) int {
	t.Helper()
	n := 0
	err := ds.ScanVectors(context.Background(), "emb", func(_ ID, _ Record, vec []float32, err error) error {
		if err != nil {
			return err
		}
		if len(vec) != dim || vec[0] != float32(n*dim) || vec[dim-1] != float32(n*dim+dim-1) {
			return fmt.Errorf("vector %d reads %v…%v", n, vec[0], vec[len(vec)-1])
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// readRaw reads every value of the store through Badger alone, as any
// read does, leaving the pages it touched resident; it returns the bytes
// of values read.
func readRaw(t *testing.T, d *DB) int64 {
	t.Helper()
	var total int64
	err := d.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := it.Item().Value(func(b []byte) error { total += int64(len(b)); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func TestReleaseStorePagesKeepsTheData(t *testing.T) {
	const n, dim = 3000, 256 // 3 MB of float32 vectors
	d, ds, store, _ := vectorStore(t, n, dim)
	read := readRaw(t, d)
	before := residentUnder(t, store)
	if before < read/2 {
		t.Fatalf("after reading %d bytes through Badger only %d bytes of its mapped files are resident", read, before)
	}
	released, err := d.releaseStorePages()
	if errors.Is(err, errPageoutUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if released < before {
		t.Errorf("advised %d bytes of mappings, fewer than the %d resident", released, before)
	}
	if after := residentUnder(t, store); after > before/4 {
		t.Errorf("%d bytes of the store's mapped files still resident after releasing (%d before)", after, before)
	}
	if got := sumVectors(t, ds, dim); got != n {
		t.Fatalf("after releasing, read %d vectors, want %d", got, n)
	}
	if got := readRaw(t, d); got != read {
		t.Errorf("after releasing, Badger reads %d bytes of values, %d before", got, read)
	}
}

func TestScanVectorsReleasesWhatItRead(t *testing.T) {
	const n, dim = 3000, 256
	d, ds, store, _ := vectorStore(t, n, dim)
	if _, err := d.releaseStorePages(); errors.Is(err, errPageoutUnsupported) {
		t.Skip(err)
	}
	if got := sumVectors(t, ds, dim); got != n {
		t.Fatalf("read %d vectors, want %d", got, n)
	}
	if after := residentUnder(t, store); after > int64(n*dim*4)/4 {
		t.Errorf("a scan of %d bytes of vectors left %d bytes of the store's mapped files resident", n*dim*4, after)
	}
}

func TestSharedMappingUnder(t *testing.T) {
	const prefix = "/data/db/store/"
	cases := []struct {
		line   string
		lo, hi uintptr
		ok     bool
	}{
		{"7f1c2a000000-7f1c2a800000 rw-s 00000000 fd:01 1234                       /data/db/store/000001.sst", 0x7f1c2a000000, 0x7f1c2a800000, true},
		{"7f1c2a000000-7f1c2a800000 r--s 00000000 fd:01 1234 /data/db/store/00002.vlog (deleted)", 0x7f1c2a000000, 0x7f1c2a800000, true},
		{"7f1c2a000000-7f1c2a800000 rw-p 00000000 fd:01 1234 /data/db/store/000001.sst", 0, 0, false}, // private
		{"7f1c2a000000-7f1c2a800000 rw-s 00000000 fd:01 1234 /data/db/other/000001.sst", 0, 0, false},
		{"7f1c2a000000-7f1c2a800000 rw-s 00000000 fd:01 1234 /data/db/store2/000001.sst", 0, 0, false},
		{"c000000000-c004000000 rw-p 00000000 00:00 0 ", 0, 0, false}, // anonymous
		{"garbage", 0, 0, false},
		{"zz-7f1c2a800000 rw-s 00000000 fd:01 1234 /data/db/store/000001.sst", 0, 0, false},
	}
	for _, c := range cases {
		lo, hi, ok := sharedMappingUnder(c.line, prefix)
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("sharedMappingUnder(%q) = %#x, %#x, %v; want %#x, %#x, %v", c.line, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

func TestInsightCommitReleasesWhatItRead(t *testing.T) {
	const n, dim = 3000, 256
	d, ds, store, ids := vectorStore(t, n, dim)
	if _, err := d.releaseStorePages(); errors.Is(err, errPageoutUnsupported) {
		t.Skip(err)
	}
	ctx := context.Background()
	st, err := ds.StageInsights("u")
	if err != nil {
		t.Fatal(err)
	}
	var rows []InsightRow
	for i := 0; i < len(ids); i += 2 { // every other sample: the commit fills in the rest
		rows = append(rows, InsightRow{ID: ids[i], Values: Doc(Field{Name: "scalar", Value: Float(float64(i))})})
	}
	if err := st.Put(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := d.releaseStorePages(); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := residentUnder(t, store); after > int64(n*dim*4)/4 {
		t.Errorf("publishing insights over %d samples (%d bytes of vectors) left %d bytes of the store's mapped files resident", n, n*dim*4, after)
	}
	s, err := ds.Get(ids[10])
	if err != nil {
		t.Fatal(err)
	}
	if v := s.Get("insights.u.scalar"); v.AsFloat() != 10 {
		t.Errorf("insights.u.scalar of the 11th sample = %v after the commit, want 10", v)
	}
}
