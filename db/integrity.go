package db

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
)

// maxProblemsPerCheck bounds the problems one kind of check reports, so a
// badly damaged dataset gives a readable report.
const maxProblemsPerCheck = 20

// Check verifies the open database as SQLite's integrity_check does, from
// one snapshot: every table's checksums (Badger's VerifyChecksum); for
// every dataset, that each sample has its filepath, tag, field-index and
// insight-index entries, that every such entry, stored embedding and
// insight row belongs to a sample that agrees with it, that the count is
// the number of samples, that no statement was left half done, and that
// every run marked complete has its results. Each disagreement is one
// Problem (File is empty for those that are not about a file); none means
// the database is sound.
func (d *DB) Check(ctx context.Context) ([]Problem, error) {
	if err := d.checkOpen(); err != nil {
		return nil, err
	}
	var problems []Problem
	if err := d.bdb.VerifyChecksum(); err != nil {
		problems = append(problems, Problem{Message: "store checksums: " + err.Error()})
	}
	err := d.bdb.View(func(txn *badger.Txn) error {
		names, ids, err := catalog(txn)
		if err != nil {
			return err
		}
		for i, id := range ids {
			m, err := readMeta(txn, id)
			if err != nil {
				problems = append(problems, Problem{Message: fmt.Sprintf("dataset %s: its description cannot be read: %v", names[i], err)})
				continue
			}
			c := &checker{ctx: ctx, txn: txn, ds: id, m: m, name: names[i]}
			if err := c.run(); err != nil {
				return err
			}
			problems = append(problems, c.problems...)
		}
		return nil
	})
	return problems, err
}

// catalog lists the datasets: names and internal ids, by name.
func catalog(txn *badger.Txn) ([]string, []uint64, error) {
	var names []string
	var ids []uint64
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagCatalog}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		err := it.Item().Value(func(b []byte) error {
			if len(b) != 8 {
				return fmt.Errorf("db: catalog entry %q: %w", it.Item().Key()[1:], ErrCorrupt)
			}
			ids = append(ids, binary.BigEndian.Uint64(b))
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		names = append(names, string(it.Item().Key()[1:]))
	}
	return names, ids, nil
}

// checker checks one dataset.
type checker struct {
	ctx      context.Context
	txn      *badger.Txn
	ds       uint64
	m        *datasetMeta
	name     string
	problems []Problem
	counts   map[string]int // problems per kind, to cap the report
}

func (c *checker) report(kind, format string, args ...any) {
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind]++
	switch n := c.counts[kind]; {
	case n < maxProblemsPerCheck:
		c.problems = append(c.problems, Problem{Message: fmt.Sprintf("dataset %s: ", c.name) + fmt.Sprintf(format, args...)})
	case n == maxProblemsPerCheck:
		c.problems = append(c.problems, Problem{Message: fmt.Sprintf("dataset %s: more %s problems not listed", c.name, kind)})
	}
}

