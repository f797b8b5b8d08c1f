package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/proto"
)

// ErrDamaged means a file of the database's store is truncated, damaged,
// missing or not accounted for, so opening it could lose data. Open
// refuses such a database and writes nothing to it.
var ErrDamaged = errors.New("database is damaged")

// Problem is one sign of damage that CheckStore found.
type Problem struct {
	// File is the damaged, missing or unexpected file, relative to the
	// database directory, e.g. "store/000001.sst".
	File string
	// Message describes the problem in a sentence that names the file,
	// e.g. "table 000001.sst is damaged: …".
	Message string
}

// String returns the problem's message.
func (p Problem) String() string { return p.Message }

// CheckOptions tune CheckStore. The zero value is the check Open runs.
type CheckOptions struct {
	// Thorough also verifies the checksum of every block of every table
	// and every entry of every value log, reading the whole store,
	// instead of the footer, the index and the last block that opening a
	// table reads and the header of each value log.
	Thorough bool
}

// Names of the files of a Badger store.
const (
	storeDirName    = "store"
	manifestName    = badger.ManifestFilename
	keyRegistryName = badger.KeyRegistryFileName
	discardName     = "DISCARD"
	tableSuffix     = ".sst"
	valueLogSuffix  = ".vlog"
	walSuffix       = ".mem"
	logHeaderSize   = 20 // data-key id (8 bytes) and base IV (12 bytes)
	discardEntry    = 16 // file id and discarded bytes, 8 bytes each
)

// CheckStore examines the Badger store of the database in dir without
// changing anything and returns every problem it finds, nil for a sound
// store (or one not created yet). It checks that the MANIFEST replays to
// its last byte, that every table it names is present and every table
// present is named (or is what a crash left, see checkTables), that each
// table's footer, index and index checksum
// are whole and its last block (or, with opts.Thorough, every block)
// matches its checksum, that the key registry reads, that the discard
// statistics are whole records, that each value log has its header and
// that the write-ahead (.mem) files, which only a crash leaves, hold no
// entries after a damaged one (with opts.Thorough, the value logs too).
// A torn last entry, what a crash leaves, is not a problem: Badger
// replays up to it.
//
// Open runs this check (without Thorough) before Badger sees the store,
// because Badger opens tables in goroutines of its own, where a damaged
// table's panic cannot be recovered, and deletes table files its MANIFEST
// does not name.
func CheckStore(dir string, opts *CheckOptions) []Problem {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	problems, _ := checkStore(dir, o, nil)
	return problems
}

// checkStore is CheckStore knowing prev, the stamp of the last store that
// passed (nil for none, see stampName): a store whose files all match it
// is not read, and a table that matches is not read again. It also
// returns the stamp of the store it checked when that passed, nil
// otherwise or when its files cannot be stamped.
func checkStore(dir string, o CheckOptions, prev storeStamp) ([]Problem, storeStamp) {
	if o.Thorough {
		prev = nil
	}
	store := filepath.Join(dir, storeDirName)
	c := &storeCheck{dir: store, thorough: o.Thorough, prev: prev}
	entries, err := os.ReadDir(store)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		c.add(storeDirName, fmt.Sprintf("store directory %s cannot be read: %v", store, err))
		return c.problems, nil
	}
	c.cur = storeStamp{}
	tables := map[uint64]string{}
	var valueLogs, wals []string
	walPresent := false
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		present[name] = true
		info, err := e.Info()
		if err == nil && c.cur != nil {
			if st, ok := statStamp(info); ok {
				c.cur[name] = st
			} else {
				c.cur = nil
			}
		}
		switch {
		case strings.HasSuffix(name, tableSuffix):
			if id, ok := fileID(name, tableSuffix); ok {
				tables[id] = name
			}
		case strings.HasSuffix(name, walSuffix):
			if _, ok := fileID(name, walSuffix); ok {
				wals = append(wals, name)
			}
			if err == nil && info.Size() > 0 {
				walPresent = true
			}
		case strings.HasSuffix(name, valueLogSuffix):
			if _, ok := fileID(name, valueLogSuffix); ok {
				valueLogs = append(valueLogs, name)
			}
		}
	}
	if prev != nil && len(c.cur) == len(prev) && len(entries) == len(prev) {
		unchanged := true
		for name, st := range c.cur {
			unchanged = unchanged && c.unchanged(name, st)
		}
		if unchanged {
			return nil, prev // the store that passed, as it was
		}
	}
	named := c.checkManifest(present[manifestName], tables)
	c.checkTables(tables, named, walPresent)
	if present[keyRegistryName] {
		c.checkKeyRegistry()
	}
	if present[discardName] {
		c.checkDiscard()
	}
	for _, name := range wals {
		c.checkLog(name, "write-ahead log", true)
	}
	for _, name := range valueLogs {
		c.checkLog(name, "value log", c.thorough)
	}
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].File < c.problems[j].File })
		return c.problems, nil
	}
	if len(c.cur) != len(entries) {
		return nil, nil
	}
	return nil, c.cur
}

