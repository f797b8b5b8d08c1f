package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// scanfxTree builds a folder with good images of every format, bad files of
// every kind, a nested subfolder and symbolic links, and returns its root.
// The layout is listed in TestScanImages.
func scanfxTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "data")
	outside := filepath.Join(base, "outside")

	w := func(name string, data []byte) { scanfxWrite(t, root, name, data) }
	link := func(target, name string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	pngRGB := scanfxEncode(t, "png", scanfxRGBA(8, 6, 1))
	jpegRGB := scanfxEncode(t, "jpeg", scanfxRGBA(16, 8, 2))

	w("a.png", pngRGB)
	w("b.jpg", jpegRGB)
	w("c.gif", scanfxEncode(t, "gif", scanfxRGBA(9, 4, 3)))
	w("d.bmp", scanfxEncode(t, "bmp", scanfxRGBA(5, 3, 4)))
	w("e.tiff", scanfxEncode(t, "tiff", scanfxGray(10, 4)))
	w("f.webp", scanfxWebPBytes(t, "lossy"))
	w("sub/g.png", scanfxEncode(t, "png", scanfxGray(7, 2)))
	w("sub/deeper/h.jpg", scanfxEncode(t, "jpeg", scanfxGray(9, 9)))
	w("zdir/k.png", scanfxEncode(t, "png", scanfxRGBA(3, 3, 9)))
	scanfxWrite(t, outside, "j.png", scanfxEncode(t, "png", scanfxRGBA(4, 2, 5)))

	w("bomb.png", scanfxRawPNG(100000, 100000, 2, nil, true))
	w("empty.jpg", nil)
	w("fake.png", []byte("I am text, not a picture.\n"))
	w("notes", []byte("shot on a rainy day\n"))
	w("trunc.png", scanfxCut(pngRGB, len(pngRGB)-12))
	w("trunc.jpg", scanfxCut(jpegRGB, len(jpegRGB)/2))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Ignored silently: hidden names and non-image extensions.
	w(".hidden.png", pngRGB)
	w(".git/x.png", pngRGB)
	w(".cache/pics/p.png", scanfxEncode(t, "png", scanfxRGBA(6, 1, 2)))
	w("README.txt", []byte("my dataset\n"))
	w("labels.json", []byte(`{"a.png": "cat"}`))
	w("LICENSE", []byte("CC-BY\n"))

	link(filepath.Join(root, "missing.png"), "dangling.png")
	link("selfloop.png", "selfloop.png")
	link("sub/g.png", "link.png")
	link("..", "sub/loop")        // an ancestor
	link("../zdir", "sub/alias")  // inside the tree, reached later by its own path
	link(outside, "ext")          // outside the tree: followed
	link(outside, "ext2")         // the same directory again
	link(".cache/pics", "cached") // inside the tree, but hidden from the walk: followed
	if err := os.Symlink(".", filepath.Join(outside, "back")); err != nil {
		t.Fatal(err)
	}
	return root
}

// scanEvent is one callback call, recorded for comparison.
type scanEvent struct {
	path   string
	reason string // "" for a found image
}

// scanCollect runs ScanImages and records what it delivers.
func scanCollect(t *testing.T, root string, opts ScanOptions) (found []FoundImage, skipped []SkippedFile, events []scanEvent, batches []int) {
	t.Helper()
	err := ScanImages(context.Background(), root, opts, func(b []FoundImage) error {
		batches = append(batches, len(b))
		found = append(found, b...)
		for _, f := range b {
			events = append(events, scanEvent{f.Path, ""})
		}
		return nil
	}, func(s SkippedFile) {
		skipped = append(skipped, s)
		events = append(events, scanEvent{s.Path, s.Reason})
	})
	if err != nil {
		t.Fatalf("ScanImages: %v", err)
	}
	return found, skipped, events, batches
}

