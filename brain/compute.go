package brain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fosql/fosql/brain/onnx"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// UniquenessGroup is the insights group that uniqueness runs write:
// insights.uniqueness.scalar, .nearest_id and .nearest_dist.
const UniquenessGroup = "uniqueness"

// The keys of a uniqueness run under UniquenessGroup.
const (
	keyScalar      = "scalar"
	keyNearestID   = "nearest_id"
	keyNearestDist = "nearest_dist"
)

// ErrOption reports a bad uniqueness option.
var ErrOption = errors.New("bad option")

// ErrNoVectors is returned by a run in which no sample could be embedded
// (every image missing or unreadable, or no sample holding a vector in
// the embeddings field); the previous scores stay as they were.
var ErrNoVectors = errors.New("brain: no embeddings")

// ComputeOptions configure ComputeUniqueness. The zero value computes
// FiftyOne Brain's default: the built-in model, cosine distance on
// mean-centred embeddings, K = 3 with weights 0.6, 0.3, 0.1.
type ComputeOptions struct {
	// Model is the model to embed with; nil means the built-in model.
	Model *ModelSpec
	// ModelName is the name Model was asked for by (a model zoo name such
	// as mobilenet-v2); the run's options record it instead of the file
	// path. Empty records the path.
	ModelName string
	// EmbeddingsField names a list-of-floats field holding vectors made
	// elsewhere (FiftyOne's embeddings= argument); no model runs then.
	EmbeddingsField string
	// Metric is the k-NN distance (default Cosine).
	Metric Metric
	// Weights of the nearest neighbours, nearest first; their count is K.
	// Nil means 0.6, 0.3, 0.1.
	Weights []float64
	// BatchSize and Workers tune embedding (0: measured defaults).
	BatchSize, Workers int
	// Queue, when its URL is set, sends the embedding to workers over
	// NATS JetStream (fosql worker) instead of running the model here;
	// with no URL, a queue set on the context by WithQueue is used.
	Queue QueueOptions
	// Memory bounds the bytes the run holds for its vectors and k-NN
	// (0: no bound): the k-NN's blocks shrink to fit, and a run that
	// cannot fit fails as soon as the size of its vectors is known, with
	// an error wrapping ErrMemory that says what it needs.
	Memory int64
	// Exact forces the exact k-NN at any size; by default a search above
	// ExactWork uses the approximate index.
	Exact bool

	// heap is the run's share of the soft heap limit, once its size is
	// known (checkMemory).
	heap *db.HeapHold
	// Progress, when set, receives the phases embed, knn and store.
	Progress func(insights.Progress)
	// OnSkip, when set, is called for each sample whose image could not be
	// embedded; such a sample gets no score and the run goes on.
	OnSkip func(id db.ID, filepath string, err error)
}

// ComputeResult summarises a finished uniqueness run.
type ComputeResult struct {
	Run      db.RunRecord
	Scored   int // samples with a score
	Embedded int // images embedded by this run (the rest were stored)
	Skipped  int // images that could not be embedded
}

// errChunkUnreadable stops embedMissing when a whole first chunk of
// images could not be read: the media are most likely missing.
var errChunkUnreadable = errors.New("brain: no image of the first chunk could be read")

// embedChunk is how many images are embedded and stored at a time, so an
// interrupted run keeps the embeddings it made.
const embedChunk = 2048

// want resolves options into the identity of the run they ask for. It
// reads the model file (or builds the built-in graph) but starts no
// ONNX Runtime session.
func (o ComputeOptions) want() (insights.Want, ModelSpec, []byte, error) {
	if err := o.validate(); err != nil {
		return insights.Want{}, ModelSpec{}, nil, err
	}
	w := o.Weights
	if w == nil {
		w = DefaultWeights()
	}
	return o.identity(map[string]any{"k": len(w), "weights": w})
}

// MaxBatchSize is the largest BatchSize accepted: a batch's tensors are
// allocated whole, several at once.
const MaxBatchSize = 4096

