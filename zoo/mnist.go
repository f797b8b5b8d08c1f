package zoo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MNIST is the zoo name of LeCun, Cortes and Burges' MNIST: 70,000
// grayscale 28 x 28 pictures of handwritten digits, split into train
// (60,000) and test (10,000), read from the four gzipped IDX files the
// publisher distributes, which the user downloads.
const MNIST = "mnist"

// MNISTLabels are MNIST's class names, by label number.
var MNISTLabels = [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// mnistSplits are MNIST's files, which Fashion-MNIST copies in name and
// format.
var mnistSplits = []idxSplit{
	{"train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	{"test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}

// mnistAddress is MNIST's official page; its files are at this address
// followed by their names.
const mnistAddress = "http://yann.lecun.com/exdb/mnist/"

// mnistSources are the official files. The sizes are those the official
// page lists; the SHA-256s are those TensorFlow Datasets records
// (url_checksums/mnist.txt) and the MD5s those torchvision checks, as the
// official page publishes no digest.
var mnistSources = map[string]sourceFile{
	"train-images-idx3-ubyte.gz": {size: 9912422, md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
		sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
	"train-labels-idx1-ubyte.gz": {size: 28881, md5: "d53e105ee54ea40749a09fcbcd1e9432",
		sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
	"t10k-images-idx3-ubyte.gz": {size: 1648877, md5: "9fb629c4189551a2d022fa330f9573f3",
		sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
	"t10k-labels-idx1-ubyte.gz": {size: 4542, md5: "ec29112dd5afa0611ce80d1b7f02629c",
		sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
}

// mnistSource is the sourceFile of one of MNIST's files.
func mnistSource(name string) sourceFile {
	s := mnistSources[name]
	s.name, s.url = name, mnistAddress+name
	return s
}

// mnistFileNames lists MNIST's files.
func mnistFileNames() string {
	var names []string
	for _, s := range mnistSplits {
		names = append(names, s.images, s.labels)
	}
	return strings.Join(names, ", ")
}

// prepareMNIST checks a request, finds and checks the requested split's
// files (or both splits'), and converts them to PNG files under the
// cache, or finds them there. The file option names the folder that
// holds the four files (or one of them, the others beside it); without
// it they are read from the cache's mnist folder.
func prepareMNIST(ctx context.Context, req LoadRequest) ([]labelledSplit, error) {
	opts, err := parseDownloadOptions(MNIST, req.Options)
	if err != nil {
		return nil, err
	}
	if err := checkSplit(req.Name, req.Split); err != nil {
		return nil, err
	}
	cache, err := cacheDir(req)
	if err != nil {
		return nil, err
	}
	if opts.file != "" {
		if st, err := os.Stat(opts.file); err == nil && !st.IsDir() {
			opts.file = filepath.Dir(opts.file)
		}
	}
	home := filepath.Join(cache, MNIST)
	progress := progressOf(req)
	var parts []labelledSplit
	for _, s := range mnistSplits {
		if req.Split != "" && s.name != req.Split {
			continue
		}
		// Both files are in one folder; the pictures' digest names their
		// conversion.
		var src, sum string
		for _, file := range []string{s.images, s.labels} {
			path, err := locateSource(MNIST, mnistSource(file), opts, home)
			if err != nil {
				return nil, fmt.Errorf("%w (%s reads the files %s, all four from %s and in one folder)", err, MNIST, mnistFileNames(), mnistAddress)
			}
			digest, err := checkSource(MNIST, mnistSource(file), path, opts.verify)
			if err != nil {
				return nil, err
			}
			if file == s.images {
				src, sum = filepath.Dir(path), digest
			}
		}
		dir := convertedDir(cache, MNIST, sum, opts.limit, s.name)
		labels, err := materializeIDX(ctx, src, dir, s, opts.limit, len(MNISTLabels), func(done, total int) { progress("convert "+s.name, done, total) })
		if err != nil {
			return nil, err
		}
		parts = append(parts, labelledSplit{split: s.name, dir: dir, labels: labels, names: MNISTLabels[:]})
	}
	return parts, nil
}
