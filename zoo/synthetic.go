package zoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fosql/fosql/db"
)

// Kinds of image in a synthetic set. An original is a picture of its own;
// every other kind names the transform that made a planted copy from its
// original.
const (
	// KindOriginal marks a picture that is not a copy of anything.
	KindOriginal = "original"
	// KindCrop is a crop keeping 85–92% of each side at a random offset.
	// The crop keeps its smaller size: it is not scaled back up.
	KindCrop = "crop"
	// KindJPEG is the original re-encoded as JPEG at quality 20–40, same size.
	KindJPEG = "jpeg"
	// KindBrightness is a brightness shift of ±15–25% of full scale combined
	// with a contrast factor of 0.8–1.2 around mid-grey, same size.
	KindBrightness = "brightness"
	// KindResize is the original scaled by 0.5–0.75 (three copies in four)
	// or by 1.5 (one in four), aspect ratio kept.
	KindResize = "resize"
	// KindRotate is a rotation by 3–7 degrees either way about the centre,
	// same size, with the corners filled by the nearest edge colour.
	KindRotate = "rotate"
	// KindMirror is a horizontal flip, same size.
	KindMirror = "mirror"
	// KindExact is a byte-for-byte copy of the original file.
	KindExact = "exact"
)

// copyKinds lists the transforms in the fixed order in which planted copies
// are dealt out: copy i gets copyKinds[i%len(copyKinds)].
var copyKinds = [...]string{KindCrop, KindJPEG, KindBrightness, KindResize, KindRotate, KindMirror, KindExact}

// CopyKinds returns the kinds a planted copy can have, in the order in which
// GenerateSynthetic deals them out.
func CopyKinds() []string { return slices.Clone(copyKinds[:]) }

// Defaults and limits of SyntheticOptions.
const (
	// DefaultSyntheticN is the number of images when SyntheticOptions.N is 0.
	DefaultSyntheticN = 500
	// MaxSyntheticN is the largest accepted SyntheticOptions.N.
	MaxSyntheticN = 1_000_000
	// DefaultCopyFraction is the share of planted copies when
	// SyntheticOptions.CopyFraction is 0.
	DefaultCopyFraction = 0.04
	// MaxCopyFraction is the largest accepted SyntheticOptions.CopyFraction.
	// Sets meant for the uniqueness quality target keep it at or below 0.05.
	MaxCopyFraction = 0.5
	// DefaultSyntheticSize is the base width and height of originals when
	// SyntheticOptions.Width or Height is 0.
	DefaultSyntheticSize = 128
	// MinSyntheticSize is the smallest accepted base width or height.
	MinSyntheticSize = 16
	// MaxSyntheticSize is the largest accepted base width or height.
	MaxSyntheticSize = 4096
)

// Names of the answer-key files that GenerateSynthetic writes into its
// directory. TruthJSON is written last, so its presence marks a complete set.
const (
	// TruthJSON holds every image with its kind and, for copies, its original.
	TruthJSON = "truth.json"
	// TruthText holds one "copy original" line per planted copy, paths
	// relative to the set's directory, separated by one space.
	TruthText = "truth.txt"
)

// Bounds on the files of a set that the zoo reads back from its cache
// (a folder under the user's control), far above what GenerateSynthetic
// writes for MaxSyntheticN images.
const (
	maxTruthBytes          = 1 << 30
	maxSyntheticImageBytes = 64 << 20
)

// truthFormat identifies a synthetic truth file.
const (
	truthFormat  = "fosql-synthetic"
	truthVersion = 1
)

// Errors returned by GenerateSynthetic and LoadSyntheticSet. They are
// wrapped: test them with errors.Is.
var (
	// ErrInvalidOptions reports SyntheticOptions, or a LoadRequest's options
	// or split, out of range.
	ErrInvalidOptions = errors.New("zoo: invalid options")
	// ErrDirNotEmpty reports a target directory that already holds files;
	// GenerateSynthetic never mixes its images with someone else's.
	ErrDirNotEmpty = errors.New("zoo: target directory is not empty")
	// ErrInvalidTruth reports a truth.json that is malformed or inconsistent.
	ErrInvalidTruth = errors.New("zoo: invalid synthetic truth file")
)

