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
	"sync"

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

func columnsHeaderKey(ds uint64) []byte { return dsPrefix(tagColumns, ds) }

func columnsChunkKey(ds uint64, chunk uint32) []byte {
	return binary.BigEndian.AppendUint32(dsPrefix(tagColumns, ds), chunk)
}

// ColumnChunk holds the values of some metadata columns for up to a few
// thousand samples.
type ColumnChunk struct {
	// Len is the number of samples in the chunk.
	Len   int
	ints  [][]int64 // per column, Len values (0 where the value is not an int)
	kinds [][]Kind  // per column, Len kinds; nil when every value is an int
	kbuf  [][]Kind  // the kinds' buffers, kept for the next chunk
}

// Int returns the value of column col for the chunk's sample i, and
// whether it is an int (it is null or missing otherwise).
func (c *ColumnChunk) Int(col, i int) (int64, bool) {
	if k := c.kinds[col]; k != nil && k[i] != KindInt {
		return 0, false
	}
	return c.ints[col][i], true
}

// Value returns the value of column col for the chunk's sample i.
func (c *ColumnChunk) Value(col, i int) Value {
	if k := c.kinds[col]; k != nil && k[i] != KindInt {
		return Value{kind: k[i]}
	}
	return Int(c.ints[col][i])
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
	r.current = h != nil && h.Version == m.Version && slices.Equal(h.Paths, r.all)
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

// builtColumns is a set of columns built from one snapshot.
type builtColumns struct {
	header columnsHeader
	chunks [][]byte // encoded
	size   int64
}

// buildColumns reads the columns at paths from every record of the
// snapshot, on several goroutines.
func (ds *Dataset) buildColumns(ctx context.Context, txn *badger.Txn, m *datasetMeta, paths []string) (*builtColumns, error) {
	out := &builtColumns{header: columnsHeader{Version: m.Version, Paths: paths}}
	var mu sync.Mutex
	flush := func(cb *chunkBuilder) {
		b := cb.encode()
		mu.Lock()
		out.chunks = append(out.chunks, b)
		out.size += int64(len(b))
		mu.Unlock()
	}
	builders := make([]*chunkBuilder, scanWorkers(0, maxScanParts))
	err := ds.visitSnapshot(ctx, txn, m, SampleScan{NoInsights: true}, func(w int, s *Sample) error {
		cb := builders[w]
		if cb == nil {
			cb = newChunkBuilder(paths)
			builders[w] = cb
		}
		if cb.addRecord(s.rec) {
			flush(cb)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, cb := range builders {
		if cb != nil && cb.n > 0 {
			flush(cb)
		}
	}
	out.header.Chunks = uint32(len(out.chunks))
	return out, nil
}

// storeColumns stores columns built from a snapshot, when the dataset is
// still at the version they hold, no statement is writing to it and the
// database is writable. With onto, the chunks are the values of samples
// added to the columns onto describes, and are stored after its chunks
// when those are still the stored ones. It does not wait for a busy
// writer, and a failure leaves the columns stale, to be built again.
func (ds *Dataset) storeColumns(b *builtColumns, onto *columnsHeader) {
	d := ds.db
	if d.readOnly || d.checkOpen() != nil || !d.wmu.TryLock() {
		return
	}
	defer d.wmu.Unlock()
	if d.roomToWrite(b.size, false) != nil {
		return
	}
	current := false
	if d.bdb.View(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		_, err = txn.Get(journalHeaderKey(ds.id))
		current = m.Version == b.header.Version && errors.Is(err, badger.ErrKeyNotFound)
		if onto != nil && current {
			h, err := readColumnsHeader(txn, ds.id)
			current = err == nil && h != nil && h.Version == onto.Version && h.Chunks == onto.Chunks && slices.Equal(h.Paths, onto.Paths)
		}
		return nil
	}) != nil || !current {
		return
	}
	// The chunks first, then the header that makes them current: a
	// crash in between leaves a header of another version, never read.
	first := uint32(0)
	if onto != nil {
		first = onto.Chunks
	} else if d.deletePrefix(context.Background(), dsPrefix(tagColumns, ds.id), nil) != nil {
		return
	}
	wb := d.bdb.NewWriteBatch()
	defer wb.Cancel()
	for i, c := range b.chunks {
		if wb.Set(columnsChunkKey(ds.id, first+uint32(i)), c) != nil {
			return
		}
	}
	if wb.Flush() != nil {
		return
	}
	h := b.header
	h.Chunks = first + uint32(len(b.chunks))
	hb, err := json.Marshal(h)
	if err != nil {
		return
	}
	_ = d.commitLocked(func(txn *badger.Txn) (*datasetMeta, error) {
		return nil, txn.Set(columnsHeaderKey(ds.id), hb)
	})
}

// columnAppender gathers the column values of the samples a statement
// adds, so that columns current before it stay current after it.
type columnAppender struct {
	onto   *columnsHeader // the columns at the statement's start; nil: none current
	cb     *chunkBuilder
	chunks [][]byte
	size   int64
}

// newColumnAppender starts gathering for a statement that adds samples to
// the dataset described by before.
func (ds *Dataset) newColumnAppender(before *datasetMeta) *columnAppender {
	ca := &columnAppender{}
	_ = ds.db.bdb.View(func(txn *badger.Txn) error {
		h, err := readColumnsHeader(txn, ds.id)
		if err == nil && h != nil && h.Version == before.Version && slices.Equal(h.Paths, columnPaths(before)) {
			ca.onto = h
		}
		return nil
	})
	if ca.onto != nil {
		ca.cb = newChunkBuilder(ca.onto.Paths)
	}
	return ca
}

// add gathers a new sample's values.
func (ca *columnAppender) add(rec Record) {
	if ca.onto != nil && ca.cb.addRecord(rec) {
		ca.flush()
	}
}

func (ca *columnAppender) flush() {
	b := ca.cb.encode()
	ca.chunks = append(ca.chunks, b)
	ca.size += int64(len(b))
}

// columnsAfterAdd brings the columns up to date after a statement that
// added samples committed, the dataset now described by m: the added
// values go after columns that were current at its start and still have
// the same fields; otherwise a dataset of ColumnMinSamples or more gets
// its columns built anew.
func (ds *Dataset) columnsAfterAdd(ctx context.Context, ca *columnAppender, m *datasetMeta) {
	if ds.db.readOnly || m.Count < ColumnMinSamples {
		return
	}
	paths := columnPaths(m)
	if len(paths) == 0 {
		return // no metadata ints to keep
	}
	if ca.onto != nil && slices.Equal(paths, ca.onto.Paths) {
		if ca.cb.n > 0 {
			ca.flush()
		}
		ds.storeColumns(&builtColumns{header: columnsHeader{Version: m.Version, Paths: paths}, chunks: ca.chunks, size: ca.size}, ca.onto)
		return
	}
	var built *builtColumns
	err := ds.db.view(func(txn *badger.Txn) error {
		m, err := readMeta(txn, ds.id)
		if err != nil {
			return err
		}
		built, err = ds.buildColumns(ctx, txn, m, columnPaths(m))
		return err
	})
	if err == nil {
		ds.storeColumns(built, nil)
	}
}

// chunkBuilder gathers one chunk's values of the columns at some paths.
type chunkBuilder struct {
	paths []string
	fps   []FieldPath
	n     int
	ints  [][]int64
	kinds [][]Kind
	mixed []bool // a column holds a null or missing value
}

func newChunkBuilder(paths []string) *chunkBuilder {
	cols := len(paths)
	cb := &chunkBuilder{paths: paths, fps: make([]FieldPath, cols), ints: make([][]int64, cols), kinds: make([][]Kind, cols), mixed: make([]bool, cols)}
	for c, p := range paths {
		cb.fps[c] = SplitPath(p)
		cb.ints[c] = make([]int64, 0, columnChunkSize)
		cb.kinds[c] = make([]Kind, 0, columnChunkSize)
	}
	return cb
}

// addRecord adds a sample's values and reports whether the chunk is
// full.
func (cb *chunkBuilder) addRecord(rec Record) bool {
	for c, fp := range cb.fps {
		if v, ok := rec.IntAt(fp); ok {
			cb.add(c, KindInt, v)
		} else {
			cb.add(c, rec.Lookup(cb.paths[c]).kind, 0)
		}
	}
	cb.n++
	return cb.n == columnChunkSize
}

func (cb *chunkBuilder) add(col int, k Kind, v int64) {
	cb.ints[col] = append(cb.ints[col], v)
	cb.kinds[col] = append(cb.kinds[col], k)
	if k != KindInt {
		cb.mixed[col] = true
	}
}

// encode writes the chunk and empties the builder. The layout: the
// number of samples (uvarint), then for each column the length of its
// body (uvarint) and the body: a mode byte, then (mode 1) one kind byte
// per sample, then the ints as zigzag varints (mode 0: one per sample;
// mode 1: one per int).
func (cb *chunkBuilder) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(cb.n))
	var body []byte
	for c := range cb.ints {
		body = body[:0]
		if cb.mixed[c] {
			body = append(body, 1)
			for _, k := range cb.kinds[c] {
				body = append(body, byte(k))
			}
		} else {
			body = append(body, 0)
		}
		for i, v := range cb.ints[c] {
			if cb.kinds[c][i] == KindInt {
				body = binary.AppendVarint(body, v)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
		cb.ints[c], cb.kinds[c], cb.mixed[c] = cb.ints[c][:0], cb.kinds[c][:0], false
	}
	cb.n = 0
	return b
}

// decodeColumnChunk decodes the columns cols of a chunk of ncols columns
// into c, reusing its buffers.
func decodeColumnChunk(b []byte, ncols int, cols []int, c *ColumnChunk) error {
	bad := fmt.Errorf("db: metadata column chunk: %w", ErrCorrupt)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > columnChunkSize {
		return bad
	}
	b = b[k:]
	bodies := make([][]byte, ncols)
	for i := range bodies {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return bad
		}
		bodies[i], b = b[k:k+int(l)], b[k+int(l):]
	}
	if len(b) != 0 {
		return bad
	}
	c.Len = int(n)
	c.ints = growTo(c.ints, len(cols))
	c.kinds = growTo(c.kinds, len(cols))
	c.kbuf = growTo(c.kbuf, len(cols))
	for j, col := range cols {
		body := bodies[col]
		if len(body) == 0 || body[0] > 1 {
			return bad
		}
		mixed := body[0] == 1
		body = body[1:]
		ints := c.ints[j][:0]
		var kinds []Kind
		if mixed {
			if len(body) < int(n) {
				return bad
			}
			kinds = append(c.kbuf[j][:0], make([]Kind, n)...)
			c.kbuf[j] = kinds
			for i := range kinds {
				if kinds[i] = Kind(body[i]); kinds[i] != KindInt && kinds[i] != KindNull && kinds[i] != KindMissing {
					return bad
				}
			}
			body = body[n:]
		}
		for i := 0; i < int(n); i++ {
			if mixed && kinds[i] != KindInt {
				ints = append(ints, 0)
				continue
			}
			v, k := binary.Varint(body)
			if k <= 0 {
				return bad
			}
			ints = append(ints, v)
			body = body[k:]
		}
		if len(body) != 0 {
			return bad
		}
		c.ints[j], c.kinds[j] = ints, kinds
	}
	return nil
}

// growTo returns s with n elements, keeping those it has.
func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s[:n]
	}
	return append(s, make([]T, n-len(s))...)
}

