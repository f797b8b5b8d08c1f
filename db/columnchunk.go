package db

import (
	"encoding/binary"
	"fmt"
)

// This file is the layout of one chunk of metadata columns (columns.go):
// how its values are gathered, encoded and decoded.

// ColumnChunk holds the values of some metadata columns for up to a few
// thousand samples.
type ColumnChunk struct {
	// Len is the number of samples in the chunk.
	Len   int
	ints  [][]int64 // per column, Len values (0 where the value is not an int)
	kinds [][]Kind  // per column, Len kinds; nil when every value is an int
	kbuf  [][]Kind  // the kinds' buffers, kept for the next chunk
}

// Int returns the value of column col for the chunk's sample i, and
// whether it is an int (it is null or missing otherwise).
func (c *ColumnChunk) Int(col, i int) (int64, bool) {
	if k := c.kinds[col]; k != nil && k[i] != KindInt {
		return 0, false
	}
	return c.ints[col][i], true
}

// Value returns the value of column col for the chunk's sample i.
func (c *ColumnChunk) Value(col, i int) Value {
	if k := c.kinds[col]; k != nil && k[i] != KindInt {
		return Value{kind: k[i]}
	}
	return Int(c.ints[col][i])
}

// chunkBuilder gathers one chunk's values of the columns at some paths.
type chunkBuilder struct {
	paths []string
	fps   []FieldPath
	n     int
	ints  [][]int64
	kinds [][]Kind
	mixed []bool // a column holds a null or missing value
}

func newChunkBuilder(paths []string) *chunkBuilder {
	cols := len(paths)
	cb := &chunkBuilder{paths: paths, fps: make([]FieldPath, cols), ints: make([][]int64, cols), kinds: make([][]Kind, cols), mixed: make([]bool, cols)}
	for c, p := range paths {
		cb.fps[c] = SplitPath(p)
		cb.ints[c] = make([]int64, 0, columnChunkSize)
		cb.kinds[c] = make([]Kind, 0, columnChunkSize)
	}
	return cb
}

// addRecord adds a sample's values and reports whether the chunk is
// full.
func (cb *chunkBuilder) addRecord(rec Record) bool {
	for c, fp := range cb.fps {
		if v, ok := rec.IntAt(fp); ok {
			cb.add(c, KindInt, v)
		} else {
			cb.add(c, rec.Lookup(cb.paths[c]).kind, 0)
		}
	}
	cb.n++
	return cb.n == columnChunkSize
}

func (cb *chunkBuilder) add(col int, k Kind, v int64) {
	cb.ints[col] = append(cb.ints[col], v)
	cb.kinds[col] = append(cb.kinds[col], k)
	if k != KindInt {
		cb.mixed[col] = true
	}
}

// encode writes the chunk and empties the builder. The layout: the
// number of samples (uvarint), then for each column the length of its
// body (uvarint) and the body: a mode byte, then (mode 1) one kind byte
// per sample, then the ints as zigzag varints (mode 0: one per sample;
// mode 1: one per int).
func (cb *chunkBuilder) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(cb.n))
	var body []byte
	for c := range cb.ints {
		body = body[:0]
		if cb.mixed[c] {
			body = append(body, 1)
			for _, k := range cb.kinds[c] {
				body = append(body, byte(k))
			}
		} else {
			body = append(body, 0)
		}
		for i, v := range cb.ints[c] {
			if cb.kinds[c][i] == KindInt {
				body = binary.AppendVarint(body, v)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
		cb.ints[c], cb.kinds[c], cb.mixed[c] = cb.ints[c][:0], cb.kinds[c][:0], false
	}
	cb.n = 0
	return b
}

// decodeColumnChunk decodes the columns cols of a chunk of ncols columns
// into c, reusing its buffers.
func decodeColumnChunk(b []byte, ncols int, cols []int, c *ColumnChunk) error {
	bad := fmt.Errorf("db: metadata column chunk: %w", ErrCorrupt)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > columnChunkSize {
		return bad
	}
	b = b[k:]
	bodies := make([][]byte, ncols)
	for i := range bodies {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return bad
		}
		bodies[i], b = b[k:k+int(l)], b[k+int(l):]
	}
	if len(b) != 0 {
		return bad
	}
	c.Len = int(n)
	c.ints = growTo(c.ints, len(cols))
	c.kinds = growTo(c.kinds, len(cols))
	c.kbuf = growTo(c.kbuf, len(cols))
	for j, col := range cols {
		body := bodies[col]
		if len(body) == 0 || body[0] > 1 {
			return bad
		}
		mixed := body[0] == 1
		body = body[1:]
		ints := c.ints[j][:0]
		var kinds []Kind
		if mixed {
			if len(body) < int(n) {
				return bad
			}
			kinds = append(c.kbuf[j][:0], make([]Kind, n)...)
			c.kbuf[j] = kinds
			for i := range kinds {
				if kinds[i] = Kind(body[i]); kinds[i] != KindInt && kinds[i] != KindNull && kinds[i] != KindMissing {
					return bad
				}
			}
			body = body[n:]
		}
		for i := 0; i < int(n); i++ {
			if mixed && kinds[i] != KindInt {
				ints = append(ints, 0)
				continue
			}
			v, k := binary.Varint(body)
			if k <= 0 {
				return bad
			}
			ints = append(ints, v)
			body = body[k:]
		}
		if len(body) != 0 {
			return bad
		}
		c.ints[j], c.kinds[j] = ints, kinds
	}
	return nil
}

// growTo returns s with n elements, keeping those it has.
func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s[:n]
	}
	return append(s, make([]T, n-len(s))...)
}
