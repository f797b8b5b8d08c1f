package zoo

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fosql/fosql/db"
)

// ErrNotOfficial means a dataset's source file is not the one its
// publisher distributes: its size or digest differs from the official
// values. WITH (verify = false) reads it anyway.
var ErrNotOfficial = errors.New("zoo: not the official file")

// sourceFile is a file a zoo dataset is read from, as its publisher
// distributes it. The zoo never downloads it: the user does, and names it
// with WITH (file = …) or puts it in the zoo's cache folder.
type sourceFile struct {
	name string // the file name, e.g. cifar-10-binary.tar.gz
	url  string // where the publisher distributes it
	size int64  // its size in bytes
	// md5 and sha256 are its hex digests; "" where none is known.
	md5, sha256 string
}

// maxSourceBytes bounds a source file, well above the largest official one
// (cifar-10-binary.tar.gz, 170 MB).
const maxSourceBytes = 1 << 30

// downloadOptions are the WITH (…) options of a dataset read from a
// downloaded file.
type downloadOptions struct {
	file   string // the file (or the folder that holds it); "" means the cache
	verify bool   // check the size and digests against the official ones
	limit  int    // the first limit pictures of each split; 0 means all
}

// parseDownloadOptions reads the options file, verify and n of dataset
// name.
func parseDownloadOptions(name string, opts map[string]any) (downloadOptions, error) {
	out := downloadOptions{verify: true}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := opts[k]
		bad := func(want string) error {
			return fmt.Errorf("zoo: %s: option %s = %v: %w (%s)", name, k, v, ErrInvalidOptions, want)
		}
		switch k {
		case "file":
			s, ok := v.(string)
			if !ok || s == "" {
				return out, bad("file: the path of the downloaded file, in quotes")
			}
			out.file = s
		case "verify":
			b, ok := v.(bool)
			if !ok {
				return out, bad("verify: true or false")
			}
			out.verify = b
		case "n":
			x, ok := wholeNumber(v)
			if !ok || x < 1 {
				return out, bad("n: the first n images of each split")
			}
			out.limit = int(min(x, 1<<30))
		default:
			return out, bad("the options are file, verify and n")
		}
	}
	return out, nil
}

// locateSource finds src for dataset name: in the folder or at the file
// the file option names, else in the cache folder. A missing file is an
// ErrNeedsDownload error that names the file, its official address and
// where to put it.
func locateSource(name string, src sourceFile, opts downloadOptions, cache string) (string, error) {
	path := filepath.Join(cache, src.name)
	if opts.file != "" {
		path = opts.file
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path = filepath.Join(path, src.name)
		}
	}
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if opts.file != "" {
			return "", fmt.Errorf("%w: %s reads %s, and %s does not exist; download the file from %s (this zoo never downloads) and name it with WITH (file = '…') or put it in %s",
				ErrNeedsDownload, name, src.name, path, src.url, cache)
		}
		return "", fmt.Errorf("%w: %s reads %s, which is not in %s; download it from %s (this zoo never downloads) and put it there, or name it with WITH (file = '…')",
			ErrNeedsDownload, name, src.name, cache, src.url)
	}
	if err != nil {
		return "", fmt.Errorf("zoo: %s: %w", name, err)
	}
	return path, nil
}

// checkSource reads the file at path once and returns its MD5 (hex). With
// verify it refuses a file whose size, MD5 or SHA-256 differs from the
// official one (the size is compared first, without reading).
func checkSource(name string, src sourceFile, path string, verify bool) (string, error) {
	f, st, err := db.OpenUserFile(path, maxSourceBytes)
	if err != nil {
		return "", fmt.Errorf("zoo: %s: %w", name, err)
	}
	defer f.Close()
	official := fmt.Sprintf("the official %s (%s) is %d bytes with MD5 %s", src.name, src.url, src.size, src.md5)
	if src.md5 == "" {
		official = fmt.Sprintf("the official %s (%s) is %d bytes with SHA-256 %s", src.name, src.url, src.size, src.sha256)
	}
	const skip = "; WITH (verify = false) reads it anyway"
	if verify && st.Size() != src.size {
		return "", fmt.Errorf("%w for %s: %s is %d bytes; %s%s", ErrNotOfficial, name, path, st.Size(), official, skip)
	}
	sum5 := md5.New()
	var sum256 hash.Hash
	w := io.Writer(sum5)
	if verify && src.sha256 != "" {
		sum256 = sha256.New()
		w = io.MultiWriter(sum5, sum256)
	}
	if _, err := io.Copy(w, io.LimitReader(bufio.NewReaderSize(f, 1<<20), st.Size())); err != nil {
		return "", fmt.Errorf("zoo: %s: reading %s: %w", name, path, err)
	}
	got := hex.EncodeToString(sum5.Sum(nil))
	if !verify {
		return got, nil
	}
	if src.md5 != "" && got != src.md5 {
		return "", fmt.Errorf("%w for %s: %s has MD5 %s; %s%s", ErrNotOfficial, name, path, got, official, skip)
	}
	if sum256 != nil {
		if got256 := hex.EncodeToString(sum256.Sum(nil)); got256 != src.sha256 {
			return "", fmt.Errorf("%w for %s: %s has SHA-256 %s, the official file's is %s; %s%s", ErrNotOfficial, name, path, got256, src.sha256, official, skip)
		}
	}
	return got, nil
}

// convertedDir is the cache folder of one split of dataset name converted
// to PNGs from a source whose MD5 is sum: a different file, or another n,
// gets another folder, so that samples already loaded keep their pictures.
func convertedDir(cache, name, sum string, limit int, split string) string {
	key := sum[:12]
	if limit > 0 {
		key += fmt.Sprintf("-first%d", limit)
	}
	return filepath.Join(cache, name, key, split)
}

// trimmedLines returns the lines of text that are not blank, trimmed.
func trimmedLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
