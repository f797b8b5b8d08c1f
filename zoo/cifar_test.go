package zoo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// tarMember is one file of a test archive.
type tarMember struct {
	name string
	data []byte
}

// writeTarGz writes members as a gzipped tar, each under folder/ (with
// an entry for the folder first, as the official archives have).
func writeTarGz(t *testing.T, path, folder string, members []tarMember) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: folder + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: folder + "/" + m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cifarPicture is one picture of a test archive: its labels and the tag
// its pixels are made from.
type cifarPicture struct {
	coarse, fine byte
	tag          int // distinct per picture
}

// The pixel the tests check, and its red, green and blue values in a
// picture made by cifarRecords.
const checkX, checkY = 5, 2

func checkPixel(tag int) (r, g, b byte) {
	k := checkY*cifarSide + checkX
	return byte(tag + k), byte(3*tag + k), byte(200 - tag - k)
}

// cifarRecords writes pictures in the binary format of c: the label
// byte(s), then the red, green and blue planes.
func cifarRecords(c *cifarSpec, pics []cifarPicture) []byte {
	var out []byte
	for _, p := range pics {
		if c.coarse {
			out = append(out, p.coarse)
		}
		out = append(out, p.fine)
		for plane := range 3 {
			for k := range cifarSide * cifarSide {
				v := []byte{byte(p.tag + k), byte(3*p.tag + k), byte(200 - p.tag - k)}[plane]
				out = append(out, v)
			}
		}
	}
	return out
}

// classNames are n made-up class names, one a line, with the blank line
// the official files end with.
func classNames(prefix string, n int) ([]string, []byte) {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("%s%02d", prefix, i))
	}
	return names, []byte(strings.Join(names, "\n") + "\n\n")
}

// cifarFixture is a tiny archive in the official layout of c and what
// it holds: the pictures of each split in split order.
type cifarFixture struct {
	path        string
	splits      map[string][]cifarPicture
	names       []string
	coarseNames []string
}

// writeCIFARFixture writes a tiny archive of c named as the official one
// in dir: each record file holds sizes[i] pictures (train files first,
// then test), in the split's order when inOrder, else the other way
// round, so that the reader cannot rely on the order.
func writeCIFARFixture(t *testing.T, c *cifarSpec, dir string, sizes []int, inOrder bool) *cifarFixture {
	t.Helper()
	fx := &cifarFixture{path: filepath.Join(dir, c.source.name), splits: map[string][]cifarPicture{}}
	var members []tarMember
	tag, file := 0, 0
	for _, split := range c.order {
		for _, name := range c.splits[split] {
			var pics []cifarPicture
			for range sizes[file] {
				pics = append(pics, cifarPicture{coarse: byte(tag % max(c.coarseClasses, 1)), fine: byte((tag * 7) % c.classes), tag: tag})
				tag++
			}
			file++
			fx.splits[split] = append(fx.splits[split], pics...)
			members = append(members, tarMember{name, cifarRecords(c, pics)})
		}
	}
	var namesFile []byte
	fx.names, namesFile = classNames("class", c.classes)
	members = append(members, tarMember{c.namesFile, namesFile})
	if c.coarse {
		var coarseFile []byte
		fx.coarseNames, coarseFile = classNames("super", c.coarseClasses)
		members = append(members, tarMember{c.coarseNamesFile, coarseFile})
	}
	members = append(members, tarMember{"readme.html", []byte("<p>not read</p>")})
	for i, j := 0, len(members)-1; i < j && !inOrder; i, j = i+1, j-1 {
		members[i], members[j] = members[j], members[i]
	}
	writeTarGz(t, fx.path, c.folder, members)
	return fx
}

