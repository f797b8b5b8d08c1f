//go:build !linux

package db

import "errors"

// releaseMapped cannot release mapped pages on this platform.
func releaseMapped(string) (int64, error) {
	return 0, errors.New("db: releasing mapped pages needs Linux")
}
