package db

// This file walks an image folder for ingest: one goroutine lists
// directories in path order, a pool of workers runs inspectImage, and the
// calling goroutine puts the results back in walk order and hands them out
// in batches.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// DefaultScanBatchSize is the batch size ScanImages uses when
// ScanOptions.BatchSize is 0.
const DefaultScanBatchSize = 256

// ScanOptions configure ScanImages.
type ScanOptions struct {
	// Recursive descends into subdirectories, following symbolic links to
	// directories (each directory is entered once; see ScanImages).
	Recursive bool
	// MaxPixels refuses images whose declared width*height is larger, as
	// likely decompression bombs ("too large"). 0 (or less) means
	// DefaultMaxPixels, Pillow's limit.
	MaxPixels int64
	// Workers is the number of files inspected at once. 0 (or less) means
	// runtime.GOMAXPROCS(0) for a folder, and more for an s3:// root, whose
	// objects wait on the network.
	Workers int
	// BatchSize is the number of images per call of the found callback (the
	// last batch may be smaller). 0 (or less) means DefaultScanBatchSize.
	BatchSize int
	// Endpoint is the S3 endpoint (http://host:port) of an s3:// root, as
	// OpenMedia takes it; "" lets ResolveS3Endpoint choose. A local root
	// ignores it.
	Endpoint string
}

// FoundImage is one image delivered by ScanImages.
type FoundImage struct {
	// Path is absolute and cleaned. It is the path through the root as
	// given, so an image reached through a symbolic link keeps the link's
	// name in its path.
	Path string
	// Metadata is what InspectImage read from the file.
	Metadata ImageMetadata
}

// SkippedFile is one file or directory that ScanImages could not use.
type SkippedFile struct {
	// Path is absolute and cleaned, like FoundImage.Path.
	Path string
	// Reason is one of ReasonEmpty ("empty"), ReasonTruncated
	// ("truncated"), ReasonNotImage ("not an image"), ReasonUnreadable
	// ("unreadable"), ReasonTooLarge ("too large") or ReasonSymlinkLoop
	// ("symlink loop").
	Reason string
	// Err carries the detail; errors.Is matches the sentinel that goes with
	// Reason, or the operating system's error for "unreadable".
	Err error
}

