package db

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/regexp"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/upsidedown"
	"github.com/blevesearch/bleve/v2/index/upsidedown/store/boltdb"
	"github.com/blevesearch/bleve/v2/index/upsidedown/store/gtreap"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	badger "github.com/dgraph-io/badger/v4"
)

// The full-text index of a dataset is a bleve index over filepath, tags
// and every string user field. Writes do not touch it directly: each
// sample write leaves a marker key in the same Badger transaction, and a
// search first applies the pending markers. The index is therefore never
// behind a committed write when it answers, and a crash cannot lose an
// update. An epoch number, written to both stores after each catch-up,
// detects an index that lost its last writes (or was removed); such an
// index is rebuilt from the samples.
//
// The index is bleve's upside-down index over a Bolt file (a treap in
// memory for an in-memory database), driven through bleve's index,
// mapping and search packages. bleve's top-level package is not used: it
// links in its default index type, whose package initialisation builds
// fuzzy-search automata that cost every fosql process, a one-shot
// SELECT too, several milliseconds before main runs.
type textIndex struct {
	idx index.Index
	m   mapping.IndexMapping
}

func (t *textIndex) close() error { return t.idx.Close() }

// textFileName is the Bolt file of a dataset's index, in its textDir.
const textFileName = "index.bolt"

// textAnalysis is the queue of goroutines that analyse documents for
// every full-text index, started on first use.
var textAnalysis = sync.OnceValue(func() *index.AnalysisQueue { return index.NewAnalysisQueue(4) })

// openTextIndex opens (creating) the index stored in file, or a new one
// in memory when file is empty.
func openTextIndex(file string) (index.Index, error) {
	store, config := gtreap.Name, map[string]any{"path": ""}
	if file != "" {
		store, config = boltdb.Name, map[string]any{"path": file}
	}
	idx, err := upsidedown.NewUpsideDownCouch(store, config, textAnalysis())
	if err != nil {
		return nil, err
	}
	if err := idx.Open(); err != nil {
		return nil, err
	}
	return idx, nil
}

// getInternal reads a value the index keeps beside its documents.
func getInternal(idx index.Index, key string) ([]byte, error) {
	r, err := idx.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.GetInternal([]byte(key))
}

const (
	textAnalyzer  = "fosql_words"
	textTokenizer = "fosql_word_runs"
	textEpochKey  = "fosql_epoch"
	textBatch     = 2000
)

func (d *DB) textDir(ds uint64) string {
	return filepath.Join(d.path, "text", strconv.FormatUint(ds, 16))
}

func textEpochBadgerKey(ds uint64) []byte {
	return append([]byte("!text/"), binary.BigEndian.AppendUint64(nil, ds)...)
}