// checkLabelled checks every sample of ds against the pictures of each
// split: tag, ground_truth.label (and coarse label) and one pixel.
func checkLabelled(t *testing.T, ds *db.Dataset, want map[string][]cifarPicture, names, coarseNames []string) {
	t.Helper()
	ctx := context.Background()
	counts := map[string]int{}
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		split := s.Tags()[0]
		counts[split]++
		var i int
		if _, err := fmt.Sscanf(filepath.Base(s.Filepath()), "%05d.png", &i); err != nil || i >= len(want[split]) {
			t.Fatalf("%s: not a picture of the %s split (%v)", s.Filepath(), split, err)
		}
		p := want[split][i]
		if got := s.Get(labelField).AsString(); got != names[p.fine] {
			t.Errorf("%s: label %q, want %q", s.Filepath(), got, names[p.fine])
		}
		if coarseNames != nil {
			if got := s.Get(coarseLabelField).AsString(); got != coarseNames[p.coarse] {
				t.Errorf("%s: coarse label %q, want %q", s.Filepath(), got, coarseNames[p.coarse])
			}
		} else if v := s.Get(coarseLabelField); !v.IsMissing() {
			t.Errorf("%s: a coarse label %v where the dataset has none", s.Filepath(), v)
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
		r, g, b, a := img.At(checkX, checkY).RGBA()
		wr, wg, wb := checkPixel(p.tag)
		if img.Bounds().Dx() != cifarSide || img.Bounds().Dy() != cifarSide || byte(r>>8) != wr || byte(g>>8) != wg || byte(b>>8) != wb || a != 0xffff {
			t.Errorf("%s: %v, pixel (%d, %d) = %d %d %d %d, want %d %d %d opaque", s.Filepath(), img.Bounds(), checkX, checkY, r>>8, g>>8, b>>8, a>>8, wr, wg, wb)
		}
	}
	for split, pics := range want {
		if counts[split] != len(pics) {
			t.Errorf("%d samples tagged %s, want %d", counts[split], split, len(pics))
		}
	}
	if len(counts) != len(want) {
		t.Errorf("splits %v, want %d", counts, len(want))
	}
}

// firstN is the first n pictures of each split.
func firstN(splits map[string][]cifarPicture, n int, only string) map[string][]cifarPicture {
	out := map[string][]cifarPicture{}
	for s, pics := range splits {
		if only == "" || s == only {
			out[s] = pics[:min(n, len(pics))]
		}
	}
	return out
}

func TestLoadCIFAR(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		spec    *cifarSpec
		sizes   []int // pictures per record file, train's then test's
		inOrder bool  // the archive holds the record files in split order
	}{
		{cifar10Spec, []int{3, 2, 1, 2, 1, 4}, false},
		{cifar10Spec, []int{3, 2, 1, 2, 1, 4}, true},
		{cifar100Spec, []int{5, 3}, false},
	} {
		c := tc.spec
		t.Run(fmt.Sprintf("%s, files in order %v", c.name, tc.inOrder), func(t *testing.T) {
			fx := writeCIFARFixture(t, c, t.TempDir(), tc.sizes, tc.inOrder)
			store, err := db.Open(db.MemoryPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			cache := t.TempDir()
			var coarse []string
			if c.coarse {
				coarse = fx.coarseNames
			}
			load := func(split, dataset string, opts map[string]any) *db.Dataset {
				t.Helper()
				ds, err := Load(ctx, store, LoadRequest{Name: c.name, Split: split, Dataset: dataset, Options: opts, CacheDir: cache})
				if err != nil {
					t.Fatal(err)
				}
				return ds
			}
			all := map[string]any{"file": fx.path, "verify": false}
			ds := load("", "", all)
			if ds.Name() != c.name {
				t.Errorf("dataset %s, want %s", ds.Name(), c.name)
			}
			checkLabelled(t, ds, fx.splits, fx.names, coarse)
			// Loading again adds nothing.
			load("", "", all)
			if n, _ := ds.Count(); n != int64(len(fx.splits["train"])+len(fx.splits["test"])) {
				t.Errorf("after a second load: %d samples", n)
			}
			// One split; the first n of a split that spans files; the
			// file named by its folder; the file in the cache.
			checkLabelled(t, load("test", "only_test", all), firstN(fx.splits, 1<<30, "test"), fx.names, coarse)
			checkLabelled(t, load("train", "first4", map[string]any{"file": fx.path, "verify": false, "n": int64(4)}),
				firstN(fx.splits, 4, "train"), fx.names, coarse)
			checkLabelled(t, load("", "first1", map[string]any{"file": filepath.Dir(fx.path), "verify": false, "n": int64(1)}),
				firstN(fx.splits, 1, ""), fx.names, coarse)
			if err := os.Rename(fx.path, filepath.Join(cache, c.source.name)); err != nil {
				t.Fatal(err)
			}
			checkLabelled(t, load("test", "from_cache", map[string]any{"verify": false}), firstN(fx.splits, 1<<30, "test"), fx.names, coarse)
		})
	}
}