// SyntheticOptions configures GenerateSynthetic. The zero value asks for the
// defaults.
type SyntheticOptions struct {
	// N is the number of images in total, planted copies included
	// (default DefaultSyntheticN, at most MaxSyntheticN).
	N int
	// CopyFraction is the share of N that are planted copies (default
	// DefaultCopyFraction; a negative value plants none; at most
	// MaxCopyFraction). The number of copies is floor(N*CopyFraction), so
	// the share is never exceeded. The uniqueness quality target assumes
	// 0.05 or less.
	CopyFraction float64
	// Seed selects the set: the same options give byte-identical files
	// (with the same Go version on the same architecture).
	Seed int64
	// Width and Height are the base size of originals (default
	// DefaultSyntheticSize each). Half of the originals have exactly this
	// size; the others have each side scaled by a factor in [0.875, 1.125].
	Width, Height int
	// Progress, when set, is called after each image is written, with the
	// number written so far and N. Calls come from one goroutine at a time,
	// with done increasing by one.
	Progress func(done, total int)
}

// SyntheticSet is a generated synthetic dataset and its answer key.
type SyntheticSet struct {
	// Dir is the absolute path of the set's directory.
	Dir string
	// Images lists every image, originals and copies, in file-name order.
	Images []SyntheticImage
}

// SyntheticImage is one image of a SyntheticSet.
type SyntheticImage struct {
	// Path is the absolute path of the image file.
	Path string
	// Kind is KindOriginal, or for a planted copy the transform that made it
	// (one of CopyKinds).
	Kind string
	// Original is, for a copy, the absolute path of the original it was made
	// from; it is empty for originals.
	Original string
	// Detail gives a copy's transform parameters, for diagnostics:
	// "crop=WxH+X+Y" (kept size and offset in pixels), "quality=Q",
	// "brightness=±B contrast=C", "scale=S", "angle=D" (degrees,
	// clockwise on screen when positive) or "horizontal". It is
	// empty for originals and exact copies.
	Detail string
}

// Copies returns the planted copies of the set, in file-name order.
func (s *SyntheticSet) Copies() []SyntheticImage {
	var out []SyntheticImage
	for _, im := range s.Images {
		if im.Kind != KindOriginal {
			out = append(out, im)
		}
	}
	return out
}

// Originals returns the originals of the set, in file-name order.
func (s *SyntheticSet) Originals() []SyntheticImage {
	var out []SyntheticImage
	for _, im := range s.Images {
		if im.Kind == KindOriginal {
			out = append(out, im)
		}
	}
	return out
}

// GenerateSynthetic writes a deterministic set of varied images with planted
// near-duplicates into dir, and the answer key next to them (TruthJSON and
// TruthText).
//
// Images go to dir/images/NNNN/img_SSSSSS.png or .jpg, one hundred to a
// folder, where SSSSSS is the image's slot. Originals are PNG or JPEG
// (quality 90), about half each. Planted copies take randomly chosen slots
// among the originals and keep the naming scheme, so neither a copy's name
// nor its position reveals its kind or original; a copy is written in its
// original's format, except KindJPEG copies, which are always JPEG. Copies
// are dealt out evenly over CopyKinds; each picks its original at random,
// and no original gets two copies of the same kind.
//
// dir is created when missing and must otherwise be empty (ErrDirNotEmpty).
// The work runs on all available cores, each image from its own random
// stream derived from (Seed, image), so the bytes do not depend on
// scheduling. When ctx is cancelled or a write fails, GenerateSynthetic
// removes the files it wrote and returns the error; TruthJSON is written
// last, so a directory holding it is a complete set.
func GenerateSynthetic(ctx context.Context, dir string, opts SyntheticOptions) (*SyntheticSet, error) {
	if err := opts.normalise(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zoo: synthetic: resolve %q: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoo: synthetic: %w", err)
	}
	created, err := prepareDir(abs)
	if err != nil {
		return nil, err
	}
	set, err := generate(ctx, abs, opts)
	if err != nil {
		_ = os.RemoveAll(filepath.Join(abs, "images"))
		_ = os.Remove(filepath.Join(abs, TruthText))
		_ = os.Remove(filepath.Join(abs, TruthJSON))
		if created {
			_ = os.Remove(abs)
		}
		return nil, err
	}
	return set, nil
}

