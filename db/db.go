package db

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Errors callers branch on.
var (
	// ErrLocked means another process has the database open.
	ErrLocked = errors.New("database is locked")
	// ErrNotFound means a dataset or sample does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a dataset of that name already exists.
	ErrExists = errors.New("already exists")
	// ErrDuplicateFilepath means a sample with that filepath is already in the dataset.
	ErrDuplicateFilepath = errors.New("duplicate filepath")
	// ErrDuplicateID means a sample added with its own id (NewSample.ID)
	// clashes with a sample already in the dataset or earlier in the batch.
	ErrDuplicateID = errors.New("duplicate sample id")
	// ErrClosed means the database was closed.
	ErrClosed = errors.New("database is closed")
	// ErrInvalid reports an invalid name, path or value.
	ErrInvalid = errors.New("invalid argument")
	// ErrReadOnly means a write was asked of a database opened with
	// Options.ReadOnly, or such a database could not be opened because
	// it needs the recovery that a read-write open does.
	ErrReadOnly = errors.New("database is open read-only")
)

// Options configure Open. The zero value is a sensible default for a
// command-line process: small memory tables, quiet logging.
type Options struct {
	// InMemory keeps everything in memory; the path is ignored.
	InMemory bool
	// SyncWrites makes every commit wait for fsync. Without it a process
	// crash loses nothing committed; a power failure may lose the last
	// writes.
	SyncWrites bool
	// MemTableSize is Badger's memory table size in bytes (default 16 MiB).
	MemTableSize int64
	// ReadOnly opens the store for reading only, as a short command
	// that only reads wants it: Badger creates no memory table or value
	// log file and writes and syncs nothing, and several read-only
	// processes may have the store open at once (a writer still may not).
	// Writes fail with an error wrapping ErrReadOnly; so does the open of
	// a store that needs recovery after a crash (open it read-write).
	ReadOnly bool
}

// DB is an open fosql database: a directory holding a Badger store and
// one full-text index per dataset. A DB is safe for concurrent use; writes
// are serialised.
type DB struct {
	bdb      *badger.DB
	path     string
	inMemory bool
	readOnly bool

	maxValueBytes int64 // the longest value Badger accepts (see set)
	reserve       int64 // free disk space a write leaves (see roomToWrite)

	wmu sync.Mutex // serialises writers

	mu     sync.RWMutex
	metas  map[uint64]*datasetMeta // cache, copy-on-write
	names  map[string]catalogEntry // cache of the catalog
	texts  map[uint64]*textIndex
	closed bool

	seqIDs  *lazySequence
	seqData *lazySequence

	cache recordCache
	heads indexHeads
}

// valueLogFileSize is the size of Badger's value log files, which is also
// the largest value it stores on disk.
const valueLogFileSize = 64 << 20

// tableBlockSize and tableBloomFalsePositive shape the tables Badger
// writes (see Open).
const (
	tableBlockSize          = 8 << 10
	tableBloomFalsePositive = 0.1
)

// MemoryPath is the path that Open takes to mean an in-memory database.
const MemoryPath = ":memory:"

// ErrNotDatabase means Open was given a directory that holds other files
// and no fosql database.
var ErrNotDatabase = errors.New("not a fosql database")

