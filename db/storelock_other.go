//go:build !unix

package db

// holdStoreShared is a no-op where Badger's directory lock is not an
// flock: Badger's own lock still refuses a second process at open.
func holdStoreShared(store string) (release func(), err error) { return func() {}, nil }