// normalise fills in defaults and checks ranges.
func (o *SyntheticOptions) normalise() error {
	switch {
	case o.N == 0:
		o.N = DefaultSyntheticN
	case o.N < 0 || o.N > MaxSyntheticN:
		return fmt.Errorf("%w: N = %d, want 1..%d", ErrInvalidOptions, o.N, MaxSyntheticN)
	}
	switch {
	case math.IsNaN(o.CopyFraction) || o.CopyFraction > MaxCopyFraction:
		return fmt.Errorf("%w: CopyFraction = %g, want at most %g", ErrInvalidOptions, o.CopyFraction, MaxCopyFraction)
	case o.CopyFraction == 0:
		o.CopyFraction = DefaultCopyFraction
	case o.CopyFraction < 0:
		o.CopyFraction = 0
	}
	if o.Width == 0 {
		o.Width = DefaultSyntheticSize
	}
	if o.Height == 0 {
		o.Height = DefaultSyntheticSize
	}
	for _, side := range []int{o.Width, o.Height} {
		if side < MinSyntheticSize || side > MaxSyntheticSize {
			return fmt.Errorf("%w: size %dx%d, want sides in %d..%d",
				ErrInvalidOptions, o.Width, o.Height, MinSyntheticSize, MaxSyntheticSize)
		}
	}
	return nil
}

// copyCount is the number of planted copies for the normalised options.
func (o *SyntheticOptions) copyCount() int {
	return int(math.Floor(float64(o.N)*o.CopyFraction + 1e-9))
}