// validate checks the options that need no model: weights (when given) as
// ValidateWeights does, a known metric, and batch size and workers within
// bounds. Errors wrap ErrOption.
func (o ComputeOptions) validate() error {
	if o.Weights != nil {
		if err := ValidateWeights(o.Weights); err != nil {
			return err
		}
	}
	if o.Metric != Cosine && o.Metric != Euclidean {
		return fmt.Errorf("%w: %w %v", ErrOption, ErrUnknownMetric, o.Metric)
	}
	if o.BatchSize < 0 || o.BatchSize > MaxBatchSize {
		return fmt.Errorf("%w: batch size %d (want 1 to %d)", ErrOption, o.BatchSize, MaxBatchSize)
	}
	if o.Workers < 0 || o.Workers > 1024 {
		return fmt.Errorf("%w: %d workers (want 1 to 1024)", ErrOption, o.Workers)
	}
	if o.Memory < 0 {
		return fmt.Errorf("%w: memory %d bytes", ErrOption, o.Memory)
	}
	if err := o.Queue.Validate(); err != nil {
		return err
	}
	if o.Queue.URL != "" && o.EmbeddingsField != "" {
		return fmt.Errorf("%w: queue: a run over the vectors of field %s embeds nothing", ErrOption, o.EmbeddingsField)
	}
	return nil
}

// identity is want for a run whose own options are opts: it adds the
// metric and the model (or embeddings field) to them.
func (o ComputeOptions) identity(opts map[string]any) (insights.Want, ModelSpec, []byte, error) {
	opts["metric"] = o.Metric.String()
	if o.Exact {
		opts["exact"] = true
	}
	if o.EmbeddingsField != "" {
		opts["embeddings"] = o.EmbeddingsField
		js, _ := json.Marshal(opts)
		return insights.Want{Model: "field:" + o.EmbeddingsField, Options: js}, ModelSpec{}, nil, nil
	}
	spec := DefaultModelSpec()
	if o.Model != nil {
		spec = *o.Model
	}
	id, data, err := identities.of(spec)
	if err != nil {
		return insights.Want{}, spec, nil, err
	}
	// The path names a model file the way the user asked for it, so a
	// stored run's options can ask for the same model again.
	opts["model"] = spec.Name
	if spec.Path != "" {
		opts["model"] = spec.Path
	}
	if o.ModelName != "" && o.Model != nil {
		opts["model"] = o.ModelName
	}
	js, _ := json.Marshal(opts)
	return insights.Want{Model: id, Options: js}, spec, data, nil
}

// identityCache remembers the identities of model files, so that a query
// that checks freshness does not hash a model file each time: until its
// size or modification time changes.
type identityCache struct {
	mu      sync.Mutex
	entries map[string]string
}

var identities = &identityCache{entries: map[string]string{}}

// of returns a model's identity, and for a model file nil bytes (the
// caller reads the file when it loads the model). A built-in descriptor's
// identity is the one written down with it, and its bytes are nil as
// well: loadSpec builds the graph when a run needs it.
func (c *identityCache) of(spec ModelSpec) (string, []byte, error) {
	if b := builtinOf(spec); b != nil {
		return b.identity, nil, nil
	}
	js, _ := json.Marshal(spec)
	if spec.Path == "" {
		return "", nil, fmt.Errorf("%w: no model path", ErrBadSpec)
	}
	f, st, err := db.OpenUserFile(spec.Path, MaxModelBytes)
	if err != nil {
		return "", nil, fmt.Errorf("brain: model %q: %w", spec.Name, err)
	}
	f.Close()
	key := fmt.Sprintf("%s|%d|%d|%s", spec.Path, st.Size(), st.ModTime().UnixNano(), js)
	c.mu.Lock()
	id, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return id, nil, nil
	}
	data, err := readModelFile(spec)
	if err != nil {
		return "", nil, err
	}
	if id, err = specIdentity(spec, data); err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	c.entries[key] = id
	c.mu.Unlock()
	return id, nil, nil
}

// specIdentity is the identity LoadModel would give, computed without
// ONNX Runtime.
func specIdentity(spec ModelSpec, data []byte) (string, error) {
	spec, err := spec.normalise()
	if err != nil {
		return "", err
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return "", fmt.Errorf("brain: model %q is not an ONNX model: %w", spec.Name, err)
	}
	g := mp.GetGraph()
	if g == nil {
		return "", fmt.Errorf("brain: model %q has no graph", spec.Name)
	}
	in, err := findInput(g, &spec)
	if err != nil {
		return "", err
	}
	if err := checkInputShape(in, &spec); err != nil {
		return "", err
	}
	if _, err := exposeOutput(g, &spec); err != nil {
		return "", err
	}
	return modelIdentity(data, spec), nil
}

