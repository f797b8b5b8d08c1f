package db

import (
	"encoding/binary"
	"strings"
)

// Int returns the int at a dotted path, read in place without making a
// Value; false when the path holds something else or nothing. A filter
// comparing a field with an int tests millions of records this way.
func (r Record) Int(path string) (int64, bool) {
	b := []byte(r)
	for {
		name, rest, more := strings.Cut(path, ".")
		sub, ok := fieldBytes(b, name)
		if !ok {
			return 0, false
		}
		if !more {
			if len(sub) != 9 || Kind(sub[0]) != KindInt {
				return 0, false
			}
			return int64(binary.LittleEndian.Uint64(sub[1:])), true
		}
		b, path = sub, rest
	}
}