// prepareDir makes sure dir exists and is empty; it reports whether it
// created dir.
func prepareDir(dir string) (created bool, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("zoo: synthetic: create %s: %w", dir, err)
		}
		return true, nil
	}
	if err == nil && !st.IsDir() {
		// Opening a FIFO would block; anything but a folder is refused.
		return false, fmt.Errorf("zoo: synthetic: %s: not a folder", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("zoo: synthetic: open %s: %w", dir, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("zoo: synthetic: read %s: %w", dir, err)
	}
	if len(names) > 0 {
		return false, fmt.Errorf("%w: %s", ErrDirNotEmpty, dir)
	}
	return false, nil
}

// Purposes separate the random streams drawn from one seed.
const (
	streamPlan uint64 = iota + 1
	streamOriginal
	streamCopy
)

// newRand returns the random stream for (seed, purpose, index).
func newRand(seed int64, purpose uint64, index int) *rand.Rand {
	a := splitmix(uint64(seed) ^ splitmix(purpose))
	b := splitmix(a ^ splitmix(uint64(index)+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(a, b))
}

// splitmix is the SplitMix64 finaliser, used to spread seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// originalPlan is what the plan fixes about one original before drawing it.
type originalPlan struct {
	rel     string // path relative to the set's directory, slash-separated
	slot    int
	jpeg    bool
	palette int
	scene   int
}

// copyPlan is what the plan fixes about one planted copy.
type copyPlan struct {
	rel    string
	slot   int
	kind   string
	orig   int // index into the originals
	jpeg   bool
	detail string // filled in when the copy is made
}

// plan decides, from the plan stream alone, which slot holds what.
type plan struct {
	palettes  []palette
	originals []originalPlan
	copies    []copyPlan
}

func makePlan(opts SyntheticOptions) *plan {
	r := newRand(opts.Seed, streamPlan, 0)
	nc := opts.copyCount()
	no := opts.N - nc
	p := &plan{
		palettes:  make([]palette, max(3, no/8)),
		originals: make([]originalPlan, no),
		copies:    make([]copyPlan, nc),
	}
	preferred := make([]int, len(p.palettes))
	for i := range p.palettes {
		p.palettes[i] = newPalette(r)
		preferred[i] = r.IntN(numScenes)
	}
	slots := r.Perm(opts.N)
	for k := range p.originals {
		o := &p.originals[k]
		o.slot = slots[k]
		o.jpeg = r.IntN(2) == 0
		o.palette = r.IntN(len(p.palettes))
		// Half of the originals take their palette's preferred scene, which
		// makes families of pictures alike in colour and style but different
		// in content.
		if r.IntN(2) == 0 {
			o.scene = preferred[o.palette]
		} else {
			o.scene = r.IntN(numScenes)
		}
		o.rel = slotPath(o.slot, o.jpeg)
	}
	type pair struct {
		orig int
		kind string
	}
	used := make(map[pair]bool, nc)
	for j := range p.copies {
		c := &p.copies[j]
		c.slot = slots[no+j]
		c.kind = copyKinds[j%len(copyKinds)]
		for {
			c.orig = r.IntN(no)
			if !used[pair{c.orig, c.kind}] {
				used[pair{c.orig, c.kind}] = true
				break
			}
		}
		c.jpeg = c.kind == KindJPEG || p.originals[c.orig].jpeg
		c.rel = slotPath(c.slot, c.jpeg)
	}
	return p
}

// slotPath is the relative, slash-separated path of the image in slot.
func slotPath(slot int, jpeg bool) string {
	ext := "png"
	if jpeg {
		ext = "jpg"
	}
	return fmt.Sprintf("images/%04d/img_%06d.%s", slot/100, slot, ext)
}

// originalJPEGQuality is the JPEG quality of originals stored as JPEG, and
// of transformed copies of them.
const originalJPEGQuality = 90

// generate writes the images and the truth files into dir, which exists and
// is empty.
func generate(ctx context.Context, dir string, opts SyntheticOptions) (*SyntheticSet, error) {
	p := makePlan(opts)
	for folder := 0; folder <= (opts.N-1)/100; folder++ {
		name := filepath.Join(dir, "images", fmt.Sprintf("%04d", folder))
		if err := os.MkdirAll(name, 0o755); err != nil {
			return nil, fmt.Errorf("zoo: synthetic: create %s: %w", name, err)
		}
	}
	done := 0
	tick := func() {
		done++
		if opts.Progress != nil {
			opts.Progress(done, opts.N)
		}
	}
	err := forEach(ctx, len(p.originals), func(k int) error {
		return writeOriginal(dir, opts, p, k)
	}, tick)
	if err != nil {
		return nil, err
	}
	err = forEach(ctx, len(p.copies), func(j int) error {
		return writeCopy(dir, opts, p, j)
	}, tick)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoo: synthetic: %w", err)
	}
	t := p.truth(opts)
	if err := writeTruth(dir, t); err != nil {
		return nil, err
	}
	return t.set(dir), nil
}

// forEach runs fn(0..n-1) on GOMAXPROCS workers, calls tick from the calling
// goroutine after each success, and stops at the first error or when ctx is
// done.
func forEach(ctx context.Context, n int, fn func(i int) error, tick func()) error {
	if n == 0 {
		return nil
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(runtime.GOMAXPROCS(0), n)
	results := make(chan error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for inner.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				results <- runOne(fn, i)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var first error
	finished := 0
	for err := range results {
		switch {
		case err != nil && first == nil:
			first = err
			cancel()
		case err == nil && first == nil:
			finished++
			tick()
		}
	}
	if first != nil {
		return first
	}
	if finished < n {
		return fmt.Errorf("zoo: synthetic: %w", context.Cause(ctx))
	}
	return nil
}

// runOne calls fn(i), returning a panic as an error wrapping
// db.ErrInternal, so that a bug in one image's generation fails the load
// instead of ending the process.
func runOne(fn func(i int) error, i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = db.Recovered(r)
		}
	}()
	return fn(i)
}

// writeOriginal draws original k and writes it.
func writeOriginal(dir string, opts SyntheticOptions, p *plan, k int) error {
	o := p.originals[k]
	r := newRand(opts.Seed, streamOriginal, k)
	w, h := opts.Width, opts.Height
	if r.IntN(2) == 0 {
		w = max(MinSyntheticSize, int(math.Round(float64(w)*(0.875+0.25*r.Float64()))))
		h = max(MinSyntheticSize, int(math.Round(float64(h)*(0.875+0.25*r.Float64()))))
	}
	img := renderScene(r, w, h, o.scene, p.palettes[o.palette])
	return encodeAndWrite(filepath.Join(dir, filepath.FromSlash(o.rel)), img, o.jpeg, originalJPEGQuality)
}

// writeCopy makes planted copy j from its original's file and writes it.
func writeCopy(dir string, opts SyntheticOptions, p *plan, j int) error {
	c := &p.copies[j]
	o := p.originals[c.orig]
	src := filepath.Join(dir, filepath.FromSlash(o.rel))
	dst := filepath.Join(dir, filepath.FromSlash(c.rel))
	data, err := db.ReadUserFile(src, maxSyntheticImageBytes)
	if err != nil {
		return fmt.Errorf("zoo: synthetic: read original: %w", err)
	}
	if c.kind == KindExact {
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("zoo: synthetic: write %s: %w", dst, err)
		}
		return nil
	}
	var decoded image.Image
	if o.jpeg {
		decoded, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		decoded, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return fmt.Errorf("zoo: synthetic: decode original %s: %w", src, err)
	}
	r := newRand(opts.Seed, streamCopy, j)
	img, quality, detail := transform(r, c.kind, toRGBA(decoded))
	c.detail = detail
	return encodeAndWrite(dst, img, c.jpeg, quality)
}