// Open opens the database at path, creating the directory when it does
// not exist. The path ":memory:" (or opts.InMemory) opens a private
// in-memory database; an empty path is an error. An existing directory
// must be empty or hold a fosql database (a "store" folder); any other
// gives ErrNotDatabase and is left as it was. A database held by another
// process gives ErrLocked. The store is checked with CheckStore before
// Badger opens it: damage gives an error wrapping ErrDamaged that names
// the file, and nothing is written.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if path == MemoryPath {
		o.InMemory = true
	}
	if path == "" && !o.InMemory {
		return nil, fmt.Errorf("db: open: %w: the database path is empty (use %q for an in-memory database)", ErrInvalid, MemoryPath)
	}
	bo := badger.DefaultOptions("")
	if !o.InMemory {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("db: open %s: %w", path, err)
		}
		path = abs
		if err := checkDir(path, o.ReadOnly); err != nil {
			return nil, fmt.Errorf("db: open %s: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Join(path, storeDirName), 0o755); err != nil {
			return nil, fmt.Errorf("db: open %s: %w", path, err)
		}
		if !o.ReadOnly {
			if err := dropEmptyLogs(filepath.Join(path, storeDirName)); err != nil {
				return nil, fmt.Errorf("db: open %s: %w", path, err)
			}
		}
		bo = badger.DefaultOptions(filepath.Join(path, storeDirName))
	} else {
		bo = bo.WithInMemory(true)
	}
	// On disk a value above the threshold goes to a value log file; in
	// memory every value stays in the tree and the threshold is the
	// largest value, so it is set to Badger's maximum there.
	valueThreshold, maxValue := int64(1<<16), int64(valueLogFileSize)
	if o.InMemory {
		valueThreshold, maxValue = 1<<20, 1<<20
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = 16 << 20
	}
	bo = bo.WithLogger(nil).
		WithSyncWrites(o.SyncWrites).
		WithMemTableSize(o.MemTableSize).
		WithNumVersionsToKeep(1).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(valueLogFileSize).
		WithBaseTableSize(baseTableSize).
		// A table's index (one entry per block, one bloom filter over its
		// keys) is checksummed and paged in by every open, read-only ones
		// too: 8 KiB blocks and a 10% bloom filter make it half the size
		// of Badger's defaults (4 KiB, 1%), which is most of the cost of
		// opening a store for one short command (BENCHMARKS.md). A point
		// read decompresses one such block; a lookup of a missing key
		// searches a level's block one time in ten instead of one in a
		// hundred. Tables written with other sizes read as before.
		WithBlockSize(tableBlockSize).
		WithBloomFalsePositive(tableBloomFalsePositive).
		WithNumCompactors(2).
		// A small block cache: a scan of a large dataset reads far more
		// than any cache holds, and each cached block is heap that the
		// collector doubles; point reads have their own record cache.
		WithBlockCacheSize(16 << 20).
		// No index cache: Badger uses one only for encrypted stores (a
		// plain table's index is read in place from its mapped file), and
		// making it costs every open thousands of allocations.
		WithIndexCacheSize(0).
		// Badger's metrics (expvar counters bumped on every read and
		// write) are read by nothing here.
		WithMetricsEnabled(false).
		WithDetectConflicts(false)
	// Tables of baseTableSize at every level: Badger's default doubles
	// the size per level, and a compaction holds each table it builds in
	// memory (often a dozen at once), which made the builders of a
	// 1,000,000-vector import hold about 1 GB (BENCHMARKS.md).
	bo.TableSizeMultiplier = 1
	if o.ReadOnly && !o.InMemory {
		bo = bo.WithReadOnly(true)
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("db: open %s: %w: another process is using it", path, ErrLocked)
		}
		if o.ReadOnly && !o.InMemory {
			// A store that is new, or needs its memory table replayed
			// and truncated after a crash, opens only read-write.
			return nil, fmt.Errorf("db: open %s: %w: %v", path, ErrReadOnly, err)
		}
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	d := &DB{bdb: bdb, path: path, inMemory: o.InMemory, readOnly: o.ReadOnly && !o.InMemory, maxValueBytes: maxValue,
		reserve: diskReserve(o.MemTableSize), metas: map[uint64]*datasetMeta{}, texts: map[uint64]*textIndex{}}
	d.seqIDs = &lazySequence{bdb: bdb, key: []byte(keySeqSamples), bandwidth: 4096}
	d.seqData = &lazySequence{bdb: bdb, key: []byte(keySeqData), bandwidth: 16}
	if err := d.checkFormat(); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	if err := d.recover(); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	return d, nil
}