func TestScanImages(t *testing.T) {
	root := scanfxTree(t)
	p := func(rel string) string { return filepath.Join(root, rel) }

	type foundWant struct {
		rel           string
		mime          string
		width, height int
		channels      int
	}
	images := map[string]foundWant{}
	for _, f := range []foundWant{
		{"a.png", "image/png", 8, 6, 3},
		{"b.jpg", "image/jpeg", 16, 8, 3},
		{"c.gif", "image/gif", 9, 4, 3},
		{"cached/p.png", "image/png", 6, 1, 3},
		{"d.bmp", "image/bmp", 5, 3, 3},
		{"e.tiff", "image/tiff", 10, 4, 1},
		{"ext/j.png", "image/png", 4, 2, 3},
		{"f.webp", "image/webp", 5, 4, 3},
		{"link.png", "image/png", 7, 2, 1},
		{"sub/deeper/h.jpg", "image/jpeg", 9, 9, 1},
		{"sub/g.png", "image/png", 7, 2, 1},
		{"zdir/k.png", "image/png", 3, 3, 3},
	} {
		images[f.rel] = f
	}
	reasons := map[string]error{
		ReasonEmpty: ErrEmptyFile, ReasonTruncated: ErrTruncated, ReasonNotImage: ErrNotImage,
		ReasonTooLarge: ErrImageTooLarge, ReasonSymlinkLoop: ErrSymlinkLoop,
	}

	tests := []struct {
		name      string
		recursive bool
		events    []scanEvent // in delivery order with BatchSize 1
	}{
		{"recursive", true, []scanEvent{
			{p("a.png"), ""},
			{p("b.jpg"), ""},
			{p("bomb.png"), "too large"},
			{p("c.gif"), ""},
			{p("cached/p.png"), ""},
			{p("d.bmp"), ""},
			{p("dangling.png"), "unreadable"},
			{p("e.tiff"), ""},
			{p("empty.jpg"), "empty"},
			{p("ext/back"), "symlink loop"},
			{p("ext/j.png"), ""},
			{p("ext2"), "symlink loop"},
			{p("f.webp"), ""},
			{p("fake.png"), "not an image"},
			{p("fifo"), "unreadable"},
			{p("link.png"), ""},
			{p("notes"), "not an image"},
			{p("selfloop.png"), "symlink loop"},
			{p("sub/alias"), "symlink loop"},
			{p("sub/deeper/h.jpg"), ""},
			{p("sub/g.png"), ""},
			{p("sub/loop"), "symlink loop"},
			{p("trunc.jpg"), "truncated"},
			{p("trunc.png"), "truncated"},
			{p("zdir/k.png"), ""},
		}},
		{"top level only", false, []scanEvent{
			{p("a.png"), ""},
			{p("b.jpg"), ""},
			{p("bomb.png"), "too large"},
			{p("c.gif"), ""},
			{p("d.bmp"), ""},
			{p("dangling.png"), "unreadable"},
			{p("e.tiff"), ""},
			{p("empty.jpg"), "empty"},
			{p("f.webp"), ""},
			{p("fake.png"), "not an image"},
			{p("fifo"), "unreadable"},
			{p("link.png"), ""},
			{p("notes"), "not an image"},
			{p("selfloop.png"), "symlink loop"},
			{p("trunc.jpg"), "truncated"},
			{p("trunc.png"), "truncated"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One image per batch: the callbacks' interleaving is then the
			// walk order itself.
			found, skipped, events, _ := scanCollect(t, root, ScanOptions{Recursive: tc.recursive, BatchSize: 1, Workers: 4})
			if !reflect.DeepEqual(events, tc.events) {
				t.Fatalf("events:\n%s\nwant:\n%s", scanfxFormat(events), scanfxFormat(tc.events))
			}
			paths := make([]string, len(found))
			for i, f := range found {
				paths[i] = f.Path
				rel, _ := filepath.Rel(root, f.Path)
				want := images[rel]
				data, err := os.ReadFile(f.Path)
				if err != nil {
					t.Fatal(err)
				}
				wantMD := ImageMetadata{
					SizeBytes: int64(len(data)), MimeType: want.mime, Width: want.width, Height: want.height,
					NumChannels: want.channels, SHA256: scanfxSHA(data),
				}
				if f.Metadata != wantMD {
					t.Errorf("%s: metadata %+v, want %+v", rel, f.Metadata, wantMD)
				}
			}
			if !sort.StringsAreSorted(paths) {
				t.Errorf("found paths not in lexical order: %q", paths)
			}
			for _, s := range skipped {
				if want, ok := reasons[s.Reason]; ok && !errors.Is(s.Err, want) {
					t.Errorf("%s: reason %q but error %v", s.Path, s.Reason, s.Err)
				}
				if s.Err == nil || !strings.Contains(s.Err.Error(), s.Path) {
					t.Errorf("%s: error %v does not name the path", s.Path, s.Err)
				}
			}
		})
	}
}

func scanfxFormat(events []scanEvent) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "  %s %q\n", e.path, e.reason)
	}
	return b.String()
}