// A file that is not the official one is refused by its size (or
// digest) unless verify = false; with no file at all the error names the
// file, its official address and the cache folder. Neither leaves a
// dataset.
func TestCIFARSourceChecks(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	fx := writeCIFARFixture(t, cifar10Spec, t.TempDir(), []int{1, 1, 1, 1, 1, 2}, false)
	for _, tc := range []struct {
		name  string
		opts  map[string]any
		is    error
		names []string
	}{
		{"no file", nil, ErrNeedsDownload, []string{"cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", filepath.Join(xdg, "fosql", "zoo")}},
		{"a file that is not there", map[string]any{"file": filepath.Join(xdg, "nope.tar.gz")}, ErrNeedsDownload,
			[]string{"nope.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"}},
		{"not the official file", map[string]any{"file": fx.path}, ErrNotOfficial, []string{"170052171", "c32a1d4ab5d03f1284b67883e8d87530", "verify = false"}},
		{"verify = true", map[string]any{"file": fx.path, "verify": true}, ErrNotOfficial, []string{"170052171"}},
		{"verify = 'no'", map[string]any{"file": fx.path, "verify": "no"}, ErrInvalidOptions, []string{"verify"}},
		{"file = 3", map[string]any{"file": int64(3)}, ErrInvalidOptions, []string{"file"}},
		{"an unknown option", map[string]any{"file": fx.path, "shuffle": true}, ErrInvalidOptions, []string{"shuffle"}},
	} {
		_, err := Load(ctx, store, LoadRequest{Name: CIFAR10, Split: "test", Dataset: "c", Options: tc.opts})
		if !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
			continue
		}
		for _, s := range tc.names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not name %s", tc.name, err, s)
			}
		}
		if _, err := store.Dataset("c"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%s: the refused load left dataset c (%v)", tc.name, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(xdg, "fosql", "zoo")); len(entries) != 0 {
		t.Errorf("refused loads made files in the cache: %v", entries)
	}
	ds, err := Load(ctx, store, LoadRequest{Name: CIFAR10, Split: "test", Dataset: "c", Options: map[string]any{"file": fx.path, "verify": false}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ds.Count(); n != 2 {
		t.Errorf("verify = false: %d samples, want 2", n)
	}
}

// checkSource compares the size first, then the MD5, then the SHA-256.
func TestCheckSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	const md5abc = "900150983cd24fb0d6963f7d28e17f72"
	const sha256abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	for _, tc := range []struct {
		name   string
		src    sourceFile
		verify bool
		want   string // "" means accepted
	}{
		{"official", sourceFile{size: 3, md5: md5abc, sha256: sha256abc}, true, ""},
		{"MD5 only", sourceFile{size: 3, md5: md5abc}, true, ""},
		{"size", sourceFile{size: 4, md5: md5abc, sha256: sha256abc}, true, "is 3 bytes"},
		{"MD5", sourceFile{size: 3, md5: strings.Repeat("0", 32), sha256: sha256abc}, true, "has MD5 " + md5abc},
		{"SHA-256", sourceFile{size: 3, md5: md5abc, sha256: strings.Repeat("0", 64)}, true, "has SHA-256 " + sha256abc},
		{"not verified", sourceFile{size: 4, md5: strings.Repeat("0", 32)}, false, ""},
	} {
		tc.src.name, tc.src.url = "f.bin", "https://example.org/f.bin"
		sum, err := checkSource("test", tc.src, path, tc.verify)
		switch {
		case tc.want == "" && (err != nil || sum != md5abc):
			t.Errorf("%s: %q, %v; want the MD5 %s", tc.name, sum, err, md5abc)
		case tc.want != "" && (!errors.Is(err, ErrNotOfficial) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "https://example.org/f.bin")):
			t.Errorf("%s: %v, want ErrNotOfficial naming %q and the address", tc.name, err, tc.want)
		}
	}
}

