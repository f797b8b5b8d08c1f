package db

import (
	"context"
	"fmt"
	"iter"
)

// Import adds the samples that next yields, streaming: all are added or
// none, across as many transactions as their size needs (see journal.go),
// and memory grows only by their ids. An error that next yields (a
// malformed record, say) fails the import and undoes it, as does a
// duplicate filepath or a cancelled ctx. progress, when not nil, is called
// after each sample with the number added so far. It returns the new ids
// in order.
func (ds *Dataset) Import(ctx context.Context, next iter.Seq2[NewSample, error], progress func(done int)) ([]ID, error) {
	ids, _, err := ds.add(ctx, next, false, progress)
	return ids, err
}

// SetEach sets the field at path on each sample of ids to its own value,
// value(i) for ids[i], called in order, all-or-nothing as Import. A
// missing value unsets the field; an id that is not in the dataset fails
// the call (ErrNotFound). progress, when not nil, is called after each
// sample with how many are done. It returns how many samples changed.
func (ds *Dataset) SetEach(ctx context.Context, ids []ID, path string, value func(i int) (Value, error), progress func(done int)) (int, error) {
	if err := checkUserPath(path); err != nil {
		return 0, err
	}
	if path == FieldFilepath {
		return 0, fmt.Errorf("db: filepath is unique: set it on one sample at a time: %w", ErrInvalid)
	}
	return ds.rewrite(ctx, ids, func(i int, doc Value) (Value, bool, error) {
		v, err := value(i)
		if err != nil {
			return Value{}, false, err
		}
		nd := doc.With(path, v)
		return nd, !Equal(nd, doc), nil
	}, rewriteOptions{mustExist: true, progress: progress})
}

// IDs yields the ids of the dataset's samples in ascending order, the
// order SELECT id returns without ORDER BY, reading keys only.
func (ds *Dataset) IDs(ctx context.Context) iter.Seq2[ID, error] {
	return keysUnder(ctx, ds, dsPrefix(tagSample, ds.id), func(rest []byte) ID { return ID(rest) })
}