// FormatVersion is the version of the store's layout that this fosql
// writes. A store records it at its first open; a store of a later
// version is refused (ErrNewerFormat) rather than misread.
const FormatVersion = 1

// ErrNewerFormat means the database was written by a later fosql whose
// layout this one does not know.
var ErrNewerFormat = errors.New("database format is newer than this fosql")

// checkFormat reads the store's format version, recording this one in a
// store that has none yet (a new store, or one from before versions were
// recorded, whose layout is version 1).
func (d *DB) checkFormat() error {
	var v []byte
	err := d.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return err
	}
	if v == nil {
		if d.readOnly {
			return nil
		}
		return d.bdb.Update(func(txn *badger.Txn) error {
			return txn.Set([]byte(keyFormat), []byte(strconv.Itoa(FormatVersion)))
		})
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return fmt.Errorf("%w: format version %q: %w", ErrDamaged, v, ErrCorrupt)
	}
	if n > FormatVersion {
		return fmt.Errorf("%w: it is format version %d, and this fosql reads up to version %d; open it with a newer fosql", ErrNewerFormat, n, FormatVersion)
	}
	return nil
}

// dropEmptyLogs removes memory-table logs of length zero: a process
// killed between creating one and sizing it leaves such a file, which
// holds nothing and which Badger refuses to open ("Create a new file").
func dropEmptyLogs(store string) error {
	entries, err := os.ReadDir(store)
	if err != nil {
		return nil // a new store; Badger makes it
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), walSuffix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Size() == 0 {
			if err := os.Remove(filepath.Join(store, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDir vets the database directory before anything is created in
// it: it must be missing, empty or hold a fosql database, and a store
// that is there must pass CheckStore (remembering that it passed, unless
// readOnly: see stampName).
func checkDir(dir string, readOnly bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: it is a file, not a directory", ErrNotDatabase)
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	store := filepath.Join(dir, storeDirName)
	if st, err := os.Stat(store); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: the directory holds other files and no %s folder; give a new or empty directory", ErrNotDatabase, storeDirName)
	}
	release, err := holdStoreShared(store)
	if errors.Is(err, ErrLocked) {
		return fmt.Errorf("%w: another process is using it", ErrLocked)
	}
	if err != nil {
		return err
	}
	defer release()
	if problems := checkStamped(dir, readOnly); len(problems) > 0 {
		return storeError(problems)
	}
	return nil
}

// lazySequence is a Badger sequence leased on its first use, so that
// opening a database and only reading it writes nothing.
type lazySequence struct {
	bdb       *badger.DB
	key       []byte
	bandwidth uint64

	mu  sync.Mutex
	seq *badger.Sequence
}

// Next returns the sequence's next number, leasing a range on first use.
func (s *lazySequence) Next() (uint64, error) {
	s.mu.Lock()
	if s.seq == nil {
		seq, err := s.bdb.GetSequence(s.key, s.bandwidth)
		if err != nil {
			s.mu.Unlock()
			return 0, err
		}
		s.seq = seq
	}
	seq := s.seq
	s.mu.Unlock()
	return seq.Next()
}

// Release returns the unused part of the lease, if one was taken.
func (s *lazySequence) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return nil
	}
	err := s.seq.Release()
	s.seq = nil
	return err
}

// recover finishes what a crash interrupted: datasets dropped from the
// catalog whose keys remain are removed, statements that spanned several
// transactions and did not finish are undone, and insight generations
// that were staged but never published are discarded.
func (d *DB) recover() error {
	live := map[uint64]bool{}
	var metas []uint64
	err := d.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagCatalog}})
		for it.Rewind(); it.Valid(); it.Next() {
			err := it.Item().Value(func(b []byte) error {
				if len(b) == 8 {
					live[binary.BigEndian.Uint64(b)] = true
				}
				return nil
			})
			if err != nil {
				it.Close()
				return err
			}
		}
		it.Close()
		it = txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagMeta}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().Key(); len(k) == 9 {
				metas = append(metas, binary.BigEndian.Uint64(k[1:]))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range metas {
		if d.readOnly && !live[id] {
			return fmt.Errorf("%w: a dropped dataset's keys are left to remove", ErrReadOnly)
		}
		if !live[id] {
			if err := d.dropDatasetKeys(id); err != nil {
				return err
			}
			continue
		}
		ds := &Dataset{db: d, id: id}
		if err := ds.recoverJournal(); err != nil {
			return err
		}
		if err := ds.cleanStaged(); err != nil {
			return err
		}
	}
	return nil
}