// ComputeUniqueness embeds every sample of ds (reusing embeddings stored
// for the same model), runs k-NN, and stores insights.uniqueness.scalar,
// nearest_id and nearest_dist with a run record. The new scores become
// visible together when the run completes; cancelling ctx or an error
// leaves the previous scores and run record exactly as they were.
func ComputeUniqueness(ctx context.Context, ds *db.Dataset, o ComputeOptions) (*ComputeResult, error) {
	progress := o.progress()
	want, spec, data, err := o.want()
	if err != nil {
		return nil, err
	}
	res := &ComputeResult{}
	run, vs, err := startRun(ctx, ds, o, UniquenessGroup, want, spec, data, res)
	if err != nil {
		return nil, err
	}
	defer vs.heap.Release()
	ids, keep, vectors, dim := vs.ids, vs.keep, vs.vectors, vs.dim
	n := len(keep)
	var ur *UniquenessResult
	if n > 0 {
		ko := o.knnOptions(UniquenessGroup, len(ids), dim)
		ko.InPlace = true // the run's own copy: nothing reads it after
		ur, err = uniqueness(ctx, vectors, n, dim, UniquenessOptions{Metric: o.Metric, Weights: o.Weights}, ko)
		if err != nil {
			return nil, err
		}
		rows := make([]db.ID, n)
		for r, i := range keep {
			rows[r] = ids[i]
		}
		if err := storeIndex(ds, want.Model, o.Metric, run.DatasetVersion, rows, ur.Neighbors); err != nil {
			return nil, err
		}
		ur.Neighbors.Index = nil
	}
	vs.vectors, vectors = nil, nil
	vs.heap.Hold(resultHeldBytes(len(ids)))

	row := func(r int) db.InsightRow {
		fields := []db.Field{{Name: keyScalar, Value: db.Float(ur.Scores[r])}}
		if j := ur.Nearest[r]; j >= 0 {
			fields = append(fields,
				db.Field{Name: keyNearestID, Value: db.String(ids[keep[j]].String())},
				db.Field{Name: keyNearestDist, Value: db.Float(ur.NearestDist[r])})
		}
		return db.InsightRow{ID: ids[keep[r]], Values: db.Doc(fields...)}
	}
	if err := publish(ctx, ds, UniquenessGroup, n, row, &run, progress); err != nil {
		return nil, err
	}
	res.Run = run
	res.Scored = n
	return res, nil
}

// knnOptions are the k-NN options of a run of group over the vectors of
// samples samples of dim values: exact when asked, bounded by what
// o.Memory leaves beside the run's vectors and ids, reporting the knn
// phase.
func (o ComputeOptions) knnOptions(group string, samples, dim int) KNNOptions {
	progress := o.progress()
	ko := KNNOptions{Exact: o.Exact, Progress: func(done, total int) {
		progress(insights.Progress{Group: group, Phase: "knn", Done: done, Total: total})
	}}
	if o.Memory > 0 {
		ko.Memory = max(o.Memory-runHeldBytes(samples, dim), 1)
	}
	return ko
}

// runHeldBytes is what a run holds besides its k-NN: every sample's
// vector, id and row number.
func runHeldBytes(samples, dim int) int64 {
	return int64(samples) * (int64(dim)*4 + 24)
}

// resultHeldBytes is what a run holds once its vectors and k-NN are
// dropped, while it stores its results: every sample's id and row number,
// and one result of a few values per sample.
func resultHeldBytes(samples int) int64 {
	return runHeldBytes(samples, 0) + int64(samples)*32
}

// checkMemory fails a run of group over samples vectors of dim values at
// once, before they are read, when its vectors and k-NN cannot fit
// o.Memory. Otherwise it holds the run's plan in the soft heap limit
// (db.HeapHold), or o.Memory when that is smaller.
func (o ComputeOptions) checkMemory(samples, dim int) error {
	held := runHeldBytes(samples, dim)
	ko := KNNOptions{Exact: o.Exact}
	k := max(len(o.Weights), DefaultK)
	plan, _ := planKNN(samples, dim, k, o.Metric, ko.approximate(samples, dim), true, 0)
	if o.heap != nil {
		need := held + plan.need() - ortWorkBytes
		if o.Memory > 0 {
			need = min(need, o.Memory)
		}
		o.heap.Hold(need)
	}
	if o.Memory <= 0 || samples < 2 {
		return nil
	}
	_, err := planKNN(samples, dim, k, o.Metric, ko.approximate(samples, dim), true, o.Memory-held)
	if held >= o.Memory || err != nil {
		return fmt.Errorf("brain: %w: %d samples of %d values need about %s (vectors and ids %s; k-NN %s), more than memory = %s",
			ErrMemory, samples, dim, formatBytes(held+plan.need()), formatBytes(held), plan.String(), formatBytes(o.Memory))
	}
	return nil
}

