package db

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// madvPageout is Linux's MADV_PAGEOUT (since 5.4): reclaim the pages of a
// range now. On a shared file mapping it unmaps them from this process
// (a clean page also leaves the page cache; a dirty one is kept until it
// is written back), so a later touch faults the file's data back in. On
// anonymous memory without swap it changes nothing, which is why it is
// used rather than MADV_DONTNEED: should a range listed in /proc/self/maps
// be unmapped and reused for the heap before the call, DONTNEED would
// zero that memory, PAGEOUT leaves it as it is.
const madvPageout = 21

// releaseMapped asks the kernel to take back this process's resident
// pages of every shared file mapping whose file lies under dir (found in
// /proc/self/maps, deleted files included). It returns the bytes of the
// ranges it advised. Nothing is lost: the files' data is where it was,
// and a later read faults it in again.
func releaseMapped(dir string) (int64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var total int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		lo, hi, ok := sharedMappingUnder(sc.Text(), prefix)
		if !ok {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, madvPageout); e != 0 {
			if e == syscall.EINVAL {
				return total, errPageoutUnsupported
			}
			continue // a range unmapped since the listing was read
		}
		total += int64(hi - lo)
	}
	return total, sc.Err()
}

// errPageoutUnsupported is releaseMapped's error on a kernel without
// MADV_PAGEOUT.
var errPageoutUnsupported = errors.New("db: this kernel cannot release mapped pages (MADV_PAGEOUT needs Linux 5.4)")

// sharedMappingUnder parses one line of /proc/self/maps ("lo-hi perms
// offset dev inode path") and returns its address range when it maps,
// shared, a file whose path starts with prefix.
func sharedMappingUnder(line, prefix string) (lo, hi uintptr, ok bool) {
	var fields [5]string
	rest := line
	for i := range fields {
		rest = strings.TrimLeft(rest, " ")
		var found bool
		if fields[i], rest, found = strings.Cut(rest, " "); !found {
			return 0, 0, false
		}
	}
	path := strings.TrimLeft(rest, " ")
	perms := fields[1]
	if len(perms) < 4 || perms[3] != 's' || !strings.HasPrefix(path, prefix) {
		return 0, 0, false
	}
	a, b, found := strings.Cut(fields[0], "-")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || h <= l {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}