// ScanImages walks the directory root, inspects every candidate file with
// InspectImage in parallel, and delivers the images to found in batches of
// opts.BatchSize, in lexical order of their full paths (exactly the order
// sort.Strings gives the paths), whatever the number of workers or their
// timing. Each file that is not a usable image goes to skipped with its
// reason, and the scan goes on. found and skipped are called from the
// calling goroutine, one call at a time, both in path order; a skipped file
// is reported as soon as its turn comes, so it may be reported before the
// batch holding the images that precede it is full. found owns each batch
// slice. Either callback may be nil.
//
// What is looked at:
//   - Names starting with "." (hidden files and directories) are ignored.
//   - Files whose extension is clearly not an image (text, markup, data and
//     label formats such as .txt, .md, .json, .csv, .xml, .yaml; archives;
//     code; audio and video; model weights) and files named README, LICENSE
//     and the like are ignored silently, so the annotation files and notes
//     that sit beside images in a dataset folder raise no alarm. Every other
//     file is read and recognised by content, so a text file named x.png,
//     or a file with no extension, is reported as "not an image".
//   - Symbolic links to files are followed; the image keeps the link's path,
//     so a file linked twice is found twice. A dangling link is
//     "unreadable", a link that resolves to itself is "symlink loop".
//   - Named pipes, sockets and devices are "unreadable" (never opened for
//     blocking reads).
//   - Without Recursive, subdirectories and links to directories are
//     ignored. With Recursive, both are entered, but each directory (by
//     device and inode) at most once: a link to an ancestor (the root
//     itself, or any directory above the root up to "/"), to a directory
//     already entered, or to a directory inside the tree that the walk
//     reaches by its own path, is reported once as "symlink loop" and not
//     followed, so every image is found once, under its real path when it
//     lies inside the tree. A subdirectory that cannot be listed is
//     "unreadable".
//
// A root of the form s3://bucket/prefix names objects in S3-compatible
// storage instead (see OpenMedia for the endpoint and credentials): the
// objects under the prefix are listed in key order, the same names are
// left out, "folders" are key prefixes ending in "/", and each object is
// streamed once through the same inspection; a storage that cannot be
// listed or read (no such bucket, refused credentials, an unreachable
// endpoint) ends the scan with an error wrapping ErrMediaStore.
//
// ScanImages returns an error wrapping fs.ErrNotExist when root does not
// exist, one wrapping syscall.ENOTDIR when it is not a directory, and the
// operating system's error when it cannot be listed. It stops at the first
// error found returns and returns that error unchanged; when ctx is
// cancelled it stops and returns an error wrapping ctx.Err(). Batches
// already delivered stay delivered; the partial batch in hand is dropped.
func ScanImages(ctx context.Context, root string, opts ScanOptions, found func([]FoundImage) error, skipped func(SkippedFile)) error {
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultScanBatchSize
	}
	if found == nil {
		found = func([]FoundImage) error { return nil }
	}
	if skipped == nil {
		skipped = func(SkippedFile) {}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("scan images %s: %w", root, err)
	}
	if IsS3URL(root) {
		return scanS3(ctx, root, opts, found, skipped)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}

	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("scan images %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("scan images: %w", err)
	}
	if !st.IsDir() {
		return &fs.PathError{Op: "scan images", Path: abs, Err: syscall.ENOTDIR}
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("scan images: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return fmt.Errorf("scan images: %w", err)
	}

	return runScan(ctx, abs, opts, scanTaskMax, func(q *scanQueue) bool {
		w := &scanWalker{
			scanQueue: q,
			recursive: opts.Recursive,
			root:      abs,
			realRoot:  realRoot,
			visited:   map[scanDirID]string{},
			ancestors: map[scanDirID]string{},
			above:     scanDirsAbove(realRoot),
		}
		id := scanIDOf(abs, st)
		w.visited[id] = abs
		return w.walkDir(abs, id, entries)
	}, func(ctx context.Context, path string) (ImageMetadata, error) {
		return inspectImage(ctx, path, opts.MaxPixels)
	}, found, skipped)
}

// runScan runs a scan: produce queues every candidate in delivery order
// (returning false when the scan was cancelled), a pool of opts.Workers
// goroutines runs inspect on the queued candidates, and the calling
// goroutine delivers the results in queue order (scanDeliver). Tasks hold
// up to taskMax candidates (0: scanTaskMax). root names the scan in errors.
func runScan(ctx context.Context, root string, opts ScanOptions, taskMax int, produce func(q *scanQueue) bool,
	inspect func(ctx context.Context, path string) (ImageMetadata, error),
	found func([]FoundImage) error, skipped func(SkippedFile)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// order carries every task in walk order; its capacity bounds how far
	// the workers may run ahead of delivery (in tasks of up to scanTaskMax
	// files).
	order := make(chan *scanTask, max(16, 4*opts.Workers))
	jobs := make(chan *scanTask, opts.Workers)
	var wg sync.WaitGroup
	// A panic in the producer or a worker stops the scan with an error
	// wrapping ErrInternal instead of ending the process.
	var panicked atomic.Pointer[error]
	recoverTo := func() {
		if r := recover(); r != nil {
			err := Recovered(r)
			panicked.CompareAndSwap(nil, &err)
			cancel()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		defer recoverTo()
		q := &scanQueue{ctx: ctx, order: order, jobs: jobs, taskMax: taskMax}
		if produce(q) {
			q.flush()
		}
	}()
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer recoverTo()
			for {
				select {
				case <-ctx.Done():
					return
				case t, ok := <-jobs:
					if !ok {
						return
					}
					for i := range t.entries {
						e := &t.entries[i]
						if e.inspect && ctx.Err() == nil {
							e.md, e.err = inspect(ctx, e.path)
						}
					}
					close(t.done)
				}
			}
		}()
	}

	err := scanDeliver(ctx, order, opts.BatchSize, found, skipped)
	cancel()
	wg.Wait()
	if p := panicked.Load(); p != nil {
		return fmt.Errorf("scan images %s: %w", root, *p)
	}
	return err
}

