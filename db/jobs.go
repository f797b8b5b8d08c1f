package db

import (
	"context"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Job state is what a brain job that runs in pieces elsewhere (batches on
// a work queue) keeps with the dataset so that a rerun after its
// coordinator was killed resumes instead of starting again: a small set of
// named parts per job, each an opaque value its caller encodes. It lives
// and dies with the dataset, and the job drops it when its run is
// published.

// tagJob is the table of job state: q dsid job NUL part -> value.
const tagJob byte = 'q'

// maxJobName bounds a job's and a part's name.
const maxJobName = 256

func jobPrefix(ds uint64, job string) []byte {
	return append(append(dsPrefix(tagJob, ds), job...), 0)
}

func checkJobName(what, s string) error {
	if s == "" || len(s) > maxJobName {
		return fmt.Errorf("db: job state: %s %q: %w", what, s, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Errorf("db: job state: %s %q holds a NUL: %w", what, s, ErrInvalid)
		}
	}
	return nil
}

// PutJobState stores the parts of a job's state (part name -> value) in
// one transaction: all of them or none.
func (ds *Dataset) PutJobState(job string, parts map[string][]byte) error {
	if err := checkJobName("job", job); err != nil {
		return err
	}
	for name := range parts {
		if err := checkJobName("part", name); err != nil {
			return err
		}
	}
	return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		if _, err := ds.db.loadMeta(txn, ds.id); err != nil {
			return nil, err
		}
		for name, v := range parts {
			if err := ds.db.set(txn, append(jobPrefix(ds.id, job), name...), v, "state of job %s", job); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}

// JobState returns every stored part of a job's state (none: an empty
// map).
func (ds *Dataset) JobState(ctx context.Context, job string) (map[string][]byte, error) {
	if err := checkJobName("job", job); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	p := jobPrefix(ds.id, job)
	err := ds.db.view(func(txn *badger.Txn) error {
		if _, err := ds.db.loadMeta(txn, ds.id); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key()[len(p):])] = v
		}
		return nil
	})
	return out, err
}

// DropJobState removes every part of a job's state.
func (ds *Dataset) DropJobState(job string) error {
	if err := checkJobName("job", job); err != nil {
		return err
	}
	if err := ds.db.checkOpen(); err != nil {
		return err
	}
	return ds.db.deletePrefixes(jobPrefix(ds.id, job))
}
