package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// RunStatus is the state of a run.
type RunStatus string

// Run states.
const (
	RunRunning   RunStatus = "running"
	RunComplete  RunStatus = "complete"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// RunRecord describes one computation of an insights group, for example a
// uniqueness run. db stores it; the insights package fills it in.
type RunRecord struct {
	Key            string          `json:"key"`             // the insights group, e.g. "uniqueness"
	Type           string          `json:"type"`            // the provider
	Options        json.RawMessage `json:"options"`         // the provider's options as JSON
	Model          string          `json:"model"`           // model or input identity
	DatasetVersion uint64          `json:"dataset_version"` // the version the run read
	SampleCount    int64           `json:"sample_count"`
	Started        time.Time       `json:"started"`
	Ended          time.Time       `json:"ended,omitzero"`
	Status         RunStatus       `json:"status"`
	Error          string          `json:"error,omitempty"`
}

// Runs returns the dataset's run records by key.
func (ds *Dataset) Runs() (map[string]RunRecord, error) {
	m, err := ds.meta()
	if err != nil {
		return nil, err
	}
	return cloneMap(m.Runs), nil
}

// PutRun stores a run record under its key, replacing the previous one.
// It never touches the stored scores: use InsightStage.Commit to publish
// a run's results together with its record.
func (ds *Dataset) PutRun(r RunRecord) error {
	if r.Key == "" {
		return fmt.Errorf("db: run without key: %w", ErrInvalid)
	}
	return ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		m.Runs[r.Key] = r
		return m, nil
	})
}

