package db

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// Metadata columns. An aggregate over a large dataset that reads only the
// ints of the metadata document (width, height, size_bytes, num_channels)
// is answered from packed columns instead of the sample records: a count
// of the samples wider than 32 pixels over a million samples reads a few
// hundred keys instead of a million records.
//
//	m dsid          the columns' header (JSON): the dataset version they
//	                were built at, their paths, how many chunks
//	m dsid chunk(4) the values of every column for up to columnChunkSize
//	                samples
//
// The columns are derived data, built from the records by a statement
// that adds samples to a large dataset or by the first aggregate that
// needs them in a writable database. A statement that adds samples to
// current columns appends the new values; no other write touches them.
// The dataset's version changes with every write that can change a
// metadata value (a sample added or deleted, a metadata document
// changed), and columns stamped with another version are not read. They
// are built only from a committed state (no undo journal in the
// snapshot), so a version they are stamped with names one content. A
// column holds one field's value per sample, in no particular order and
// without ids: it serves counts, sums, bounds and value counts, not rows.

// tagColumns is the table of metadata columns.
const tagColumns byte = 'm'

// columnChunkSize is how many samples one chunk key holds.
const columnChunkSize = 4096

// ColumnMinSamples is the smallest dataset whose aggregates are read from
// metadata columns: below it a scan of the records is quick enough, and
// no columns are stored. The environment variable
// FOSQL_COLUMN_MIN_SAMPLES sets it for a process (tests lower it to
// exercise columns on small datasets).
var ColumnMinSamples = columnMinSamplesFromEnv(32768)

func columnMinSamplesFromEnv(def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv("FOSQL_COLUMN_MIN_SAMPLES"), 10, 64); err == nil && n >= 0 {
		return n
	}
	return def
}

// columnsHeader is the stored description of a dataset's columns.
type columnsHeader struct {
	Version uint64   `json:"version"` // the dataset version they hold
	Paths   []string `json:"paths"`
	Chunks  uint32   `json:"chunks"`
}

// holds reports whether columns described by h (nil: none) are those of
// the dataset described by m: built at its version, over its columns.
func (h *columnsHeader) holds(m *datasetMeta) bool {
	return h != nil && h.Version == m.Version && slices.Equal(h.Paths, columnPaths(m))
}

func columnsHeaderKey(ds uint64) []byte { return dsPrefix(tagColumns, ds) }

func columnsChunkKey(ds uint64, chunk uint32) []byte {
	return binary.BigEndian.AppendUint32(dsPrefix(tagColumns, ds), chunk)
}

// IsColumnPath reports whether path can be a metadata column: a field
// directly under metadata.
func IsColumnPath(path string) bool {
	name, ok := strings.CutPrefix(path, FieldMetadata+".")
	return ok && name != "" && !strings.Contains(name, ".")
}

// columnPaths lists the metadata fields that can be columns, sorted: those
// that hold ints, and nulls at most, in every sample that has them.
func columnPaths(m *datasetMeta) []string {
	const fits = 1<<KindInt | 1<<KindNull
	var out []string
	for path, kinds := range m.Schema {
		if IsColumnPath(path) && kinds&(1<<KindInt) != 0 && kinds&^fits == 0 {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out
}

// ScanColumns calls fn with the metadata columns at paths, chunk by chunk,
// all read from one snapshot; the chunk is lent for the call, and its
// columns are in the order of paths. It returns false, having called
// nothing, when columns cannot answer: a path is not a column (a field
// under metadata holding ints, and nulls at most, in every sample), the
// dataset has fewer than ColumnMinSamples samples, a statement is writing
// to it, or the columns are stale in a read-only database. Stale columns
// of a writable database are built from the same snapshot first, and
// stored unless a writer is busy. Statements that add samples keep the
// columns current (columnsAfterAdd); others leave them stale.
func (ds *Dataset) ScanColumns(ctx context.Context, paths []string, fn func(*ColumnChunk) error) (bool, error) {
	if m := ds.db.cachedMeta(ds.id); m != nil && m.Count < ColumnMinSamples {
		return false, nil // small: not worth a snapshot to find out
	}
	var built *builtColumns
	answered := false
	err := ds.db.view(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		r, err := ds.columnsRead(txn, m, paths)
		if r == nil || err != nil {
			return err
		}
		var chunks func(yield func([]byte) error) error
		if r.current {
			chunks = func(yield func([]byte) error) error {
				for i := range r.header.Chunks {
					item, err := txn.Get(columnsChunkKey(ds.id, i))
					if err != nil {
						return fmt.Errorf("db: metadata column chunk %d: %w", i, err)
					}
					if err := item.Value(yield); err != nil {
						return err
					}
				}
				return nil
			}
		} else {
			if built, err = ds.buildColumns(ctx, txn, m, r.all); err != nil {
				return err
			}
			chunks = func(yield func([]byte) error) error {
				for _, b := range built.chunks {
					if err := yield(b); err != nil {
						return err
					}
				}
				return nil
			}
		}
		answered = true
		var c ColumnChunk
		return chunks(func(b []byte) error {
			if err := decodeColumnChunk(b, len(r.all), r.cols, &c); err != nil {
				return err
			}
			return fn(&c)
		})
	})
	if err == nil && built != nil {
		ds.storeColumns(built, nil)
	}
	return answered, err
}

// ColumnsAnswer reports whether ScanColumns would answer for paths now,
// reading only descriptions; true also when it would build the columns
// first.
func (ds *Dataset) ColumnsAnswer(paths []string) bool {
	ok := false
	_ = ds.db.view(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		r, err := ds.columnsRead(txn, m, paths)
		ok = r != nil && err == nil
		return err
	})
	return ok
}

// columnsRead is how ScanColumns reads a snapshot's columns.
type columnsRead struct {
	all     []string // every column, in stored order
	cols    []int    // the asked paths' places in all
	header  *columnsHeader
	current bool // the stored columns hold the snapshot; else they are built
}

// columnsRead decides how the columns at paths are read from a snapshot
// of the dataset described by m; nil when they cannot answer.
func (ds *Dataset) columnsRead(txn *badger.Txn, m *datasetMeta, paths []string) (*columnsRead, error) {
	r := &columnsRead{all: columnPaths(m), cols: make([]int, len(paths))}
	for i, p := range paths {
		if r.cols[i] = slices.Index(r.all, p); r.cols[i] < 0 {
			return nil, nil
		}
	}
	if m.Count < ColumnMinSamples {
		return nil, nil
	}
	if _, err := txn.Get(journalHeaderKey(ds.id)); err == nil {
		return nil, nil // a statement is writing: its samples are read as they are
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return nil, err
	}
	h, err := readColumnsHeader(txn, ds.id)
	if err != nil {
		return nil, err
	}
	r.header = h
	r.current = h.holds(m)
	if !r.current && ds.db.readOnly {
		return nil, nil // stale, and they could not be stored: the records are read
	}
	return r, nil
}

// readColumnsHeader reads a dataset's columns header; nil when there is
// none.
func readColumnsHeader(txn *badger.Txn, ds uint64) (*columnsHeader, error) {
	item, err := txn.Get(columnsHeaderKey(ds))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h := &columnsHeader{}
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, h) }); err != nil {
		return nil, fmt.Errorf("db: metadata columns header: %w", ErrCorrupt)
	}
	return h, nil
}