// progress returns o.Progress, or a callback that does nothing.
func (o ComputeOptions) progress() func(insights.Progress) {
	if o.Progress == nil {
		return func(insights.Progress) {}
	}
	return o.Progress
}

// startRun begins a run of group that wants want: its record, to publish
// when the run completes, and the dataset's vectors, which hold the run's
// share of the soft heap limit until vs.heap.Release().
func startRun(ctx context.Context, ds *db.Dataset, o ComputeOptions, group string, want insights.Want, spec ModelSpec, data []byte,
	res *ComputeResult) (db.RunRecord, *vectorSet, error) {
	version, err := ds.Version()
	if err != nil {
		return db.RunRecord{}, nil, err
	}
	run := insights.NewRunRecord(group, want, version)
	o.heap = &db.HeapHold{}
	vs, err := datasetVectors(ctx, ds, o, group, want.Model, spec, data, res, o.progress())
	if err != nil {
		o.heap.Release()
		return run, nil, err
	}
	vs.heap = o.heap
	return run, vs, nil
}

// publish stages a run's n rows (row(r) makes row r, a chunk at a time)
// as a new generation of group and publishes
// it with the run record, marked complete, in one step; on error nothing
// of it is visible.
func publish(ctx context.Context, ds *db.Dataset, group string, n int, row func(r int) db.InsightRow, run *db.RunRecord, progress func(insights.Progress)) error {
	st, err := ds.StageInsights(group)
	if err != nil {
		return err
	}
	chunk := make([]db.InsightRow, 0, 10000)
	for start := 0; start < n; start += cap(chunk) {
		end := min(start+cap(chunk), n)
		chunk = chunk[:0]
		for r := start; r < end; r++ {
			chunk = append(chunk, row(r))
		}
		if err := st.Put(ctx, chunk); err != nil {
			st.Abort()
			return err
		}
		progress(insights.Progress{Group: group, Phase: "store", Done: end, Total: n})
	}
	run.Status = db.RunComplete
	run.Ended = time.Now().UTC()
	run.SampleCount = int64(n)
	if err := st.Commit(ctx, run); err != nil {
		st.Abort()
		return err
	}
	// The run is published: the state of its queue job, if it had one,
	// is done with.
	return ds.DropJobState(queueJobName(group, run.Model))
}

// vectorSet is what a brain run computes on: every sample's id and, for
// the samples that have one, its embedding.
type vectorSet struct {
	ids     []db.ID
	hashes  []string  // each sample's metadata.sha256 ("" when unknown)
	keep    []int     // rows of ids that have a vector
	vectors []float32 // len(keep) x dim, row-major
	dim     int
	heap    *db.HeapHold // the run's share of the soft heap limit
}