// storeCheck collects the problems of one CheckStore run.
type storeCheck struct {
	dir      string
	thorough bool
	prev     storeStamp // the last store that passed, or nil
	cur      storeStamp // the files checked now; each table's max version is set as it passes

	mu       sync.Mutex
	problems []Problem
}

// unchanged reports whether the file name, stamped st now, is as it was
// in the last store that passed.
func (c *storeCheck) unchanged(name string, st fileStamp) bool {
	p, ok := c.prev[name]
	if !ok {
		return false
	}
	p.maxVersion = st.maxVersion
	return p == st
}

func (c *storeCheck) add(name, message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	file := storeDirName
	if name != storeDirName {
		file = storeDirName + "/" + name
	}
	c.problems = append(c.problems, Problem{File: file, Message: message})
}

// fileID parses Badger's numbered file names ("000042.sst").
func fileID(name, suffix string) (uint64, bool) {
	id, err := strconv.ParseUint(strings.TrimSuffix(name, suffix), 10, 64)
	return id, err == nil
}

func tableName(id uint64) string { return fmt.Sprintf("%06d%s", id, tableSuffix) }

// checkManifest replays the MANIFEST and returns the tables it names with
// their compression, or nil when it is missing or damaged.
func (c *storeCheck) checkManifest(exists bool, tables map[uint64]string) map[uint64]badger.TableManifest {
	if !exists {
		if len(tables) > 0 {
			c.add(manifestName, fmt.Sprintf("MANIFEST is missing, and %d table files are not accounted for", len(tables)))
		}
		return nil
	}
	f, err := os.Open(filepath.Join(c.dir, manifestName))
	if err != nil {
		c.add(manifestName, fmt.Sprintf("MANIFEST cannot be read: %v", err))
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.add(manifestName, fmt.Sprintf("MANIFEST cannot be read: %v", err))
		return nil
	}
	m, end, err := replayManifest(f)
	if err != nil {
		c.add(manifestName, fmt.Sprintf("MANIFEST is damaged: %v", err))
		return nil
	}
	if end != st.Size() {
		c.add(manifestName, fmt.Sprintf("MANIFEST is damaged: it ends in a partial record (%d of its %d bytes replay)", end, st.Size()))
		return nil
	}
	return m.Tables
}

// replayManifest runs Badger's own replay, which can panic on a record
// that passes its checksum but does not describe a valid change.
func replayManifest(f *os.File) (m badger.Manifest, end int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return badger.ReplayManifestFile(f, 0, badger.DefaultOptions("").WithLogger(nil))
}