// textMapping tokenises on runs of letters and digits, lowercased, so
// that "/data/kitten_01.jpg" yields data, kitten, 01, jpg.
func textMapping() (mapping.IndexMapping, error) {
	m := mapping.NewIndexMapping()
	if err := m.AddCustomTokenizer(textTokenizer, map[string]any{"type": regexp.Name, "regexp": `[\p{L}\p{N}]+`}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(textAnalyzer, map[string]any{"type": custom.Name, "tokenizer": textTokenizer, "token_filters": []any{lowercase.Name}}); err != nil {
		return nil, err
	}
	m.DefaultAnalyzer = textAnalyzer
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	m.IndexDynamic = true
	return m, nil
}

// text opens (or builds) the dataset's full-text index. The caller holds
// the writer lock.
func (d *DB) text(ds uint64) (*textIndex, error) {
	d.mu.RLock()
	t := d.texts[ds]
	d.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	if d.readOnly {
		// Opening may rebuild the index on disk: not for a reader.
		return nil, fmt.Errorf("db: full-text index: %w", ErrReadOnly)
	}
	m, err := textMapping()
	if err != nil {
		return nil, err
	}
	var idx index.Index
	if d.inMemory {
		idx, err = openTextIndex("")
	} else {
		dir := d.textDir(ds)
		file := filepath.Join(dir, textFileName)
		if _, err = os.Stat(file); err == nil {
			idx, err = openTextIndex(file)
		}
		if err == nil && !d.textEpochMatches(ds, idx) {
			idx.Close()
			err = errors.New("stale")
		}
		if err != nil {
			// Missing, unreadable, of an older layout or behind:
			// rebuild from the samples.
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			if idx, err = openTextIndex(file); err != nil {
				return nil, fmt.Errorf("db: full-text index: %w", err)
			}
			if err := d.markAllDirty(ds); err != nil {
				idx.Close()
				return nil, err
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("db: full-text index: %w", err)
	}
	t = &textIndex{idx: idx, m: m}
	d.mu.Lock()
	d.texts[ds] = t
	d.mu.Unlock()
	return t, nil
}

func (d *DB) textEpochMatches(ds uint64, idx index.Index) bool {
	got, err := getInternal(idx, textEpochKey)
	if err != nil {
		return false
	}
	want, err := d.storedTextEpoch(ds)
	return err == nil && string(got) == string(want)
}

// storedTextEpoch reads the full-text epoch that Badger holds for a
// dataset (nil when there is none).
func (d *DB) storedTextEpoch(ds uint64) ([]byte, error) {
	var epoch []byte
	err := d.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(textEpochBadgerKey(ds))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		epoch, err = item.ValueCopy(nil)
		return err
	})
	return epoch, err
}

// markAllDirty queues every sample for indexing and resets the epoch.
func (d *DB) markAllDirty(ds uint64) error {
	if err := d.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(textEpochBadgerKey(ds)) }); err != nil {
		return err
	}
	wb := d.bdb.NewWriteBatch()
	err := d.bdb.View(func(txn *badger.Txn) error {
		p := dsPrefix(tagSample, ds)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := d.set(wb, append(dsPrefix(tagTextDirt, ds), it.Item().Key()[len(p):]...), nil, "full-text backlog key"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		wb.Cancel()
		return err
	}
	return wb.Flush()
}

// textDoc is what the full-text index stores of a sample.
func textDoc(rec Record) (map[string]any, error) {
	v, err := rec.Decode()
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	addText(doc, v)
	return doc, nil
}

// addText copies the string and list-of-string fields of a document.
func addText(dst map[string]any, v Value) {
	for _, f := range v.doc {
		switch f.Value.kind {
		case KindString:
			dst[f.Name] = f.Value.str
		case KindList:
			if s := stringsOf(f.Value); len(s) > 0 {
				dst[f.Name] = s
			}
		case KindDoc:
			sub := map[string]any{}
			addText(sub, f.Value)
			if len(sub) > 0 {
				dst[f.Name] = sub
			}
		}
	}
}

// syncText applies the pending markers of a dataset to its index.
func (d *DB) syncText(ctx context.Context, ds uint64) (*textIndex, error) {
	if err := d.checkOpen(); err != nil {
		return nil, err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	t, err := d.text(ds)
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := index.NewBatch()
		var markers [][]byte
		err := d.bdb.View(func(txn *badger.Txn) error {
			p := dsPrefix(tagTextDirt, ds)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(markers) < textBatch; it.Next() {
				k := it.Item().KeyCopy(nil)
				markers = append(markers, k)
				var id ID
				copy(id[:], k[len(p):])
				rec, err := getRecord(txn, sampleKey(ds, id))
				if err != nil {
					return err
				}
				if rec == nil {
					batch.Delete(id.String())
					continue
				}
				data, err := textDoc(rec)
				if err != nil {
					return err
				}
				doc := document.NewDocument(id.String())
				if err := t.m.MapDocument(doc, data); err != nil {
					return err
				}
				batch.Update(doc)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(markers) == 0 {
			return t, nil
		}
		stored, err := d.storedTextEpoch(ds)
		if err != nil {
			return nil, err
		}
		epoch, _ := strconv.ParseUint(string(stored), 10, 64)
		next := []byte(strconv.FormatUint(epoch+1, 10))
		batch.SetInternal([]byte(textEpochKey), next)
		if err := t.idx.Batch(batch); err != nil {
			return nil, fmt.Errorf("db: full-text index: %w", err)
		}
		wb := d.bdb.NewWriteBatch()
		for _, k := range markers {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return nil, err
			}
		}
		if err := d.set(wb, textEpochBadgerKey(ds), next, "full-text epoch"); err != nil {
			wb.Cancel()
			return nil, err
		}
		if err := wb.Flush(); err != nil {
			return nil, err
		}
	}
}

// TextHit is one full-text match.
type TextHit struct {
	ID    ID
	Score float64
}

// Search finds the samples whose text fields contain any of the words,
// best match first (ties by id). fields names the fields to look in
// (filepath, tags, or a string field such as ground_truth.label); none
// means every text field. Words are split and lowercased as the index
// does: on anything that is not a letter or a digit.
func (ds *Dataset) Search(ctx context.Context, fields []string, words string) ([]TextHit, error) {
	t, err := ds.db.syncText(ctx, ds.id)
	if err != nil {
		return nil, err
	}
	var q query.Query
	if len(fields) == 0 {
		mq := query.NewMatchQuery(words)
		mq.Analyzer = textAnalyzer
		q = mq
	} else {
		dq := query.NewDisjunctionQuery(nil)
		for _, f := range fields {
			mq := query.NewMatchQuery(words)
			mq.SetField(f)
			mq.Analyzer = textAnalyzer
			dq.AddQuery(mq)
		}
		q = dq
	}
	r, err := t.idx.Reader()
	if err != nil {
		return nil, fmt.Errorf("db: full-text search: %w", err)
	}
	defer r.Close()
	n, err := r.DocCount()
	if err != nil {
		return nil, err
	}
	searcher, err := q.Searcher(ctx, r, t.m, search.SearcherOptions{})
	if err != nil {
		return nil, fmt.Errorf("db: full-text search: %w", err)
	}
	defer searcher.Close()
	coll := collector.NewTopNCollector(int(max(n, 1)), 0, search.SortOrder{&search.SortScore{Desc: true}, &search.SortDocID{}})
	if err := coll.Collect(ctx, searcher, r); err != nil {
		return nil, fmt.Errorf("db: full-text search: %w", err)
	}
	res := coll.Results()
	hits := make([]TextHit, 0, len(res))
	for _, h := range res {
		id, err := ParseID(h.ID)
		if err != nil {
			return nil, fmt.Errorf("db: full-text index holds a bad id %q: %w", h.ID, ErrCorrupt)
		}
		hits = append(hits, TextHit{ID: id, Score: h.Score})
	}
	return hits, nil
}
