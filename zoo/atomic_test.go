package zoo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fosql/fosql/db"
)

// A load that fails leaves no dataset behind, whatever step fails: the
// name is free for CREATE DATASET afterwards.
func TestFailedLoadLeavesNoDataset(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := fashionFixture(t)
	cache := t.TempDir()
	// A converted split whose cached picture is damaged fails at ingest,
	// after the other pictures went in.
	if _, err := Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: "test", Dataset: "first", CacheDir: cache, SourceDir: src}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, FashionMNIST, "test", idxImageName(2)), []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]LoadRequest{
		"not installed":   {Name: FashionMNIST, Split: "test", Options: map[string]any{"n": int64(5)}, CacheDir: t.TempDir(), SourceDir: t.TempDir()},
		"unknown split":   {Name: "synthetic", Split: "nonsense", Options: map[string]any{"n": int64(3)}, CacheDir: t.TempDir()},
		"bad option":      {Name: FashionMNIST, Options: map[string]any{"m": int64(5)}, CacheDir: t.TempDir(), SourceDir: src},
		"fails at ingest": {Name: FashionMNIST, Split: "test", CacheDir: cache, SourceDir: src},
	} {
		req.Dataset = "fm"
		if _, err := Load(ctx, store, req); err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if _, err := store.Dataset("fm"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%s: a failed load left dataset fm (%v)", name, err)
			continue
		}
		if _, err := store.CreateDataset("fm"); err != nil {
			t.Errorf("%s: CREATE DATASET fm after the failed load: %v", name, err)
		}
		if err := store.DeleteDataset("fm"); err != nil {
			t.Fatal(err)
		}
	}
	// Into a dataset that was there, a failed load takes back what it
	// added and leaves the dataset.
	other, err := store.CreateDataset("other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: "test", Dataset: "other", CacheDir: cache, SourceDir: src}); err == nil {
		t.Fatal("loading a damaged split into other: no error")
	}
	if n, err := other.Count(); err != nil || n != 0 {
		t.Errorf("dataset other holds %d samples after a failed load into it, want 0 (%v)", n, err)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: "train", Dataset: "other", CacheDir: t.TempDir(), SourceDir: src}); err != nil {
		t.Fatal(err)
	}
	if n, _ := other.Count(); n != 7 {
		t.Errorf("after loading train into other: %d samples, want 7", n)
	}
}

// A split the dataset does not have is an error that names its splits,
// found before anything is made or stored.
func TestUnknownSplit(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cache := t.TempDir()
	for _, tc := range []struct {
		req   LoadRequest
		names string
	}{
		{LoadRequest{Name: "synthetic", Split: "nonsense", Options: map[string]any{"n": int64(3)}, CacheDir: cache}, "one split, test"},
		{LoadRequest{Name: "synthetic", Split: "train", Options: map[string]any{"n": int64(3)}, CacheDir: cache}, "one split, test"},
		{LoadRequest{Name: FashionMNIST, Split: "nonsense", CacheDir: cache, SourceDir: t.TempDir()}, "train, test"},
	} {
		_, err := Load(ctx, store, tc.req)
		if !errors.Is(err, ErrUnknownSplit) || !strings.Contains(err.Error(), tc.names) || !strings.Contains(err.Error(), tc.req.Split) {
			t.Errorf("%s SPLIT %s: %v", tc.req.Name, tc.req.Split, err)
		}
	}
	if names, _ := store.DatasetNames(); len(names) != 0 {
		t.Errorf("datasets after loads with unknown splits: %v", names)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("a load with an unknown split made files: %v", entries)
	}
	if got := Splits(FashionMNIST); strings.Join(got, ",") != "train,test" {
		t.Errorf("Splits(%s) = %v", FashionMNIST, got)
	}
}

// The zoo's sources are user-named files: a FIFO where a packaged file
// should be is refused at once, not waited on.
func TestSourceFIFORefused(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := fashionFixture(t)
	labels := filepath.Join(src, FashionMNIST, "t10k-labels-idx1-ubyte.gz")
	if err := os.Remove(labels); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(labels, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	_, err = Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: "test", CacheDir: t.TempDir(), SourceDir: src})
	if !errors.Is(err, db.ErrNotRegular) || !strings.Contains(err.Error(), labels) {
		t.Errorf("a FIFO as the labels file: %v", err)
	}
}

// An IDX header that declares more data than any real file holds is
// refused before memory is taken for it.
func TestIDXDeclaredSizeBounded(t *testing.T) {
	src := t.TempDir()
	path := filepath.Join(src, "big.gz")
	writeIDX(t, path, []int{60000, 1000, 1000}, make([]byte, 100))
	if _, err := readIDX(path, 3); !errors.Is(err, ErrCorruptSource) {
		t.Errorf("60000 x 1000 x 1000 declared: %v", err)
	}
}
