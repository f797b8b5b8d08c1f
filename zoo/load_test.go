package zoo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fosql/fosql/db"
)

func TestLoadSynthetic(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cache := t.TempDir()
	req := LoadRequest{Name: "synthetic", Split: "test", Options: map[string]any{"n": int64(60)}, CacheDir: cache}
	ds, err := Load(ctx, store, req)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ds.Count(); n != 60 || ds.Name() != "synthetic" {
		t.Fatalf("count %d name %s", n, ds.Name())
	}
	set, err := LoadSyntheticSet(filepath.Join(cache, "synthetic-n60-seed1"))
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if s.Tags()[0] != "test" {
			t.Fatalf("tags %v", s.Tags())
		}
		kind := s.Get("truth.kind").AsString()
		if kind == "" {
			t.Fatalf("no truth.kind on %s", s.Filepath())
		}
		if kind != KindOriginal {
			copies++
			orig, err := db.ParseID(s.Get("truth.original_id").AsString())
			if err != nil {
				t.Fatalf("copy without original id: %v", s.Doc())
			}
			o, err := ds.Get(orig)
			if err != nil || o.Get("truth.kind").AsString() != KindOriginal {
				t.Fatalf("original of %s: %v", s.Filepath(), err)
			}
		}
	}
	if copies != len(set.Copies()) {
		t.Fatalf("%d copies marked, truth has %d", copies, len(set.Copies()))
	}
	// Loading again adds nothing.
	if _, err := Load(ctx, store, req); err != nil {
		t.Fatal(err)
	}
	if n, _ := ds.Count(); n != 60 {
		t.Fatalf("second load: count %d", n)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: "coco-2017"}); !errors.Is(err, ErrNeedsDownload) {
		t.Fatalf("coco-2017: %v", err)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: "cifar10", CacheDir: t.TempDir()}); !errors.Is(err, ErrNeedsDownload) {
		t.Fatalf("cifar10 with an empty cache: %v", err)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: "nope"}); !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := Load(ctx, store, LoadRequest{Name: "synthetic", Options: map[string]any{"colour": "red"}, CacheDir: cache}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("bad option: %v", err)
	}
}