// datasetVectors gathers the embedding of every sample of ds for a run of
// group: the vectors of o.EmbeddingsField, or the model's embeddings in
// space (its identity), embedding only the samples that have none stored.
// Samples without a vector are reported through o.OnSkip; a run in which
// no sample has one fails with ErrNoVectors. It is where vectors enter a
// run, so it is where they are checked: a field value that is not finite
// or beyond float32's range fails the run with an error naming the sample
// and the field (wrapping ErrBadVector); a model's outputs are checked as
// Embed makes them, and a stored embedding that fails the check is made
// again.
func datasetVectors(ctx context.Context, ds *db.Dataset, o ComputeOptions, group, space string, spec ModelSpec, data []byte,
	res *ComputeResult, progress func(insights.Progress)) (*vectorSet, error) {
	// The skipped sample that comes first in the dataset, to name in an
	// error when nothing could be embedded.
	var firstSkip error
	var firstID db.ID
	onSkip := o.OnSkip
	o.OnSkip = func(id db.ID, path string, err error) {
		if firstSkip == nil || bytes.Compare(id[:], firstID[:]) < 0 {
			firstSkip, firstID = fmt.Errorf("%s: %w", path, err), id
		}
		if onSkip != nil {
			onSkip(id, path, err)
		}
	}

	var ids []db.ID
	var hashes []string
	var keep []int // rows of ids that have a vector
	var vectors []float32
	dim := 0
	if o.EmbeddingsField != "" {
		if err := ds.MarkInputField(o.EmbeddingsField); err != nil {
			return nil, err
		}
		fs, err := scanFieldVectors(ctx, ds, o.EmbeddingsField, group, o.checkMemory, progress, func(id db.ID, rec db.Record) {
			res.Skipped++
			if o.OnSkip != nil {
				o.OnSkip(id, rec.Lookup(db.FieldFilepath).AsString(), fmt.Errorf("field %s is not a list of numbers", o.EmbeddingsField))
			}
		})
		if err != nil {
			return nil, err
		}
		ids, hashes, keep, vectors, dim = fs.ids, fs.hashes, fs.keep, fs.vectors, fs.dim
	} else {
		var paths []string
		for s, err := range ds.SamplesAfter(ctx, db.ID{}, true) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, s.ID)
			paths = append(paths, s.Filepath())
			hashes = append(hashes, s.Get("metadata.sha256").AsString())
		}
		var err error
		keep, vectors, dim, err = embedMissing(ctx, ds, ids, paths, spec, data, space, o, group, res, progress)
		if err == nil {
			err = o.checkMemory(len(keep), dim)
		}
		if errors.Is(err, errChunkUnreadable) {
			return nil, fmt.Errorf("%w: none of the first %d images could be read, so the run stopped; the first: %w", ErrNoVectors, embedChunk, firstSkip)
		}
		if err != nil {
			return nil, err
		}
	}

	if len(keep) == 0 && len(ids) > 0 {
		return nil, fmt.Errorf("%w: none of the %d samples could be embedded; the first: %w", ErrNoVectors, len(ids), firstSkip)
	}
	return &vectorSet{ids: ids, hashes: hashes, keep: keep, vectors: vectors, dim: dim}, nil
}

