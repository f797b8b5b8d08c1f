package db

import (
	"encoding/binary"
	"strings"
)

// FieldPath is a dotted field path split at its dots once, so that a scan
// reading the same path from millions of records does not split it for
// each one.
type FieldPath []string

// SplitPath splits a dotted path into a FieldPath.
func SplitPath(path string) FieldPath { return strings.Split(path, ".") }

// Int returns the int at a dotted path, read in place without making a
// Value; false when the path holds something else or nothing. A filter
// comparing a field with an int tests millions of records this way (with
// IntAt and a path split once).
func (r Record) Int(path string) (int64, bool) { return r.IntAt(SplitPath(path)) }

// IntAt is Int with a path split beforehand.
func (r Record) IntAt(p FieldPath) (int64, bool) {
	b := []byte(r)
	for _, name := range p {
		var ok bool
		if b, ok = fieldBytes(b, name); !ok {
			return 0, false
		}
	}
	if len(p) == 0 || len(b) != 9 || Kind(b[0]) != KindInt {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[1:])), true
}
