package zoo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fosql/fosql/db"
)

// ErrUnknownDataset means the zoo has no dataset of that name.
var ErrUnknownDataset = errors.New("zoo: unknown dataset")

// ErrNeedsDownload means a zoo dataset must be downloaded, and this zoo
// loads only what it can make offline.
var ErrNeedsDownload = errors.New("zoo: dataset needs a download")

// Datasets lists the datasets Load can load.
func Datasets() []string { return []string{"synthetic", FashionMNIST, MNIST, CIFAR10, CIFAR100} }

// needsDownload are well-known datasets this zoo does not load: they
// exist only as downloads in formats it does not read.
var needsDownload = map[string]bool{"coco-2017": true, "imagenet-sample": true}

// cifarSpecs are the CIFAR datasets, by zoo name.
var cifarSpecs = map[string]*cifarSpec{CIFAR10: cifar10Spec, CIFAR100: cifar100Spec}

// LoadRequest says which zoo dataset to load into which dataset.
type LoadRequest struct {
	Name  string // the zoo's dataset, e.g. "synthetic"
	Split string // tags every sample when set, as FiftyOne tags splits
	// Dataset is the dataset to create or fill; "" means Name with '-'
	// written '_' (fashion-mnist loads into fashion_mnist), so that SQL
	// can name it without quotes.
	Dataset string
	// Options: for synthetic, n (images, default 1000) and seed (default
	// 1); for fashion-mnist, n (the first n pictures of each split); for
	// mnist, cifar10 and cifar100, n, file (the downloaded file, or the
	// folder that holds it; MNIST's four files in one folder) and verify
	// (default true: the file's size and digests must be the official
	// ones; false reads other builds of the files, e.g. tests' own).
	Options map[string]any
	// CacheDir holds generated and converted images, and downloaded
	// files the user put there; "" means $XDG_CACHE_HOME/fosql/zoo (or
	// ~/.cache/fosql/zoo).
	CacheDir string
	// SourceDir is where packaged datasets are read from; "" means
	// DefaultSourceDir.
	SourceDir string
	// Progress reports generation and ingest.
	Progress func(phase string, done, total int)
}

// ErrUnknownSplit means a LoadRequest names a split the zoo dataset does
// not have.
var ErrUnknownSplit = errors.New("zoo: unknown split")

// syntheticSplits are the synthetic set's splits: one set, made for
// evaluating a ranking, so it is all test.
var syntheticSplits = []string{"test"}

// Splits lists the splits of a zoo dataset; nil for a name the zoo does
// not load.
func Splits(name string) []string {
	switch name {
	case "synthetic":
		return syntheticSplits
	case FashionMNIST, MNIST:
		names := make([]string, len(mnistSplits))
		for i, s := range mnistSplits {
			names[i] = s.name
		}
		return names
	case CIFAR10, CIFAR100:
		return slices.Clone(cifarSpecs[name].order)
	}
	return nil
}

// checkSplit refuses a split the dataset does not have ("" means all).
func checkSplit(name, split string) error {
	if split == "" {
		return nil
	}
	splits := Splits(name)
	for _, s := range splits {
		if s == split {
			return nil
		}
	}
	if len(splits) == 1 {
		return fmt.Errorf("%w %q: %s has one split, %s", ErrUnknownSplit, split, name, splits[0])
	}
	return fmt.Errorf("%w %q: %s has the splits %s", ErrUnknownSplit, split, name, strings.Join(splits, ", "))
}

// Load makes a zoo dataset available as a dataset of store, as FiftyOne's
// load_zoo_dataset: the images are generated or converted (or found in
// the cache), ingested, and given their fields (for synthetic, truth.kind
// — "original" or the transform of a planted copy — and, for copies,
// truth.original_id; for fashion-mnist, ground_truth.label). Loading
// again adds nothing twice.
//
// A load is all or nothing: the request (name, split, options) and the
// source files are checked and the images made before the dataset is
// touched, and when a later step fails (or ctx is cancelled) the dataset
// is removed if this load created it, or loses the samples this load
// added.
func Load(ctx context.Context, store *db.DB, req LoadRequest) (*db.Dataset, error) {
	var fill func(ctx context.Context, ds *db.Dataset, added *[]db.ID) error
	switch {
	case req.Name == "synthetic":
		set, err := prepareSynthetic(ctx, req)
		if err != nil {
			return nil, err
		}
		fill = func(ctx context.Context, ds *db.Dataset, added *[]db.ID) error {
			return fillSynthetic(ctx, ds, req, set, added)
		}
	case req.Name == FashionMNIST:
		parts, err := prepareFashionMNIST(ctx, req)
		if err != nil {
			return nil, err
		}
		fill = func(ctx context.Context, ds *db.Dataset, added *[]db.ID) error {
			return fillLabelled(ctx, ds, FashionMNIST, parts, progressOf(req), added)
		}
	case req.Name == MNIST || cifarSpecs[req.Name] != nil:
		var parts []labelledSplit
		var err error
		if req.Name == MNIST {
			parts, err = prepareMNIST(ctx, req)
		} else {
			parts, err = prepareCIFAR(ctx, cifarSpecs[req.Name], req)
		}
		if err != nil {
			return nil, err
		}
		fill = func(ctx context.Context, ds *db.Dataset, added *[]db.ID) error {
			return fillLabelled(ctx, ds, req.Name, parts, progressOf(req), added)
		}
	case needsDownload[req.Name]:
		return nil, fmt.Errorf("%w: %s is not made offline; this zoo has %v (put the images in a folder and use CREATE DATASET … FROM IMAGES)", ErrNeedsDownload, req.Name, Datasets())
	default:
		return nil, fmt.Errorf("%w %q; the zoo has %v", ErrUnknownDataset, req.Name, Datasets())
	}
	ds, created, err := openOrCreate(store, req)
	if err != nil {
		return nil, err
	}
	var added []db.ID
	if err := fill(ctx, ds, &added); err != nil {
		return nil, undoLoad(ctx, store, ds, created, added, err)
	}
	return ds, nil
}