// ReadOnly reports whether the database was opened with Options.ReadOnly
// (an in-memory database never is): its writes fail with ErrReadOnly.
func (d *DB) ReadOnly() bool { return d.readOnly }

// Path is the database directory, or ":memory:".
func (d *DB) Path() string {
	if d.inMemory {
		return MemoryPath
	}
	return d.path
}

// Close flushes and closes the database. Closing twice is a no-op.
func (d *DB) Close() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	texts := d.texts
	d.texts = nil
	d.mu.Unlock()
	var errs []error
	for _, t := range texts {
		errs = append(errs, t.close())
	}
	errs = append(errs, d.seqIDs.Release(), d.seqData.Release())
	closeErr := d.bdb.Close()
	if closeErr == nil && !d.inMemory && !d.readOnly {
		stampAfterClose(d.path)
	}
	errs = append(errs, closeErr)
	return errors.Join(errs...)
}

func (d *DB) checkOpen() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return ErrClosed
	}
	return nil
}

// Key layout. Every dataset key starts with a one-byte table tag and the
// dataset's 8-byte internal id, so renaming a dataset touches one key and
// dropping one is a prefix delete.
const (
	keySeqSamples = "!seq/samples"
	keySeqData    = "!seq/data"
	keyFormat     = "!format"

	tagCatalog   byte = 'c' // c name -> dataset id
	tagMeta      byte = 'd' // d dsid -> dataset meta (JSON)
	tagSample    byte = 's' // s dsid id -> record
	tagFilepath  byte = 'f' // f dsid filepath -> id
	tagIndex     byte = 'i' // i dsid indexid(4) key(value) id -> ""
	tagTag       byte = 't' // t dsid escaped(tag) id -> ""
	tagInsight   byte = 'n' // n dsid gen(8) id -> record of the group's keys
	tagEmbed     byte = 'e' // e dsid space(8) id -> float32 little-endian
	tagTextDirt  byte = 'x' // x dsid id -> "" (full-text index must catch up)
	tagSelection byte = 'l' // l dsid -> the selected ids, 12 bytes each, ascending
	tagView      byte = 'v' // v dsid lower(name) -> name NUL sql (a saved view)
	tagJournal   byte = 'j' // j dsid [batch(4)] -> undo journal of a multi-batch statement
)

var datasetTags = []byte{tagMeta, tagSample, tagFilepath, tagIndex, tagTag, tagInsight, tagEmbed, tagTextDirt, tagSelection, tagView, tagJournal, tagVectorIndex, tagJob, tagColumns}

func dsPrefix(tag byte, ds uint64) []byte {
	b := make([]byte, 9, 48)
	b[0] = tag
	binary.BigEndian.PutUint64(b[1:], ds)
	return b
}

func catalogKey(name string) []byte { return append([]byte{tagCatalog}, name...) }

func sampleKey(ds uint64, id ID) []byte { return append(dsPrefix(tagSample, ds), id[:]...) }

func filepathKey(ds uint64, p string) []byte { return append(dsPrefix(tagFilepath, ds), p...) }

func tagKey(ds uint64, tag string, id ID) []byte {
	return append(appendEscaped(dsPrefix(tagTag, ds), tag), id[:]...)
}

func indexPrefix(ds uint64, index uint32) []byte {
	return binary.BigEndian.AppendUint32(dsPrefix(tagIndex, ds), index)
}