// scanFieldVectors reads the vectors of a list-of-floats field of every
// sample of ds, in id order, streaming them from storage straight into
// one float32 array sized once from the sample count (db.ScanVectors), for
// a run of group, to which it reports the read phase. Before that array is
// made, fits (when set) may refuse the sizes. A sample whose field holds
// no list of numbers is passed to skip and left out; a value that is not
// finite or beyond float32's range fails the scan with an error naming the
// sample and the field (wrapping ErrBadVector), as does a vector of
// another length than the first. For a duplicates run it also keeps every
// sample's metadata.sha256.
func scanFieldVectors(ctx context.Context, ds *db.Dataset, field, group string, fits func(samples, dim int) error,
	progress func(insights.Progress), skip func(id db.ID, rec db.Record)) (*vectorSet, error) {
	count, err := ds.Count()
	if err != nil {
		return nil, err
	}
	vs := &vectorSet{ids: make([]db.ID, 0, count)}
	tick := newTicker(func(done, total int) {
		progress(insights.Progress{Group: group, Phase: "read", Done: done, Total: total})
	})
	tick.grow(int(count))
	err = ds.ScanVectors(ctx, field, func(id db.ID, rec db.Record, vec []float32, err error) error {
		tick.add(1)
		var re *db.VectorRangeError
		switch {
		case errors.As(err, &re):
			return fmt.Errorf("brain: sample %s: field %s: element %d %w", id, field, re.Index, checkElement(re.Value))
		case errors.Is(err, db.ErrNotVector):
			skip(id, rec)
		case err != nil:
			return fmt.Errorf("brain: sample %s: field %s: %w", id, field, err)
		default:
			if vs.dim == 0 {
				if fits != nil {
					if err := fits(int(count), len(vec)); err != nil {
						return err
					}
				}
				vs.dim = len(vec)
				vs.vectors = make([]float32, 0, int(count)*vs.dim)
			}
			if len(vec) != vs.dim {
				return fmt.Errorf("brain: field %s: sample %s has %d values, others %d", field, id, len(vec), vs.dim)
			}
			vs.keep = append(vs.keep, len(vs.ids))
			vs.vectors = append(vs.vectors, vec...)
		}
		vs.ids = append(vs.ids, id)
		if group == DuplicatesGroup {
			vs.hashes = append(vs.hashes, rec.Lookup("metadata.sha256").AsString())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tick.finish()
	return vs, nil
}

// embedMissing returns the vectors of every sample it can, embedding (and
// storing) only those without a stored embedding for this model.
func embedMissing(ctx context.Context, ds *db.Dataset, ids []db.ID, paths []string, spec ModelSpec, data []byte,
	space string, o ComputeOptions, group string, res *ComputeResult, progress func(insights.Progress)) ([]int, []float32, int, error) {
	stored, err := ds.Embeddings(ctx, space, ids)
	if err != nil {
		return nil, nil, 0, err
	}
	var todo []int
	for i, v := range stored {
		if v != nil && CheckVectors(v, len(v), func(int) string { return "" }) != nil {
			v, stored[i] = nil, nil // embedded before outputs were checked: embed again
		}
		if v == nil {
			todo = append(todo, i)
		}
	}
	total := len(ids)
	done := total - len(todo)
	q := o.Queue
	if q.URL == "" {
		q = queueFrom(ctx)
		if err := q.Validate(); err != nil {
			return nil, nil, 0, err
		}
	}
	if q.URL == "" && o.Queue.Batch > 0 {
		return nil, nil, 0, fmt.Errorf("%w: batch = %d is the batch size of a queue job: give queue too (or SET queue)", ErrOption, o.Queue.Batch)
	}
	if q.URL != "" {
		if o.Queue.Batch > 0 {
			q.Batch = o.Queue.Batch
		}
		if len(todo) > 0 {
			if err := embedQueue(ctx, ds, q, ids, paths, todo, stored, spec, data, space, o, group, res, progress); err != nil {
				return nil, nil, 0, err
			}
		}
		todo = nil
	} else {
		progress(insights.Progress{Group: group, Phase: "embed", Done: done, Total: total})
	}
	if len(todo) > 0 {
		m, err := loadSpec(spec, data)
		if err != nil {
			return nil, nil, 0, err
		}
		defer m.Close()
		endpoint, err := ds.MediaEndpoint()
		if err != nil {
			return nil, nil, 0, err
		}
		// A storage that cannot serve media at all (db.ErrMediaStore:
		// bad endpoint, no bucket, refused credentials) stops the run
		// with that error instead of skipping every sample.
		ctx, stop := context.WithCancelCause(ctx)
		defer stop(nil)
		byID := make(map[string]int, len(todo))
		for c := 0; c < len(todo); c += embedChunk {
			chunk := todo[c:min(c+embedChunk, len(todo))]
			items := make([]Item, len(chunk))
			for k, i := range chunk {
				key := ids[i].String()
				byID[key] = i
				items[k] = Item{ID: key, Media: Stored{Path: paths[i], Endpoint: endpoint}}
			}
			base := done
			emb, err := Embed(ctx, m, items, EmbedOptions{
				BatchSize: o.BatchSize, Workers: o.Workers,
				Progress: func(d, _ int) {
					progress(insights.Progress{Group: group, Phase: "embed", Done: base + d, Total: total})
				},
				OnSkip: func(s Skipped) {
					if errors.Is(s.Err, db.ErrMediaStore) {
						stop(s.Err)
						return
					}
					res.Skipped++
					i := byID[s.ID]
					if o.OnSkip != nil {
						o.OnSkip(ids[i], paths[i], s.Err)
					}
				},
			})
			if err != nil {
				return nil, nil, 0, err
			}
			if len(emb.IDs) == 0 && res.Embedded == 0 && len(chunk) == embedChunk && done+len(chunk) < len(todo) {
				// A whole chunk unreadable and nothing embedded yet: the
				// media are most likely missing; say so now rather than
				// after trying every file.
				return nil, nil, 0, errChunkUnreadable
			}
			got := make([]db.ID, len(emb.IDs))
			for k, key := range emb.IDs {
				i := byID[key]
				got[k] = ids[i]
				stored[i] = emb.Vector(k)
			}
			if len(got) > 0 {
				if err := ds.PutEmbeddings(ctx, space, got, emb.Vectors, emb.Dim); err != nil {
					return nil, nil, 0, err
				}
			}
			res.Embedded += len(got)
			done += len(chunk)
		}
	}
	var keep []int
	var vectors []float32
	dim := 0
	for i, v := range stored {
		if v == nil {
			continue
		}
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim {
			return nil, nil, 0, fmt.Errorf("brain: stored embeddings of %s have mixed sizes", space)
		}
		keep = append(keep, i)
		vectors = append(vectors, v...)
	}
	return keep, vectors, dim, nil
}

// ModelResolver turns the model named in an option into a spec: "" or
// "builtin" for the built-in model is handled before it is called.
type ModelResolver func(name string) (ModelSpec, error)

// Provider computes the uniqueness group for the insights registry.
type Provider struct {
	// ResolveModel finds a model by name (for example through the model
	// zoo); nil accepts only paths to .onnx files with a spec beside
	// them (model.onnx.json or model.json).
	ResolveModel ModelResolver
	// OnSkip reports images that could not be embedded.
	OnSkip func(id db.ID, filepath string, err error)
}

// Group implements insights.Provider.
func (p *Provider) Group() string { return UniquenessGroup }

// Keys are the keys a uniqueness run writes for every sample.
func (p *Provider) Keys() []string {
	return []string{keyScalar, keyNearestID, keyNearestDist}
}

// options turns a request's options into ComputeOptions.
func (p *Provider) options(req insights.Request) (ComputeOptions, error) {
	var o ComputeOptions
	keys := make([]string, 0, len(req.Options))
	for k := range req.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := req.Options[k]
		switch strings.ToLower(k) {
		case "model":
			name, ok := v.(string)
			if !ok {
				return o, fmt.Errorf("%w: model must be a string", ErrOption)
			}
			if name == "" {
				continue
			}
			if b := builtinNamed(name); b != nil {
				if b != defaultDescriptor {
					spec := b.spec()
					o.Model, o.ModelName = &spec, b.name
				}
				continue
			}
			spec, err := p.resolve(name)
			if err != nil {
				return o, err
			}
			o.Model = &spec
			if spec.Path != name {
				o.ModelName = spec.Name
			}
		case "k":
			n, ok := asInt(v)
			if !ok || n < 1 || n > MaxK {
				return o, fmt.Errorf("%w: k must be an integer from 1 to %d", ErrOption, MaxK)
			}
			if o.Weights == nil || len(o.Weights) != n {
				o.Weights = defaultWeightsFor(n)
			}
		case "weights":
			w, err := asFloats(v)
			if err != nil {
				return o, err
			}
			if err := ValidateWeights(w); err != nil {
				return o, err
			}
			o.Weights = w
		case "metric":
			s, _ := v.(string)
			m, err := ParseMetric(s)
			if err != nil {
				return o, fmt.Errorf("%w: %v", ErrOption, err)
			}
			o.Metric = m
		case "embeddings":
			s, ok := v.(string)
			if !ok || s == "" {
				return o, fmt.Errorf("%w: embeddings must name a field", ErrOption)
			}
			o.EmbeddingsField = s
		case "memory":
			var err error
			if n, ok := v.(int64); ok && n > 0 {
				o.Memory = n
			} else if o.Memory, err = ParseBytes(fmt.Sprint(v)); err != nil {
				return o, err
			}
		case "exact":
			b, ok := asBool(v)
			if !ok {
				return o, fmt.Errorf("%w: exact must be true or false", ErrOption)
			}
			o.Exact = b
		case "queue":
			u, ok := v.(string)
			if !ok {
				return o, fmt.Errorf("%w: queue must be a string, nats://host:port", ErrOption)
			}
			o.Queue.URL = strings.TrimSpace(u)
		case "batch":
			n, ok := asInt(v)
			if !ok || n < 1 || n > MaxQueueBatch {
				return o, fmt.Errorf("%w: batch must be an integer from 1 to %d", ErrOption, MaxQueueBatch)
			}
			o.Queue.Batch = n
		case "batch_size":
			n, ok := asInt(v)
			if !ok || n < 1 || n > MaxBatchSize {
				return o, fmt.Errorf("%w: batch_size must be an integer from 1 to %d", ErrOption, MaxBatchSize)
			}
			o.BatchSize = n
		default:
			return o, fmt.Errorf("%w: unknown option %q (known: model, k, weights, metric, embeddings, batch_size, memory, exact, queue, batch)", ErrOption, k)
		}
	}
	if n, ok := asInt(req.Options["k"]); ok && len(o.Weights) != n {
		return o, fmt.Errorf("%w: k = %d but %d weights", ErrOption, n, len(o.Weights))
	}
	return o, nil
}

// defaultWeightsFor gives K weights: the default for K = 3, else equal.
func defaultWeightsFor(k int) []float64 {
	if k == DefaultK {
		return DefaultWeights()
	}
	w := make([]float64, k)
	for i := range w {
		w[i] = 1 / float64(k)
	}
	return w
}

// asInt reads an option value as an integer.
func asInt(v any) (int, bool) {
	switch t := v.(type) {
	case int:
		return t, true
	case int64:
		return int(t), true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int(t), true
		}
	case string:
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	return 0, false
}

// asBool reads an option value as a boolean: true or false, 1 or 0, or
// those words as a string.
func asBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		return b, err == nil
	}
	if n, ok := asInt(v); ok && (n == 0 || n == 1) {
		return n == 1, true
	}
	return false, false
}

