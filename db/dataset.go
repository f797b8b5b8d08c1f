package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Dataset is a handle on one dataset of a DB. Handles are cheap; all
// state lives in the database.
type Dataset struct {
	db *DB
	id uint64
}

// writeBatch is how many samples a multi-sample update writes per
// transaction.
const writeBatch = 1000

func (ds *Dataset) meta() (*datasetMeta, error) {
	if err := ds.db.checkOpen(); err != nil {
		return nil, err
	}
	if m := ds.db.cachedMeta(ds.id); m != nil {
		return m, nil
	}
	var m *datasetMeta
	err := ds.db.view(func(txn *badger.Txn) error {
		var err error
		m, err = ds.db.loadMeta(txn, ds.id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("db: dataset was deleted: %w", ErrNotFound)
	}
	return m, err
}

// DB is the database the dataset lives in.
func (ds *Dataset) DB() *DB { return ds.db }

// Name is the dataset's current name ("" if it was deleted).
func (ds *Dataset) Name() string {
	m, err := ds.meta()
	if err != nil {
		return ""
	}
	return m.Name
}

// Count is the number of samples.
func (ds *Dataset) Count() (int64, error) {
	m, err := ds.meta()
	if err != nil {
		return 0, err
	}
	return m.Count, nil
}

// Version changes with every write that can change an insight's answer:
// samples added or removed, a filepath or metadata changed, or a field
// that a run used as input written. Tag and insight writes keep it.
func (ds *Dataset) Version() (uint64, error) {
	m, err := ds.meta()
	if err != nil {
		return 0, err
	}
	return m.Version, nil
}

// Created is when the dataset was made.
func (ds *Dataset) Created() (time.Time, error) {
	m, err := ds.meta()
	if err != nil {
		return time.Time{}, err
	}
	return m.Created, nil
}

// MarkInputField records that a run reads the field at path, so that
// writing it changes the dataset version.
func (ds *Dataset) MarkInputField(path string) error {
	return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		if m.InputFields[path] {
			return nil, nil
		}
		m = m.clone()
		m.InputFields[path] = true
		return m, nil
	})
}

// Add inserts samples: all are added or none, in as many transactions as
// their size needs (see journal.go). A filepath already in the dataset
// (or twice in the batch) fails the call with ErrDuplicateFilepath. It
// returns the new ids in order.
func (ds *Dataset) Add(ctx context.Context, samples []NewSample) ([]ID, error) {
	ids, _, err := ds.add(ctx, sliceSamples(samples), false, nil)
	return ids, err
}

// AddNew inserts the samples whose filepath is not yet in the dataset and
// skips the others, all-or-nothing as Add. It returns the ids of the added
// samples and how many were skipped.
func (ds *Dataset) AddNew(ctx context.Context, samples []NewSample) ([]ID, int, error) {
	return ds.add(ctx, sliceSamples(samples), true, nil)
}

