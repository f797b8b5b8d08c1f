package db

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrDiskFull means the disk that holds the database has too little free
// space for a write to be safe. The write is refused before it starts, so
// nothing is changed, and the database stays usable for reading.
var ErrDiskFull = errors.New("disk full")

// Badger writes its log and tables through memory maps, and a process
// that touches a mapped page the file system cannot back is killed
// (SIGBUS) instead of getting an error. fosql therefore never lets a
// write start unless the store's file system keeps a reserve: room for
// the live and the next memory-table log (2 x 2 x MemTableSize), a flush
// and a compaction's output (4 tables), and slack; with the defaults
// 112 MiB. Undoing a statement and recovery need less, and may use all
// but a quarter of the reserve, so that a statement refused half-way can
// always be taken back.

// baseTableSize is Badger's table size (see Open).
const baseTableSize = 8 << 20

// diskReserve is the free space a write leaves on the store's disk.
func diskReserve(memTableSize int64) int64 {
	return 4*memTableSize + 4*baseTableSize + 16<<20
}

// roomToWrite refuses a write of about extra bytes when the store's file
// system would keep less than the reserve (a quarter of it for undo).
func (d *DB) roomToWrite(extra int64, undo bool) error {
	if d.inMemory {
		return nil
	}
	free, ok := diskFree(filepath.Join(d.path, storeDirName))
	if !ok {
		return nil // the platform cannot tell; Badger's own errors apply
	}
	need := d.reserve + extra
	if undo {
		need = d.reserve / 4
	}
	if free >= need {
		return nil
	}
	return fmt.Errorf("%w: %s free on the disk of %s, and fosql keeps %s free so that the store can always flush and compact; nothing was changed (free some space and try again)",
		ErrDiskFull, megabytes(free), d.path, megabytes(d.reserve))
}

func megabytes(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
