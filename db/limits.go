package db

import (
	"errors"
	"fmt"
)

// ErrTooLong means a write would make a key or a record longer than the
// storage accepts: a tag, a filepath, a value of an indexed field or a
// whole sample record. Nothing of the write is stored.
var ErrTooLong = errors.New("too long")

// maxKeyBytes is the longest key Badger accepts.
const maxKeyBytes = 65000

// Bytes a key of each kind spends besides the part a user chose, for the
// longest string it would encode: the table tag and dataset id, the
// string's type byte and terminator, the index id and the sample id.
const (
	filepathKeyOverhead = 9
	tagKeyOverhead      = 9 + 2 + 12
	indexKeyOverhead    = 9 + 4 + 1 + 2 + 12
	catalogKeyOverhead  = 1
)

// keySetter is what a Badger transaction and a write batch have in common.
type keySetter interface {
	Set(key, value []byte) error
}

// noSetter stores nothing: set(noSetter{}, …) checks a key before a write
// that would otherwise be refused halfway.
type noSetter struct{}

func (noSetter) Set(key, value []byte) error { return nil }

// set writes one key through w, which every write of the package goes
// through: a key or value beyond Badger's limits gives an error wrapping
// ErrTooLong that names what is too long (what and args, formatted only
// then, e.g. "value of indexed field %s" and the field's path), before
// Badger sees it, so the transaction is dropped whole.
func (d *DB) set(w keySetter, key, value []byte, what string, args ...any) error {
	if len(key) > maxKeyBytes {
		overhead := 0
		if len(key) > 0 {
			switch key[0] {
			case tagFilepath:
				overhead = filepathKeyOverhead
			case tagTag:
				overhead = tagKeyOverhead
			case tagIndex:
				overhead = indexKeyOverhead
			case tagCatalog:
				overhead = catalogKeyOverhead
			}
		}
		return fmt.Errorf("db: %s %w (at most %d bytes, this one has %d)",
			fmt.Sprintf(what, args...), ErrTooLong, maxKeyBytes-overhead, len(key)-overhead)
	}
	if int64(len(value)) > d.maxValueBytes {
		return fmt.Errorf("db: %s %w (at most %d bytes, this one has %d)",
			fmt.Sprintf(what, args...), ErrTooLong, d.maxValueBytes, len(value))
	}
	return w.Set(key, value)
}
