//go:build !unix

package db

// diskFree cannot tell the free space on this platform.
func diskFree(string) (int64, bool) { return 0, false }
