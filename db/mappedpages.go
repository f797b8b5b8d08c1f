package db

import "path/filepath"

// releaseEvery is how many bytes of values a long scan reads between two
// releaseStorePages calls: about what the pages it passed keep resident.
const releaseEvery = 32 << 20

// releaseStorePages gives back the pages of the store's memory-mapped
// files (Badger's tables, value log and memory tables) that this process
// has resident. Badger reads them through mmap, and every page a scan
// touches stays counted in the process's RSS while the file is mapped: a
// read of a million 512-float vectors left about 3 GB of them behind.
// The data stays on disk (and a dirty page in the page cache); the next
// read of a page faults it in again. An in-memory database has nothing
// to release.
func (d *DB) releaseStorePages() (int64, error) {
	if d.inMemory {
		return 0, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(d.path, storeDirName))
	if err != nil {
		return 0, err
	}
	return releaseMapped(dir)
}

// pageReleaser calls releaseStorePages after every releaseEvery bytes a
// scan reads, and once at its end; after an error it stops trying, since
// releasing is an economy and the scan's result does not depend on it.
type pageReleaser struct {
	d      *DB
	read   int
	failed bool
}

// add counts n bytes read and releases the store's pages when due.
func (r *pageReleaser) add(n int) {
	if r.read += n; r.read >= releaseEvery {
		r.release()
	}
}

// release releases the store's pages now.
func (r *pageReleaser) release() {
	r.read = 0
	if r.failed {
		return
	}
	if _, err := r.d.releaseStorePages(); err != nil {
		r.failed = true
	}
}
