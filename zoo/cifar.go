package zoo

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/db"
)

// Zoo names of the CIFAR datasets (Krizhevsky, Nair and Hinton): 60,000
// colour 32 x 32 pictures each, split into train (50,000) and test
// (10,000). CIFAR-10 has ten classes; CIFAR-100 has 100 classes grouped
// in 20 superclasses. They are read from the publisher's binary version,
// which the user downloads.
const (
	CIFAR10  = "cifar10"
	CIFAR100 = "cifar100"
)

// cifarSpec describes the binary version of a CIFAR dataset: a tar.gz of
// files of fixed-length records, each the label byte(s) and then the red,
// green and blue planes of a 32 x 32 picture, row by row.
type cifarSpec struct {
	name   string
	source sourceFile
	folder string // the folder the archive's files are in
	// splits maps a split to its files, in the order of their pictures.
	splits map[string][]string
	order  []string // the splits, as Splits lists them
	count  map[string]int
	// coarse: each record starts with a coarse label byte before the
	// (fine) label.
	coarse bool
	// namesFile lists the class names, one a line; coarseNamesFile the
	// coarse ones.
	namesFile, coarseNamesFile string
	classes, coarseClasses     int
}

// cifarSide is the width and height of a CIFAR picture.
const cifarSide = 32

// recordBytes is the length of one record.
func (c *cifarSpec) recordBytes() int {
	if c.coarse {
		return 2 + 3*cifarSide*cifarSide
	}
	return 1 + 3*cifarSide*cifarSide
}

