package db

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Embeddings are stored per (sample, space), where a space names the model
// that made them (its identity). A later run with the same model reads
// them back and embeds only the samples that have none, so adding 100
// samples to a large dataset embeds 100 images. Deleting a sample deletes
// its embeddings.

func spaceID(space string) uint64 {
	h := sha256.Sum256([]byte(space))
	return binary.BigEndian.Uint64(h[:8])
}

func embedKey(ds, space uint64, id ID) []byte {
	return append(binary.BigEndian.AppendUint64(dsPrefix(tagEmbed, ds), space), id[:]...)
}

// PutEmbeddings stores one vector per id (vectors holds len(ids) rows of
// dim values), in batched transactions.
func (ds *Dataset) PutEmbeddings(ctx context.Context, space string, ids []ID, vectors []float32, dim int) error {
	if space == "" || dim <= 0 || len(vectors) != len(ids)*dim {
		return fmt.Errorf("db: PutEmbeddings: %d ids, %d values, dim %d: %w", len(ids), len(vectors), dim, ErrInvalid)
	}
	sp := spaceID(space)
	// A transaction holds at most half of Badger's batch size in vectors,
	// so long vectors (a CNN's 1792 floats) are written in smaller
	// transactions than short ones.
	per := writeBatch
	if n := int(ds.db.bdb.MaxBatchSize() / 2 / int64(dim*4+embedEntryOverhead)); n < per {
		per = max(n, 1)
	}
	for start := 0; start < len(ids); start += per {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+per, len(ids))
		err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
			m, err := ds.db.loadMeta(txn, ds.id)
			if err != nil {
				return nil, err
			}
			var m2 *datasetMeta
			if _, ok := m.Spaces[space]; !ok {
				m2 = m.clone()
				if m2.Spaces == nil {
					m2.Spaces = map[string]uint64{}
				}
				m2.Spaces[space] = sp
			}
			buf := make([]byte, 0, dim*4)
			for i := start; i < end; i++ {
				if _, err := txn.Get(sampleKey(ds.id, ids[i])); errors.Is(err, badger.ErrKeyNotFound) {
					continue // deleted meanwhile
				} else if err != nil {
					return nil, err
				}
				buf = buf[:0]
				for _, f := range vectors[i*dim : (i+1)*dim] {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
				}
				if err := ds.db.set(txn, embedKey(ds.id, sp, ids[i]), append([]byte(nil), buf...), "embedding"); err != nil {
					return nil, err
				}
			}
			return m2, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// embedEntryOverhead bounds the bytes an embedding's entry adds to a
// transaction besides its vector: key, sample check and Badger's metadata.
const embedEntryOverhead = 128

// Embeddings reads the stored vectors of ids in a space; an id without one
// gets nil.
func (ds *Dataset) Embeddings(ctx context.Context, space string, ids []ID) ([][]float32, error) {
	sp := spaceID(space)
	out := make([][]float32, len(ids))
	err := ds.db.view(func(txn *badger.Txn) error {
		for i, id := range ids {
			if i&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item, err := txn.Get(embedKey(ds.id, sp, id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			err = item.Value(func(b []byte) error {
				if len(b)%4 != 0 {
					return ErrCorrupt
				}
				v := make([]float32, len(b)/4)
				for j := range v {
					v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
				}
				out[i] = v
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ScanEmbeddings calls fn with every vector stored in a space, in id
// order, from one snapshot; the vector is valid only during the call. The
// first error fn returns stops the scan and is returned.
func (ds *Dataset) ScanEmbeddings(ctx context.Context, space string, fn func(id ID, v []float32) error) error {
	p := binary.BigEndian.AppendUint64(dsPrefix(tagEmbed, ds.id), spaceID(space))
	var v []float32
	return ds.scanIDKeys(ctx, p, func(id ID, b []byte) error {
		if len(b)%4 != 0 {
			return ErrCorrupt
		}
		v = slices.Grow(v[:0], len(b)/4)[:len(b)/4]
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		return fn(id, v)
	})
}

// ScanVectors reads the vector at a dotted field path of every sample, in
// id order, from one snapshot, decoding each list straight into float32
// (Record.Vector) without building a Value per item: a vector field of a
// million samples streams through one reused buffer. fn gets each
// sample's id, its record and vector (both lent: valid only during the
// call) and the error Record.Vector gave (ErrNotVector, a
// *VectorRangeError, ErrCorrupt) with a nil vector. The first error fn
// returns stops the scan and is returned.
func (ds *Dataset) ScanVectors(ctx context.Context, field string, fn func(id ID, rec Record, vec []float32, err error) error) error {
	var buf []float32
	return ds.scanIDKeys(ctx, dsPrefix(tagSample, ds.id), func(id ID, b []byte) error {
		rec := Record(b)
		var err error
		if buf, err = rec.Vector(field, buf); err != nil {
			return fn(id, rec, nil, err)
		}
		return fn(id, rec, buf, nil)
	})
}

// scanIDKeys calls fn with the id and value of every key under prefix
// whose rest is a sample id, in key order, from one snapshot; the value
// is lent for the call. As it goes it releases the pages of the store's
// mapped files that it has passed (releaseStorePages), so that a read of
// every vector does not leave the whole store counted in the process's
// resident memory.
func (ds *Dataset) scanIDKeys(ctx context.Context, prefix []byte, fn func(id ID, value []byte) error) error {
	pages := pageReleaser{d: ds.db}
	defer pages.release()
	return ds.db.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n++; n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			var id ID
			if copy(id[:], item.Key()[len(prefix):]) != len(id) {
				return ErrCorrupt
			}
			if err := item.Value(func(b []byte) error { pages.add(len(b)); return fn(id, b) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// tagVectorIndex is the table of vector indexes: a dsid space(8) part(4)
// -> a piece of a space's index (PutVectorIndex).
const tagVectorIndex byte = 'a'

// vectorIndexKey is where piece part of a space's vector index lives.
// Piece 0 is the header: the dataset version the index was made at, a
// stamp, and the number of pieces that follow; each piece starts with the
// same stamp.
func vectorIndexKey(ds uint64, space string, part uint32) []byte {
	k := binary.BigEndian.AppendUint64(dsPrefix(tagVectorIndex, ds), spaceID(space))
	return binary.BigEndian.AppendUint32(k, part)
}

// vectorIndexPiece is the size of the pieces an index is written in, so
// that no value nor transaction is too large for Badger.
const vectorIndexPiece = 256 << 10

// PutVectorIndex stores data, an index over the vectors of a space that
// its caller encodes (brain's approximate k-NN index), as made at the
// dataset's version. VectorIndex returns it only while that version is
// current, so any write that changes the data invalidates it; dropping
// the dataset removes it. It is written in pieces, the header last: an
// index cut short by a crash is never returned.
func (ds *Dataset) PutVectorIndex(space string, version uint64, data []byte) error {
	if space == "" {
		return fmt.Errorf("db: PutVectorIndex: no space: %w", ErrInvalid)
	}
	stamp := uint64(time.Now().UnixNano())
	pieces := uint32((len(data) + vectorIndexPiece - 1) / vectorIndexPiece)
	put := func(part uint32, val []byte) error {
		return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
			if _, err := ds.db.loadMeta(txn, ds.id); err != nil {
				return nil, err
			}
			return nil, ds.db.set(txn, vectorIndexKey(ds.id, space, part), val, "vector index")
		})
	}
	for p := uint32(0); p < pieces; p++ {
		chunk := data[int(p)*vectorIndexPiece : min(int(p+1)*vectorIndexPiece, len(data))]
		if err := put(p+1, append(binary.BigEndian.AppendUint64(nil, stamp), chunk...)); err != nil {
			return err
		}
	}
	head := binary.BigEndian.AppendUint64(nil, version)
	head = binary.BigEndian.AppendUint64(head, stamp)
	return put(0, binary.BigEndian.AppendUint32(head, pieces))
}

// VectorIndex returns the index PutVectorIndex stored for a space, and
// whether there is one made at the dataset's current version.
func (ds *Dataset) VectorIndex(space string) ([]byte, bool, error) {
	version, err := ds.Version()
	if err != nil {
		return nil, false, err
	}
	var out []byte
	found := false
	err = ds.db.view(func(txn *badger.Txn) error {
		get := func(part uint32) ([]byte, error) {
			item, err := txn.Get(vectorIndexKey(ds.id, space, part))
			if err != nil {
				return nil, err
			}
			return item.ValueCopy(nil)
		}
		head, err := get(0)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(head) != 20 {
			return ErrCorrupt
		}
		if binary.BigEndian.Uint64(head) != version {
			return nil // made before the data last changed
		}
		stamp := head[8:16]
		for p := uint32(1); p <= binary.BigEndian.Uint32(head[16:]); p++ {
			b, err := get(p)
			if err != nil || len(b) < 8 || string(b[:8]) != string(stamp) {
				return fmt.Errorf("db: vector index of %s: piece %d: %w", space, p, ErrCorrupt)
			}
			out = append(out, b[8:]...)
		}
		found = true
		return nil
	})
	return out, found && err == nil, err
}