// scanDeliver receives tasks in walk order, waits for each one's result and
// calls the callbacks.
func scanDeliver(ctx context.Context, order <-chan *scanTask, batchSize int, found func([]FoundImage) error, skipped func(SkippedFile)) error {
	batch := make([]FoundImage, 0, batchSize)
	stopped := func() error { return fmt.Errorf("scan images: %w", ctx.Err()) }
	for {
		// Checked first on every turn: once the context is done, no
		// callback runs again, even when results are ready.
		if ctx.Err() != nil {
			return stopped()
		}
		var t *scanTask
		select {
		case <-ctx.Done():
			return stopped()
		case next, ok := <-order:
			if !ok {
				if ctx.Err() != nil {
					return stopped()
				}
				if len(batch) > 0 {
					return found(batch)
				}
				return nil
			}
			t = next
		}
		select {
		case <-ctx.Done():
			return stopped()
		case <-t.done:
		}
		for _, e := range t.entries {
			if e.err != nil {
				if ctx.Err() != nil {
					return stopped()
				}
				skipped(SkippedFile{Path: e.path, Reason: SkipReason(e.err), Err: e.err})
				continue
			}
			batch = append(batch, FoundImage{Path: e.path, Metadata: e.md})
			if len(batch) == batchSize {
				if err := found(batch); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return stopped()
				}
				batch = make([]FoundImage, 0, batchSize)
			}
		}
	}
}

// scanTask is a run of consecutive paths in walk order, handed to one
// worker: handing files over one by one would cost more in goroutine
// wake-ups than inspecting a small file does. Results are written before
// done is closed.
type scanTask struct {
	entries []scanEntry
	done    chan struct{}
}

// scanEntry is one path of a task and its result.
type scanEntry struct {
	path    string
	inspect bool // to be inspected; otherwise err is already set
	md      ImageMetadata
	err     error
}

// scanTaskMax is the largest number of files in one task. Tasks start at
// one file and double up to this size, so a folder of a few large files is
// still spread over the workers.
const scanTaskMax = 16

// scanDirID identifies a directory: device and inode where the platform
// has them, else its resolved path.
type scanDirID struct {
	dev, ino uint64
	path     string
}

// scanIDOf returns the identity of the directory at path whose os.Stat
// result is fi.
func scanIDOf(path string, fi fs.FileInfo) scanDirID {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return scanDirID{dev: uint64(s.Dev), ino: uint64(s.Ino)}
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return scanDirID{path: real}
	}
	return scanDirID{path: path}
}

// scanWalker lists directories depth first in path order and queues an
// entry per candidate file, or a finished entry for a path it skips itself;
// entries are handed out in tasks of consecutive entries.
type scanWalker struct {
	*scanQueue
	recursive bool
	root      string               // the root as given, made absolute
	realRoot  string               // the root with symbolic links resolved
	visited   map[scanDirID]string // every directory entered, with its path
	ancestors map[scanDirID]string // the directories on the current path
	above     map[scanDirID]string // the root's real directory and every directory above it
}

// scanQueue hands candidates, in delivery order, to the workers (jobs) and
// to delivery (order) in tasks of consecutive entries.
type scanQueue struct {
	ctx      context.Context
	order    chan<- *scanTask
	jobs     chan<- *scanTask
	pending  []scanEntry // entries not yet handed out
	inspect  bool        // pending has an entry to inspect
	taskSize int         // size at which pending is handed out
	taskMax  int         // largest task; 0 means scanTaskMax
}

// scanItem is one directory entry the walker acts on.
type scanItem struct {
	key  string // name, plus "/" for directories, so entries sort in full-path order
	path string
	dir  fs.FileInfo // os.Stat of a directory to enter (nil for files)
	link bool        // reached through a symbolic link
	skip error       // the entry is reported with this error and not inspected
}