// The official files. Sizes and MD5s are those the publisher lists at
// https://www.cs.toronto.edu/~kriz/cifar.html (the sizes as the server
// sends them); the SHA-256s are those TensorFlow Datasets records for the
// same addresses (its url_checksums/cifar10.txt and cifar100.txt), not
// computed here.
var (
	cifar10Spec = &cifarSpec{
		name: CIFAR10,
		source: sourceFile{name: "cifar-10-binary.tar.gz", url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
			size: 170052171, md5: "c32a1d4ab5d03f1284b67883e8d87530",
			sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"},
		folder: "cifar-10-batches-bin",
		splits: map[string][]string{
			"train": {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
			"test":  {"test_batch.bin"},
		},
		order:     []string{"train", "test"},
		count:     map[string]int{"train": 50000, "test": 10000},
		namesFile: "batches.meta.txt",
		classes:   10,
	}
	cifar100Spec = &cifarSpec{
		name: CIFAR100,
		source: sourceFile{name: "cifar-100-binary.tar.gz", url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
			size: 168513733, md5: "03b5dce01913d631647c71ecec9e9cb8",
			sha256: "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"},
		folder:          "cifar-100-binary",
		splits:          map[string][]string{"train": {"train.bin"}, "test": {"test.bin"}},
		order:           []string{"train", "test"},
		count:           map[string]int{"train": 50000, "test": 10000},
		coarse:          true,
		namesFile:       "fine_label_names.txt",
		coarseNamesFile: "coarse_label_names.txt",
		classes:         100,
		coarseClasses:   20,
	}
)

// Bounds on what the archive may hold, far above the official files
// (CIFAR-100's train.bin is 154 MB), so that a damaged or hostile
// archive cannot make the zoo write or allocate without end.
const (
	maxCIFARMemberBytes = 256 << 20
	maxCIFARNamesBytes  = 64 << 10
	cifarChunkRecords   = 1024 // records read and converted at a time
)

// cifarLabels is what a converted split keeps beside its pictures (in
// the dotfile cifarLabelsFile), so that a later load needs no second
// pass over the archive.
type cifarLabels struct {
	Labels      []byte   `json:"labels"`
	Names       []string `json:"names"`
	Coarse      []byte   `json:"coarse,omitempty"`
	CoarseNames []string `json:"coarse_names,omitempty"`
}

const cifarLabelsFile = ".labels.json"

// prepareCIFAR checks a request, finds and checks the archive, and
// converts the requested splits (or both) to PNG files under the cache in
// one pass over it, or finds them there.
func prepareCIFAR(ctx context.Context, c *cifarSpec, req LoadRequest) ([]labelledSplit, error) {
	opts, err := parseDownloadOptions(c.name, req.Options)
	if err != nil {
		return nil, err
	}
	if err := checkSplit(req.Name, req.Split); err != nil {
		return nil, err
	}
	splits := c.order
	if req.Split != "" {
		splits = []string{req.Split}
	}
	cache, err := cacheDir(req)
	if err != nil {
		return nil, err
	}
	src, err := locateSource(c.name, c.source, opts, cache)
	if err != nil {
		return nil, err
	}
	sum, err := checkSource(c.name, c.source, src, opts.verify)
	if err != nil {
		return nil, err
	}
	parts := make([]labelledSplit, len(splits))
	var pending []int
	for i, s := range splits {
		parts[i] = labelledSplit{split: s, dir: convertedDir(cache, c.name, sum, opts.limit, s)}
		if !readConvertedLabels(&parts[i]) {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return parts, nil
	}
	todo := make([]*labelledSplit, len(pending))
	for k, i := range pending {
		todo[k] = &parts[i]
	}
	if err := convertCIFAR(ctx, c, src, todo, opts.limit, progressOf(req)); err != nil {
		// A half-made conversion is never used (it has no completeMarker);
		// removing it only frees the space.
		for _, p := range todo {
			os.RemoveAll(p.dir)
			os.Remove(filepath.Dir(p.dir)) // when empty
		}
		return nil, err
	}
	return parts, nil
}

// readConvertedLabels fills part's labels from a finished conversion in
// part.dir and reports whether there is one.
func readConvertedLabels(part *labelledSplit) bool {
	if _, err := os.Stat(filepath.Join(part.dir, completeMarker)); err != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(part.dir, cifarLabelsFile))
	var l cifarLabels
	if err != nil || json.Unmarshal(b, &l) != nil || !l.valid() {
		return false
	}
	part.labels, part.names, part.coarse, part.coarseNames = l.Labels, l.Names, l.Coarse, l.CoarseNames
	return true
}

// valid reports whether every label names a class.
func (l *cifarLabels) valid() bool {
	if l.Coarse != nil && len(l.Coarse) != len(l.Labels) {
		return false
	}
	for i, x := range l.Labels {
		if int(x) >= len(l.Names) || (l.Coarse != nil && int(l.Coarse[i]) >= len(l.CoarseNames)) {
			return false
		}
	}
	return true
}

// cifarFileState is one record file of a split as the archive is read.
type cifarFileState struct {
	seen    bool
	records int    // records in the file
	labels  []byte // labels of the records converted
	coarse  []byte
}

// convertCIFAR reads the archive at src once, as a stream, and writes the
// pictures of the given splits as PNG files in their folders, with their
// labels beside them. Each file's first limit records (0: all; fewer
// when the files before it in the split have been read) are converted
// under a temporary name; once the archive has been read to its end the
// pictures are renamed in split order and the split's first limit kept.
func convertCIFAR(ctx context.Context, c *cifarSpec, src string, parts []*labelledSplit, limit int, progress func(string, int, int)) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w (%s): %s: %s", ErrCorruptSource, c.name, src, fmt.Sprintf(format, args...))
	}
	f, _, err := db.OpenUserFile(src, maxSourceBytes)
	if err != nil {
		return fmt.Errorf("zoo: %s: %w", c.name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return bad("not a gzip file (%v)", err)
	}
	// Which split, and which of its files, an archive member is.
	type fileRef struct {
		part  *labelledSplit
		index int
	}
	members := map[string]fileRef{}
	state := map[*labelledSplit][]cifarFileState{}
	for _, p := range parts {
		files := c.splits[p.split]
		state[p] = make([]cifarFileState, len(files))
		for i, name := range files {
			members[c.folder+"/"+name] = fileRef{p, i}
		}
		if err := os.RemoveAll(p.dir); err != nil {
			return fmt.Errorf("zoo: %s: %w", c.name, err)
		}
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return fmt.Errorf("zoo: %s: %w", c.name, err)
		}
	}
	var names, coarseNames []string
	done := map[*labelledSplit]int{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("reading the archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		switch {
		case name == c.folder+"/"+c.namesFile || (c.coarseNamesFile != "" && name == c.folder+"/"+c.coarseNamesFile):
			if h.Size > maxCIFARNamesBytes {
				return bad("%s is %d bytes, more than a list of class names", name, h.Size)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return bad("reading %s: %v", name, err)
			}
			if path.Base(name) == c.namesFile {
				names = trimmedLines(string(b))
			} else {
				coarseNames = trimmedLines(string(b))
			}
		case members[name].part != nil:
			ref := members[name]
			st := &state[ref.part][ref.index]
			if st.seen {
				return bad("%s is in the archive twice", name)
			}
			st.seen = true
			rec := int64(c.recordBytes())
			if h.Size == 0 || h.Size%rec != 0 || h.Size > maxCIFARMemberBytes {
				return bad("%s is %d bytes, not a whole number of %d-byte records (at most %d bytes)", name, h.Size, rec, int64(maxCIFARMemberBytes))
			}
			st.records = int(h.Size / rec)
			split := ref.part.split
			total := cifarProgressTotal(c, split, state[ref.part], limit)
			need := st.records
			if limit > 0 {
				need = min(need, limit)
				if offset, ok := cifarOffset(state[ref.part], ref.index); ok {
					need = min(need, max(0, limit-offset))
				}
			}
			err := convertCIFARFile(ctx, c, tr, ref.part.dir, ref.index, st, need, func() {
				done[ref.part]++
				progress("convert "+split, done[ref.part], max(total, done[ref.part]))
			})
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
					return bad("%s is cut short: %v", name, err)
				}
				return err
			}
		}
	}
	// The rest of the stream: the gzip trailer's checksum is checked only
	// when it is read.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return bad("after the archive: %v", err)
	}
	if len(names) != c.classes {
		return bad("%s/%s lists %d class names, want %d", c.folder, c.namesFile, len(names), c.classes)
	}
	if c.coarse && len(coarseNames) != c.coarseClasses {
		return bad("%s/%s lists %d class names, want %d", c.folder, c.coarseNamesFile, len(coarseNames), c.coarseClasses)
	}
	for _, p := range parts {
		if err := finishCIFARSplit(c, p, state[p], limit, names, coarseNames, bad); err != nil {
			return err
		}
	}
	return nil
}