// undoLoad takes back a failed load: the dataset if the load created it,
// else the samples it added. It returns the load's error, with the undo's
// own failure added when there is one.
func undoLoad(ctx context.Context, store *db.DB, ds *db.Dataset, created bool, added []db.ID, cause error) error {
	var err error
	if created {
		err = store.DeleteDataset(ds.Name())
	} else if len(added) > 0 {
		_, err = ds.Delete(context.WithoutCancel(ctx), added)
	}
	if err != nil {
		return fmt.Errorf("%w (and removing what the load added to dataset %s failed: %v)", cause, ds.Name(), err)
	}
	return cause
}

// prepareSynthetic checks a synthetic request and makes its images (or
// finds them in the cache).
func prepareSynthetic(ctx context.Context, req LoadRequest) (*SyntheticSet, error) {
	n, seed := 1000, int64(1)
	for k, v := range req.Options {
		x, ok := wholeNumber(v)
		switch {
		case k == "n" && ok && x > 0 && x <= MaxSyntheticN:
			n = int(x)
		case k == "seed" && ok:
			seed = x
		default:
			return nil, fmt.Errorf("zoo: synthetic: option %s = %v: %w (n: 1..%d images, seed: a whole number)", k, v, ErrInvalidOptions, MaxSyntheticN)
		}
	}
	if err := checkSplit(req.Name, req.Split); err != nil {
		return nil, err
	}
	progress := progressOf(req)
	cache, err := cacheDir(req)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, fmt.Sprintf("synthetic-n%d-seed%d", n, seed))
	set, err := LoadSyntheticSet(dir)
	if err != nil {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		set, err = GenerateSynthetic(ctx, dir, SyntheticOptions{N: n, Seed: seed,
			Progress: func(done, total int) { progress("generate", done, total) }})
		if err != nil {
			return nil, err
		}
	}
	return set, nil
}

// fillSynthetic ingests a synthetic set into ds and writes its answer
// key as fields; the ids it adds go to *added as they are added.
func fillSynthetic(ctx context.Context, ds *db.Dataset, req LoadRequest, set *SyntheticSet, added *[]db.ID) error {
	progress := progressOf(req)
	var tags []string
	if req.Split != "" {
		tags = []string{req.Split}
	}
	res, err := ds.AddImages(ctx, set.Dir, db.IngestOptions{Scan: db.ScanOptions{Recursive: true}, Tags: tags,
		Progress: func(p db.IngestProgress) { progress("ingest", p.Seen, len(set.Images)) }})
	if res != nil {
		*added = append(*added, res.Added...)
	}
	if err != nil {
		return err
	}
	if len(res.Added) == 0 {
		return nil
	}
	// The answer key, as fields.
	byKind := map[string][]db.ID{}
	for _, im := range set.Images {
		id, ok, err := ds.IDByFilepath(im.Path)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		byKind[im.Kind] = append(byKind[im.Kind], id)
		if im.Original != "" {
			orig, ok, err := ds.IDByFilepath(im.Original)
			if err != nil {
				return err
			}
			if ok {
				if _, err := ds.SetField(ctx, []db.ID{id}, "truth.original_id", db.String(orig.String())); err != nil {
					return err
				}
			}
		}
	}
	for kind, ids := range byKind {
		if _, err := ds.SetField(ctx, ids, "truth.kind", db.String(kind)); err != nil {
			return err
		}
	}
	return nil
}

// progressOf returns the request's progress callback, or one that does
// nothing.
func progressOf(req LoadRequest) func(string, int, int) {
	if req.Progress == nil {
		return func(string, int, int) {}
	}
	return req.Progress
}

// cacheDir is where the zoo keeps the images it makes.
func cacheDir(req LoadRequest) (string, error) {
	if req.CacheDir != "" {
		return req.CacheDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("zoo: no cache folder: %w", err)
	}
	return filepath.Join(base, "fosql", "zoo"), nil
}

// openOrCreate opens the dataset a request loads into, creating it when
// missing; created reports whether it did.
func openOrCreate(store *db.DB, req LoadRequest) (ds *db.Dataset, created bool, err error) {
	name := req.Dataset
	if name == "" {
		name = strings.ReplaceAll(req.Name, "-", "_")
	}
	ds, err = store.Dataset(name)
	if errors.Is(err, db.ErrNotFound) {
		ds, err = store.CreateDataset(name)
		created = err == nil
	}
	return ds, created, err
}

// wholeNumber reads an option value as an integer.
func wholeNumber(v any) (int64, bool) {
	switch t := v.(type) {
	case int:
		return int64(t), true
	case int64:
		return t, true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	case string:
		x, err := strconv.ParseInt(t, 10, 64)
		return x, err == nil
	}
	return 0, false
}