// pngEncoder favours speed over size and reuses its compression state
// across images (the state is large next to a small picture).
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers is a png.EncoderBufferPool backed by a sync.Pool.
type pngBuffers struct{ pool sync.Pool }

// Get returns a recycled buffer, or nil to let the encoder make one.
func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

// Put keeps b for a later Get.
func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// encodeAndWrite encodes img as JPEG at quality or as PNG, and writes it.
func encodeAndWrite(name string, img image.Image, asJPEG bool, quality int) error {
	var buf bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	} else {
		err = pngEncoder.Encode(&buf, img)
	}
	if err != nil {
		return fmt.Errorf("zoo: synthetic: encode %s: %w", name, err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("zoo: synthetic: write %s: %w", name, err)
	}
	return nil
}

// truthFile is the layout of TruthJSON. Paths are relative to the set's
// directory and slash-separated, so a set can be moved.
type truthFile struct {
	Format       string       `json:"format"`
	Version      int          `json:"version"`
	Seed         int64        `json:"seed"`
	N            int          `json:"n"`
	CopyFraction float64      `json:"copy_fraction"`
	Width        int          `json:"width"`
	Height       int          `json:"height"`
	Copies       int          `json:"copies"`
	Images       []truthImage `json:"images"`
}

type truthImage struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	Original string `json:"original,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// truth lists every image in slot order.
func (p *plan) truth(opts SyntheticOptions) *truthFile {
	images := make([]truthImage, opts.N)
	for _, o := range p.originals {
		images[o.slot] = truthImage{Path: o.rel, Kind: KindOriginal}
	}
	for _, c := range p.copies {
		images[c.slot] = truthImage{Path: c.rel, Kind: c.kind, Original: p.originals[c.orig].rel, Detail: c.detail}
	}
	return &truthFile{
		Format:       truthFormat,
		Version:      truthVersion,
		Seed:         opts.Seed,
		N:            opts.N,
		CopyFraction: opts.CopyFraction,
		Width:        opts.Width,
		Height:       opts.Height,
		Copies:       len(p.copies),
		Images:       images,
	}
}

// set turns a checked truth file into a SyntheticSet rooted at dir.
func (t *truthFile) set(dir string) *SyntheticSet {
	s := &SyntheticSet{Dir: dir, Images: make([]SyntheticImage, len(t.Images))}
	for i, im := range t.Images {
		s.Images[i] = SyntheticImage{
			Path:   filepath.Join(dir, filepath.FromSlash(im.Path)),
			Kind:   im.Kind,
			Detail: im.Detail,
		}
		if im.Original != "" {
			s.Images[i].Original = filepath.Join(dir, filepath.FromSlash(im.Original))
		}
	}
	return s
}

// writeTruth writes TruthText, then TruthJSON, each through a temporary
// file and a rename.
func writeTruth(dir string, t *truthFile) error {
	var txt strings.Builder
	for _, im := range t.Images {
		if im.Kind != KindOriginal {
			fmt.Fprintf(&txt, "%s %s\n", im.Path, im.Original)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, TruthText), []byte(txt.String())); err != nil {
		return err
	}
	js, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("zoo: synthetic: encode truth: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, TruthJSON), append(js, '\n'))
}

func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("zoo: synthetic: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("zoo: synthetic: rename %s: %w", tmp, err)
	}
	return nil
}

// LoadSyntheticSet reads the answer key of a set made by GenerateSynthetic
// from dir/truth.json. It checks the key for consistency (known kinds,
// unique paths inside dir, every copy pointing at an original) but does not
// open the images. A missing key gives an error matching fs.ErrNotExist; a
// malformed one, ErrInvalidTruth.
func LoadSyntheticSet(dir string) (*SyntheticSet, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zoo: synthetic: resolve %q: %w", dir, err)
	}
	name := filepath.Join(abs, TruthJSON)
	data, err := db.ReadUserFile(name, maxTruthBytes)
	if err != nil {
		return nil, fmt.Errorf("zoo: synthetic: %w", err)
	}
	var t truthFile
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidTruth, name, err)
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidTruth, name, err)
	}
	return t.set(abs), nil
}

// check validates a truth file read from disk; its error text is a reason,
// wrapped by the caller.
func (t *truthFile) check() error {
	if t.Format != truthFormat {
		return fmt.Errorf("format %q, want %q", t.Format, truthFormat)
	}
	if t.Version != truthVersion {
		return fmt.Errorf("version %d, want %d", t.Version, truthVersion)
	}
	kinds := make(map[string]string, len(t.Images))
	for _, im := range t.Images {
		if !validRel(im.Path) {
			return fmt.Errorf("image path %q is not a local slash-separated path", im.Path)
		}
		if _, dup := kinds[im.Path]; dup {
			return fmt.Errorf("image %q listed twice", im.Path)
		}
		kinds[im.Path] = im.Kind
	}
	copies := 0
	for _, im := range t.Images {
		switch {
		case im.Kind == KindOriginal:
			if im.Original != "" {
				return fmt.Errorf("original %q names an original", im.Path)
			}
		case slices.Contains(copyKinds[:], im.Kind):
			copies++
			if kinds[im.Original] != KindOriginal {
				return fmt.Errorf("copy %q: %q is not an original of the set", im.Path, im.Original)
			}
		default:
			return fmt.Errorf("image %q has unknown kind %q", im.Path, im.Kind)
		}
	}
	if t.Copies != copies {
		return fmt.Errorf("header says %d copies, images list %d", t.Copies, copies)
	}
	return nil
}

// validRel reports whether p is a relative slash-separated path that stays
// inside its root.
func validRel(p string) bool {
	return p != "" && !strings.Contains(p, `\`) && path.Clean(p) == p && filepath.IsLocal(filepath.FromSlash(p))
}