// Delivery order and batching do not depend on the number of workers.
func TestScanImagesOrderAndBatches(t *testing.T) {
	root := t.TempDir()
	// Names chosen so that per-directory name order and full-path order
	// differ ("a.png" < "a/x.png" although "a" < "a.png").
	names := []string{
		"a.png", "a/x.png", "a/y/z.png", "a-b.png", "a0.png", "ab/c.png", "B.png", "b.png",
		"a/x/deep.png", "a/x.png.d/q.png", "z.png", "zz/zz/zz.png",
	}
	for i := range 30 {
		names = append(names, fmt.Sprintf("many/img%03d.png", i))
	}
	for i, n := range names {
		scanfxWrite(t, root, n, scanfxEncode(t, "png", scanfxRGBA(2+i%3, 2, i)))
	}
	want := make([]string, len(names))
	for i, n := range names {
		want[i] = filepath.Join(root, n)
	}
	sort.Strings(want)

	for _, workers := range []int{1, 3, 8} {
		for _, batch := range []int{1, 7, 0} {
			t.Run(fmt.Sprintf("workers=%d,batch=%d", workers, batch), func(t *testing.T) {
				found, skipped, _, batches := scanCollect(t, root, ScanOptions{Recursive: true, Workers: workers, BatchSize: batch})
				if len(skipped) != 0 {
					t.Errorf("skipped %+v", skipped)
				}
				got := make([]string, len(found))
				for i, f := range found {
					got[i] = f.Path
				}
				if !slices.Equal(got, want) {
					t.Fatalf("paths\n%q\nwant\n%q", got, want)
				}
				size := batch
				if size == 0 {
					size = DefaultScanBatchSize
				}
				for i, n := range batches {
					if n > size || (i < len(batches)-1 && n != size) || n == 0 {
						t.Fatalf("batch sizes %v with BatchSize %d", batches, size)
					}
				}
			})
		}
	}
}

func TestScanImagesRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "imgs")
	scanfxWrite(t, root, "one.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))
	file := scanfxWrite(t, base, "file.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))
	rootLink := filepath.Join(base, "via-link")
	if err := os.Symlink(root, rootLink); err != nil {
		t.Fatal(err)
	}

	t.Run("does not exist", func(t *testing.T) {
		err := ScanImages(context.Background(), filepath.Join(base, "nope"), ScanOptions{}, nil, nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		err := ScanImages(context.Background(), file, ScanOptions{}, nil, nil)
		if !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("error %v, want not a directory", err)
		}
	})
	t.Run("symbolic link to the root keeps its name", func(t *testing.T) {
		found, _, _, _ := scanCollect(t, rootLink, ScanOptions{Recursive: true})
		if len(found) != 1 || found[0].Path != filepath.Join(rootLink, "one.png") {
			t.Fatalf("found %+v", found)
		}
	})
	t.Run("relative root gives absolute clean paths", func(t *testing.T) {
		t.Chdir(base)
		found, _, _, _ := scanCollect(t, "./imgs/../imgs/", ScanOptions{})
		if len(found) != 1 || found[0].Path != filepath.Join(root, "one.png") {
			t.Fatalf("found %+v", found)
		}
	})
	t.Run("unreadable subdirectory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: directory permissions do not apply")
		}
		locked := filepath.Join(root, "locked")
		scanfxWrite(t, locked, "x.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
		_, skipped, _, _ := scanCollect(t, root, ScanOptions{Recursive: true})
		if len(skipped) != 1 || skipped[0].Path != locked || skipped[0].Reason != ReasonUnreadable || !errors.Is(skipped[0].Err, fs.ErrPermission) {
			t.Fatalf("skipped %+v", skipped)
		}
	})
}

