//go:build unix

package db

import (
	"errors"
	"os"
	"syscall"
)

// holdStoreShared takes a shared lock on the store directory, the lock
// Badger takes exclusively while a process has the store open, so that
// CheckStore never reads files that a writer is changing. It returns
// ErrLocked when another process has the store open, and a function that
// releases the lock.
func holdStoreShared(store string) (release func(), err error) {
	f, err := os.Open(store)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