// cifarProgressTotal is the number of records a split's conversion
// writes, as far as the archive has been read: the files not yet seen
// are counted as the official ones.
func cifarProgressTotal(c *cifarSpec, split string, files []cifarFileState, limit int) int {
	total := 0
	for _, st := range files {
		n := st.records
		if !st.seen {
			n = c.count[split] / len(files)
		}
		if limit > 0 {
			n = min(n, limit)
		}
		total += n
	}
	return total
}

// cifarOffset is the place in its split of file i's first record, when
// the files before it have all been read.
func cifarOffset(files []cifarFileState, i int) (int, bool) {
	offset := 0
	for _, st := range files[:i] {
		if !st.seen {
			return 0, false
		}
		offset += st.records
	}
	return offset, true
}

// convertCIFARFile converts the first n records of one record file, read
// from r, into PNGs named cifarTempName(file, record) in dir, and keeps
// their labels in st. The rest of the file is left for the archive
// reader to skip.
func convertCIFARFile(ctx context.Context, c *cifarSpec, r io.Reader, dir string, file int, st *cifarFileState, n int, tick func()) error {
	rec := c.recordBytes()
	buf := make([]byte, min(n, cifarChunkRecords)*rec)
	for first := 0; first < n; first += cifarChunkRecords {
		count := min(cifarChunkRecords, n-first)
		chunk := buf[:count*rec]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return fmt.Errorf("in records %d to %d: %w", first, first+count-1, err)
		}
		for k := range count {
			r := chunk[k*rec:]
			if c.coarse {
				st.coarse = append(st.coarse, r[0])
				st.labels = append(st.labels, r[1])
			} else {
				st.labels = append(st.labels, r[0])
			}
		}
		err := forEach(ctx, count, func(k int) error {
			r := chunk[k*rec : (k+1)*rec]
			img := cifarImage(r[rec-3*cifarSide*cifarSide:])
			return encodeAndWrite(filepath.Join(dir, cifarTempName(file, first+k)), img, false, 0)
		}, tick)
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// cifarImage makes a picture from a record's red, green and blue planes.
func cifarImage(planes []byte) *image.NRGBA {
	const plane = cifarSide * cifarSide
	img := image.NewNRGBA(image.Rect(0, 0, cifarSide, cifarSide))
	for i := range plane {
		img.Pix[4*i] = planes[i]
		img.Pix[4*i+1] = planes[plane+i]
		img.Pix[4*i+2] = planes[2*plane+i]
		img.Pix[4*i+3] = 0xff
	}
	return img
}

// cifarTempName is the name of a converted record before the split's
// order is known.
func cifarTempName(file, record int) string { return fmt.Sprintf("tmp-%d-%05d.png", file, record) }

// finishCIFARSplit renames a split's converted records to their place in
// the split, keeps its first limit (0: all), checks and writes their
// labels, and marks the conversion complete.
func finishCIFARSplit(c *cifarSpec, p *labelledSplit, files []cifarFileState, limit int, names, coarseNames []string, bad func(string, ...any) error) error {
	var l cifarLabels
	l.Names = names
	if c.coarse {
		l.CoarseNames = coarseNames
		l.Coarse = []byte{}
	}
	for i, st := range files {
		if !st.seen {
			return bad("the archive has no %s/%s", c.folder, c.splits[p.split][i])
		}
		for r := range st.labels {
			from := filepath.Join(p.dir, cifarTempName(i, r))
			if limit > 0 && len(l.Labels) >= limit {
				if err := os.Remove(from); err != nil {
					return fmt.Errorf("zoo: %s: %w", c.name, err)
				}
				continue
			}
			if err := os.Rename(from, filepath.Join(p.dir, idxImageName(len(l.Labels)))); err != nil {
				return fmt.Errorf("zoo: %s: %w", c.name, err)
			}
			l.Labels = append(l.Labels, st.labels[r])
			if c.coarse {
				l.Coarse = append(l.Coarse, st.coarse[r])
			}
		}
	}
	for i, x := range l.Labels {
		if int(x) >= c.classes || (c.coarse && int(l.Coarse[i]) >= c.coarseClasses) {
			if c.coarse {
				return bad("picture %d of the %s split has the labels %d (coarse) and %d, not classes of %d and %d", i, p.split, l.Coarse[i], x, c.coarseClasses, c.classes)
			}
			return bad("picture %d of the %s split has label %d, not one of the %d classes", i, p.split, x, c.classes)
		}
	}
	b, err := json.Marshal(&l)
	if err != nil {
		return fmt.Errorf("zoo: %s: %w", c.name, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, cifarLabelsFile), b, 0o644); err != nil {
		return fmt.Errorf("zoo: %s: %w", c.name, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, completeMarker), []byte(fmt.Sprintln(len(l.Labels))), 0o644); err != nil {
		return fmt.Errorf("zoo: %s: %w", c.name, err)
	}
	p.labels, p.names, p.coarse, p.coarseNames = l.Labels, l.Names, l.Coarse, l.CoarseNames
	return nil
}
