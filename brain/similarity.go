package brain

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// ErrNoEmbedding is returned for a similarity query whose sample has no
// embedding in the search space (its image could not be read, or its
// embeddings field holds no vector).
var ErrNoEmbedding = errors.New("brain: no embedding")

// ErrNotEmbedded is returned by Similarity when samples have no stored
// embedding for the model asked for and embedding them was not allowed.
var ErrNotEmbedded = errors.New("brain: embeddings not computed")

// SimilarityRequest asks for the search space of a similarity query
// (FiftyOne Brain's sort_by_similarity).
type SimilarityRequest struct {
	// Options choose the embeddings and the metric, with the names and
	// values of a uniqueness run's options (model, embeddings, metric):
	// the options stored in the dataset's last uniqueness run, with the
	// query's own over them. Other uniqueness options (k, weights,
	// batch_size) are checked and otherwise ignored.
	Options map[string]any
	// Embed lets Similarity embed (and store) the samples that have no
	// stored embedding for the model; without it such samples make it
	// fail with ErrNotEmbedded.
	Embed bool
	// Progress, when set, receives the embed phase while samples are
	// embedded.
	Progress func(insights.Progress)
}

// SimilaritySpace holds the embeddings of a dataset's samples, prepared
// for queries by one vector: under Cosine, every row centred on the mean
// of all rows and scaled to unit length, as a uniqueness run prepares
// them, so a distance here equals the run's distance between the same two
// samples (nearest_dist); under Euclidean, the raw rows.
type SimilaritySpace struct {
	ids    []db.ID // samples with a vector, in id order
	rows   map[db.ID]int
	vecs   []float32 // len(ids) x dim: unit rows (Cosine) or raw rows
	norms  []float64 // Cosine: each centred row's length
	sq     []float64 // Cosine: each unit row's squared length, in float64
	mean   []float64 // Cosine: the column mean of the raw rows
	dim    int
	metric Metric

	// What a file is embedded with: the model (nil: the built-in one)
	// and its bytes; field is set instead when the vectors are a field's.
	model *ModelSpec
	data  []byte
	field string
	// Model names the embeddings: a model name or path, or field:<path>.
	Model string
	// ivf is the stored approximate index over the rows, when a uniqueness
	// run made one for these embeddings and metric on the current data.
	ivf *ivfSearch
}

// SimilarityQuery is one query vector, prepared for a space.
type SimilarityQuery struct {
	vec  []float32
	norm float64
}

// Similarity gathers the search space of ds for req: the embeddings of
// every sample in the model's space (stored by earlier runs; embedded now
// only with req.Embed), or the vectors of the embeddings field.
func (p *Provider) Similarity(ctx context.Context, ds *db.Dataset, req SimilarityRequest) (*SimilaritySpace, error) {
	o, err := p.options(insights.Request{Options: req.Options})
	if err != nil {
		return nil, err
	}
	o.OnSkip = p.OnSkip
	o.Progress = req.Progress
	want, spec, data, err := o.want()
	if err != nil {
		return nil, err
	}
	// A space read before, with nothing committed since, is the same.
	epoch, quiet := ds.DB().Epoch()
	key := spaceKey{store: ds.DB(), dataset: ds.Name(), epoch: epoch, model: want.Model, metric: o.Metric, embed: req.Embed, exact: o.Exact}
	if quiet {
		if s := lastSpace.get(key); s != nil {
			return s, nil
		}
	}
	s := &SimilaritySpace{metric: o.Metric, model: o.Model, data: data}
	var ids []db.ID
	var vectors []float32
	switch {
	case o.EmbeddingsField != "":
		s.field, s.Model = o.EmbeddingsField, "field:"+o.EmbeddingsField
		ids, vectors, s.dim, err = fieldVectors(ctx, ds, o.EmbeddingsField)
	case req.Embed:
		s.Model = spec.Name
		if spec.Path != "" {
			s.Model = spec.Path
		}
		var vs *vectorSet
		vs, err = datasetVectors(ctx, ds, o, UniquenessGroup, want.Model, spec, data, &ComputeResult{}, o.progress())
		if err == nil {
			ids, vectors, s.dim = make([]db.ID, len(vs.keep)), vs.vectors, vs.dim
			for r, i := range vs.keep {
				ids[r] = vs.ids[i]
			}
		}
	default:
		s.Model = spec.Name
		if spec.Path != "" {
			s.Model = spec.Path
		}
		ids, vectors, s.dim, err = storedVectors(ctx, ds, want.Model, s.Model)
	}
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: dataset %s has no sample with a vector in %s", ErrNoVectors, ds.Name(), s.Model)
	}
	s.index(ids, vectors)
	if !o.Exact {
		if err := s.loadIndex(ds, want.Model); err != nil {
			return nil, err
		}
	}
	if e, still := ds.DB().Epoch(); quiet && still && e == epoch {
		lastSpace.put(key, s)
	}
	return s, nil
}

