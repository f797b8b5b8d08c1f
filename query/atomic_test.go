package query

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePNGs writes n small distinct PNG files into dir.
func writePNGs(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 4, 4))
		img.SetGray(i%4, i/4%4, color.Gray{Y: uint8(i)})
		img.SetGray(0, 3, color.Gray{Y: uint8(i / 256)})
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("p%04d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// CREATE DATASET … FROM IMAGES is all or nothing: stopped after a batch
// of images went in, it leaves no dataset (and IF NOT EXISTS into one
// that was there leaves it as it was).
func TestCreateDatasetFromImagesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	writePNGs(t, dir, 300) // more than one ingest batch
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := Open(":memory:", &Options{Progress: func(p Progress) {
		if strings.HasPrefix(p.Op, "ingest") && p.Done > 0 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, "CREATE DATASET s FROM IMAGES ?", dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ingest stopped after its first batch: %v", err)
	}
	if names, _ := d.Store().DatasetNames(); len(names) != 0 {
		t.Fatalf("a stopped CREATE DATASET left %v", names)
	}
	bg := context.Background()
	if _, err := d.Exec(bg, "CREATE DATASET s"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(bg)
	defer cancel()
	if _, err := d.Exec(ctx, "CREATE DATASET IF NOT EXISTS s FROM IMAGES ?", dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ingest into s stopped after its first batch: %v", err)
	}
	r, err := d.Query(bg, "SELECT count(*) FROM s")
	if err != nil || r.Rows[0][0].AsInt() != 0 {
		t.Fatalf("s after a stopped ingest into it: %v %v, want 0 samples", r, err)
	}
}

// A failed LOAD ZOO DATASET leaves no dataset, and an unknown SPLIT is an
// error naming the splits there are.
func TestLoadZooFailureLeavesNoDataset(t *testing.T) {
	t.Setenv("FOSQL_DATASETS", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, "LOAD ZOO DATASET fashion-mnist SPLIT test AS fm WITH (n = 5)"); err == nil {
		t.Fatal("LOAD ZOO DATASET fashion-mnist with no files: no error")
	}
	r, err := d.Query(ctx, "SHOW DATASETS")
	if err != nil || len(r.Rows) != 0 {
		t.Fatalf("SHOW DATASETS after a failed load: %v %v", r, err)
	}
	if _, err := d.Exec(ctx, "CREATE DATASET fm"); err != nil {
		t.Fatalf("CREATE DATASET fm after a failed load: %v", err)
	}
	_, err = d.Exec(ctx, "LOAD ZOO DATASET synthetic SPLIT nonsense WITH (n = 3)")
	if err == nil || !strings.Contains(err.Error(), `"nonsense"`) || !strings.Contains(err.Error(), "test") {
		t.Fatalf("SPLIT nonsense: %v", err)
	}
}