func indexKey(ds uint64, index uint32, v Value, id ID) []byte {
	return append(AppendKey(indexPrefix(ds, index), v), id[:]...)
}

func insightPrefix(ds, gen uint64) []byte {
	return binary.BigEndian.AppendUint64(dsPrefix(tagInsight, ds), gen)
}

func insightKey(ds, gen uint64, id ID) []byte { return append(insightPrefix(ds, gen), id[:]...) }

// datasetMeta is the stored description of a dataset. Cached copies are
// never modified: writers clone, change and swap.
type datasetMeta struct {
	ID          uint64                   `json:"id"`
	Name        string                   `json:"name"`
	Created     time.Time                `json:"created"`
	Version     uint64                   `json:"version"`
	Count       int64                    `json:"count"`
	Schema      map[string]uint16        `json:"schema"`
	Indexes     map[string]uint32        `json:"indexes"`
	Insights    map[string]*insightGroup `json:"insights"`
	Runs        map[string]RunRecord     `json:"runs"`
	InputFields map[string]bool          `json:"input_fields"`
	Staged      map[uint64]stagedGen     `json:"staged,omitempty"`
	Spaces      map[string]uint64        `json:"spaces,omitempty"` // embedding spaces
	NextIndex   uint32                   `json:"next_index"`
	// MediaEndpoint is the S3 endpoint of the dataset's s3:// media, set
	// by the first ingest from S3.
	MediaEndpoint string `json:"media_endpoint,omitempty"`
}

// insightGroup is the live generation of one insights group.
type insightGroup struct {
	Gen     uint64            `json:"gen"`
	Indexes map[string]uint32 `json:"indexes"` // key within the group -> index id
}

// indexOf returns the index of key in the group, if it is indexed; g may
// be nil.
func (g *insightGroup) indexOf(key string) (uint32, bool) {
	if g == nil {
		return 0, false
	}
	ix, ok := g.Indexes[key]
	return ix, ok
}

func (m *datasetMeta) clone() *datasetMeta {
	c := *m
	c.Schema = cloneMap(m.Schema)
	c.Indexes = cloneMap(m.Indexes)
	c.Runs = cloneMap(m.Runs)
	c.InputFields = cloneMap(m.InputFields)
	c.Staged = cloneMap(m.Staged)
	c.Spaces = cloneMap(m.Spaces)
	c.Insights = make(map[string]*insightGroup, len(m.Insights))
	for k, g := range m.Insights {
		gc := *g
		gc.Indexes = cloneMap(g.Indexes)
		c.Insights[k] = &gc
	}
	return &c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m *datasetMeta) newIndexID() uint32 {
	m.NextIndex++
	return m.NextIndex
}

// indexedPaths lists every index: user field paths and the live insight
// keys, each with its index id.
func (m *datasetMeta) insightIndexes() map[string]uint32 {
	out := map[string]uint32{}
	for g, ig := range m.Insights {
		for k, id := range ig.Indexes {
			out["insights."+g+"."+k] = id
		}
	}
	return out
}

func (d *DB) loadMeta(txn *badger.Txn, ds uint64) (*datasetMeta, error) {
	if m := d.cachedMeta(ds); m != nil {
		return m, nil
	}
	m, err := readMeta(txn, ds)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.metas[ds] = m
	d.mu.Unlock()
	return m, nil
}

// readMeta reads a dataset's description from the store, not the cache.
func readMeta(txn *badger.Txn, ds uint64) (*datasetMeta, error) {
	item, err := txn.Get(dsPrefix(tagMeta, ds))
	if err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	m := &datasetMeta{}
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, m) }); err != nil {
		return nil, fmt.Errorf("db: dataset meta: %w", err)
	}
	if m.Schema == nil {
		m.Schema = map[string]uint16{}
	}
	if m.Indexes == nil {
		m.Indexes = map[string]uint32{}
	}
	if m.Insights == nil {
		m.Insights = map[string]*insightGroup{}
	}
	if m.Runs == nil {
		m.Runs = map[string]RunRecord{}
	}
	if m.InputFields == nil {
		m.InputFields = map[string]bool{}
	}
	return m, nil
}

