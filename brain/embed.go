package brain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/fosql/fosql/db"
)

// Media gives access to one sample's encoded image. It is the only way the
// brain reads media, so a sample may live in a file, in memory or in object
// storage. Open is called once per Embed run; the caller closes the reader.
type Media interface {
	Open(ctx context.Context) (io.ReadCloser, error)
}

// File is Media for an image file on the local disk, or for an
// s3://bucket/key URL read from the endpoint the environment names (see
// db.ResolveS3Endpoint); Stored also carries a dataset's endpoint.
type File string

// Open opens the file without blocking: it must be a regular file (links
// followed) of at most DefaultMaxBytes, so a FIFO, a device or a directory
// where an image was is an error naming the path (wrapping
// db.ErrNotRegular), never a read that waits forever or never ends. A file
// too large wraps ErrImageTooLarge and db.ErrFileTooLarge.
func (f File) Open(ctx context.Context) (io.ReadCloser, error) {
	return Stored{Path: string(f)}.Open(ctx)
}

// Stored is Media for a sample's filepath as a dataset stores it: a local
// path, or an s3://bucket/key URL read from Endpoint, the dataset's media
// endpoint (db.Dataset.MediaEndpoint; "" for local files). Both open
// through db.OpenMedia, the one way fosql reads media.
type Stored struct {
	Path     string
	Endpoint string
}

