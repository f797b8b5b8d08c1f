package zoo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// writeIDX writes a gzipped IDX file of unsigned bytes.
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var raw bytes.Buffer
	raw.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&raw, binary.BigEndian, uint32(d))
	}
	raw.Write(data)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fashionFixture writes a small Fashion-MNIST in Debian's layout: train
// with 7 pictures, test with 4, each picture's pixels (i*7 + label) and
// its label i % 10.
func fashionFixture(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	for _, s := range fashionSplits {
		n := 7
		if s.name == "test" {
			n = 4
		}
		pix := make([]byte, n*28*28)
		labels := make([]byte, n)
		for i := range n {
			labels[i] = byte((i + len(s.name)) % 10)
			for k := range 28 * 28 {
				pix[i*28*28+k] = byte(i*7+int(labels[i])) + byte(k)
			}
		}
		writeIDX(t, filepath.Join(src, FashionMNIST, s.images), []int{n, 28, 28}, pix)
		writeIDX(t, filepath.Join(src, FashionMNIST, s.labels), []int{n}, labels)
	}
	return src
}

func TestLoadFashionMNIST(t *testing.T) {
	ctx := context.Background()
	src := fashionFixture(t)
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	req := LoadRequest{Name: FashionMNIST, CacheDir: t.TempDir(), SourceDir: src}
	ds, err := Load(ctx, store, req)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ds.Count(); n != 11 || ds.Name() != "fashion_mnist" {
		t.Fatalf("count %d name %s", n, ds.Name())
	}
	if counts, _ := ds.TagCounts(ctx); counts["train"] != 7 || counts["test"] != 4 {
		t.Fatalf("tags %v", counts)
	}
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		split := s.Tags()[0]
		var i int
		if _, err := fmt.Sscanf(filepath.Base(s.Filepath()), "%05d.png", &i); err != nil {
			t.Fatal(err)
		}
		label := (i + len(split)) % 10
		if got := s.Get("ground_truth.label").AsString(); got != FashionMNISTLabels[label] {
			t.Fatalf("%s: label %q, want %q", s.Filepath(), got, FashionMNISTLabels[label])
		}
		f, err := os.Open(s.Filepath())
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Rect.Dx() != 28 || g.Rect.Dy() != 28 || g.Pix[5] != byte(i*7+label)+5 {
			t.Fatalf("%s: %T %v, first pixels % x", s.Filepath(), img, img.Bounds(), g.Pix[:6])
		}
	}
	// Loading again adds nothing; one split, the first n, into another
	// dataset.
	if _, err := Load(ctx, store, req); err != nil {
		t.Fatal(err)
	}
	if n, _ := ds.Count(); n != 11 {
		t.Fatalf("second load: count %d", n)
	}
	part, err := Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: "test", Dataset: "fm_test", Options: map[string]any{"n": int64(3)},
		CacheDir: req.CacheDir, SourceDir: src})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := part.Count(); n != 3 {
		t.Fatalf("test split, n = 3: count %d", n)
	}
}

func TestLoadFashionMNISTErrors(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	load := func(src string, split string, opts map[string]any) error {
		_, err := Load(ctx, store, LoadRequest{Name: FashionMNIST, Split: split, Options: opts, CacheDir: t.TempDir(), SourceDir: src})
		return err
	}
	if err := load(t.TempDir(), "", nil); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("no package: %v", err)
	}
	src := fashionFixture(t)
	if err := load(src, "valid", nil); !errors.Is(err, ErrUnknownSplit) || !strings.Contains(err.Error(), "train, test") {
		t.Errorf("unknown split: %v", err)
	}
	if err := load(src, "", map[string]any{"n": "lots"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("bad n: %v", err)
	}
	// A truncated images file and a label out of range are refused.
	writeIDX(t, filepath.Join(src, FashionMNIST, "t10k-images-idx3-ubyte.gz"), []int{4, 28, 28}, make([]byte, 100))
	if err := load(src, "test", nil); !errors.Is(err, ErrCorruptSource) {
		t.Errorf("truncated images: %v", err)
	}
	writeIDX(t, filepath.Join(src, FashionMNIST, "train-labels-idx1-ubyte.gz"), []int{2}, []byte{3, 12})
	if err := load(src, "train", nil); !errors.Is(err, ErrCorruptSource) {
		t.Errorf("label 12: %v", err)
	}
	os.WriteFile(filepath.Join(src, FashionMNIST, "train-labels-idx1-ubyte.gz"), []byte("not gzip"), 0o644)
	if err := load(src, "train", nil); !errors.Is(err, ErrCorruptSource) {
		t.Errorf("not gzip: %v", err)
	}
}

// TestFashionMNISTFiles lists a split's converted pictures with their
// classes, without a dataset.
func TestFashionMNISTFiles(t *testing.T) {
	src := fashionFixture(t)
	cases := []struct {
		name  string
		split string
		n     int
		want  int
		err   error
	}{
		{"whole test split", "test", 0, 4, nil},
		{"first 3 of train", "train", 3, 3, nil},
		{"more than there are", "test", 9, 4, nil},
		{"no split", "", 0, 0, nil},
		{"unknown split", "valid", 0, 0, ErrUnknownSplit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := LoadRequest{Split: tc.split, SourceDir: src, CacheDir: t.TempDir()}
			paths, labels, err := FashionMNISTFiles(context.Background(), req, tc.n)
			if tc.split == "" || tc.err != nil {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != tc.want || len(labels) != tc.want {
				t.Fatalf("%d paths, %d labels; want %d", len(paths), len(labels), tc.want)
			}
			for i, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				label := (i + len(tc.split)) % 10
				if labels[i] != FashionMNISTLabels[label] || img.(*image.Gray).Pix[0] != byte(i*7+label) {
					t.Errorf("picture %d: %s, first pixel %d; want %s, %d", i, labels[i], img.(*image.Gray).Pix[0], FashionMNISTLabels[label], i*7+label)
				}
			}
		})
	}
	_, _, err := FashionMNISTFiles(context.Background(), LoadRequest{Split: "test", SourceDir: t.TempDir(), CacheDir: t.TempDir()}, 0)
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("missing package: %v, want ErrNotInstalled", err)
	}
}
