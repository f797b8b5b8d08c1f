package db

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// The selection and the saved views of a dataset are small documents the
// dashboard and the shell share: the samples picked by hand, and named
// queries. Both live under the dataset's id, so they follow a rename and
// go with a drop.

func selectionKey(ds uint64) []byte { return dsPrefix(tagSelection, ds) }

func viewKey(ds uint64, name string) []byte {
	return append(dsPrefix(tagView, ds), strings.ToLower(name)...)
}

// Selection returns the dataset's selected sample ids in ascending order
// (empty when nothing is selected). Ids of samples deleted since they were
// selected are left out.
func (ds *Dataset) Selection() ([]ID, error) {
	if _, err := ds.meta(); err != nil {
		return nil, err
	}
	var ids []ID
	err := ds.db.view(func(txn *badger.Txn) error {
		item, err := txn.Get(selectionKey(ds.id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			if len(b)%len(ID{}) != 0 {
				return fmt.Errorf("db: the selection of dataset %s: %w", ds.Name(), ErrCorrupt)
			}
			for i := 0; i < len(b); i += len(ID{}) {
				var id ID
				copy(id[:], b[i:])
				if _, err := txn.Get(sampleKey(ds.id, id)); err == nil {
					ids = append(ids, id)
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
			}
			return nil
		})
	})
	return ids, err
}

// SetSelection replaces the dataset's selection with ids (duplicates
// collapse; an empty list clears it). Every id must name a sample of the
// dataset; otherwise nothing changes and the error names the first one
// that does not.
func (ds *Dataset) SetSelection(ids []ID) error {
	return ds.changeSelection(func([]ID) []ID { return ids })
}

// AddToSelection adds ids to the dataset's selection.
func (ds *Dataset) AddToSelection(ids []ID) error {
	return ds.changeSelection(func(old []ID) []ID { return append(old, ids...) })
}

// RemoveFromSelection removes ids from the dataset's selection.
func (ds *Dataset) RemoveFromSelection(ids []ID) error {
	return ds.changeSelection(func(old []ID) []ID {
		return slices.DeleteFunc(old, func(id ID) bool { return slices.Contains(ids, id) })
	})
}

// changeSelection writes fn(the current selection) as the new one, in one
// transaction under the writer lock.
func (ds *Dataset) changeSelection(fn func(old []ID) []ID) error {
	return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		if _, err := ds.db.loadMeta(txn, ds.id); err != nil {
			return nil, err
		}
		var old []ID
		item, err := txn.Get(selectionKey(ds.id))
		switch {
		case err == nil:
			err = item.Value(func(b []byte) error {
				for i := 0; i+len(ID{}) <= len(b); i += len(ID{}) {
					old = append(old, ID(b[i:i+len(ID{})]))
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return nil, err
		}
		ids := fn(old)
		sorted := slices.Clone(ids)
		slices.SortFunc(sorted, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
		sorted = slices.Compact(sorted)
		if len(sorted) == 0 {
			return nil, txn.Delete(selectionKey(ds.id))
		}
		val := make([]byte, 0, len(sorted)*len(ID{}))
		for _, id := range sorted {
			if !slices.Contains(old, id) {
				if _, err := txn.Get(sampleKey(ds.id, id)); errors.Is(err, badger.ErrKeyNotFound) {
					return nil, fmt.Errorf("db: sample %s is not in dataset %s: %w", id, ds.Name(), ErrNotFound)
				} else if err != nil {
					return nil, err
				}
			}
			val = append(val, id[:]...)
		}
		return nil, ds.db.set(txn, selectionKey(ds.id), val, "the selection of dataset %s", ds.Name())
	})
}

// SavedView is a named query kept with a dataset (CREATE VIEW name AS
// SELECT …).
type SavedView struct {
	Name string // as written when it was saved
	SQL  string // the SELECT statement
}

// SaveView stores a named query with the dataset, replacing one of the
// same name (names compare case-insensitively). The name follows the
// rules of dataset names.
func (ds *Dataset) SaveView(name, sql string) error {
	if !validName(name) {
		return fmt.Errorf("db: view name %q: %w: use letters, digits, '_' and '-', starting with a letter or '_'", name, ErrInvalid)
	}
	return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		if _, err := ds.db.loadMeta(txn, ds.id); err != nil {
			return nil, err
		}
		val := append(append([]byte(name), 0), sql...)
		return nil, ds.db.set(txn, viewKey(ds.id, name), val, "view %s", name)
	})
}

// DropView removes a saved view; it reports whether there was one.
func (ds *Dataset) DropView(name string) (bool, error) {
	found := false
	err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		_, err := txn.Get(viewKey(ds.id, name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		found = true
		return nil, txn.Delete(viewKey(ds.id, name))
	})
	return found, err
}

// Views returns the dataset's saved views, ordered by name.
func (ds *Dataset) Views() ([]SavedView, error) {
	if _, err := ds.meta(); err != nil {
		return nil, err
	}
	var out []SavedView
	p := dsPrefix(tagView, ds.id)
	err := ds.db.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			err := it.Item().Value(func(b []byte) error {
				name, sql, ok := bytes.Cut(b, []byte{0})
				if !ok {
					return fmt.Errorf("db: a view of dataset %s: %w", ds.Name(), ErrCorrupt)
				}
				out = append(out, SavedView{Name: string(name), SQL: string(sql)})
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