func (d *DB) putMeta(txn *badger.Txn, m *datasetMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return d.set(txn, dsPrefix(tagMeta, m.ID), b, "description of dataset %s (its fields, indexes and runs)", m.Name)
}

// update runs fn in a read-write transaction while holding the writer
// lock, and publishes the new dataset meta if fn returns one.
func (d *DB) update(fn func(txn *badger.Txn) (*datasetMeta, error)) error {
	if err := d.checkOpen(); err != nil {
		return err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.updateLocked(fn)
}

// cachedMeta returns the cached meta of dataset ds, or nil.
func (d *DB) cachedMeta(ds uint64) *datasetMeta {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.metas[ds]
}

// updateLocked is update for a caller that holds the writer lock. It
// refuses to start when the disk is nearly full (roomToWrite).
func (d *DB) updateLocked(fn func(txn *badger.Txn) (*datasetMeta, error)) error {
	if err := d.roomToWrite(0, false); err != nil {
		return err
	}
	return d.commitLocked(fn)
}

// undoLocked is updateLocked for writes that take something back (an
// unfinished statement, a staged run): they may use part of the reserve.
func (d *DB) undoLocked(fn func(txn *badger.Txn) (*datasetMeta, error)) error {
	if err := d.roomToWrite(0, true); err != nil {
		return err
	}
	return d.commitLocked(fn)
}

func (d *DB) commitLocked(fn func(txn *badger.Txn) (*datasetMeta, error)) error {
	if d.readOnly {
		return fmt.Errorf("db: %w", ErrReadOnly)
	}
	txn := d.bdb.NewTransaction(true)
	defer txn.Discard()
	m, err := fn(txn)
	if err != nil {
		return err
	}
	if m != nil {
		if err := d.putMeta(txn, m); err != nil {
			return err
		}
	}
	d.cache.writeBegin()
	err = txn.Commit()
	d.cache.writeEnd()
	if err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("db: batch too large for one transaction: %w", err)
		}
		return err
	}
	if m != nil {
		d.mu.Lock()
		d.metas[m.ID] = m
		d.mu.Unlock()
	}
	return nil
}

func (d *DB) view(fn func(txn *badger.Txn) error) error {
	if err := d.checkOpen(); err != nil {
		return err
	}
	return d.bdb.View(fn)
}