// checkTables checks every table present, in parallel, and compares them
// with those the MANIFEST names (named is nil when it is missing or
// damaged, which is reported already).
//
// A table the MANIFEST does not name is damage (the MANIFEST lost it),
// except what a crash leaves: Badger writes a new table before the
// MANIFEST record that names it, so a crash in between leaves a table
// whose content is still elsewhere, and Badger deletes it at open. The
// output of a compaction holds versions of keys that the named tables,
// its inputs, still hold: no version newer than theirs. A flushed memory
// table is still in its write-ahead (.mem) file, which Badger deletes
// only once the MANIFEST names the table (walPresent). A table the
// MANIFEST lost is a flush the MANIFEST no longer records (a lost
// compaction leaves its deleted inputs named, which is reported as
// missing): its versions are newer than every named table's, and with no
// write-ahead file left, nothing else holds them.
func (c *storeCheck) checkTables(present map[uint64]string, named map[uint64]badger.TableManifest, walPresent bool) {
	for id := range named {
		if _, ok := present[id]; !ok {
			c.add(tableName(id), fmt.Sprintf("table %s is missing (the MANIFEST names it)", tableName(id)))
		}
	}
	type result struct {
		id         uint64
		maxVersion uint64
		err        error
	}
	ids := make(chan uint64)
	results := make(chan result, len(present))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 4, max(len(present), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				compression := options.Snappy // Badger's default, for a table no MANIFEST record describes
				if tm, ok := named[id]; ok {
					compression = tm.Compression
				}
				v, err := c.checkTable(present[id], compression)
				results <- result{id, v, err}
			}
		}()
	}
	for id, name := range present {
		if st, ok := c.cur[name]; ok && c.unchanged(name, st) {
			results <- result{id, c.prev[name].maxVersion, nil} // passed before, as it is
			continue
		}
		ids <- id
	}
	close(ids)
	wg.Wait()
	close(results)

	var newestNamed uint64
	var unnamed []result
	for r := range results {
		if st, ok := c.cur[present[r.id]]; ok && r.err == nil {
			st.maxVersion = r.maxVersion
			c.cur[present[r.id]] = st
		} else {
			delete(c.cur, present[r.id]) // a damaged crash leftover is excused, never stamped
		}
		_, isNamed := named[r.id]
		switch {
		case named != nil && !isNamed:
			unnamed = append(unnamed, r)
		case r.err != nil:
			c.add(present[r.id], fmt.Sprintf("table %s is damaged: %v", present[r.id], r.err))
		default:
			newestNamed = max(newestNamed, r.maxVersion)
		}
	}
	for _, r := range unnamed {
		if walPresent || (r.err == nil && r.maxVersion <= newestNamed) {
			continue // a crash's leftover
		}
		c.add(present[r.id], fmt.Sprintf("table %s is not named by the MANIFEST (the MANIFEST lost it)", present[r.id]))
	}
}

// checkTable checks one table file. The layout, from the end: checksum
// length (4 bytes), checksum of the index (a pb.Checksum), index length
// (4 bytes), index (a flatbuffer fb.TableIndex), then the blocks the index
// points to, each ending in its own checksum and checksum length.
func (c *storeCheck) checkTable(name string, compression options.CompressionType) (maxVersion uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f, err := os.Open(filepath.Join(c.dir, name))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	pos := size
	readU32 := func(what string) (int64, error) {
		if pos < 4 {
			return 0, fmt.Errorf("the file is %d bytes, too short for its %s", size, what)
		}
		pos -= 4
		var b [4]byte
		if _, err := f.ReadAt(b[:], pos); err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(b[:])), nil
	}
	readBytes := func(n int64, what string) ([]byte, error) {
		if n > pos {
			return nil, fmt.Errorf("its footer gives the %s as %d bytes, more than the %d bytes before it (truncated?)", what, n, pos)
		}
		pos -= n
		b := make([]byte, n)
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, err
		}
		return b, nil
	}
	checksumLen, err := readU32("checksum length")
	if err != nil {
		return 0, err
	}
	checksumBytes, err := readBytes(checksumLen, "index checksum")
	if err != nil {
		return 0, err
	}
	indexChecksum := &pb.Checksum{}
	if err := proto.Unmarshal(checksumBytes, indexChecksum); err != nil {
		return 0, fmt.Errorf("the index checksum does not decode (truncated?): %w", err)
	}
	indexLen, err := readU32("index length")
	if err != nil {
		return 0, err
	}
	index, err := readBytes(indexLen, "index")
	if err != nil {
		return 0, err
	}
	if err := y.VerifyChecksum(index, indexChecksum); err != nil {
		return 0, fmt.Errorf("the index does not match its checksum (truncated or overwritten?)")
	}
	dataEnd := pos
	ti := fb.GetRootAsTableIndex(index, 0)
	nblocks := ti.OffsetsLength()
	if nblocks == 0 {
		return 0, fmt.Errorf("its index lists no blocks")
	}
	var bo fb.BlockOffset
	first := 0
	if !c.thorough {
		first = nblocks - 1 // the block Badger reads when it opens the table
	}
	for i := 0; i < nblocks; i++ {
		if !ti.Offsets(&bo, i) {
			return 0, fmt.Errorf("its index entry for block %d does not decode", i)
		}
		off, n := int64(bo.Offset()), int64(bo.Len())
		if off+n > dataEnd {
			return 0, fmt.Errorf("block %d (bytes %d to %d) runs past the index at byte %d", i, off, off+n, dataEnd)
		}
		if i < first {
			continue
		}
		block := make([]byte, n)
		if _, err := f.ReadAt(block, off); err != nil {
			return 0, fmt.Errorf("block %d: %w", i, err)
		}
		if err := verifyBlock(block, compression); err != nil {
			return 0, fmt.Errorf("block %d at byte %d: %w", i, off, err)
		}
	}
	return ti.MaxVersion(), nil
}

