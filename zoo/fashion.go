package zoo

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fosql/fosql/db"
)

// FashionMNIST is the zoo name of Zalando's Fashion-MNIST: 70,000
// grayscale 28 x 28 pictures of clothes in ten classes, split into train
// (60,000) and test (10,000). Debian packages it (dataset-fashion-mnist),
// so it loads offline once that package is installed.
const FashionMNIST = "fashion-mnist"

// DefaultSourceDir is where Debian installs packaged datasets; the zoo
// reads them from there unless LoadRequest.SourceDir or the environment
// variable EnvSourceDir says otherwise.
const DefaultSourceDir = "/usr/share/datasets"

// EnvSourceDir names the environment variable that moves DefaultSourceDir.
const EnvSourceDir = "FOSQL_DATASETS"

// ErrNotInstalled means a zoo dataset that a system package provides is
// not on this machine.
var ErrNotInstalled = errors.New("zoo: dataset not installed")

// FashionMNISTLabels are the class names, by label number.
var FashionMNISTLabels = [10]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// idxSplit names the IDX files of one split.
type idxSplit struct {
	name, images, labels string
}

var fashionSplits = []idxSplit{
	{"train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	{"test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}

// fashionPart is one split of Fashion-MNIST converted to PNG files.
type fashionPart struct {
	split  string
	dir    string // the folder of PNGs
	labels []byte // label of picture i
}

// prepareFashionMNIST checks a request and converts the requested split
// (or both) to PNG files under the cache, or finds them there.
func prepareFashionMNIST(ctx context.Context, req LoadRequest) ([]fashionPart, error) {
	limit := 0
	for k, v := range req.Options {
		x, ok := wholeNumber(v)
		if k != "n" || !ok || x < 1 {
			return nil, fmt.Errorf("zoo: %s: option %s = %v: %w (n: the first n images of each split)", FashionMNIST, k, v, ErrInvalidOptions)
		}
		limit = int(min(x, 1<<30))
	}
	if err := checkSplit(req.Name, req.Split); err != nil {
		return nil, err
	}
	splits := fashionSplits
	if req.Split != "" {
		splits = nil
		for _, s := range fashionSplits {
			if s.name == req.Split {
				splits = []idxSplit{s}
			}
		}
	}
	cache, err := cacheDir(req)
	if err != nil {
		return nil, err
	}
	src := req.SourceDir
	if src == "" {
		src = os.Getenv(EnvSourceDir)
	}
	if src == "" {
		src = DefaultSourceDir
	}
	src = filepath.Join(src, FashionMNIST)
	progress := progressOf(req)
	var parts []fashionPart
	for _, s := range splits {
		dir := filepath.Join(cache, FashionMNIST, s.name)
		if limit > 0 {
			dir = filepath.Join(cache, FashionMNIST+"-first"+strconv.Itoa(limit), s.name)
		}
		labels, err := materializeIDX(ctx, src, dir, s, limit, func(done, total int) { progress("convert "+s.name, done, total) })
		if err != nil {
			return nil, err
		}
		parts = append(parts, fashionPart{split: s.name, dir: dir, labels: labels})
	}
	return parts, nil
}

// fillFashionMNIST ingests converted splits into ds, each sample tagged
// with its split and given ground_truth.label; the ids it adds go to
// *added as they are added.
func fillFashionMNIST(ctx context.Context, ds *db.Dataset, parts []fashionPart, progress func(string, int, int), added *[]db.ID) error {
	for _, part := range parts {
		res, err := ds.AddImages(ctx, part.dir, db.IngestOptions{Tags: []string{part.split},
			Progress: func(p db.IngestProgress) { progress("ingest "+part.split, p.Seen, len(part.labels)) }})
		if res != nil {
			*added = append(*added, res.Added...)
		}
		if err != nil {
			return err
		}
		if len(res.Skipped) > 0 {
			return fmt.Errorf("zoo: %s: %d of its images in %s could not be read (the first: %s: %s); remove the folder to convert them again",
				FashionMNIST, len(res.Skipped), part.dir, res.Skipped[0].Path, res.Skipped[0].Reason)
		}
		if len(res.Added) == 0 {
			continue
		}
		byLabel := map[byte][]db.ID{}
		for i, l := range part.labels {
			id, ok, err := ds.IDByFilepath(filepath.Join(part.dir, idxImageName(i)))
			if err != nil {
				return err
			}
			if ok {
				byLabel[l] = append(byLabel[l], id)
			}
		}
		for l, ids := range byLabel {
			if _, err := ds.SetField(ctx, ids, "ground_truth.label", db.String(FashionMNISTLabels[l])); err != nil {
				return err
			}
		}
	}
	return nil
}

// idxImageName is the file name of picture i of a split.
func idxImageName(i int) string { return fmt.Sprintf("%05d.png", i) }

// materializeIDX writes the first limit (0: all) pictures of a split as
// PNG files in dir, unless a finished conversion is there already, and
// returns their labels.
func materializeIDX(ctx context.Context, src, dir string, s idxSplit, limit int, progress func(done, total int)) ([]byte, error) {
	labels, err := readIDX(filepath.Join(src, s.labels), 1)
	if err != nil {
		return nil, err
	}
	n := len(labels.data)
	if limit > 0 && limit < n {
		n = limit
	}
	labels.data = labels.data[:n]
	for i, l := range labels.data {
		if int(l) >= len(FashionMNISTLabels) {
			return nil, fmt.Errorf("zoo: %s: label %d of picture %d is not a class: %w", labels.path, l, i, ErrCorruptSource)
		}
	}
	marker := filepath.Join(dir, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return labels.data, nil
	}
	images, err := readIDX(filepath.Join(src, s.images), 3)
	if err != nil {
		return nil, err
	}
	if images.dims[0] < n {
		return nil, fmt.Errorf("zoo: %s holds %d pictures for %d labels: %w", images.path, images.dims[0], n, ErrCorruptSource)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	h, w := images.dims[1], images.dims[2]
	done := 0
	err = forEach(ctx, n, func(i int) error {
		img := &image.Gray{Pix: images.data[i*w*h : (i+1)*w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}
		return encodeAndWrite(filepath.Join(dir, idxImageName(i)), img, false, 0)
	}, func() { done++; progress(done, n) })
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(marker, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	return labels.data, nil
}

// ErrCorruptSource means a packaged dataset's files are not what they
// should be.
var ErrCorruptSource = errors.New("zoo: corrupt dataset file")

// idxFile is an IDX array of unsigned bytes (the MNIST file format).
type idxFile struct {
	path string
	dims []int
	data []byte
}

// Bounds on an IDX file, far above Fashion-MNIST's (26 MB gzipped, 47 MB
// of pictures in the train split), so that a damaged or hostile file
// cannot make the zoo read or allocate without end.
const (
	maxIDXFileBytes = 256 << 20 // the gzipped file
	maxIDXDataBytes = 256 << 20 // the data its header declares
)

// readIDX reads a gzipped IDX file of unsigned bytes with the given number
// of dimensions.
func readIDX(path string, ndims int) (*idxFile, error) {
	f, _, err := db.OpenUserFile(path, maxIDXFileBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing; install Debian's dataset-%s package (apt-get install dataset-%s), or set %s to the folder that holds %s/",
			ErrNotInstalled, path, FashionMNIST, FashionMNIST, EnvSourceDir, FashionMNIST)
	}
	if err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w: %v", path, ErrCorruptSource, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("zoo: %s: %w: %s", path, ErrCorruptSource, fmt.Sprintf(format, args...))
	}
	var head [4]byte
	if _, err := io.ReadFull(zr, head[:]); err != nil {
		return nil, bad("no IDX header")
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || int(head[3]) != ndims {
		return nil, bad("IDX header % x, want unsigned bytes in %d dimensions", head, ndims)
	}
	out := &idxFile{path: path, dims: make([]int, ndims)}
	total := 1
	for i := range out.dims {
		var d [4]byte
		if _, err := io.ReadFull(zr, d[:]); err != nil {
			return nil, bad("truncated IDX header")
		}
		out.dims[i] = int(binary.BigEndian.Uint32(d[:]))
		total *= out.dims[i]
		if out.dims[i] == 0 || total > maxIDXDataBytes {
			return nil, bad("dimensions %v (at most %d bytes of data are read)", out.dims[:i+1], maxIDXDataBytes)
		}
	}
	// Memory grows with the data that is really there, not with what the
	// header declares.
	out.data, err = io.ReadAll(io.LimitReader(zr, int64(total)))
	if err != nil || len(out.data) != total {
		return nil, bad("%d bytes of data expected, %d read: %v", total, len(out.data), err)
	}
	if n, _ := zr.Read(head[:1]); n != 0 {
		return nil, bad("data past the declared %v", out.dims)
	}
	return out, nil
}

// FashionMNISTFiles converts the first n pictures (0: all) of one split of
// Fashion-MNIST to PNG files in the cache, or finds them there, as Load
// does, and returns their paths and class names in picture order. req
// names the split; its CacheDir and SourceDir are used as Load uses them.
// It fails with ErrNotInstalled when the package is not on this machine.
func FashionMNISTFiles(ctx context.Context, req LoadRequest, n int) (paths, labels []string, err error) {
	if req.Split == "" {
		return nil, nil, fmt.Errorf("zoo: %s: FashionMNISTFiles needs a split (%v)", FashionMNIST, Splits(FashionMNIST))
	}
	req.Name = FashionMNIST
	if n > 0 {
		req.Options = map[string]any{"n": n}
	}
	parts, err := prepareFashionMNIST(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	for _, part := range parts {
		for i, l := range part.labels {
			paths = append(paths, filepath.Join(part.dir, idxImageName(i)))
			labels = append(labels, FashionMNISTLabels[l])
		}
	}
	return paths, labels, nil
}