// validName reports whether a dataset name is usable: letters, digits,
// '_' and '-', starting with a letter or '_', at most 128 bytes.
func validName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// CreateDataset makes a new empty dataset. Names are letters, digits, '_'
// and '-'; an existing name gives ErrExists.
func (d *DB) CreateDataset(name string) (*Dataset, error) {
	if !validName(name) {
		return nil, fmt.Errorf("db: dataset name %q: %w: use letters, digits, '_' and '-'", name, ErrInvalid)
	}
	var ds *Dataset
	err := d.update(func(txn *badger.Txn) (*datasetMeta, error) {
		if _, err := txn.Get(catalogKey(name)); err == nil {
			return nil, fmt.Errorf("db: dataset %q %w", name, ErrExists)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return nil, err
		}
		id, err := d.seqData.Next()
		if err != nil {
			return nil, err
		}
		id++ // never 0
		if err := d.set(txn, catalogKey(name), binary.BigEndian.AppendUint64(nil, id), "dataset name"); err != nil {
			return nil, err
		}
		m := &datasetMeta{ID: id, Name: name, Created: time.Now().UTC().Truncate(time.Millisecond),
			Version: 1, Schema: map[string]uint16{}, Indexes: map[string]uint32{},
			Insights: map[string]*insightGroup{}, Runs: map[string]RunRecord{}, InputFields: map[string]bool{}}
		ds = &Dataset{db: d, id: id}
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// Dataset returns the named dataset, or an error wrapping ErrNotFound.
func (d *DB) Dataset(name string) (*Dataset, error) {
	// The catalog entry is cached for the commit epoch it was read in
	// (see recordCache), so a query does not open a transaction for it.
	c := &d.cache
	quiet := c.writers.Load() == 0
	e := c.epoch.Load()
	d.mu.RLock()
	ent, hit := d.names[name]
	d.mu.RUnlock()
	if quiet && hit && ent.epoch == e {
		return &Dataset{db: d, id: ent.id}, nil
	}
	var ds *Dataset
	err := d.view(func(txn *badger.Txn) error {
		item, err := txn.Get(catalogKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("db: dataset %q %w", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			if len(b) != 8 {
				return ErrCorrupt
			}
			ds = &Dataset{db: d, id: binary.BigEndian.Uint64(b)}
			return nil
		})
	})
	if err == nil && quiet && c.writers.Load() == 0 && c.epoch.Load() == e {
		d.mu.Lock()
		if d.names == nil || len(d.names) > 1024 {
			d.names = map[string]catalogEntry{}
		}
		d.names[name] = catalogEntry{epoch: e, id: ds.id}
		d.mu.Unlock()
	}
	return ds, err
}

// catalogEntry is a cached dataset id, valid in one commit epoch.
type catalogEntry struct {
	epoch uint64
	id    uint64
}

// DatasetNames lists the datasets, sorted by name.
func (d *DB) DatasetNames() ([]string, error) {
	var names []string
	err := d.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagCatalog}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			names = append(names, string(it.Item().Key()[1:]))
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// RenameDataset renames a dataset; its samples are untouched.
func (d *DB) RenameDataset(from, to string) error {
	if !validName(to) {
		return fmt.Errorf("db: dataset name %q: %w", to, ErrInvalid)
	}
	ds, err := d.Dataset(from)
	if err != nil {
		return err
	}
	return d.update(func(txn *badger.Txn) (*datasetMeta, error) {
		if _, err := txn.Get(catalogKey(to)); err == nil {
			return nil, fmt.Errorf("db: dataset %q %w", to, ErrExists)
		}
		m, err := d.loadMeta(txn, ds.id)
		if err != nil {
			return nil, err
		}
		m = m.clone()
		m.Name = to
		if err := txn.Delete(catalogKey(from)); err != nil {
			return nil, err
		}
		return m, d.set(txn, catalogKey(to), binary.BigEndian.AppendUint64(nil, ds.id), "dataset name")
	})
}

// DeleteDataset removes a dataset and every key it owns, including its
// full-text index.
func (d *DB) DeleteDataset(name string) error {
	ds, err := d.Dataset(name)
	if err != nil {
		return err
	}
	err = d.update(func(txn *badger.Txn) (*datasetMeta, error) {
		return nil, txn.Delete(catalogKey(name))
	})
	if err != nil {
		return err
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.mu.Lock()
	delete(d.metas, ds.id)
	t := d.texts[ds.id]
	delete(d.texts, ds.id)
	d.mu.Unlock()
	if t != nil {
		t.close()
	}
	return d.dropDatasetKeys(ds.id)
}

// dropDatasetKeys removes every key and file of a dataset whose catalog
// entry is gone. The meta key goes last, so an interrupted drop is
// finished by recover on the next open.
func (d *DB) dropDatasetKeys(id uint64) error {
	if !d.inMemory {
		if err := os.RemoveAll(d.textDir(id)); err != nil {
			return err
		}
	}
	prefixes := [][]byte{textEpochBadgerKey(id)}
	for _, tag := range datasetTags {
		if tag != tagMeta {
			prefixes = append(prefixes, dsPrefix(tag, id))
		}
	}
	d.cache.writeBegin()
	defer d.cache.writeEnd()
	if err := d.bdb.DropPrefix(prefixes...); err != nil {
		return err
	}
	return d.bdb.DropPrefix(dsPrefix(tagMeta, id))
}