// InsightGroups lists the groups that have live values, sorted.
func (ds *Dataset) InsightGroups() ([]string, error) {
	m, err := ds.meta()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m.Insights))
	for g := range m.Insights {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

func validGroup(s string) error {
	if s == "" || strings.Contains(s, ".") {
		return fmt.Errorf("db: insights group or key %q: %w", s, ErrInvalid)
	}
	return nil
}

// InsightRow is one sample's values for a group: a document of keys.
type InsightRow struct {
	ID     ID
	Values Value
}

// InsightStage writes a new generation of one insights group without
// touching the live one. Commit publishes it in one step together with
// its run record; Abort (or a crash) discards it, leaving the previous
// values exactly as they were.
type InsightStage struct {
	ds      *Dataset
	group   string
	gen     uint64
	indexes map[string]uint32
	done    bool
}

// stagedGen is the bookkeeping of an unpublished generation, kept in the
// dataset meta so that a crash leaves it discoverable for clean-up.
type stagedGen struct {
	Group   string            `json:"group"`
	Indexes map[string]uint32 `json:"indexes"`
}

// StageInsights starts a new generation of group. Its indexed keys are
// "scalar" and any key the live generation indexes.
func (ds *Dataset) StageInsights(group string) (*InsightStage, error) {
	if err := validGroup(group); err != nil {
		return nil, err
	}
	gen, err := ds.db.seqData.Next()
	if err != nil {
		return nil, err
	}
	gen++
	st := &InsightStage{ds: ds, group: group, gen: gen, indexes: map[string]uint32{}}
	err = ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		keys := []string{"scalar"}
		if live := m.Insights[group]; live != nil {
			for k := range live.Indexes {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if _, ok := st.indexes[k]; !ok {
				st.indexes[k] = m.newIndexID()
			}
		}
		if m.Staged == nil {
			m.Staged = map[uint64]stagedGen{}
		}
		m.Staged[gen] = stagedGen{Group: group, Indexes: cloneMap(st.indexes)}
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Put writes rows into the staged generation, one transaction per call;
// a later Put for the same sample replaces its row.
func (st *InsightStage) Put(ctx context.Context, rows []InsightRow) error {
	if st.done {
		return fmt.Errorf("db: insight stage already finished: %w", ErrInvalid)
	}
	for start := 0; start < len(rows); start += writeBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := rows[start:min(start+writeBatch, len(rows))]
		err := st.ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
			for _, r := range batch {
				if r.Values.kind != KindDoc {
					return nil, fmt.Errorf("db: insight row for %s is not a document: %w", r.ID, ErrInvalid)
				}
				if err := st.ds.putInsight(txn, st.group, st.gen, st.indexes, false, r.ID, EncodeRecord(r.Values)); err != nil {
					return nil, err
				}
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// putInsight replaces one sample's record in generation gen and keeps that
// generation's indexes in step. In a live generation every sample already
// has index entries (missing when it has no record); in a staged one a
// sample without a record has none yet.
func (ds *Dataset) putInsight(txn *badger.Txn, group string, gen uint64, indexes map[string]uint32, live bool, id ID, rec Record) error {
	key := insightKey(ds.id, gen, id)
	old, err := getRecord(txn, key)
	if err != nil {
		return err
	}
	for k, ix := range indexes {
		ov, nv := old.Lookup(k), rec.Lookup(k)
		if old != nil || live {
			if Equal(ov, nv) && ov.kind == nv.kind {
				continue
			}
			if err := txn.Delete(indexKey(ds.id, ix, ov, id)); err != nil {
				return err
			}
		}
		if err := ds.db.set(txn, indexKey(ds.id, ix, nv, id), nil, "value of indexed field insights.%s.%s", group, k); err != nil {
			return err
		}
	}
	return ds.db.set(txn, key, rec, "insights.%s record", group)
}

// Commit publishes the staged generation: samples without a row get none,
// rows of samples deleted meanwhile are dropped, the run record (if any)
// is stored, and the previous generation is removed. Readers see the old
// values until the final step and the new ones after it.
func (st *InsightStage) Commit(ctx context.Context, run *RunRecord) error {
	if st.done {
		return fmt.Errorf("db: insight stage already finished: %w", ErrInvalid)
	}
	ds, d := st.ds, st.ds.db
	if err := d.checkOpen(); err != nil {
		return err
	}
	d.wmu.Lock()
	// Bring the staged indexes to cover exactly the dataset's samples.
	if err := ds.fillStaged(ctx, st); err != nil {
		d.wmu.Unlock()
		return err
	}
	var old *insightGroup
	err := d.updateLocked(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := d.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		old = m.Insights[st.group]
		m.Insights[st.group] = &insightGroup{Gen: st.gen, Indexes: cloneMap(st.indexes)}
		delete(m.Staged, st.gen)
		for p := range m.Schema {
			if strings.HasPrefix(p, FieldInsights+"."+st.group+".") {
				delete(m.Schema, p)
			}
		}
		if err := ds.noteInsightSchema(txn, m, st.group, st.gen); err != nil {
			return nil, err
		}
		if run != nil {
			m.Runs[run.Key] = *run
		}
		return m, nil
	})
	d.wmu.Unlock()
	if err != nil {
		return err
	}
	st.done = true
	if old != nil {
		return ds.dropGen(old.Gen, old.Indexes)
	}
	return nil
}

// noteInsightSchema records the kinds of the group's keys from a few rows.
func (ds *Dataset) noteInsightSchema(txn *badger.Txn, m *datasetMeta, group string, gen uint64) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: insightPrefix(ds.id, gen), PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid() && n < 64; it.Next() {
		err := it.Item().Value(func(b []byte) error {
			v, err := Record(b).Decode()
			if err != nil {
				return err
			}
			m.noteSchema(FieldInsights+"."+group, v)
			return nil
		})
		if err != nil {
			return err
		}
		n++
	}
	return nil
}

// fillStaged walks the samples and the staged rows side by side: a sample
// without a row gets missing entries in the staged indexes; a row without
// a sample is removed. The caller holds the writer lock. Walking the
// sample keys touches every table block of the samples, so it releases
// the mapped pages it has passed as it goes (pageReleaser).
func (ds *Dataset) fillStaged(ctx context.Context, st *InsightStage) error {
	d := ds.db
	pages := pageReleaser{d: d}
	defer pages.release()
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var last []byte
		done := false
		err := d.updateLocked(func(txn *badger.Txn) (*datasetMeta, error) {
			sp := dsPrefix(tagSample, ds.id)
			ip := insightPrefix(ds.id, st.gen)
			samples := txn.NewIterator(badger.IteratorOptions{Prefix: sp})
			defer samples.Close()
			rows := txn.NewIterator(badger.IteratorOptions{Prefix: ip})
			defer rows.Close()
			seek := func(it *badger.Iterator, prefix []byte) {
				if after == nil {
					it.Rewind()
					return
				}
				it.Seek(append(append([]byte{}, prefix...), after...))
				if it.Valid() && bytes.Equal(it.Item().Key()[len(prefix):], after) {
					it.Next()
				}
			}
			seek(samples, sp)
			seek(rows, ip)
			n := 0
			for n < writeBatch {
				var sid, rid []byte
				if samples.Valid() {
					sid = samples.Item().Key()[len(sp):]
				}
				if rows.Valid() {
					rid = rows.Item().Key()[len(ip):]
				}
				if sid == nil && rid == nil {
					done = true
					break
				}
				var id ID
				switch c := compareIDs(sid, rid); {
				case c == 0:
					copy(id[:], sid)
					pages.add(int(samples.Item().EstimatedSize()))
					samples.Next()
					rows.Next()
				case c < 0: // a sample without a row
					copy(id[:], sid)
					pages.add(int(samples.Item().EstimatedSize()))
					for _, ix := range st.indexes {
						if err := ds.db.set(txn, indexKey(ds.id, ix, Value{}, id), nil, "missing value of an indexed insight"); err != nil {
							return nil, err
						}
					}
					samples.Next()
					n++
				default: // a row whose sample is gone
					copy(id[:], rid)
					rec, err := rows.Item().ValueCopy(nil)
					if err != nil {
						return nil, err
					}
					for k, ix := range st.indexes {
						if err := txn.Delete(indexKey(ds.id, ix, Record(rec).Lookup(k), id)); err != nil {
							return nil, err
						}
					}
					if err := txn.Delete(insightKey(ds.id, st.gen, id)); err != nil {
						return nil, err
					}
					rows.Next()
					n++
				}
				last = append(last[:0], id[:]...)
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		after = append([]byte{}, last...)
	}
}

// compareIDs orders two raw ids where nil means "past the end".
func compareIDs(a, b []byte) int {
	switch {
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a, b)
}

// Abort discards the staged generation.
func (st *InsightStage) Abort() error {
	if st.done {
		return nil
	}
	st.done = true
	ds := st.ds
	err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		delete(m.Staged, st.gen)
		return m, nil
	})
	if err != nil {
		return err
	}
	return ds.dropGen(st.gen, st.indexes)
}

// dropGen deletes a generation's rows and index entries.
func (ds *Dataset) dropGen(gen uint64, indexes map[string]uint32) error {
	prefixes := [][]byte{insightPrefix(ds.id, gen)}
	for _, ix := range indexes {
		prefixes = append(prefixes, indexPrefix(ds.id, ix))
	}
	return ds.db.deletePrefixes(prefixes...)
}

// deletePrefixes removes every key under the prefixes in batched
// transactions, without stopping other writers for long.
func (d *DB) deletePrefixes(prefixes ...[]byte) error {
	for _, p := range prefixes {
		for {
			var keys [][]byte
			err := d.view(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
				defer it.Close()
				for it.Rewind(); it.Valid() && len(keys) < 10000; it.Next() {
					keys = append(keys, it.Item().KeyCopy(nil))
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				break
			}
			wb := d.bdb.NewWriteBatch()
			for _, k := range keys {
				if err := wb.Delete(k); err != nil {
					wb.Cancel()
					return err
				}
			}
			d.cache.writeBegin()
			err = wb.Flush()
			d.cache.writeEnd()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanStaged discards generations left unpublished by a crash.
func (ds *Dataset) cleanStaged() error {
	m, err := ds.meta()
	if err != nil || len(m.Staged) == 0 {
		return err
	}
	if ds.db.readOnly {
		return fmt.Errorf("%w: a run's unpublished scores are left to discard", ErrReadOnly)
	}
	for gen, sg := range m.Staged {
		st := &InsightStage{ds: ds, group: sg.Group, gen: gen, indexes: sg.Indexes}
		if err := st.Abort(); err != nil {
			return err
		}
	}
	return nil
}

// SetInsights writes one key of a group for many samples straight into the
// live values, keeping the group's other keys; a missing value removes
// the key. It is for values set by hand or by providers that need no
// staging; a group that does not exist yet is created. Each batch of 1,000
// is one transaction. Insight writes never change the dataset version.
func (ds *Dataset) SetInsights(ctx context.Context, group, key string, values map[ID]Value) error {
	if err := validGroup(group); err != nil {
		return err
	}
	if err := validGroup(key); err != nil {
		return err
	}
	m, err := ds.meta()
	if err != nil {
		return err
	}
	// A value too long for its index is refused before the group is
	// created or any batch is written.
	if _, indexed := m.Insights[group].indexOf(key); indexed || key == "scalar" {
		for _, v := range values {
			if err := ds.db.set(noSetter{}, indexKey(ds.id, 0, v, ID{}), nil, "value of indexed field insights.%s.%s", group, key); err != nil {
				return err
			}
		}
	}
	if m.Insights[group] == nil {
		st, err := ds.StageInsights(group)
		if err != nil {
			return err
		}
		if err := st.Commit(ctx, nil); err != nil {
			st.Abort()
			return err
		}
	}
	ids := make([]ID, 0, len(values))
	for id := range values {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i][:], ids[j][:]) < 0 })
	for start := 0; start < len(ids); start += writeBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := ids[start:min(start+writeBatch, len(ids))]
		err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
			m, err := ds.db.loadMeta(txn, ds.id)
			if err != nil {
				return nil, err
			}
			g := m.Insights[group]
			if g == nil {
				return nil, fmt.Errorf("db: insights group %q was removed meanwhile: %w", group, ErrNotFound)
			}
			m2 := m.clone()
			for _, id := range batch {
				if _, err := txn.Get(sampleKey(ds.id, id)); errors.Is(err, badger.ErrKeyNotFound) {
					continue
				} else if err != nil {
					return nil, err
				}
				old, err := getRecord(txn, insightKey(ds.id, g.Gen, id))
				if err != nil {
					return nil, err
				}
				doc, err := old.Decode()
				if err != nil {
					return nil, err
				}
				doc = doc.With(key, values[id])
				if err := ds.putInsight(txn, group, g.Gen, g.Indexes, true, id, EncodeRecord(doc)); err != nil {
					return nil, err
				}
				m2.noteSchema(FieldInsights+"."+group, Doc(Field{key, values[id]}))
			}
			return m2, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteInsights removes a group's live values and its run record.
func (ds *Dataset) DeleteInsights(group string) error {
	var old *insightGroup
	err := ds.db.update(func(txn *badger.Txn) (*datasetMeta, error) {
		m, err := ds.db.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		old = m.Insights[group]
		delete(m.Insights, group)
		delete(m.Runs, group)
		for p := range m.Schema {
			if strings.HasPrefix(p, FieldInsights+"."+group+".") {
				delete(m.Schema, p)
			}
		}
		return m, nil
	})
	if err != nil || old == nil {
		return err
	}
	return ds.dropGen(old.Gen, old.Indexes)
}