// checkColumns compares current columns, when the dataset has them, with
// the records: for each column, how many samples hold an int, a null or
// nothing, and a sum of the ints mixed so that any change shows.
func (c *checker) checkColumns() error {
	h, err := readColumnsHeader(c.txn, c.ds)
	if err != nil {
		c.report("columns", "its metadata columns header cannot be read (REPAIR DATABASE drops the columns)")
		return nil
	}
	if h == nil || h.Version != c.m.Version {
		return nil
	}
	if _, err := c.txn.Get(journalHeaderKey(c.ds)); err == nil {
		return nil
	}
	want, got := make([]columnDigest, len(h.Paths)), make([]columnDigest, len(h.Paths))
	cols := make([]int, len(h.Paths))
	for i := range cols {
		cols[i] = i
	}
	var chunk ColumnChunk
	for i := range h.Chunks {
		item, err := c.txn.Get(columnsChunkKey(c.ds, i))
		if err == nil {
			err = item.Value(func(b []byte) error { return decodeColumnChunk(b, len(h.Paths), cols, &chunk) })
		}
		if err != nil {
			c.report("columns", "metadata column chunk %d cannot be read: %v (REPAIR DATABASE drops the columns)", i, err)
			return nil
		}
		for col := range h.Paths {
			for s := range chunk.Len {
				got[col].add(chunk.Value(col, s))
			}
		}
	}
	p := dsPrefix(tagSample, c.ds)
	it := c.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		err := it.Item().Value(func(b []byte) error {
			for col, path := range h.Paths {
				want[col].add(Record(b).Lookup(path))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for col, path := range h.Paths {
		if got[col] != want[col] {
			c.report("columns", "the metadata column %s disagrees with the samples (REPAIR DATABASE drops the columns)", path)
		}
	}
	return nil
}

// columnDigest sums up one column's values, in any order.
type columnDigest struct {
	ints, nulls, missing int64
	mix                  uint64
}

func (d *columnDigest) add(v Value) {
	switch v.kind {
	case KindInt:
		d.ints++
		x := v.num*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
		x ^= x >> 29
		d.mix += x * 0xBF58476D1CE4E5B9
	case KindNull:
		d.nulls++
	case KindMissing:
		d.missing++
	default:
		d.mix += 1 << 63 // not a column value at all
	}
}
