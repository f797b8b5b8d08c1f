package db

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A store check reads every table's index, which grows with the data:
// about 10 ms for a million samples. Opening an unchanged store should
// not pay it again, so the database directory keeps a stamp file that
// remembers the files of the last store that passed the check, each by
// name, size, modification and change times, inode and device. Badger
// never rewrites a table in place, and any write to a file, any truncation
// and any change of its times moves its change time (which no program
// can set back), so a file whose stamp still matches holds the bytes that
// passed. When every file of the store matches, with none added or
// removed, the store is the one that passed and nothing is read; when
// some differ, the tables that match are not read again and everything
// else is checked as without a stamp. Damage that leaves a file's
// metadata as it was (a disk returning other bytes than were written) is
// what the stamp cannot see; Badger's own checksums still catch it in the
// index it reads, and CheckStore with Thorough, which never uses the
// stamp, reads everything.
//
// Only a read-write open or close writes the stamp, and only for a store
// that passed: a read-only open writes nothing.
const stampName = "store.checked"

// stampHeader starts a stamp file; its version changes with the format or
// with what the check verifies.
const stampHeader = "fosql store check 1"

// fileStamp identifies one version of a store file.
type fileStamp struct {
	size, mtime, ctime int64 // bytes; times in nanoseconds
	ino, dev           uint64
	maxVersion         uint64 // of a table: the newest key version it holds
}

// storeStamp maps the store's file names to their stamps.
type storeStamp map[string]fileStamp

// equal reports whether two stamps describe the same files.
func (s storeStamp) equal(o storeStamp) bool {
	if s == nil || o == nil || len(s) != len(o) {
		return false
	}
	for name, f := range s {
		if g, ok := o[name]; !ok || g != f {
			return false
		}
	}
	return true
}

// readStamp reads the stamp of the database in dir; nil when there is
// none or it does not read back whole (then the store is checked fully).
func readStamp(dir string) storeStamp {
	b, err := os.ReadFile(filepath.Join(dir, stampName))
	if err != nil {
		return nil
	}
	s, err := parseStamp(b)
	if err != nil {
		return nil
	}
	return s
}

// parseStamp decodes a stamp file: the header line, one line per file
// (name, size, mtime, ctime, inode, device, max version) and a last line
// with the CRC-32 of everything before it.
func parseStamp(b []byte) (storeStamp, error) {
	body, sum, ok := bytes.Cut(bytes.TrimSuffix(b, []byte("\n")), []byte("\ncrc "))
	if !ok {
		return nil, errors.New("no checksum line")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || crc32.ChecksumIEEE(body) != uint32(want) {
		return nil, errors.New("checksum does not match")
	}
	lines := strings.Split(string(body), "\n")
	if lines[0] != stampHeader {
		return nil, errors.New("unknown header")
	}
	s := storeStamp{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 7 {
			return nil, fmt.Errorf("line %q has %d fields", line, len(f))
		}
		var n [6]uint64
		for i := range n {
			if n[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
				return nil, err
			}
		}
		s[f[0]] = fileStamp{size: int64(n[0]), mtime: int64(n[1]), ctime: int64(n[2]), ino: n[3], dev: n[4], maxVersion: n[5]}
	}
	return s, nil
}

// stampTickWait bounds how long writeStamp waits for the file system's
// clock to pass the tick in which the store's files last changed.
const stampTickWait = 50 * time.Millisecond

// writeStamp records stamp as the store that passed the check, replacing
// the stamp file atomically. A file changed in the same tick of the file
// system's clock as the stamp is written could change again within that
// tick and keep its times, so writeStamp first waits (up to
// stampTickWait) for the clock to pass the tick of the latest change; a
// file still in the stamp's tick is left out (and checked again at the
// next open). Without the wait, the files a session's close touches last
// (the value log, the last table, the manifest) were left out almost
// every time. Errors are returned but harmless: without a stamp the next
// open checks the whole store.
func writeStamp(dir string, stamp storeStamp) error {
	var latest int64
	for _, f := range stamp {
		latest = max(latest, f.mtime, f.ctime)
	}
	deadline := time.Now().Add(stampTickWait)
	var tmp *os.File
	var now fileStamp
	for {
		var err error
		if tmp, err = os.CreateTemp(dir, stampName+".*"); err != nil {
			return err
		}
		info, err := tmp.Stat()
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		var ok bool
		if now, ok = statStamp(info); !ok {
			tmp.Close()
			os.Remove(tmp.Name())
			return errors.New("file stamps are not supported here")
		}
		if now.mtime > latest || time.Now().After(deadline) {
			break
		}
		tmp.Close()
		os.Remove(tmp.Name())
		time.Sleep(time.Millisecond)
	}
	defer os.Remove(tmp.Name())
	var buf bytes.Buffer
	buf.WriteString(stampHeader)
	for _, name := range slices.Sorted(maps.Keys(stamp)) {
		f := stamp[name]
		if f.ctime >= now.mtime || f.mtime >= now.mtime || strings.ContainsAny(name, " \n") {
			continue
		}
		fmt.Fprintf(&buf, "\n%s %d %d %d %d %d %d", name, f.size, f.mtime, f.ctime, f.ino, f.dev, f.maxVersion)
	}
	fmt.Fprintf(&buf, "\ncrc %08x\n", crc32.ChecksumIEEE(buf.Bytes()))
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, stampName))
}

// removeStamp forgets the stamp, so that the next open checks everything.
func removeStamp(dir string) {
	os.Remove(filepath.Join(dir, stampName))
}

// checkStamped checks the store of the database in dir as Open does,
// using and, unless readOnly, renewing its stamp.
func checkStamped(dir string, readOnly bool) []Problem {
	prev := readStamp(dir)
	problems, cur := checkStore(dir, CheckOptions{}, prev)
	switch {
	case len(problems) > 0:
		if !readOnly {
			removeStamp(dir)
		}
	case !readOnly && cur != nil && !cur.equal(prev):
		writeStamp(dir, cur)
	}
	return problems
}

// stampAfterClose checks the store that a read-write session left, as
// the next open would, and stamps it when it passes, so that the next
// open, a read-only one too, has nothing to read. It does nothing while
// another process has the store open.
func stampAfterClose(dir string) {
	release, err := holdStoreShared(filepath.Join(dir, storeDirName))
	if err != nil {
		return
	}
	defer release()
	checkStamped(dir, false)
}
