package quality

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/fosql/fosql/zoo"
)

// TruthFile is the name of the ground truth Build writes beside the
// copies: a tab-separated line per copy, "copy original kind detail".
const TruthFile = "truth.tsv"

// Sample is one image of a benchmark set.
type Sample struct {
	Path string
	// Original is the row of the original this sample copies, or -1 for an
	// original.
	Original int
	// Kind is zoo.KindOriginal or the transform that made the copy.
	Kind   string
	Detail string
}

// Set is a benchmark set: the originals first, in the order drawn, then
// one copy of each (the order in which a user would add them).
type Set struct {
	Collection string
	Samples    []Sample
	Copies     int
}

// BuildOptions configure Build.
type BuildOptions struct {
	// Max is the most originals taken (0: all).
	Max int
	// Seed draws the originals and the transforms' parameters.
	Seed uint64
}

// Build draws up to o.Max originals of c (all of them, in a seeded order,
// when there are fewer), plants one copy of each in dir with the transform
// zoo.PlantKinds()[i mod T] for original i, and writes TruthFile there.
// Copies are PNG, or JPEG (quality 95) when their original is a JPEG,
// except the JPEG copies (quality zoo.PlantJPEGQuality) and exact copies
// (the original's bytes).
func Build(ctx context.Context, c *Collection, dir string, o BuildOptions) (*Set, error) {
	r := rand.New(rand.NewPCG(o.Seed, 0x9a11))
	picked := make([]Original, len(c.Originals))
	for i, j := range r.Perm(len(c.Originals)) {
		picked[i] = c.Originals[j]
	}
	if o.Max > 0 && len(picked) > o.Max {
		picked = picked[:o.Max]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("quality: %w", err)
	}
	kinds := zoo.PlantKinds()
	n := len(picked)
	set := &Set{Collection: c.Name, Samples: make([]Sample, 2*n), Copies: n}
	for i, p := range picked {
		set.Samples[i] = Sample{Path: p.Path, Original: -1, Kind: zoo.KindOriginal}
	}
	err := parallel(ctx, n, func(i int) error {
		kind := kinds[i%len(kinds)]
		s, err := plantOne(dir, picked[i].Path, i, kind, rand.New(rand.NewPCG(o.Seed, uint64(i))))
		set.Samples[n+i] = s
		return err
	})
	if err != nil {
		return nil, err
	}
	return set, writeTruth(filepath.Join(dir, TruthFile), set)
}

// plantOne makes the copy of original i (at src) of the given kind in dir.
func plantOne(dir, src string, i int, kind string, r *rand.Rand) (Sample, error) {
	ext := strings.ToLower(filepath.Ext(src))
	s := Sample{Original: i, Kind: kind}
	if kind == zoo.KindExact {
		data, err := os.ReadFile(src)
		if err != nil {
			return s, fmt.Errorf("quality: %w", err)
		}
		s.Path, s.Detail = filepath.Join(dir, fmt.Sprintf("%05d-%s%s", i, kind, ext)), "bytes"
		return s, writeFile(s.Path, data)
	}
	img, err := decodeFile(src)
	if err != nil {
		return s, err
	}
	c, err := zoo.Plant(r, kind, img)
	if err != nil {
		return s, fmt.Errorf("quality: %s: %w", src, err)
	}
	s.Detail = c.Detail
	var buf bytes.Buffer
	quality := c.JPEGQuality
	if quality == 0 && (ext == ".jpg" || ext == ".jpeg") {
		quality = 95
	}
	if quality > 0 {
		s.Path = filepath.Join(dir, fmt.Sprintf("%05d-%s.jpg", i, kind))
		err = jpeg.Encode(&buf, c.Image, &jpeg.Options{Quality: quality})
	} else {
		s.Path = filepath.Join(dir, fmt.Sprintf("%05d-%s.png", i, kind))
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, c.Image)
	}
	if err != nil {
		return s, fmt.Errorf("quality: encode the %s copy of %s: %w", kind, src, err)
	}
	return s, writeFile(s.Path, buf.Bytes())
}

// writeFile writes data to path.
func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	return nil
}

// writeTruth writes the set's copies, one per line: copy, original, kind
// and detail, tab-separated.
func writeTruth(path string, set *Set) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, s := range set.Samples {
		if s.Original >= 0 {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Path, set.Samples[s.Original].Path, s.Kind, s.Detail)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("quality: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("quality: write %s: %w", path, err)
	}
	return nil
}

// parallel calls fn(0..n-1) on every core and returns the context's error
// if it ended early, else the error of the lowest i that failed.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