// A damaged archive is a clear error; the load leaves no dataset and no
// conversion that a later load would take as finished.
func TestCIFARDamagedArchive(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	good := writeCIFARFixture(t, cifar10Spec, dir, []int{40, 1, 1, 1, 1, 40}, false)
	whole, err := os.ReadFile(good.path)
	if err != nil {
		t.Fatal(err)
	}
	_, names := classNames("class", 10)
	record := cifarRecords(cifar10Spec, []cifarPicture{{fine: 1}})
	for _, tc := range []struct {
		name  string
		write func(path string)
		want  string
	}{
		{"cut in half", func(p string) { os.WriteFile(p, whole[:len(whole)/2], 0o644) }, "cut short"},
		{"its last bytes cut", func(p string) { os.WriteFile(p, whole[:len(whole)-4], 0o644) }, ""},
		{"not gzip", func(p string) { os.WriteFile(p, []byte("not an archive"), 0o644) }, "not a gzip file"},
		{"a record 5 bytes short", func(p string) {
			writeTarGz(t, p, "cifar-10-batches-bin", []tarMember{{"batches.meta.txt", names}, {"test_batch.bin", append(record, record[:len(record)-5]...)}})
		}, "3073-byte records"},
		{"no test_batch.bin", func(p string) {
			writeTarGz(t, p, "cifar-10-batches-bin", []tarMember{{"batches.meta.txt", names}, {"data_batch_1.bin", record}})
		}, "no cifar-10-batches-bin/test_batch.bin"},
		{"no class names", func(p string) {
			writeTarGz(t, p, "cifar-10-batches-bin", []tarMember{{"test_batch.bin", record}})
		}, "0 class names"},
		{"label 10", func(p string) {
			writeTarGz(t, p, "cifar-10-batches-bin", []tarMember{{"batches.meta.txt", names}, {"test_batch.bin", cifarRecords(cifar10Spec, []cifarPicture{{fine: 10}})}})
		}, "label 10"},
	} {
		path := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
		tc.write(path)
		cache := t.TempDir()
		_, err := Load(ctx, store, LoadRequest{Name: CIFAR10, Split: "test", Dataset: "c", CacheDir: cache,
			Options: map[string]any{"file": path, "verify": false}})
		if !errors.Is(err, ErrCorruptSource) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want ErrCorruptSource naming the file and %q", tc.name, err, tc.want)
		}
		if _, err := store.Dataset("c"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("%s: the failed load left dataset c (%v)", tc.name, err)
		}
		done, _ := filepath.Glob(filepath.Join(cache, CIFAR10, "*", "*", completeMarker))
		left, _ := filepath.Glob(filepath.Join(cache, CIFAR10, "*", "*"))
		if len(done) != 0 || len(left) != 0 {
			t.Errorf("%s: the failed load left %v in the cache", tc.name, left)
		}
	}
}

// A load that fails at ingest, after some pictures went in, leaves no
// dataset: here a converted picture in the cache was damaged afterwards.
func TestCIFARFailedIngestLeavesNoDataset(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fx := writeCIFARFixture(t, cifar100Spec, t.TempDir(), []int{2, 5}, false)
	cache := t.TempDir()
	req := LoadRequest{Name: CIFAR100, Split: "test", Dataset: "first", CacheDir: cache, Options: map[string]any{"file": fx.path, "verify": false}}
	if _, err := Load(ctx, store, req); err != nil {
		t.Fatal(err)
	}
	pics, _ := filepath.Glob(filepath.Join(cache, CIFAR100, "*", "test", idxImageName(3)))
	if len(pics) != 1 {
		t.Fatalf("converted pictures: %v", pics)
	}
	if err := os.WriteFile(pics[0], []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	req.Dataset = "second"
	if _, err := Load(ctx, store, req); err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("loading a damaged conversion: %v", err)
	}
	if _, err := store.Dataset("second"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("the failed load left dataset second (%v)", err)
	}
}