// Open opens the media under File's rules; an object that is missing
// wraps fs.ErrNotExist, and a storage that cannot serve it at all (bad
// endpoint, no such bucket, refused credentials) wraps db.ErrMediaStore.
func (s Stored) Open(ctx context.Context) (io.ReadCloser, error) {
	m, err := db.OpenMedia(ctx, s.Path, s.Endpoint, DefaultMaxBytes)
	if errors.Is(err, db.ErrFileTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrImageTooLarge, err)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// MediaFunc adapts a function to Media.
type MediaFunc func(ctx context.Context) (io.ReadCloser, error)

// Open calls f.
func (f MediaFunc) Open(ctx context.Context) (io.ReadCloser, error) { return f(ctx) }

// Item is one image to embed: the caller's id (a sample id) and its media.
type Item struct {
	// ID names the item in the results (Embeddings.IDs, Skipped).
	ID string
	// Media opens the encoded image.
	Media Media
}

// Skipped reports an item that could not be embedded; the run goes on
// without it.
type Skipped struct {
	ID string
	// Err says why; it wraps ErrDecode or ErrImageTooLarge for bad images,
	// or the error of Media.Open or of reading.
	Err error
}

// EmbedOptions tune Embed. The zero value is ready to use.
type EmbedOptions struct {
	// BatchSize is the number of images per inference call; 0 uses the
	// model's fixed batch, or 64 for the built-in model, and for others a
	// batch that keeps about 16 images of 224x224 RGB in inference over
	// all Runners (8 each on two cores; from 1 to 32), so ONNX Runtime's
	// memory does not grow with the number of cores.
	BatchSize int
	// Workers is the number of decoding goroutines; 0 means GOMAXPROCS.
	Workers int
	// Runners is the number of batches inferred at once; 0 means
	// GOMAXPROCS, since the sessions of the built-in model and of models
	// loaded with LoadModel run each call on the calling thread, so one
	// call per core keeps every core busy.
	Runners int
	// MaxPixels refuses images declaring more pixels (0: DefaultMaxPixels).
	MaxPixels int64
	// MaxBytes refuses larger files (0: DefaultMaxBytes).
	MaxBytes int64
	// Progress, when set, is called with the number of items finished
	// (embedded or skipped) and the total, in increasing order, never
	// concurrently.
	Progress func(done, total int)
	// OnSkip, when set, is called for each skipped item as it happens, never
	// concurrently.
	OnSkip func(Skipped)
}

// Embeddings are Embed's results: one row per embedded item, in the order
// of the input items, without the skipped ones.
type Embeddings struct {
	// Dim is the length of each vector.
	Dim int
	// IDs are the embedded items' ids.
	IDs []string
	// Vectors holds len(IDs) rows of Dim values, row-major: row i belongs to
	// IDs[i]. This is the layout KNN takes.
	Vectors []float32
	// Skipped lists the items that could not be embedded, in input order.
	Skipped []Skipped
}

// Vector returns row i of e.Vectors.
func (e *Embeddings) Vector(i int) []float32 { return e.Vectors[i*e.Dim : (i+1)*e.Dim] }

// decoded is one worker's result for item idx.
type decoded struct {
	idx    int
	tensor []float32
	err    error
}

// batch is a group of preprocessed images ready for inference.
type batch struct {
	data []float32 // rows of pre.size() values, capacity for the full batch
	idx  []int     // item index of each filled row
}

// Embed computes the embedding of every item with m. Decoding runs on
// Workers goroutines while ONNX Runtime runs batches on another, so decoding
// and inference overlap. An item that cannot be opened or decoded is skipped
// and reported, never the end of the run. Cancelling ctx stops the run
// promptly and returns ctx.Err(); another error (the model failing) ends it
// with that error.
func Embed(ctx context.Context, m *Model, items []Item, opts EmbedOptions) (*Embeddings, error) {
	if m == nil {
		return nil, errors.New("brain: Embed: nil model")
	}
	n := len(items)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	runners := opts.Runners
	if runners <= 0 {
		runners = defaultRunners(m)
	}
	bs := opts.BatchSize
	if m.spec.FixedBatch > 0 || bs <= 0 {
		bs = defaultBatch(m, runners)
	}
	lim := limits{maxPixels: opts.MaxPixels, maxBytes: opts.MaxBytes}.orDefault()
	dim, size := m.dim, m.pre.size()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Every goroutine below defers catch: a panic in one of them ends the
	// run with an error wrapping db.ErrInternal, not the program.
	catch := func() {
		if r := recover(); r != nil {
			cancel(db.Recovered(r))
		}
	}

	out := make([]float32, n*dim)
	ok := make([]bool, n)
	var skipped []skipAt

	var progMu sync.Mutex
	done := 0
	advance := func(k int, s *skipAt) {
		progMu.Lock()
		defer progMu.Unlock()
		done += k
		if s != nil {
			skipped = append(skipped, *s)
			if opts.OnSkip != nil {
				opts.OnSkip(s.Skipped)
			}
		}
		if opts.Progress != nil {
			opts.Progress(done, n)
		}
	}

	// Stage 1: item indices.
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		defer catch()
		for i := range items {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	// Stage 2: decode workers. Tensors are recycled through a pool; at most
	// workers + cap(results) are in flight.
	tensors := sync.Pool{New: func() any { return make([]float32, size) }}
	results := make(chan decoded, 2*workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer catch()
			var sc scratch
			for i := range jobs {
				if ctx.Err() != nil {
					return
				}
				t := tensors.Get().([]float32)
				err := loadItem(ctx, items[i], m.pre, lim, t, &sc)
				select {
				case results <- decoded{idx: i, tensor: t, err: err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Stage 3: inference on runners goroutines, fed full batches.
	batches := make(chan *batch, 1)
	free := make(chan *batch, runners+2)
	for i := 0; i < runners+2; i++ {
		free <- &batch{data: make([]float32, bs*size), idx: make([]int, 0, bs)}
	}
	var inferWG sync.WaitGroup
	infer := func() {
		defer inferWG.Done()
		defer catch()
		for b := range batches {
			if ctx.Err() != nil {
				return
			}
			rows := len(b.idx)
			runRows := rows
			if m.spec.FixedBatch > 0 {
				runRows = m.spec.FixedBatch
				clear(b.data[rows*size:])
			}
			vecs, _, err := m.run(b.data[:runRows*size], runRows)
			if err != nil {
				cancel(err)
				return
			}
			good := 0
			for j, i := range b.idx {
				vec := vecs[j*dim : (j+1)*dim]
				if err := CheckVectors(vec, dim, func(int) string { return "output" }); err != nil {
					advance(1, &skipAt{Skipped{ID: items[i].ID, Err: fmt.Errorf("brain: model %q: %w", m.spec.Name, err)}, i})
					continue
				}
				copy(out[i*dim:(i+1)*dim], vec)
				ok[i] = true
				good++
			}
			advance(good, nil)
			b.idx = b.idx[:0]
			free <- b
		}
	}
	inferWG.Add(runners)
	for range runners {
		go infer()
	}

	// The batcher: this goroutine gathers decoded tensors into batches.
	var cur *batch
	send := func() bool {
		select {
		case batches <- cur:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	aborted := false
gather:
	for {
		select {
		case r, open := <-results:
			if !open {
				break gather
			}
			if r.err != nil {
				tensors.Put(r.tensor)
				if ctx.Err() != nil {
					aborted = true
					break gather
				}
				advance(1, &skipAt{Skipped{ID: items[r.idx].ID, Err: r.err}, r.idx})
				continue
			}
			if cur == nil {
				select {
				case cur = <-free:
				case <-ctx.Done():
					aborted = true
					break gather
				}
			}
			j := len(cur.idx)
			copy(cur.data[j*size:(j+1)*size], r.tensor)
			cur.idx = append(cur.idx, r.idx)
			tensors.Put(r.tensor)
			if len(cur.idx) == bs && !send() {
				aborted = true
				break gather
			}
		case <-ctx.Done():
			aborted = true
			break gather
		}
	}
	if !aborted && cur != nil && len(cur.idx) > 0 {
		send()
	}
	close(batches)
	inferWG.Wait()
	if aborted || ctx.Err() != nil {
		// Drain so the workers can exit.
		go func() {
			for range results {
			}
		}()
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		return nil, ctx.Err()
	}

	res := &Embeddings{Dim: dim}
	slices.SortFunc(skipped, func(a, b skipAt) int { return cmp.Compare(a.idx, b.idx) })
	for _, s := range skipped {
		res.Skipped = append(res.Skipped, s.Skipped)
	}
	kept := 0
	for i := range items {
		if ok[i] {
			kept++
		}
	}
	res.IDs = make([]string, 0, kept)
	res.Vectors = out[:0:len(out)]
	for i := range items {
		if ok[i] {
			res.IDs = append(res.IDs, items[i].ID)
			res.Vectors = append(res.Vectors, out[i*dim:(i+1)*dim]...)
		}
	}
	res.Vectors = res.Vectors[: kept*dim : kept*dim]
	return res, nil
}

// inferenceValues bounds the input, in float32 values, that the default
// batches of a model loaded by path put into inference at once over all
// runners: 16 images of 224x224 RGB, 8 per core on two cores. A CNN costs
// the same CPU per image in batches of 1, 8 or 32, but ONNX Runtime's
// memory grows with the images in flight: mobilenet-v2's Fashion-MNIST
// run on two cores peaked at 2.1 GB in batches of 32 and 1.1 GB in
// batches of 8 (BENCHMARKS.md), so on many cores each batch is smaller.
const inferenceValues = 16 * 224 * 224 * 3

// defaultBatch is the number of images per inference call when
// EmbedOptions.BatchSize is 0 (and always for a model with a fixed batch)
// and runners calls run at once: the model's fixed batch, descriptorBatch
// for a built-in descriptor, else a share of inferenceValues, from 1 to 32.
func defaultBatch(m *Model, runners int) int {
	switch {
	case m.spec.FixedBatch > 0:
		return m.spec.FixedBatch
	case builtinOf(m.spec) != nil:
		return descriptorBatch
	}
	return max(1, min(32, inferenceValues/(m.pre.size()*max(1, runners))))
}

// defaultRunners is the number of batches Embed infers at once when
// EmbedOptions.Runners is 0: one per core for a session that runs each
// call on one thread, else one, which ONNX Runtime spreads over its own
// threads.
func defaultRunners(m *Model) int {
	if m.singleThreaded {
		return runtime.GOMAXPROCS(0)
	}
	return 1
}

// loadItem opens, reads and preprocesses one item.
func loadItem(ctx context.Context, it Item, pre *preprocessor, lim limits, dst []float32, sc *scratch) error {
	if it.Media == nil {
		return errors.New("brain: item has no media")
	}
	rc, err := it.Media.Open(ctx)
	if err != nil {
		return fmt.Errorf("brain: open media: %w", err)
	}
	defer rc.Close()
	return pre.loadTensor(ctx, rc, lim, dst, sc)
}

// skipAt is a Skipped with the item's position, for ordering.
type skipAt struct {
	Skipped
	idx int
}