// walkDir emits the contents of dir; it returns false when the scan is
// cancelled.
func (w *scanWalker) walkDir(dir string, id scanDirID, entries []os.DirEntry) bool {
	if w.ctx.Err() != nil {
		return false
	}
	w.ancestors[id] = dir
	defer delete(w.ancestors, id)

	items := make([]scanItem, 0, len(entries))
	for _, e := range entries {
		if it, ok := w.classify(dir, e); ok {
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })

	for _, it := range items {
		switch {
		case it.skip != nil:
			if !w.emitDone(it.path, it.skip) {
				return false
			}
		case it.dir != nil:
			if !w.enter(it) {
				return false
			}
		default:
			if !w.emitJob(it.path) {
				return false
			}
		}
	}
	return true
}

// classify decides what to do with one directory entry; ok is false for
// entries that are ignored silently.
func (w *scanWalker) classify(dir string, e os.DirEntry) (it scanItem, ok bool) {
	name := e.Name()
	if strings.HasPrefix(name, ".") {
		return it, false
	}
	it = scanItem{key: name, path: filepath.Join(dir, name)}
	mode := e.Type()
	switch {
	case mode.IsDir():
		if !w.recursive {
			return it, false
		}
		fi, err := os.Stat(it.path)
		if err != nil {
			it.skip = fmt.Errorf("scan %s: %w", it.path, err)
		} else {
			it.dir = fi
		}
		it.key = name + "/"
		return it, true
	case mode&fs.ModeSymlink != 0:
		it.link = true
		fi, err := os.Stat(it.path)
		if err != nil {
			if scanIgnoredName(name) {
				return it, false
			}
			if errors.Is(err, syscall.ELOOP) {
				it.skip = fmt.Errorf("scan %s: %w: %w", it.path, ErrSymlinkLoop, err)
			} else {
				it.skip = fmt.Errorf("scan %s: broken symbolic link: %w", it.path, err)
			}
			return it, true
		}
		if fi.IsDir() {
			if !w.recursive {
				return it, false
			}
			it.dir = fi
			it.key = name + "/"
			return it, true
		}
		mode = fi.Mode().Type()
	}
	if scanIgnoredName(name) {
		return it, false
	}
	if !mode.IsRegular() {
		it.skip = fmt.Errorf("scan %s: %w (%s)", it.path, ErrNotRegular, fileModeName(mode))
	}
	return it, true
}

// enter descends into a subdirectory unless it has been, or will be,
// entered by another path.
func (w *scanWalker) enter(it scanItem) bool {
	id := scanIDOf(it.path, it.dir)
	if prev, ok := w.above[id]; ok {
		return w.emitDone(it.path, fmt.Errorf("scan %s: %w: points to %s, the folder being scanned or one above it", it.path, ErrSymlinkLoop, prev))
	}
	if prev, ok := w.ancestors[id]; ok {
		return w.emitDone(it.path, fmt.Errorf("scan %s: %w: points to its ancestor %s", it.path, ErrSymlinkLoop, prev))
	}
	if prev, ok := w.visited[id]; ok {
		return w.emitDone(it.path, fmt.Errorf("scan %s: %w: same directory as %s, already scanned", it.path, ErrSymlinkLoop, prev))
	}
	if it.link {
		// A link to a directory inside the tree is left to the walk that
		// reaches that directory by its real path, wherever it falls in the
		// order, so the images are found once under their real paths.
		if real, err := filepath.EvalSymlinks(it.path); err == nil {
			if rel, ok := scanWithin(w.realRoot, real); ok {
				return w.emitDone(it.path, fmt.Errorf("scan %s: %w: same directory as %s, scanned by its own path",
					it.path, ErrSymlinkLoop, filepath.Join(w.root, rel)))
			}
		}
	}
	entries, err := os.ReadDir(it.path)
	if err != nil {
		return w.emitDone(it.path, fmt.Errorf("scan %s: %w", it.path, err))
	}
	w.visited[id] = it.path
	return w.walkDir(it.path, id, entries)
}