// verifyBlock decompresses one table block and checks it against the
// checksum at its end.
func verifyBlock(block []byte, compression options.CompressionType) error {
	var err error
	switch compression {
	case options.None:
	case options.Snappy:
		if block, err = snappy.Decode(nil, block); err != nil {
			return fmt.Errorf("does not decompress: %w", err)
		}
	case options.ZSTD:
		if block, err = y.ZSTDDecompress(nil, block); err != nil {
			return fmt.Errorf("does not decompress: %w", err)
		}
	default:
		return fmt.Errorf("unknown compression %d", compression)
	}
	if len(block) < 4 {
		return errors.New("shorter than its checksum length")
	}
	end := len(block) - 4
	n := int(binary.BigEndian.Uint32(block[end:]))
	if n > end-4 {
		return errors.New("its checksum length runs past its start")
	}
	sum := &pb.Checksum{}
	if err := proto.Unmarshal(block[end-n:end], sum); err != nil {
		return fmt.Errorf("its checksum does not decode: %w", err)
	}
	if err := y.VerifyChecksum(block[:end-n], sum); err != nil {
		return errors.New("does not match its checksum")
	}
	return nil
}

// checkKeyRegistry reads the key registry the way Badger does, without
// writing.
func (c *storeCheck) checkKeyRegistry() {
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: c.dir, ReadOnly: true})
		if err != nil {
			return err
		}
		return kr.Close()
	}()
	if err != nil {
		c.add(keyRegistryName, fmt.Sprintf("KEYREGISTRY is damaged: %v", err))
	}
}

// checkDiscard checks that the discard statistics (which value-log
// garbage collection reads) are whole 16-byte records.
func (c *storeCheck) checkDiscard() {
	st, err := os.Stat(filepath.Join(c.dir, discardName))
	if err != nil {
		c.add(discardName, fmt.Sprintf("DISCARD cannot be read: %v", err))
		return
	}
	if st.Size()%discardEntry != 0 {
		c.add(discardName, fmt.Sprintf("DISCARD is damaged: %d bytes is not a whole number of %d-byte records (truncated?)", st.Size(), discardEntry))
	}
}