// has reports whether key is in the store.
func (c *checker) has(key []byte) (bool, error) {
	_, err := c.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// sample reads a sample's record; nil when there is none.
func (c *checker) sample(id ID) (Record, error) {
	return getRecord(c.txn, sampleKey(c.ds, id))
}

// insightRecord reads a sample's row in a live insights generation.
func (c *checker) insightRecord(gen uint64, id ID) (Record, error) {
	return getRecord(c.txn, insightKey(c.ds, gen, id))
}

func (c *checker) run() error {
	if err := c.forward(); err != nil {
		return err
	}
	if err := c.backward(); err != nil {
		return err
	}
	c.runs()
	return c.checkColumns()
}

// forward walks the samples: each must have its derived entries.
func (c *checker) forward() error {
	var n int64
	it := c.txn.NewIterator(badger.IteratorOptions{Prefix: dsPrefix(tagSample, c.ds), PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	prefixLen := len(dsPrefix(tagSample, c.ds))
	for it.Rewind(); it.Valid(); it.Next() {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		n++
		var id ID
		copy(id[:], it.Item().Key()[prefixLen:])
		raw, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		rec := Record(raw)
		if _, err := rec.Decode(); err != nil {
			c.report("record", "sample %s: its record cannot be decoded: %v", id, err)
			continue
		}
		fp := rec.Lookup(FieldFilepath).AsString()
		item, err := c.txn.Get(filepathKey(c.ds, fp))
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			c.report("filepath", "sample %s: filepath %q is missing from the filepath index", id, fp)
		case err != nil:
			return err
		default:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if !bytes.Equal(v, id[:]) {
				c.report("filepath", "sample %s: the filepath index gives %q to another sample", id, fp)
			}
		}
		for _, t := range stringsOf(rec.Lookup(FieldTags)) {
			if ok, err := c.has(tagKey(c.ds, t, id)); err != nil {
				return err
			} else if !ok {
				c.report("tag", "sample %s: tag %q is missing from the tag index", id, t)
			}
		}
		for _, path := range sortedKeys(c.m.Indexes) {
			if ok, err := c.has(indexKey(c.ds, c.m.Indexes[path], rec.Lookup(path), id)); err != nil {
				return err
			} else if !ok {
				c.report("index", "sample %s: the index on %s lacks its value", id, path)
			}
		}
		for _, group := range sortedKeys(c.m.Insights) {
			g := c.m.Insights[group]
			irec, err := c.insightRecord(g.Gen, id)
			if err != nil {
				return err
			}
			for _, key := range sortedKeys(g.Indexes) {
				if ok, err := c.has(indexKey(c.ds, g.Indexes[key], irec.Lookup(key), id)); err != nil {
					return err
				} else if !ok {
					c.report("index", "sample %s: the index on insights.%s.%s lacks its value", id, group, key)
				}
			}
		}
	}
	if n != c.m.Count {
		c.report("count", "the count says %d samples, the dataset holds %d", c.m.Count, n)
	}
	return nil
}

// backward walks each derived table: every entry must belong to a sample
// that agrees with it.
func (c *checker) backward() error {
	// The filepath index: value is the id.
	err := c.scan(tagFilepath, func(key, val []byte) error {
		fp := string(key[len(dsPrefix(tagFilepath, c.ds)):])
		if len(val) != len(ID{}) {
			c.report("filepath", "filepath index entry %q holds no sample id", fp)
			return nil
		}
		id := ID(val)
		rec, err := c.sample(id)
		if err != nil {
			return err
		}
		if rec == nil {
			c.report("filepath", "filepath index entry %q points to sample %s, which does not exist", fp, id)
		} else if got := rec.Lookup(FieldFilepath).AsString(); got != fp {
			c.report("filepath", "filepath index entry %q points to sample %s, whose filepath is %q", fp, id, got)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The tag and field indexes: the key ends with the id, and the
	// sample must give the same key back.
	indexOf := map[uint32]string{}
	for path, ix := range c.m.Indexes {
		indexOf[ix] = path
	}
	insightIndex := map[uint32][2]string{}
	for group, g := range c.m.Insights {
		for key, ix := range g.Indexes {
			insightIndex[ix] = [2]string{group, key}
		}
	}
	err = c.scan(tagTag, func(key, _ []byte) error {
		id := ID(key[len(key)-len(ID{}):])
		rec, err := c.sample(id)
		if err != nil {
			return err
		}
		for _, t := range stringsOf(rec.Lookup(FieldTags)) {
			if bytes.Equal(tagKey(c.ds, t, id), key) {
				return nil
			}
		}
		c.report("tag", "a tag index entry for sample %s has no such tag on the sample", id)
		return nil
	})
	if err != nil {
		return err
	}
	err = c.scan(tagIndex, func(key, _ []byte) error {
		p := len(dsPrefix(tagIndex, c.ds))
		if len(key) < p+4+len(ID{}) {
			c.report("index", "an index entry is too short to be one")
			return nil
		}
		ix := binary.BigEndian.Uint32(key[p:])
		id := ID(key[len(key)-len(ID{}):])
		rec, err := c.sample(id)
		if err != nil {
			return err
		}
		if rec == nil {
			c.report("index", "an index entry points to sample %s, which does not exist", id)
			return nil
		}
		var want []byte
		if path, ok := indexOf[ix]; ok {
			want = indexKey(c.ds, ix, rec.Lookup(path), id)
		} else if gk, ok := insightIndex[ix]; ok {
			irec, err := c.insightRecord(c.m.Insights[gk[0]].Gen, id)
			if err != nil {
				return err
			}
			want = indexKey(c.ds, ix, irec.Lookup(gk[1]), id)
		} else {
			c.report("index", "an entry of index %d, which the dataset does not have, for sample %s", ix, id)
			return nil
		}
		if !bytes.Equal(want, key) {
			c.report("index", "an index entry for sample %s does not match the sample's value", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Insight rows of live generations and stored embeddings of known
	// spaces belong to samples; other generations are staged runs.
	live := map[uint64]string{}
	for group, g := range c.m.Insights {
		live[g.Gen] = group
	}
	err = c.scan(tagInsight, func(key, _ []byte) error {
		p := len(dsPrefix(tagInsight, c.ds))
		gen := binary.BigEndian.Uint64(key[p:])
		id := ID(key[len(key)-len(ID{}):])
		group, ok := live[gen]
		if _, staged := c.m.Staged[gen]; !ok && !staged {
			c.report("insights", "insight row of sample %s in generation %d, which no group or staged run has", id, gen)
			return nil
		}
		if ok {
			if rec, err := c.sample(id); err != nil {
				return err
			} else if rec == nil {
				c.report("insights", "insights.%s has a row for sample %s, which does not exist", group, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	spaces := map[uint64]bool{}
	for _, sp := range c.m.Spaces {
		spaces[sp] = true
	}
	err = c.scan(tagEmbed, func(key, _ []byte) error {
		p := len(dsPrefix(tagEmbed, c.ds))
		id := ID(key[len(key)-len(ID{}):])
		if !spaces[binary.BigEndian.Uint64(key[p:])] {
			c.report("embeddings", "an embedding of sample %s in a space the dataset does not list", id)
			return nil
		}
		if rec, err := c.sample(id); err != nil {
			return err
		} else if rec == nil {
			c.report("embeddings", "a stored embedding of sample %s, which does not exist", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ok, err := c.has(journalHeaderKey(c.ds)); err != nil {
		return err
	} else if ok {
		c.report("statement", "a statement spanning several transactions is unfinished (it is undone when the database is next opened)")
	}
	return nil
}

// runs checks the run records: a complete run has its results.
func (c *checker) runs() {
	for _, key := range sortedKeys(c.m.Runs) {
		r := c.m.Runs[key]
		if r.Status != RunComplete {
			continue
		}
		if r.Ended.IsZero() {
			c.report("runs", "run %s is marked complete but has no end time", key)
		}
		if _, ok := c.m.Insights[key]; !ok {
			c.report("runs", "run %s is marked complete but insights.%s holds no results", key, key)
		}
		if r.DatasetVersion > c.m.Version {
			c.report("runs", "run %s read version %d of the dataset, which is only at version %d", key, r.DatasetVersion, c.m.Version)
		}
	}
}

// scan calls fn with every key and value of one of the dataset's tables.
func (c *checker) scan(tag byte, fn func(key, val []byte) error) error {
	it := c.txn.NewIterator(badger.IteratorOptions{Prefix: dsPrefix(tag, c.ds), PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		val, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := fn(it.Item().KeyCopy(nil), val); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Repair rebuilds every dataset's derived state from its samples, as
// SQLite's REINDEX does: the filepath, tag, field and insight indexes,
// the count, and the full-text index (rebuilt on its next use); insight
// rows and embeddings of samples that no longer exist are removed. The
// samples themselves, their insight rows and the run records are kept.
// It holds the writer lock and writes in batches: a repair that is
// interrupted is finished by running it again. It returns a line per
// dataset saying what it rebuilt.
func (d *DB) Repair(ctx context.Context) ([]string, error) {
	if err := d.checkOpen(); err != nil {
		return nil, err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	var names []string
	var ids []uint64
	if err := d.bdb.View(func(txn *badger.Txn) error {
		var err error
		names, ids, err = catalog(txn)
		return err
	}); err != nil {
		return nil, err
	}
	var out []string
	for i, id := range ids {
		n, err := d.repairDataset(ctx, id)
		if err != nil {
			return out, fmt.Errorf("db: repair dataset %s: %w", names[i], err)
		}
		out = append(out, fmt.Sprintf("dataset %s: indexes, count and text index rebuilt from %d samples", names[i], n))
	}
	return out, nil
}

func (d *DB) repairDataset(ctx context.Context, ds uint64) (int64, error) {
	var m *datasetMeta
	if err := d.bdb.View(func(txn *badger.Txn) error {
		var err error
		m, err = readMeta(txn, ds)
		return err
	}); err != nil {
		return 0, err
	}
	d.cache.writeBegin()
	defer d.cache.writeEnd()
	// Drop the derived tables, then write them again from the samples.
	for _, tag := range []byte{tagFilepath, tagTag, tagIndex, tagColumns} {
		if err := d.deletePrefix(ctx, dsPrefix(tag, ds), nil); err != nil {
			return 0, err
		}
	}
	exists := func(txn *badger.Txn, key []byte) bool {
		id := key[len(key)-len(ID{}):]
		_, err := txn.Get(append(dsPrefix(tagSample, ds), id...))
		return err == nil
	}
	for _, tag := range []byte{tagInsight, tagEmbed} {
		if err := d.deletePrefix(ctx, dsPrefix(tag, ds), func(txn *badger.Txn, key []byte) bool { return !exists(txn, key) }); err != nil {
			return 0, err
		}
	}
	wb := d.bdb.NewWriteBatch()
	defer wb.Cancel()
	var n int64
	err := d.bdb.View(func(txn *badger.Txn) error {
		p := dsPrefix(tagSample, ds)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := ID(it.Item().Key()[len(p):])
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			rec := Record(raw)
			if err := wb.Set(filepathKey(ds, rec.Lookup(FieldFilepath).AsString()), id[:]); err != nil {
				return err
			}
			for _, t := range stringsOf(rec.Lookup(FieldTags)) {
				if err := wb.Set(tagKey(ds, t, id), nil); err != nil {
					return err
				}
			}
			for path, ix := range m.Indexes {
				if err := wb.Set(indexKey(ds, ix, rec.Lookup(path), id), nil); err != nil {
					return err
				}
			}
			for _, g := range m.Insights {
				irec, err := getRecord(txn, insightKey(ds, g.Gen, id))
				if err != nil {
					return err
				}
				for key, ix := range g.Indexes {
					if err := wb.Set(indexKey(ds, ix, irec.Lookup(key), id), nil); err != nil {
						return err
					}
				}
			}
			n++
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return 0, err
	}
	m.Count = n
	if err := d.updateLocked(func(txn *badger.Txn) (*datasetMeta, error) { return m, nil }); err != nil {
		return 0, err
	}
	return n, d.dropText(ds)
}

// deletePrefix deletes the keys under prefix (those for which drop says
// so, when it is not nil) in write batches.
func (d *DB) deletePrefix(ctx context.Context, prefix []byte, drop func(txn *badger.Txn, key []byte) bool) error {
	wb := d.bdb.NewWriteBatch()
	defer wb.Cancel()
	err := d.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := it.Item().KeyCopy(nil)
			if drop != nil && !drop(txn, key) {
				continue
			}
			if err := wb.Delete(key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// dropText discards a dataset's full-text index, so that its next use
// builds it again from the samples.
func (d *DB) dropText(ds uint64) error {
	d.mu.Lock()
	t := d.texts[ds]
	delete(d.texts, ds)
	d.mu.Unlock()
	if t != nil {
		if err := t.close(); err != nil {
			return err
		}
	}
	if d.inMemory {
		return d.markAllDirty(ds) // it resets the epoch too
	}
	if err := d.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(textEpochBadgerKey(ds)) }); err != nil {
		return err
	}
	return os.RemoveAll(d.textDir(ds))
}

// Backup writes a consistent copy of the database, as of one moment
// while readers and a writer go on, into dir: a new fosql database that
// Open (fosql -db dir) uses as it is. dir must be missing or empty. The
// copy is made with Badger's own backup stream, loaded into a new store;
// the full-text index is not copied (it is rebuilt on first use). It
// returns the size of the backup stream in bytes.
func (d *DB) Backup(ctx context.Context, dir string) (int64, error) {
	if err := d.checkOpen(); err != nil {
		return 0, err
	}
	if d.inMemory {
		return 0, fmt.Errorf("db: backup: %w: an in-memory database has nothing on disk to copy; give it a directory", ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	if rel, err := filepath.Rel(d.path, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return 0, fmt.Errorf("db: backup to %s: %w: the backup cannot go inside the database it copies", dir, ErrInvalid)
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return 0, fmt.Errorf("db: backup to %s: %w: the directory is not empty", dir, ErrExists)
	}
	dst, err := Open(abs, nil)
	if err != nil {
		return 0, fmt.Errorf("db: backup to %s: %w", dir, err)
	}
	pr, pw := io.Pipe()
	stream := &backupWriter{w: pw, ctx: ctx}
	go func() {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = Recovered(r)
				}
			}()
			_, err = d.bdb.Backup(stream, 0)
			return err
		}()
		pw.CloseWithError(err)
	}()
	err = dst.bdb.Load(pr, 256)
	pr.CloseWithError(err)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(abs)
		return 0, fmt.Errorf("db: backup to %s: %w (the partial copy was removed)", dir, err)
	}
	return stream.n.Load(), nil
}

// backupWriter carries a backup stream: it counts its bytes and stops it
// when its context is cancelled.
type backupWriter struct {
	w   io.Writer
	ctx context.Context
	n   atomic.Int64
}

func (b *backupWriter) Write(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.w.Write(p)
	b.n.Add(int64(n))
	return n, err
}
