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

// ErrCorruptSource means a dataset's source files are not what they
// should be.
var ErrCorruptSource = errors.New("zoo: corrupt dataset file")

// idxSplit names the IDX files of one split of an MNIST-like dataset.
type idxSplit struct {
	name, images, labels string
}

// idxFile is an IDX array of unsigned bytes (the MNIST file format).
type idxFile struct {
	path string
	dims []int
	data []byte
}

// Bounds on an IDX file, far above the largest one read (MNIST's and
// Fashion-MNIST's train pictures: 10 and 26 MB gzipped, 47 MB of
// pictures), so that a damaged or hostile file cannot make the zoo read
// or allocate without end.
const (
	maxIDXFileBytes = 256 << 20 // the gzipped file
	maxIDXDataBytes = 256 << 20 // the data its header declares
)

// readIDX reads a gzipped IDX file of unsigned bytes with the given number
// of dimensions. A missing file is an error that matches os.ErrNotExist
// and holds its *fs.PathError.
func readIDX(path string, ndims int) (*idxFile, error) {
	f, _, err := db.OpenUserFile(path, maxIDXFileBytes)
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

// idxImageName is the file name of picture i of a split.
func idxImageName(i int) string { return fmt.Sprintf("%05d.png", i) }

// completeMarker is the file a finished conversion leaves in its folder;
// a folder without it is converted again.
const completeMarker = ".complete"

// materializeIDX writes the first limit (0: all) pictures of a split as
// PNG files in dir, unless a finished conversion is there already, and
// returns their labels, each checked to be below classes.
func materializeIDX(ctx context.Context, src, dir string, s idxSplit, limit, classes int, progress func(done, total int)) ([]byte, error) {
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
		if int(l) >= classes {
			return nil, fmt.Errorf("zoo: %s: label %d of picture %d is not a class: %w", labels.path, l, i, ErrCorruptSource)
		}
	}
	marker := filepath.Join(dir, completeMarker)
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

// labelledSplit is one split of a classification dataset converted to
// PNG files named idxImageName(i), with the class of each picture.
type labelledSplit struct {
	split  string
	dir    string   // the folder of PNGs
	labels []byte   // class of picture i, an index into names
	names  []string // class names
	// coarse, when set, is a second class per picture (CIFAR-100's
	// superclass), an index into coarseNames.
	coarse      []byte
	coarseNames []string
}

// Fields that fillLabelled sets.
const (
	labelField       = "ground_truth.label"
	coarseLabelField = "ground_truth.coarse_label"
)

// fillLabelled ingests converted splits into ds, each sample tagged with
// its split and given ground_truth.label (and, where the split has one,
// ground_truth.coarse_label); the ids it adds go to *added as they are
// added.
func fillLabelled(ctx context.Context, ds *db.Dataset, name string, parts []labelledSplit, progress func(string, int, int), added *[]db.ID) error {
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
				name, len(res.Skipped), part.dir, res.Skipped[0].Path, res.Skipped[0].Reason)
		}
		if len(res.Added) == 0 {
			continue
		}
		byLabel := map[byte][]db.ID{}
		byCoarse := map[byte][]db.ID{}
		for i, l := range part.labels {
			id, ok, err := ds.IDByFilepath(filepath.Join(part.dir, idxImageName(i)))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			byLabel[l] = append(byLabel[l], id)
			if part.coarse != nil {
				byCoarse[part.coarse[i]] = append(byCoarse[part.coarse[i]], id)
			}
		}
		for l, ids := range byLabel {
			if _, err := ds.SetField(ctx, ids, labelField, db.String(part.names[l])); err != nil {
				return err
			}
		}
		for l, ids := range byCoarse {
			if _, err := ds.SetField(ctx, ids, coarseLabelField, db.String(part.coarseNames[l])); err != nil {
				return err
			}
		}
	}
	return nil
}
