package brain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/fosql/fosql/db"
)

// IVF is the inverted-file index an approximate KNNWith builds over its
// rows: their column mean, the k-means centroids of the mean-centred rows
// and each row's list (its nearest centroid). A uniqueness run stores it
// with the dataset (per embeddings and metric), and similarity queries by
// one vector reuse it while the data is unchanged.
type IVF struct {
	Dim, Lists int
	Mean       []float32 // Dim values
	Centroids  []float32 // Lists x Dim, mean-centred
	List       []int32   // each row's list
}

// ivfMagic starts an encoded IVF, with its version.
const ivfMagic = "fosql-ivf-1"

// encode writes the index for rows with the given ids (their order is the
// rows' order): magic, dim, lists, rows, the ids' SHA-256, then the mean,
// the centroids and the lists, little-endian.
func (x *IVF) encode(ids []db.ID) []byte {
	out := []byte(ivfMagic)
	out = binary.LittleEndian.AppendUint32(out, uint32(x.Dim))
	out = binary.LittleEndian.AppendUint32(out, uint32(x.Lists))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(x.List)))
	h := idsHash(ids)
	out = append(out, h[:]...)
	for _, v := range x.Mean {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	for _, v := range x.Centroids {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	for _, l := range x.List {
		out = binary.LittleEndian.AppendUint32(out, uint32(l))
	}
	return out
}

// decodeIVF reads an index that encode wrote for the rows ids of dim
// values; an index made over other rows gives nil and no error.
func decodeIVF(b []byte, ids []db.ID, dim int) (*IVF, error) {
	head := len(ivfMagic) + 12 + sha256.Size
	if len(b) < head || string(b[:len(ivfMagic)]) != ivfMagic {
		return nil, fmt.Errorf("brain: stored index: %w", db.ErrCorrupt)
	}
	p := b[len(ivfMagic):]
	d, lists, n := int(binary.LittleEndian.Uint32(p)), int(binary.LittleEndian.Uint32(p[4:])), int(binary.LittleEndian.Uint32(p[8:]))
	h := idsHash(ids)
	if d != dim || n != len(ids) || !bytes.Equal(p[12:12+sha256.Size], h[:]) {
		return nil, nil
	}
	if lists <= 0 || len(b) != head+4*(d+lists*d+n) {
		return nil, fmt.Errorf("brain: stored index: %w", db.ErrCorrupt)
	}
	p = b[head:]
	x := &IVF{Dim: d, Lists: lists, Mean: make([]float32, d), Centroids: make([]float32, lists*d), List: make([]int32, n)}
	for i := range x.Mean {
		x.Mean[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	p = p[4*d:]
	for i := range x.Centroids {
		x.Centroids[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	p = p[4*lists*d:]
	for i := range x.List {
		l := int32(binary.LittleEndian.Uint32(p[4*i:]))
		if l < 0 || int(l) >= lists {
			return nil, fmt.Errorf("brain: stored index: row %d in list %d of %d: %w", i, l, lists, db.ErrCorrupt)
		}
		x.List[i] = l
	}
	return x, nil
}

// idsHash is the SHA-256 of ids in order.
func idsHash(ids []db.ID) [sha256.Size]byte {
	h := sha256.New()
	for _, id := range ids {
		h.Write(id[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// indexSpace names the stored index of a space (the embeddings' identity)
// under a metric.
func indexSpace(model string, metric Metric) string { return model + "|" + metric.String() }

// storeIndex stores nb's approximate index for the rows ids, as made at
// version; an exact search has none to store.
func storeIndex(ds *db.Dataset, model string, metric Metric, version uint64, ids []db.ID, nb *Neighbors) error {
	if nb == nil || nb.Index == nil {
		return nil
	}
	return ds.PutVectorIndex(indexSpace(model, metric), version, nb.Index.encode(ids))
}

// queryProbe is how many lists a query by one vector searches: more than a
// run's rows do (ivfProbe), as one query is cheap.
const queryProbe = 64

// ivfSearch is a space's index prepared for queries: the lists' members.
type ivfSearch struct {
	ivf     *IVF
	members *listIndex
}

// loadIndex reads the stored index of the space, when there is one made
// at the dataset's current version over the same rows.
func (s *SimilaritySpace) loadIndex(ds *db.Dataset, model string) error {
	data, ok, err := ds.VectorIndex(indexSpace(model, s.metric))
	if err != nil || !ok {
		return err
	}
	x, err := decodeIVF(data, s.ids, s.dim)
	if x == nil || err != nil {
		return err
	}
	members := invert(x.Lists, len(x.List), func(yield func(list, row int32)) {
		for i, l := range x.List {
			yield(l, int32(i))
		}
	})
	s.ivf = &ivfSearch{ivf: x, members: members}
	return nil
}

// nearestIndexed is Nearest over every row through the index: the rows of
// the queryProbe lists nearest to the query, their distances computed
// exactly by dist. ok is false when those lists hold fewer than k rows.
func (s *SimilaritySpace) nearestIndexed(ctx context.Context, q SimilarityQuery, k int, dist func(i int) float64) (*hitHeap, bool) {
	x := s.ivf.ivf
	d := x.Dim
	c := make([]float32, d)
	for j, v := range q.vec {
		c[j] = v - x.Mean[j]
	}
	probe := min(queryProbe, x.Lists)
	best := make([]float32, x.Lists)
	for l := 0; l < x.Lists; l++ {
		var s2 float32
		for j, v := range x.Centroids[l*d : (l+1)*d] {
			e := v - c[j]
			s2 += e * e
		}
		best[l] = s2
	}
	lists := make([]int32, probe)
	topColumns(best, 1, x.Lists, probe, lists, 1)
	h := &hitHeap{k: k}
	found := 0
	for _, l := range lists {
		if ctx.Err() != nil {
			return nil, false
		}
		for _, i := range s.ivf.members.list(int(l)) {
			h.offer(hit{id: s.ids[i], dist: dist(int(i))})
			found++
		}
	}
	return h, found >= k
}