func TestScanImagesMaxPixels(t *testing.T) {
	root := t.TempDir()
	scanfxWrite(t, root, "small.png", scanfxEncode(t, "png", scanfxRGBA(3, 3, 0)))
	scanfxWrite(t, root, "big.png", scanfxEncode(t, "png", scanfxRGBA(4, 3, 0)))
	found, skipped, _, _ := scanCollect(t, root, ScanOptions{MaxPixels: 9})
	if len(found) != 1 || filepath.Base(found[0].Path) != "small.png" {
		t.Errorf("found %+v", found)
	}
	if len(skipped) != 1 || filepath.Base(skipped[0].Path) != "big.png" || skipped[0].Reason != ReasonTooLarge {
		t.Errorf("skipped %+v", skipped)
	}
}

func TestScanImagesStops(t *testing.T) {
	root := t.TempDir()
	for i := range 20 {
		scanfxWrite(t, root, fmt.Sprintf("%02d.png", i), scanfxEncode(t, "png", scanfxRGBA(2, 2, i)))
	}
	scanfxWrite(t, root, "zz-bad.png", []byte("text"))
	opts := ScanOptions{BatchSize: 3, Workers: 2}

	t.Run("error from found", func(t *testing.T) {
		errStop := errors.New("store is full")
		calls := 0
		err := ScanImages(context.Background(), root, opts, func([]FoundImage) error {
			calls++
			return errStop
		}, func(SkippedFile) { t.Error("skipped called after stop") })
		if err != errStop {
			t.Fatalf("error %v, want %v unchanged", err, errStop)
		}
		if calls != 1 {
			t.Errorf("found called %d times", calls)
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := ScanImages(ctx, root, opts, func([]FoundImage) error {
			t.Error("found called")
			return nil
		}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled during delivery", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := ScanImages(ctx, root, opts, func([]FoundImage) error {
			calls++
			cancel()
			return nil
		}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if calls != 1 {
			t.Errorf("found called %d times after cancel", calls)
		}
	})
	t.Run("nil callbacks", func(t *testing.T) {
		if err := ScanImages(context.Background(), root, ScanOptions{}, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestScanImagesLinksAboveTheRoot links to "/", to a folder above the
// root, to the root itself and to its parent: each link is reported once
// as a symlink loop and not followed, so only the tree's images are found.
func TestScanImagesLinksAboveTheRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "data", "imgs")
	scanfxWrite(t, root, "one.png", scanfxEncode(t, "png", scanfxRGBA(2, 2, 0)))
	sub := filepath.Join(root, "sub")
	scanfxWrite(t, sub, "two.png", scanfxEncode(t, "png", scanfxRGBA(3, 2, 0)))
	scanfxWrite(t, base, "outside.png", scanfxEncode(t, "png", scanfxRGBA(2, 3, 0)))
	links := map[string]string{"rootlink": "/", "base": base, "self": root, "parent": ".."}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(sub, name)); err != nil {
			t.Fatal(err)
		}
	}
	found, skipped, _, _ := scanCollect(t, root, ScanOptions{Recursive: true})
	var paths []string
	for _, f := range found {
		paths = append(paths, f.Path)
	}
	if want := []string{filepath.Join(root, "one.png"), filepath.Join(sub, "two.png")}; !slices.Equal(paths, want) {
		t.Fatalf("found %v, want %v", paths, want)
	}
	if len(skipped) != len(links) {
		t.Fatalf("skipped %d paths, want one per link: %+v", len(skipped), skipped)
	}
	for _, s := range skipped {
		if _, ok := links[filepath.Base(s.Path)]; !ok || s.Reason != ReasonSymlinkLoop || !errors.Is(s.Err, ErrSymlinkLoop) {
			t.Fatalf("skipped %+v, want a symlink loop at one of the links", s)
		}
	}
}