// sliceSamples yields the samples of a slice, with no error.
func sliceSamples(samples []NewSample) iter.Seq2[NewSample, error] {
	return func(yield func(NewSample, error) bool) {
		for _, s := range samples {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// add inserts the samples next yields, all-or-nothing: an error it yields
// fails the whole call. progress, when not nil, is called after each
// sample with the number added so far.
func (ds *Dataset) add(ctx context.Context, next iter.Seq2[NewSample, error], skipExisting bool, progress func(int)) ([]ID, int, error) {
	ad, err := ds.newAdder(ctx, skipExisting)
	if err != nil {
		return nil, 0, err
	}
	for s, err := range next {
		if err == nil {
			err = ad.add(s)
		}
		if err != nil {
			return nil, 0, ad.abort(err)
		}
		if progress != nil {
			progress(len(ad.ids))
		}
	}
	return ad.commit()
}

// adder inserts samples one at a time as one all-or-nothing statement.
type adder struct {
	ctx          context.Context
	ds           *Dataset
	bw           *bulkWrite
	skipExisting bool
	// The statement's own filepaths, by hash: batches committing in the
	// background are not visible to the open transaction, and a dataset
	// that was empty needs no lookup at all. A hash seen before is looked
	// up exactly once the open transaction sees every batch.
	seed    maphash.Seed
	added   map[uint64]struct{}
	fresh   bool
	now     time.Time
	ids     []ID
	skipped int
	kept    map[ID]struct{} // the ids kept from NewSample.ID so far
	cols    *columnAppender
}

// newAdder starts an insert; it holds the writer lock until commit or
// abort.
func (ds *Dataset) newAdder(ctx context.Context, skipExisting bool) (*adder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bw, err := ds.beginBulk()
	if err != nil {
		return nil, err
	}
	bw.commitInBackground()
	return &adder{ctx: ctx, ds: ds, bw: bw, skipExisting: skipExisting, seed: maphash.MakeSeed(),
		added: map[uint64]struct{}{}, fresh: bw.before.Count == 0, now: time.Now(), cols: ds.newColumnAppender(bw.before)}, nil
}

// add inserts one sample (or skips it, when its filepath is there and
// the adder skips existing ones).
func (a *adder) add(s NewSample) error {
	if err := a.ctx.Err(); err != nil {
		return err
	}
	doc, err := s.document()
	if err != nil {
		return err
	}
	var id ID
	if !s.ID.IsZero() {
		if id, err = a.keepID(s.ID); err != nil {
			return err
		}
	}
	fp := s.Filepath
	h := maphash.String(a.seed, fp)
	_, seen := a.added[h]
	if seen {
		if err := a.bw.catchUp(); err != nil {
			return err
		}
	}
	if seen || !a.fresh {
		_, err := a.bw.txn.Get(filepathKey(a.ds.id, fp))
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err == nil {
			if a.skipExisting {
				a.skipped++
				return nil
			}
			return fmt.Errorf("db: %s: %w", fp, ErrDuplicateFilepath)
		}
	}
	if id.IsZero() {
		if id, err = a.ds.db.newID(a.now); err != nil {
			return err
		}
	}
	m := a.bw.meta()
	m.Count++
	if len(a.ids) == 0 {
		m.Version++
	}
	rec := EncodeRecord(doc)
	if err := a.bw.put(id, nil, rec, doc); err != nil {
		return err
	}
	a.cols.add(rec)
	a.added[h] = struct{}{}
	a.ids = append(a.ids, id)
	return nil
}

// keepID checks the id a new sample keeps against the dataset and the
// statement's earlier kept ids, and returns it.
func (a *adder) keepID(keep ID) (ID, error) {
	if keep.Time().After(a.now) {
		return ID{}, fmt.Errorf("db: sample id %s is stamped %s, later than now: %w", keep, keep.Time().Format(time.RFC3339), ErrInvalid)
	}
	if a.kept == nil {
		a.kept = map[ID]struct{}{}
	}
	if _, dup := a.kept[keep]; dup {
		return ID{}, fmt.Errorf("db: sample id %s is given twice: %w", keep, ErrDuplicateID)
	}
	if !a.fresh {
		_, err := a.bw.txn.Get(sampleKey(a.ds.id, keep))
		if err == nil {
			return ID{}, fmt.Errorf("db: sample id %s is already in dataset %s: %w", keep, a.bw.meta().Name, ErrDuplicateID)
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return ID{}, err
		}
	}
	a.kept[keep] = struct{}{}
	return keep, nil
}

// commit ends the insert: every sample added, or (on an error) none.
func (a *adder) commit() ([]ID, int, error) {
	if len(a.ids) == 0 {
		return nil, a.skipped, a.bw.abort()
	}
	if err := a.bw.commit(); err != nil {
		return nil, 0, err
	}
	a.ds.columnsAfterAdd(a.ctx, a.cols, a.bw.meta())
	return a.ids, a.skipped, nil
}

// abort undoes the insert and returns err (joined with the undo's error,
// if that failed).
func (a *adder) abort(err error) error {
	if aerr := a.bw.abort(); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// writeSample stores a sample's new record (nil to delete) and keeps the
// filepath key, tag index, field indexes, insight indexes, schema and the
// full-text backlog in step. old is the previous record, nil for a new
// sample; doc is rec decoded when the caller has it (else missing).
func (ds *Dataset) writeSample(txn *badger.Txn, m *datasetMeta, id ID, old, rec Record, doc Value) error {
	var oldFP, newFP string
	if old != nil {
		oldFP = old.Lookup(FieldFilepath).AsString()
	}
	if rec != nil {
		newFP = rec.Lookup(FieldFilepath).AsString()
	}
	if oldFP != newFP {
		if old != nil {
			if err := txn.Delete(filepathKey(ds.id, oldFP)); err != nil {
				return err
			}
		}
		if rec != nil {
			if err := ds.db.set(txn, filepathKey(ds.id, newFP), id[:], "filepath"); err != nil {
				return err
			}
		}
	}
	oldTags, newTags := stringsOf(old.Lookup(FieldTags)), stringsOf(rec.Lookup(FieldTags))
	for _, t := range oldTags {
		if !contains(newTags, t) {
			if err := txn.Delete(tagKey(ds.id, t, id)); err != nil {
				return err
			}
		}
	}
	for _, t := range newTags {
		if old == nil || !contains(oldTags, t) {
			if err := ds.db.set(txn, tagKey(ds.id, t, id), nil, "tag"); err != nil {
				return err
			}
		}
	}
	for path, ix := range m.Indexes {
		ov, nv := old.Lookup(path), rec.Lookup(path)
		if old != nil && rec != nil && Equal(ov, nv) && ov.kind == nv.kind {
			continue
		}
		if old != nil {
			if err := txn.Delete(indexKey(ds.id, ix, ov, id)); err != nil {
				return err
			}
		}
		if rec != nil {
			if err := ds.db.set(txn, indexKey(ds.id, ix, nv, id), nil, "value of indexed field %s", path); err != nil {
				return err
			}
		}
	}
	if old == nil || rec == nil {
		// Insight indexes cover every sample: a new sample enters them
		// as missing; a deleted one leaves them.
		for group, g := range m.Insights {
			var irec Record
			if rec == nil {
				var err error
				if irec, err = getRecord(txn, insightKey(ds.id, g.Gen, id)); err != nil {
					return err
				}
				if err := txn.Delete(insightKey(ds.id, g.Gen, id)); err != nil {
					return err
				}
			}
			for key, ix := range g.Indexes {
				k := indexKey(ds.id, ix, irec.Lookup(key), id)
				var err error
				if rec == nil {
					err = txn.Delete(k)
				} else {
					err = ds.db.set(txn, k, nil, "value of indexed field insights.%s.%s", group, key)
				}
				if errors.Is(err, ErrTooLong) {
					return err
				}
				if err != nil {
					return fmt.Errorf("db: insight index %s.%s: %w", group, key, err)
				}
			}
		}
	}
	if rec == nil {
		if err := txn.Delete(sampleKey(ds.id, id)); err != nil {
			return err
		}
		for _, sp := range m.Spaces {
			if err := txn.Delete(embedKey(ds.id, sp, id)); err != nil {
				return err
			}
		}
	} else {
		if err := ds.db.set(txn, sampleKey(ds.id, id), rec, "sample record"); err != nil {
			return err
		}
		if !bytes.Equal(old, rec) {
			if doc.kind == KindMissing {
				var err error
				if doc, err = rec.Decode(); err != nil {
					return err
				}
			}
			m.noteSchema("", doc)
		}
	}
	return ds.db.set(txn, append(dsPrefix(tagTextDirt, ds.id), id[:]...), nil, "full-text backlog key")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// getRecord reads a record; a missing key gives a nil record.
func getRecord(txn *badger.Txn, key []byte) (Record, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := item.ValueCopy(nil)
	return Record(b), err
}

// Get returns one sample, or an error wrapping ErrNotFound.
func (ds *Dataset) Get(id ID) (*Sample, error) {
	var s *Sample
	err := ds.db.pointView(func(r *pointReader) error {
		m, err := r.meta(ds.id)
		if err != nil {
			return err
		}
		s, err = ds.getSample(r, m, id)
		return err
	})
	return s, err
}

func (ds *Dataset) getSample(r *pointReader, m *datasetMeta, id ID) (*Sample, error) {
	rec, err := r.get(sampleKey(ds.id, id))
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("db: sample %s %w", id, ErrNotFound)
	}
	s := &Sample{ID: id, rec: rec}
	for group, g := range m.Insights {
		irec, err := r.get(insightKey(ds.id, g.Gen, id))
		if err != nil {
			return nil, err
		}
		if irec != nil {
			if s.insights == nil {
				s.insights = map[string]Record{}
			}
			s.insights[group] = irec
		}
	}
	return s, nil
}

// GetMany returns the samples with the given ids in the same order; an id
// not in the dataset gives a nil entry.
func (ds *Dataset) GetMany(ids []ID) ([]*Sample, error) {
	out := make([]*Sample, len(ids))
	err := ds.db.pointView(func(r *pointReader) error {
		m, err := r.meta(ds.id)
		if err != nil {
			return err
		}
		for i, id := range ids {
			s, err := ds.getSample(r, m, id)
			if errors.Is(err, ErrNotFound) {
				out[i] = nil
				continue
			}
			if err != nil {
				return err
			}
			out[i] = s
		}
		return nil
	})
	return out, err
}

// IDByFilepath finds the sample with the given filepath.
func (ds *Dataset) IDByFilepath(path string) (ID, bool, error) {
	var id ID
	found := false
	err := ds.db.view(func(txn *badger.Txn) error {
		item, err := txn.Get(filepathKey(ds.id, path))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(b []byte) error { copy(id[:], b); return nil })
	})
	return id, found, err
}

// Delete removes samples (ids not in the dataset are ignored) and returns
// how many were removed. Each batch of 1,000 is one transaction.
func (ds *Dataset) Delete(ctx context.Context, ids []ID) (int, error) {
	return ds.rewrite(ctx, ids, func(int, Value) (Value, bool, error) { return Value{}, true, nil }, rewriteOptions{})
}

// SetField sets a user field (a dotted path such as ground_truth.label,
// or filepath or a metadata path) on the given samples. A missing value
// unsets it. It returns how many samples changed.
func (ds *Dataset) SetField(ctx context.Context, ids []ID, path string, v Value) (int, error) {
	return ds.SetFields(ctx, ids, Field{Name: path, Value: v})
}

// SetFields is SetField for several fields at once, applied in order:
// each sample gets all of them in the same transaction (batches of 1,000
// samples per transaction, as every multi-sample write). It returns how
// many samples changed.
func (ds *Dataset) SetFields(ctx context.Context, ids []ID, fields ...Field) (int, error) {
	for _, f := range fields {
		if err := checkUserPath(f.Name); err != nil {
			return 0, err
		}
		if f.Name != FieldFilepath {
			continue
		}
		if f.Value.kind != KindString || f.Value.str == "" {
			return 0, fmt.Errorf("db: filepath must be a non-empty string: %w", ErrInvalid)
		}
		if len(ids) > 1 {
			return 0, fmt.Errorf("db: filepath is unique: set it on one sample at a time: %w", ErrInvalid)
		}
	}
	return ds.rewrite(ctx, ids, func(_ int, doc Value) (Value, bool, error) {
		nd := doc
		for _, f := range fields {
			nd = nd.With(f.Name, f.Value)
		}
		return nd, !Equal(nd, doc), nil
	}, rewriteOptions{})
}

// AddTags adds tags to the given samples and returns how many changed.
// Tag writes never change the dataset version.
func (ds *Dataset) AddTags(ctx context.Context, ids []ID, tags ...string) (int, error) {
	tags, err := normTags(tags)
	if err != nil {
		return 0, err
	}
	return ds.rewrite(ctx, ids, func(_ int, doc Value) (Value, bool, error) {
		old := stringsOf(doc.Field(FieldTags))
		merged, _ := normTags(append(append([]string{}, old...), tags...))
		return doc.With(FieldTags, Strings(merged)), len(merged) != len(old), nil
	}, rewriteOptions{})
}

// RemoveTags removes tags from the given samples and returns how many
// changed.
func (ds *Dataset) RemoveTags(ctx context.Context, ids []ID, tags ...string) (int, error) {
	return ds.rewrite(ctx, ids, func(_ int, doc Value) (Value, bool, error) {
		old := stringsOf(doc.Field(FieldTags))
		kept := make([]string, 0, len(old))
		for _, t := range old {
			if !contains(tags, t) {
				kept = append(kept, t)
			}
		}
		return doc.With(FieldTags, Strings(kept)), len(kept) != len(old), nil
	}, rewriteOptions{})
}

// rewrite applies fn to each sample's document, all-or-nothing (see
// journal.go). fn gets the index of the id in ids and the document, and
// returns the new document (missing deletes the sample)
// and whether it changed.
func (ds *Dataset) rewrite(ctx context.Context, ids []ID, fn func(i int, doc Value) (Value, bool, error), opts rewriteOptions) (changed int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	bw, err := ds.beginBulk()
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			changed = 0
			if aerr := bw.abort(); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
	}()
	bumped := false
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		old, err := getRecord(bw.txn, sampleKey(ds.id, id))
		if err != nil {
			return 0, err
		}
		if old == nil {
			if opts.mustExist {
				return 0, fmt.Errorf("db: sample %s: %w", id, ErrNotFound)
			}
			continue
		}
		doc, err := old.Decode()
		if err != nil {
			return 0, fmt.Errorf("db: sample %s: %w", id, err)
		}
		nd, ok, err := fn(i, doc)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		m := bw.meta()
		var rec Record
		bump := false
		if nd.kind == KindMissing {
			m.Count--
			bump = true
		} else {
			rec = EncodeRecord(nd)
			bump = m.changesVersion(doc, nd)
			if fp := nd.Field(FieldFilepath).AsString(); fp != doc.Field(FieldFilepath).AsString() {
				if _, err := bw.txn.Get(filepathKey(ds.id, fp)); err == nil {
					return 0, fmt.Errorf("db: %s: %w", fp, ErrDuplicateFilepath)
				}
			}
		}
		if bump && !bumped {
			m.Version++
			bumped = true
		}
		if err := bw.put(id, old, rec, nd); err != nil {
			return 0, err
		}
		changed++
		if opts.progress != nil {
			opts.progress(i + 1)
		}
	}
	if changed == 0 {
		return 0, bw.abort()
	}
	return changed, bw.commit()
}

// rewriteOptions adjust rewrite: mustExist fails it on an id that is not
// in the dataset (which is skipped otherwise), and progress is called
// after each sample written with how many of ids are done.
type rewriteOptions struct {
	mustExist bool
	progress  func(done int)
}

// changesVersion reports whether replacing doc by nd can change an
// insight's answer: filepath, metadata or a run's input field differs.
func (m *datasetMeta) changesVersion(doc, nd Value) bool {
	if !Equal(doc.Field(FieldFilepath), nd.Field(FieldFilepath)) || !Equal(doc.Field(FieldMetadata), nd.Field(FieldMetadata)) {
		return true
	}
	for path := range m.InputFields {
		if !Equal(doc.Path(path), nd.Path(path)) {
			return true
		}
	}
	return false
}

// noteSchema records the kinds of every leaf path of v under prefix.
func (m *datasetMeta) noteSchema(prefix string, v Value) {
	for _, f := range v.doc {
		path := f.Name
		if prefix != "" {
			path = prefix + "." + f.Name
		}
		if f.Value.kind == KindDoc && len(f.Value.doc) > 0 {
			m.noteSchema(path, f.Value)
			continue
		}
		bit := uint16(1) << f.Value.kind
		if m.Schema[path]&bit == 0 {
			m.Schema[path] |= bit
		}
	}
}

// kindsOf lists the kinds in a schema bit set.
func kindsOf(bits uint16) []Kind {
	var out []Kind
	for k := KindMissing; k <= KindDoc; k++ {
		if bits&(1<<k) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// Schema maps every field path the dataset has seen to the kinds stored
// there, including the live insights' keys.
func (ds *Dataset) Schema() (map[string][]Kind, error) {
	m, err := ds.meta()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Kind, len(m.Schema)+1)
	out[FieldID] = []Kind{KindString}
	for p, bits := range m.Schema {
		out[p] = kindsOf(bits)
	}
	return out, nil
}