// asFloat reads an option value as a number.
func asFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case int64:
		return float64(t), true
	case int:
		return float64(t), true
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return x, err == nil
	}
	return 0, false
}

// asFloats reads an option value as a list of numbers (ValidateWeights
// checks them).
func asFloats(v any) ([]float64, error) {
	var parts []any
	switch t := v.(type) {
	case []any:
		parts = t
	case []float64:
		for _, f := range t {
			parts = append(parts, f)
		}
	case string:
		for _, s := range strings.Split(strings.Trim(t, "[]() "), ",") {
			parts = append(parts, strings.TrimSpace(s))
		}
	default:
		return nil, fmt.Errorf("%w: weights must be a list of numbers", ErrOption)
	}
	out := make([]float64, 0, len(parts))
	for _, p := range parts {
		f, ok := asFloat(p)
		if !ok {
			return nil, fmt.Errorf("%w: weight %v is not a number", ErrOption, p)
		}
		out = append(out, f)
	}
	return out, nil
}

func (p *Provider) resolve(name string) (ModelSpec, error) {
	if p.ResolveModel != nil {
		return p.ResolveModel(name)
	}
	return SpecBeside(name)
}

// SpecBeside reads the spec of an .onnx file from model.onnx.json or
// model.json next to it.
func SpecBeside(path string) (ModelSpec, error) {
	if !strings.HasSuffix(path, ".onnx") {
		return ModelSpec{}, fmt.Errorf("%w: model %q: give a path to an .onnx file", ErrOption, path)
	}
	for _, sp := range []string{path + ".json", strings.TrimSuffix(path, ".onnx") + ".json"} {
		b, err := db.ReadUserFile(sp, MaxSpecBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return ModelSpec{}, fmt.Errorf("%w: model spec: %w", ErrBadSpec, err)
		}
		var spec ModelSpec
		if err := json.Unmarshal(b, &spec); err != nil {
			return ModelSpec{}, fmt.Errorf("%w: model spec %s: %v", ErrBadSpec, sp, err)
		}
		spec.Path = path
		if spec.Name == "" {
			spec.Name = path
		}
		return spec, nil
	}
	if _, err := os.Stat(path); err != nil {
		return ModelSpec{}, fmt.Errorf("brain: model %s: %w", path, err)
	}
	return ModelSpec{}, fmt.Errorf("%w: model %s has no spec: write %s.json with width, height, layout, channels, mean, std and output", ErrBadSpec, path, path)
}

// Want implements insights.Provider.
func (p *Provider) Want(ctx context.Context, ds *db.Dataset, req insights.Request) (insights.Want, error) {
	o, err := p.options(req)
	if err != nil {
		return insights.Want{}, err
	}
	w, _, _, err := o.want()
	return w, err
}

// Defer implements insights.Deferrer: auto-compute leaves a stopped
// queue job of the run req asks for to be resumed on its workers.
func (p *Provider) Defer(ctx context.Context, ds *db.Dataset, req insights.Request) (string, error) {
	o, err := p.options(req)
	if err != nil {
		return "", nil // Run reports it
	}
	return queueDeferred(ctx, ds, UniquenessGroup, o, o.want)
}

// Run implements insights.Provider.
func (p *Provider) Run(ctx context.Context, ds *db.Dataset, req insights.Request, progress func(insights.Progress)) error {
	o, err := p.options(req)
	if err != nil {
		return err
	}
	o.Progress = progress
	o.OnSkip = p.OnSkip
	_, err = ComputeUniqueness(ctx, ds, o)
	return err
}
