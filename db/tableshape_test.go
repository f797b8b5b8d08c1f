package db

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// TestTableIndexIsSmall: the tables a store writes have blocks of about
// tableBlockSize and a bloom filter of about 5 bits per key (a 10% false
// positive rate), so the index that every open checksums and pages in
// stays about half the size of Badger's defaults; the store still reads
// back every sample.
func TestTableIndexIsSmall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	ids := addN(t, mustDataset(t, d, "shape"), n, func(i int) Value {
		return Doc(Field{Name: "score", Value: Float(float64(i) / n)})
	})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	files, err := filepath.Glob(filepath.Join(dir, storeDirName, "*.sst"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no table written: %v", err)
	}
	var keys, blocks, bloom int
	var raw int64
	for _, f := range files {
		mf, err := z.OpenMmapFile(f, os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := table.OpenTable(mf, table.Options{ChkMode: options.NoVerification, Compression: options.Snappy, BlockSize: tableBlockSize})
		if err != nil {
			t.Fatal(err)
		}
		keys += int(tb.KeyCount())
		blocks += len(tb.KeySplits(1<<30, nil))
		bloom += tb.BloomFilterSize()
		raw += int64(tb.UncompressedSize())
		tb.DecrRef()
	}
	if keys < n {
		t.Fatalf("%d keys in %d tables for %d samples", keys, len(files), n)
	}
	if perBlock := raw / int64(blocks); perBlock < tableBlockSize*3/4 {
		t.Errorf("%d bytes per block (%d blocks, %d bytes): written with blocks smaller than %d", perBlock, blocks, raw, tableBlockSize)
	}
	if bits := float64(bloom*8) / float64(keys); bits > 6 {
		t.Errorf("bloom filters of %.1f bits per key, want about 5 (a 10%% false positive rate)", bits)
	}

	r, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ds, err := r.Dataset("shape")
	for i := 0; err == nil && i < n; i++ {
		var s *Sample
		if s, err = ds.Get(ids[i]); err == nil && s.ID != ids[i] {
			t.Fatalf("Get(%s) gave sample %s", ids[i], s.ID)
		}
	}
	if err != nil {
		t.Fatalf("reading the samples back: %v", err)
	}
}