// spaceKey names a search space: the dataset, the store's commit epoch it
// was read in, the embeddings' identity, the metric, and whether samples
// missing an embedding were embedded.
type spaceKey struct {
	store   *db.DB
	dataset string
	epoch   uint64
	model   string
	metric  Metric
	embed   bool
	exact   bool
}

// spaceCache keeps the last search space made, so that similarity queries
// in a row on an unchanged dataset read and centre its embeddings once.
// One entry bounds the memory to one dataset's embeddings.
type spaceCache struct {
	mu    sync.Mutex
	key   spaceKey
	space *SimilaritySpace
}

var lastSpace spaceCache

func (c *spaceCache) get(k spaceKey) *SimilaritySpace {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.space != nil && c.key == k {
		return c.space
	}
	return nil
}

func (c *spaceCache) put(k spaceKey, s *SimilaritySpace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key, c.space = k, s
}

// index fills the space with the rows of vectors (len(ids) x s.dim),
// prepared for s.metric; it takes vectors over.
func (s *SimilaritySpace) index(ids []db.ID, vectors []float32) {
	n, d := len(ids), s.dim
	s.ids = ids
	s.rows = make(map[db.ID]int, n)
	for i, id := range ids {
		s.rows[id] = i
	}
	s.vecs = vectors
	if s.metric == Cosine {
		// In place: each value is read before it is written.
		s.mean = columnMean(vectors, n, d)
		s.norms = make([]float64, n)
		for i := 0; i < n; i++ {
			row := vectors[i*d : (i+1)*d]
			if s.norms[i] = unitRow(row, s.mean, row); s.norms[i] == 0 {
				clear(row)
			}
		}
		s.sq = make([]float64, n)
		for i := 0; i < n; i++ {
			row := vectors[i*d : (i+1)*d]
			s.sq[i] = dot64(row, row)
		}
	}
}

// fieldVectors reads the vectors of a list-of-floats field; samples
// without one are left out.
func fieldVectors(ctx context.Context, ds *db.Dataset, field string) ([]db.ID, []float32, int, error) {
	vs, err := scanFieldVectors(ctx, ds, field, UniquenessGroup, nil, func(insights.Progress) {}, func(db.ID, db.Record) {})
	if err != nil {
		return nil, nil, 0, err
	}
	ids := make([]db.ID, len(vs.keep))
	for r, i := range vs.keep {
		ids[r] = vs.ids[i]
	}
	return ids, vs.vectors, vs.dim, nil
}