// scanDirsAbove returns the identities of the directory realRoot and of
// every directory above it up to the file-system root: a link to any of
// them would lead the walk back over the tree it is in.
func scanDirsAbove(realRoot string) map[scanDirID]string {
	above := map[scanDirID]string{}
	for dir := realRoot; ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil {
			above[scanIDOf(dir, fi)] = dir
		}
		if filepath.Dir(dir) == dir {
			return above
		}
	}
}

// scanWithin reports whether real lies inside realRoot on a path the walk
// follows (no hidden component), and returns it relative to realRoot.
func scanWithin(realRoot, real string) (string, bool) {
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	if rel == "." {
		return rel, true
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return rel, true
}

// emitJob queues a file for inspection and for delivery in order.
func (w *scanQueue) emitJob(path string) bool {
	w.pending = append(w.pending, scanEntry{path: path, inspect: true})
	w.inspect = true
	if len(w.pending) >= max(w.taskSize, 1) {
		w.taskSize = min(2*max(w.taskSize, 1), cmp.Or(w.taskMax, scanTaskMax))
		return w.flush()
	}
	return true
}

// emitDone queues a path that the walker itself reports as skipped.
func (w *scanQueue) emitDone(path string, err error) bool {
	w.pending = append(w.pending, scanEntry{path: path, err: err})
	if len(w.pending) >= scanTaskMax {
		return w.flush()
	}
	return true
}

// flush hands the pending entries to a worker (when any needs inspecting)
// and to delivery; it returns false when the scan is cancelled.
func (w *scanQueue) flush() bool {
	if len(w.pending) == 0 {
		return true
	}
	t := &scanTask{entries: w.pending, done: make(chan struct{})}
	w.pending = make([]scanEntry, 0, scanTaskMax)
	if w.inspect {
		w.inspect = false
		select {
		case w.jobs <- t:
		case <-w.ctx.Done():
			return false
		}
	} else {
		close(t.done)
	}
	select {
	case w.order <- t:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// scanIgnoredExt lists extensions (lower case) of files that are clearly not
// images and are ignored without being read.
var scanIgnoredExt = map[string]bool{
	// text, markup, configuration, labels and annotations
	".txt": true, ".md": true, ".markdown": true, ".rst": true, ".log": true,
	".json": true, ".jsonl": true, ".ndjson": true, ".geojson": true,
	".xml": true, ".csv": true, ".tsv": true, ".yaml": true, ".yml": true,
	".toml": true, ".ini": true, ".cfg": true, ".conf": true,
	".html": true, ".htm": true, ".css": true, ".pdf": true, ".rtf": true,
	".doc": true, ".docx": true, ".odt": true, ".xls": true, ".xlsx": true,
	// checksums and locks
	".md5": true, ".sha1": true, ".sha256": true, ".sum": true, ".lock": true,
	// archives
	".zip": true, ".tar": true, ".gz": true, ".tgz": true, ".bz2": true,
	".xz": true, ".zst": true, ".7z": true, ".rar": true,
	// code and notebooks
	".py": true, ".ipynb": true, ".go": true, ".sh": true, ".js": true,
	".c": true, ".h": true, ".cpp": true, ".java": true, ".r": true,
	// data files and model weights
	".db": true, ".sqlite": true, ".parquet": true, ".npy": true, ".npz": true,
	".pkl": true, ".pickle": true, ".pt": true, ".pth": true, ".onnx": true,
	".h5": true, ".hdf5": true, ".tfrecord": true, ".mat": true,
	// audio and video
	".mp4": true, ".avi": true, ".mov": true, ".mkv": true, ".webm": true,
	".mp3": true, ".wav": true, ".flac": true, ".ogg": true,
}

// scanIgnoredBase lists file names (lower case, without extension) of
// project files that sit beside data.
var scanIgnoredBase = map[string]bool{
	"readme": true, "license": true, "licence": true, "copying": true,
	"authors": true, "notice": true, "changelog": true, "makefile": true,
}

// scanIgnoredName reports whether a file is ignored by its name alone.
func scanIgnoredName(name string) bool {
	lower := strings.ToLower(name)
	ext := filepath.Ext(lower)
	return scanIgnoredExt[ext] || scanIgnoredBase[strings.TrimSuffix(lower, ext)]
}
