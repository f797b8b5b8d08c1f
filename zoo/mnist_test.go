package zoo

import (
	"context"
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

// mnistFixture writes MNIST's four files in dir: train with 6 pictures,
// test with 3, picture i of a split with label (3i+1) % 10 and pixels
// i*5 + k.
func mnistFixture(t *testing.T, dir string) {
	t.Helper()
	for _, s := range mnistSplits {
		n := 6
		if s.name == "test" {
			n = 3
		}
		pix := make([]byte, n*28*28)
		labels := make([]byte, n)
		for i := range n {
			labels[i] = byte((3*i + 1) % 10)
			for k := range 28 * 28 {
				pix[i*28*28+k] = byte(i*5 + k)
			}
		}
		writeIDX(t, filepath.Join(dir, s.images), []int{n, 28, 28}, pix)
		writeIDX(t, filepath.Join(dir, s.labels), []int{n}, labels)
	}
}

func TestLoadMNIST(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	mnistFixture(t, src)
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cache := t.TempDir()
	for _, tc := range []struct {
		dataset, split string
		opts           map[string]any
		train, test    int
	}{
		{"mnist", "", map[string]any{"file": src, "verify": false}, 6, 3},
		{"mnist", "", map[string]any{"file": src, "verify": false}, 6, 3}, // again: adds nothing
		{"by_one_file", "test", map[string]any{"file": filepath.Join(src, "t10k-labels-idx1-ubyte.gz"), "verify": false}, 0, 3},
		{"first2", "", map[string]any{"file": src, "verify": false, "n": int64(2)}, 2, 2},
	} {
		ds, err := Load(ctx, store, LoadRequest{Name: MNIST, Split: tc.split, Dataset: tc.dataset, Options: tc.opts, CacheDir: cache})
		if err != nil {
			t.Fatalf("%s: %v", tc.dataset, err)
		}
		counts := map[string]int{}
		for s, err := range ds.Samples(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			counts[s.Tags()[0]]++
			var i int
			if _, err := fmt.Sscanf(filepath.Base(s.Filepath()), "%05d.png", &i); err != nil {
				t.Fatal(err)
			}
			if got, want := s.Get(labelField).AsString(), MNISTLabels[(3*i+1)%10]; got != want {
				t.Errorf("%s: %s: label %q, want %q", tc.dataset, s.Filepath(), got, want)
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
			if g, ok := img.(*image.Gray); !ok || g.Rect.Dx() != 28 || g.Pix[7] != byte(i*5+7) {
				t.Errorf("%s: %s: %T %v, want 28 x 28 gray with pixel 7 = %d", tc.dataset, s.Filepath(), img, img.Bounds(), byte(i*5+7))
			}
		}
		if counts["train"] != tc.train || counts["test"] != tc.test {
			t.Errorf("%s: splits %v, want train %d, test %d", tc.dataset, counts, tc.train, tc.test)
		}
	}
}

func TestMNISTSourceChecks(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	src := t.TempDir()
	mnistFixture(t, src)
	broken := t.TempDir()
	mnistFixture(t, broken)
	writeIDX(t, filepath.Join(broken, "t10k-images-idx3-ubyte.gz"), []int{3, 28, 28}, make([]byte, 100))
	for _, tc := range []struct {
		name  string
		opts  map[string]any
		is    error
		names []string
	}{
		{"no file", nil, ErrNeedsDownload, []string{"t10k-images-idx3-ubyte.gz", "http://yann.lecun.com/exdb/mnist/t10k-images-idx3-ubyte.gz", filepath.Join(xdg, "fosql", "zoo", "mnist")}},
		{"not the official file", map[string]any{"file": src}, ErrNotOfficial, []string{"1648877", "9fb629c4189551a2d022fa330f9573f3", "verify = false"}},
		{"truncated pictures", map[string]any{"file": broken, "verify": false}, ErrCorruptSource, []string{"t10k-images-idx3-ubyte.gz"}},
	} {
		_, err := Load(ctx, store, LoadRequest{Name: MNIST, Split: "test", Dataset: "m", Options: tc.opts})
		if !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
			continue
		}
		for _, s := range tc.names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not name %s", tc.name, err, s)
			}
		}
		if _, err := store.Dataset("m"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%s: the failed load left dataset m (%v)", tc.name, err)
		}
	}
	if got := Splits(MNIST); strings.Join(got, ",") != "train,test" {
		t.Errorf("Splits(mnist) = %v", got)
	}
}