// checkLog checks a log file: a value log (.vlog) or the write-ahead log
// of a memory table (.mem). Both start with a header holding the data-key
// id, which Badger reads at open; fosql never encrypts, so it is 0. With
// entries, the file's entries are read too: each is a header (meta and
// user-meta bytes, then key length, value length and expiry as
// uvarints), the key, the value and a CRC-32C of all three. Badger
// replays a log up to its first bad entry and drops the rest, which is
// right for what a crash leaves, the one entry being written when it
// struck (the space after it is zeros, as the file was made at full size
// and is written in order); entries after a bad one are damage.
func (c *storeCheck) checkLog(name, kind string, entries bool) {
	f, err := os.Open(filepath.Join(c.dir, name))
	if err != nil {
		c.add(name, fmt.Sprintf("%s %s cannot be read: %v", kind, name, err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.add(name, fmt.Sprintf("%s %s cannot be read: %v", kind, name, err))
		return
	}
	if st.Size() == 0 && strings.HasSuffix(name, walSuffix) {
		return // created, and the process ended before writing its header
	}
	var header [logHeaderSize]byte
	if _, err := io.ReadFull(f, header[:]); err != nil {
		c.add(name, fmt.Sprintf("%s %s is damaged: shorter than its %d-byte header", kind, name, logHeaderSize))
		return
	}
	if id := binary.BigEndian.Uint64(header[:8]); id != 0 {
		c.add(name, fmt.Sprintf("%s %s is damaged: its header names encryption key %d, and the database is not encrypted", kind, name, id))
		return
	}
	if !entries {
		return
	}
	data, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		c.add(name, fmt.Sprintf("%s %s cannot be read: %v", kind, name, err))
		return
	}
	if bad, after := badLogEntry(data); bad >= 0 {
		c.add(name, fmt.Sprintf("%s %s is damaged: the entry at byte %d does not read back (checksum or lengths), and %d bytes of entries follow it", kind, name, bad, after))
	}
}

// badLogEntry returns the offset of a bad entry in a log file's data that
// has entries after it, and how many bytes lie between it and the last
// non-zero byte; -1 when the entries are whole up to the end, or up to
// one torn entry followed by zeros.
func badLogEntry(data []byte) (bad, after int) {
	off := logHeaderSize
	for off < len(data) {
		end, ok := logEntryEnd(data, off)
		if !ok || end == 0 {
			break
		}
		crcAt := end - crc32.Size
		if crc32.Checksum(data[off:crcAt], y.CastagnoliCrcTable) != binary.BigEndian.Uint32(data[crcAt:end]) {
			break
		}
		off = end
	}
	last := len(data) - 1
	for last >= off && data[last] == 0 {
		last--
	}
	if last < off {
		return -1, 0 // whole, or ended by zeros
	}
	if end, ok := logEntryEnd(data, off); ok && end > last {
		return -1, 0 // one torn entry: every byte after it is zero
	}
	// A process killed while copying an entry into the mapped log can
	// leave its bytes in any order (a copy may store its last bytes
	// first), so a torn entry may show its tail after zeros where its
	// header belongs. That is still a torn last entry, as long as no whole
	// entry lies after it; a whole entry after a bad one is damage.
	if last+1-off <= maxTornEntry && !wholeEntryAfter(data, off+1, last) {
		return -1, 0
	}
	return off, last + 1 - off
}

// maxTornEntry bounds the bytes one torn entry can span: a key, a value
// below the value threshold (larger ones live in the value log) and the
// entry's header and checksum.
const maxTornEntry = 1 << 20

// wholeEntryAfter reports whether an entry with a valid checksum starts
// at any offset from..last of a log's data.
func wholeEntryAfter(data []byte, from, last int) bool {
	for p := from; p <= last; p++ {
		end, ok := logEntryEnd(data, p)
		if !ok || end == 0 || end-crc32.Size <= p {
			continue
		}
		crcAt := end - crc32.Size
		if crc32.Checksum(data[p:crcAt], y.CastagnoliCrcTable) == binary.BigEndian.Uint32(data[crcAt:end]) {
			return true
		}
	}
	return false
}

// logEntryEnd decodes the header of the log entry at off and returns
// where the entry ends (0 for an empty key, which ends the log); ok is
// false when the header does not decode or the entry runs past the data.
func logEntryEnd(data []byte, off int) (end int, ok bool) {
	p := off + 2 // meta, user meta
	if p >= len(data) {
		return 0, false
	}
	var lens [3]uint64 // key length, value length, expiry
	for i := range lens {
		v, n := binary.Uvarint(data[p:])
		if n <= 0 {
			return 0, false
		}
		lens[i], p = v, p+n
	}
	if lens[0] == 0 {
		return 0, true
	}
	size := lens[0] + lens[1] + crc32.Size
	if lens[0] > uint64(len(data)) || lens[1] > uint64(len(data)) || uint64(p)+size > uint64(len(data)) {
		return 0, false
	}
	return p + int(size), true
}

// storeError turns CheckStore's problems into Open's error.
func storeError(problems []Problem) error {
	msg := problems[0].Message
	if len(problems) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(problems)-1)
	}
	return fmt.Errorf("%s: %w (it was left as it is: restore the directory from a backup)", msg, ErrDamaged)
}
