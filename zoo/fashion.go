package zoo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// fashionSplits are Fashion-MNIST's files, named as MNIST's.
var fashionSplits = mnistSplits

// prepareFashionMNIST checks a request and converts the requested split
// (or both) to PNG files under the cache, or finds them there.
func prepareFashionMNIST(ctx context.Context, req LoadRequest) ([]labelledSplit, error) {
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
	var parts []labelledSplit
	for _, s := range splits {
		dir := filepath.Join(cache, FashionMNIST, s.name)
		if limit > 0 {
			dir = filepath.Join(cache, FashionMNIST+"-first"+strconv.Itoa(limit), s.name)
		}
		labels, err := materializeIDX(ctx, src, dir, s, limit, len(FashionMNISTLabels), func(done, total int) { progress("convert "+s.name, done, total) })
		var missing *fs.PathError
		if errors.Is(err, os.ErrNotExist) && errors.As(err, &missing) {
			return nil, fmt.Errorf("%w: %s is missing; install Debian's dataset-%s package (apt-get install dataset-%s), or set %s to the folder that holds %s/",
				ErrNotInstalled, missing.Path, FashionMNIST, FashionMNIST, EnvSourceDir, FashionMNIST)
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, labelledSplit{split: s.name, dir: dir, labels: labels, names: FashionMNISTLabels[:]})
	}
	return parts, nil
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
			labels = append(labels, part.names[l])
		}
	}
	return paths, labels, nil
}