// storedVectors reads the embeddings stored in space, in id order; a
// sample with none is left out (its image could not be read), unless no
// sample has one, which is ErrNotEmbedded.
func storedVectors(ctx context.Context, ds *db.Dataset, space, model string) ([]db.ID, []float32, int, error) {
	var ids []db.ID
	var vectors []float32
	dim := 0
	count, err := ds.Count()
	if err != nil {
		return nil, nil, 0, err
	}
	err = ds.ScanEmbeddings(ctx, space, func(id db.ID, v []float32) error {
		if !finite(v) || len(v) == 0 {
			return nil // made before outputs were checked: a run makes it again
		}
		if dim == 0 {
			dim = len(v)
			ids = make([]db.ID, 0, count)
			vectors = make([]float32, 0, int(count)*dim)
		}
		if len(v) != dim {
			return fmt.Errorf("brain: stored embeddings of %s have mixed sizes", model)
		}
		ids = append(ids, id)
		vectors = append(vectors, v...)
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	if len(ids) == 0 && count > 0 {
		return nil, nil, 0, fmt.Errorf("%w: dataset %s has no stored embeddings of model %s", ErrNotEmbedded, ds.Name(), model)
	}
	return ids, vectors, dim, nil
}

// finite reports whether every value of v is finite (a float32 cannot be
// beyond float32's range).
func finite(v []float32) bool {
	for _, x := range v {
		if x-x != 0 {
			return false
		}
	}
	return true
}

// QuerySample is the query by a sample's own vector, the one its
// uniqueness run used.
func (s *SimilaritySpace) QuerySample(id db.ID) (SimilarityQuery, error) {
	i, ok := s.rows[id]
	if !ok {
		return SimilarityQuery{}, fmt.Errorf("%w: sample %s has no vector in %s (its image could not be embedded, or the field holds none)", ErrNoEmbedding, id, s.Model)
	}
	q := SimilarityQuery{vec: s.vecs[i*s.dim : (i+1)*s.dim]}
	if s.norms != nil {
		q.norm = s.norms[i]
	}
	return q, nil
}

// QueryVector is the query by a vector made elsewhere, in the space's
// embedding (of its dimension).
func (s *SimilaritySpace) QueryVector(v []float32) (SimilarityQuery, error) {
	if len(v) != s.dim {
		return SimilarityQuery{}, fmt.Errorf("brain: query vector has %d values, the embeddings of %s have %d", len(v), s.Model, s.dim)
	}
	if err := CheckVectors(v, len(v), func(int) string { return "query vector" }); err != nil {
		return SimilarityQuery{}, err
	}
	if s.metric != Cosine {
		return SimilarityQuery{vec: slices.Clone(v)}, nil
	}
	q := SimilarityQuery{vec: make([]float32, s.dim)}
	q.norm = unitRow(v, s.mean, q.vec)
	return q, nil
}

// QueryFile embeds the image file at path with the space's model and
// returns it as a query. A space of field vectors has no model to embed
// with.
func (s *SimilaritySpace) QueryFile(ctx context.Context, path string) (SimilarityQuery, error) {
	if s.field != "" {
		return SimilarityQuery{}, fmt.Errorf("%w: the embeddings are the field %s, made outside fosql, so there is no model to embed %s with; query by a sample id", ErrOption, s.field, path)
	}
	spec := DefaultModelSpec()
	if s.model != nil {
		spec = *s.model
	}
	m, err := loadSpec(spec, s.data)
	if err != nil {
		return SimilarityQuery{}, err
	}
	defer m.Close()
	emb, err := Embed(ctx, m, []Item{{ID: path, Media: File(path)}}, EmbedOptions{Workers: 1})
	if err != nil {
		return SimilarityQuery{}, fmt.Errorf("brain: embedding %s: %w", path, err)
	}
	if len(emb.Skipped) > 0 {
		return SimilarityQuery{}, fmt.Errorf("brain: query image %s: %w", path, emb.Skipped[0].Err)
	}
	return s.QueryVector(emb.Vector(0))
}

// Nearest returns the k candidates nearest to q, nearest first, ties by
// id ascending, with their distances (exact, float64); k < 0 returns them
// all in that order. The candidates are distinct ids, in any order (id
// order is the fastest); those without a vector in the space are left
// out. It keeps a bounded heap of k per worker over the candidates'
// distances: no candidate x candidate matrix, and no full sort for a
// small k.
func (s *SimilaritySpace) Nearest(ctx context.Context, q SimilarityQuery, candidates []db.ID, k int) ([]db.ID, []float64, error) {
	if k == 0 || len(candidates) == 0 {
		return nil, nil, ctx.Err()
	}
	d := s.dim
	qq := dot64(q.vec, q.vec)
	dist := func(i int) float64 {
		row := s.vecs[i*d : (i+1)*d]
		if s.metric != Cosine {
			return euclideanDistance(q.vec, row)
		}
		// cosineDistance, with the squared lengths summed once.
		switch {
		case q.norm == 0 && s.norms[i] == 0:
			return 0
		case q.norm == 0 || s.norms[i] == 0:
			return 1
		}
		return cosineFromSums(dot64(q.vec, row), qq, s.sq[i])
	}
	// Candidates in id order (as a scan gives them) are matched to the
	// rows, also in id order, by a merge; others through the map.
	sorted := slices.IsSortedFunc(candidates, func(a, b db.ID) int { return bytes.Compare(a[:], b[:]) })
	if s.ivf != nil && k > 0 && k <= maxIndexedK && s.coversAll(candidates, sorted) {
		if h, ok := s.nearestIndexed(ctx, q, k, dist); ok {
			return hitsResult(ctx, []*hitHeap{h}, k)
		}
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(candidates)/4096))
	heaps := make([]*hitHeap, workers)
	var wg sync.WaitGroup
	var fail firstError
	for w := range workers {
		heaps[w] = &hitHeap{k: k}
		lo, hi := w*len(candidates)/workers, (w+1)*len(candidates)/workers
		wg.Add(1)
		go func(h *hitHeap, part []db.ID) {
			defer wg.Done()
			defer fail.recoverPanic()
			row := 0
			if sorted && len(part) > 0 {
				row, _ = slices.BinarySearchFunc(s.ids, part[0], func(a, b db.ID) int { return bytes.Compare(a[:], b[:]) })
			}
			for c, id := range part {
				if c&8191 == 0 && ctx.Err() != nil {
					return
				}
				i, ok := 0, false
				if sorted {
					for row < len(s.ids) && bytes.Compare(s.ids[row][:], id[:]) < 0 {
						row++
					}
					i, ok = row, row < len(s.ids) && s.ids[row] == id
				} else {
					i, ok = s.rows[id]
				}
				if ok {
					h.offer(hit{id: id, dist: dist(i)})
				}
			}
		}(heaps[w], candidates[lo:hi])
	}
	wg.Wait()
	if err := fail.get(); err != nil {
		return nil, nil, err
	}
	return hitsResult(ctx, heaps, k)
}

// maxIndexedK is the most rows a query through the stored index returns;
// a larger k scans every row.
const maxIndexedK = 1000

// coversAll reports whether candidates hold every row of the space, so
// that the stored index, built over all of them, can answer; sorted says
// they are in id order.
func (s *SimilaritySpace) coversAll(candidates []db.ID, sorted bool) bool {
	if len(candidates) < len(s.ids) {
		return false
	}
	found := 0
	if sorted {
		row := 0
		for _, id := range candidates {
			for row < len(s.ids) && bytes.Compare(s.ids[row][:], id[:]) < 0 {
				row++
			}
			if row < len(s.ids) && s.ids[row] == id {
				found++
			}
		}
	} else {
		for _, id := range candidates {
			if _, ok := s.rows[id]; ok {
				found++
			}
		}
	}
	return found == len(s.ids)
}

// hitsResult merges the heaps' hits: the k nearest (all when k < 0),
// nearest first, ties by id.
func hitsResult(ctx context.Context, heaps []*hitHeap, k int) ([]db.ID, []float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var all []hit
	for _, h := range heaps {
		all = append(all, h.hits...)
	}
	slices.SortFunc(all, compareHits)
	all = slices.CompactFunc(all, func(a, b hit) bool { return a.id == b.id })
	if k > 0 && len(all) > k {
		all = all[:k]
	}
	ids := make([]db.ID, len(all))
	dists := make([]float64, len(all))
	for i, h := range all {
		ids[i], dists[i] = h.id, h.dist
	}
	return ids, dists, nil
}

// hit is one candidate with its distance to the query.
type hit struct {
	id   db.ID
	dist float64
}

// compareHits orders hits nearest first, ties by id ascending.
func compareHits(a, b hit) int {
	if c := cmp.Compare(a.dist, b.dist); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// hitHeap keeps the k nearest hits offered (all of them when k < 0), the
// farthest on top.
type hitHeap struct {
	k    int
	hits []hit
}

func (h *hitHeap) Len() int           { return len(h.hits) }
func (h *hitHeap) Less(i, j int) bool { return compareHits(h.hits[i], h.hits[j]) > 0 }
func (h *hitHeap) Swap(i, j int)      { h.hits[i], h.hits[j] = h.hits[j], h.hits[i] }
func (h *hitHeap) Push(x any)         { h.hits = append(h.hits, x.(hit)) }
func (h *hitHeap) Pop() any {
	x := h.hits[len(h.hits)-1]
	h.hits = h.hits[:len(h.hits)-1]
	return x
}

// offer keeps x if it is among the k nearest so far.
func (h *hitHeap) offer(x hit) {
	switch {
	case h.k < 0:
		h.hits = append(h.hits, x)
	case len(h.hits) < h.k:
		heap.Push(h, x)
	case compareHits(x, h.hits[0]) < 0:
		h.hits[0] = x
		heap.Fix(h, 0)
	}
}
