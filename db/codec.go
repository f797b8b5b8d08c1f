package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrCorrupt reports a stored value that cannot be decoded.
var ErrCorrupt = errors.New("db: corrupt record")

// Record is a document in its stored binary form. A record can answer a
// dotted-path lookup without decoding the rest of the document, which is
// what lets a full scan evaluate a filter quickly.
//
// Layout of an encoded value: one kind byte, then
//   - null, missing: nothing
//   - bool: one byte
//   - int, float: 8 bytes little-endian (int64 or float64 bits)
//   - string: uvarint length, bytes
//   - list: uvarint body length, uvarint count, items
//   - document: uvarint body length, uvarint count, then per field
//     uvarint name length, name, value; fields sorted by name.
//
// A non-empty list whose items are all floats (a vector) takes one of two
// compact forms instead, told apart by their first byte, which is no
// Kind: packFloat32 when every item is exactly a float32 (4 bytes each),
// packFloat64 otherwise (8 bytes each); both are uvarint body length,
// uvarint count, then the little-endian values. They decode to the same
// list of Float values as the general form, so nothing above the codec
// sees them; Record.Vector reads them straight into a []float32.
type Record []byte

// The first bytes of the compact forms of a list of floats. They follow
// the kinds, which fit in three bits.
const (
	packFloat32 byte = 0x10
	packFloat64 byte = 0x11
)

// EncodeRecord encodes a document value. A non-document encodes as an
// empty document.
func EncodeRecord(doc Value) Record {
	if doc.kind != KindDoc {
		doc = Value{kind: KindDoc}
	}
	return Record(appendValue(nil, doc))
}

// Decode returns the whole document.
func (r Record) Decode() (Value, error) {
	if len(r) == 0 {
		return Value{kind: KindDoc}, nil
	}
	v, rest, err := decodeValue(r)
	if err != nil {
		return Value{}, err
	}
	if len(rest) != 0 || v.kind != KindDoc {
		return Value{}, ErrCorrupt
	}
	return v, nil
}

// Lookup returns the value at a dotted path, decoding only that value.
// A corrupt record yields missing.
func (r Record) Lookup(path string) Value {
	b := []byte(r)
	for {
		name, rest, more := strings.Cut(path, ".")
		sub, ok := fieldBytes(b, name)
		if !ok {
			return Value{}
		}
		if !more {
			v, _, err := decodeValue(sub)
			if err != nil {
				return Value{}
			}
			return v
		}
		b, path = sub, rest
	}
}

// fieldBytes finds the encoded value of a document's field. Fields are
// sorted by name, so the walk stops at the first name past the one asked
// for. It runs once per record and path level in a filtered scan, hence
// the one-byte fast path for the name lengths.
func fieldBytes(b []byte, name string) ([]byte, bool) {
	if len(b) == 0 || Kind(b[0]) != KindDoc {
		return nil, false
	}
	body, _, n, ok := counted(b[1:])
	if !ok {
		return nil, false
	}
	for i := uint64(0); i < n; i++ {
		if len(body) == 0 {
			return nil, false
		}
		l, k := uint64(body[0]), 1
		if l >= 0x80 {
			if l, k = binary.Uvarint(body); k <= 0 {
				return nil, false
			}
		}
		if uint64(len(body)-k) < l {
			return nil, false
		}
		fname := body[k : k+int(l)]
		body = body[k+int(l):]
		size, ok := valueSize(body)
		if !ok {
			return nil, false
		}
		// Names differ in their first byte most of the time.
		if len(fname) > 0 && len(name) > 0 && fname[0] != name[0] {
			if fname[0] > name[0] {
				return nil, false
			}
		} else if string(fname) == name {
			return body[:size], true
		} else if string(fname) > name {
			return nil, false
		}
		body = body[size:]
	}
	return nil, false
}

func lengthPrefixed(b []byte) (body, rest []byte, ok bool) {
	l, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < l {
		return nil, nil, false
	}
	return b[k : k+int(l)], b[k+int(l):], true
}

// counted splits a length-prefixed list or document body off b and reads
// its item count; items follows the count. A count larger than the body
// could hold is refused.
func counted(b []byte) (items, rest []byte, n uint64, ok bool) {
	body, rest, ok := lengthPrefixed(b)
	if !ok {
		return nil, nil, 0, false
	}
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)) {
		return nil, nil, 0, false
	}
	return body[k:], rest, n, true
}

// valueSize is the length in bytes of the encoded value at the start of b.
func valueSize(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch Kind(b[0]) {
	case KindMissing, KindNull:
		return 1, true
	case KindBool:
		return 2, len(b) >= 2
	case KindInt, KindFloat:
		return 9, len(b) >= 9
	case KindString, KindList, KindDoc, Kind(packFloat32), Kind(packFloat64):
		l, k := binary.Uvarint(b[1:])
		if k <= 0 || uint64(len(b)-1-k) < l {
			return 0, false
		}
		return 1 + k + int(l), true
	}
	return 0, false
}

func appendValue(dst []byte, v Value) []byte {
	if v.kind == KindList {
		if pack, ok := floatPacking(v.list); ok {
			return appendPackedFloats(dst, pack, v.list)
		}
	}
	dst = append(dst, byte(v.kind))
	switch v.kind {
	case KindBool:
		dst = append(dst, byte(v.num))
	case KindInt, KindFloat:
		dst = binary.LittleEndian.AppendUint64(dst, v.num)
	case KindString:
		dst = binary.AppendUvarint(dst, uint64(len(v.str)))
		dst = append(dst, v.str...)
	case KindList:
		var body []byte
		body = binary.AppendUvarint(body, uint64(len(v.list)))
		for _, x := range v.list {
			body = appendValue(body, x)
		}
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		dst = append(dst, body...)
	case KindDoc:
		var body []byte
		body = binary.AppendUvarint(body, uint64(len(v.doc)))
		for _, f := range v.doc {
			body = binary.AppendUvarint(body, uint64(len(f.Name)))
			body = append(body, f.Name...)
			body = appendValue(body, f.Value)
		}
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		dst = append(dst, body...)
	}
	return dst
}

func decodeValue(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, ErrCorrupt
	}
	k := Kind(b[0])
	b = b[1:]
	switch k {
	case Kind(packFloat32), Kind(packFloat64):
		width := packWidth(byte(k))
		body, rest, n, ok := packedBody(b, width)
		if !ok {
			return Value{}, nil, ErrCorrupt
		}
		items := make([]Value, n)
		for i := range items {
			items[i] = Float(packedFloat(body, i, width))
		}
		return Value{kind: KindList, list: items}, rest, nil
	case KindMissing, KindNull:
		return Value{kind: k}, b, nil
	case KindBool:
		if len(b) < 1 {
			return Value{}, nil, ErrCorrupt
		}
		return Bool(b[0] == 1), b[1:], nil
	case KindInt:
		if len(b) < 8 {
			return Value{}, nil, ErrCorrupt
		}
		return Value{kind: KindInt, num: binary.LittleEndian.Uint64(b)}, b[8:], nil
	case KindFloat:
		if len(b) < 8 {
			return Value{}, nil, ErrCorrupt
		}
		return Float(math.Float64frombits(binary.LittleEndian.Uint64(b))), b[8:], nil
	case KindString:
		body, rest, ok := lengthPrefixed(b)
		if !ok {
			return Value{}, nil, ErrCorrupt
		}
		return String(string(body)), rest, nil
	case KindList:
		body, rest, n, ok := counted(b)
		if !ok {
			return Value{}, nil, ErrCorrupt
		}
		items := make([]Value, 0, n)
		for i := uint64(0); i < n; i++ {
			var x Value
			var err error
			x, body, err = decodeValue(body)
			if err != nil {
				return Value{}, nil, err
			}
			items = append(items, x)
		}
		return Value{kind: KindList, list: items}, rest, nil
	case KindDoc:
		body, rest, n, ok := counted(b)
		if !ok {
			return Value{}, nil, ErrCorrupt
		}
		fields := make([]Field, 0, n)
		for i := uint64(0); i < n; i++ {
			name, r, ok := lengthPrefixed(body)
			if !ok {
				return Value{}, nil, ErrCorrupt
			}
			var x Value
			var err error
			x, body, err = decodeValue(r)
			if err != nil {
				return Value{}, nil, err
			}
			fields = append(fields, Field{string(name), x})
		}
		return Value{kind: KindDoc, doc: fields}, rest, nil
	}
	return Value{}, nil, ErrCorrupt
}

// Order-preserving key encoding. Each value starts with a tag byte that
// follows the cross-kind order; missing is the lowest so that it sorts
// first in ascending scans and last in descending ones.
const (
	keyMissing byte = 0x01
	keyNull    byte = 0x02
	keyBool    byte = 0x03
	keyNumber  byte = 0x04
	keyString  byte = 0x05
	keyList    byte = 0x06
	keyDoc     byte = 0x07
	keyEnd     byte = 0x00 // ends a list or document
)

// AppendKey appends the order-preserving encoding of v: for any values a
// and b, bytes.Compare(AppendKey(nil, a), AppendKey(nil, b)) has the sign
// of Compare(a, b). Numbers encode as their float64 in sortable form
// followed by an int's residual beyond float64 precision; NaN encodes
// below every other number.
func AppendKey(dst []byte, v Value) []byte {
	switch v.kind {
	case KindMissing:
		return append(dst, keyMissing)
	case KindNull:
		return append(dst, keyNull)
	case KindBool:
		return append(dst, keyBool, byte(v.num))
	case KindInt, KindFloat:
		dst = append(dst, keyNumber)
		f := v.AsFloat()
		var bits uint64
		if !math.IsNaN(f) {
			bits = math.Float64bits(f)
			if bits&(1<<63) != 0 {
				bits = ^bits
			} else {
				bits |= 1 << 63
			}
		}
		dst = binary.BigEndian.AppendUint64(dst, bits)
		return binary.BigEndian.AppendUint64(dst, uint64(intResidual(v))^(1<<63))
	case KindString:
		dst = append(dst, keyString)
		return appendEscaped(dst, v.str)
	case KindList:
		dst = append(dst, keyList)
		for _, x := range v.list {
			dst = AppendKey(dst, x)
		}
		return append(dst, keyEnd)
	case KindDoc:
		dst = append(dst, keyDoc)
		for _, f := range v.doc {
			dst = append(dst, 0x01)
			dst = appendEscaped(dst, f.Name)
			dst = AppendKey(dst, f.Value)
		}
		return append(dst, keyEnd)
	}
	return dst
}

// appendEscaped writes s with 0x00 escaped as 0x00 0xFF and a 0x00 0x00
// terminator, so that a prefix sorts before its extensions.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, 0, 0)
}

// DecodeKey decodes one value written by AppendKey and returns the rest.
func DecodeKey(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, ErrCorrupt
	}
	tag := b[0]
	b = b[1:]
	switch tag {
	case keyMissing:
		return Value{}, b, nil
	case keyNull:
		return Null(), b, nil
	case keyBool:
		if len(b) < 1 {
			return Value{}, nil, ErrCorrupt
		}
		return Bool(b[0] == 1), b[1:], nil
	case keyNumber:
		if len(b) < 16 {
			return Value{}, nil, ErrCorrupt
		}
		bits := binary.BigEndian.Uint64(b)
		res := int64(binary.BigEndian.Uint64(b[8:]) ^ (1 << 63))
		b = b[16:]
		if bits == 0 {
			return Float(math.NaN()), b, nil
		}
		if bits&(1<<63) != 0 {
			bits &^= 1 << 63
		} else {
			bits = ^bits
		}
		f := math.Float64frombits(bits)
		if res != 0 {
			if f >= 0x1p63 {
				return Int(res + math.MaxInt64 + 1), b, nil
			}
			return Int(int64(f) + res), b, nil
		}
		return Float(f), b, nil
	case keyString:
		s, rest, err := decodeEscaped(b)
		return String(s), rest, err
	case keyList:
		var items []Value
		for {
			if len(b) == 0 {
				return Value{}, nil, ErrCorrupt
			}
			if b[0] == keyEnd {
				return Value{kind: KindList, list: items}, b[1:], nil
			}
			var x Value
			var err error
			x, b, err = DecodeKey(b)
			if err != nil {
				return Value{}, nil, err
			}
			items = append(items, x)
		}
	case keyDoc:
		var fields []Field
		for {
			if len(b) == 0 {
				return Value{}, nil, ErrCorrupt
			}
			if b[0] == keyEnd {
				return Value{kind: KindDoc, doc: fields}, b[1:], nil
			}
			name, rest, err := decodeEscaped(b[1:])
			if err != nil {
				return Value{}, nil, err
			}
			var x Value
			x, b, err = DecodeKey(rest)
			if err != nil {
				return Value{}, nil, err
			}
			fields = append(fields, Field{name, x})
		}
	}
	return Value{}, nil, ErrCorrupt
}

func decodeEscaped(b []byte) (string, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		if i+1 >= len(b) {
			return "", nil, ErrCorrupt
		}
		switch b[i+1] {
		case 0:
			out = append(out, b[:i]...)
			return string(out), b[i+2:], nil
		case 0xFF:
			out = append(out, b[:i+1]...)
			b = b[i+2:]
			i = -1
		default:
			return "", nil, ErrCorrupt
		}
	}
	return "", nil, ErrCorrupt
}

// floatPacking tells whether a list takes a compact form, and which: it
// must have items, all floats; packFloat32 when each is exactly a float32
// (NaN and infinities included, with their bits kept only under
// packFloat64).
func floatPacking(items []Value) (byte, bool) {
	if len(items) == 0 {
		return 0, false
	}
	pack := packFloat32
	for _, x := range items {
		if x.kind != KindFloat {
			return 0, false
		}
		f := math.Float64frombits(x.num)
		if pack == packFloat32 && float64(float32(f)) != f {
			pack = packFloat64 // NaN lands here too: its payload is kept
		}
	}
	return pack, true
}

// appendPackedFloats appends the compact form pack of a list of floats.
func appendPackedFloats(dst []byte, pack byte, items []Value) []byte {
	width := packWidth(pack)
	n := uint64(len(items))
	dst = append(dst, pack)
	dst = binary.AppendUvarint(dst, uint64(uvarintLen(n)+len(items)*width))
	dst = binary.AppendUvarint(dst, n)
	for _, x := range items {
		if width == 4 {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(math.Float64frombits(x.num))))
		} else {
			dst = binary.LittleEndian.AppendUint64(dst, x.num)
		}
	}
	return dst
}

// uvarintLen is the length of n's uvarint encoding.
func uvarintLen(n uint64) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// packWidth is the size of one value in compact form pack.
func packWidth(pack byte) int {
	if pack == packFloat32 {
		return 4
	}
	return 8
}

// packedBody splits a compact list's values off b (what follows its first
// byte) and reads their count; a body that does not hold exactly count
// values of width bytes is refused.
func packedBody(b []byte, width int) (body, rest []byte, n int, ok bool) {
	items, rest, count, ok := counted(b)
	if !ok || count == 0 || uint64(len(items)) != count*uint64(width) {
		return nil, nil, 0, false
	}
	return items, rest, int(count), true
}

// packedFloat is value i of a compact list's body.
func packedFloat(body []byte, i, width int) float64 {
	if width == 4 {
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])))
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(body[8*i:]))
}

// ErrNotVector is returned by Record.Vector when the value at the path is
// not a non-empty list of numbers.
var ErrNotVector = errors.New("db: not a list of numbers")

// VectorRangeError is returned by Record.Vector for an item that a
// float32 cannot hold: not finite, or beyond float32's range.
type VectorRangeError struct {
	Index int     // the item's position in the list
	Value float64 // its value
}

// Error names the item and its value.
func (e *VectorRangeError) Error() string {
	return fmt.Sprintf("db: item %d of the vector (%g) is not a finite float32", e.Index, e.Value)
}

// Vector reads the list of numbers at a dotted path into dst[:0] as
// float32 and returns it, without building a Value for each item: a
// vector stored in packFloat32 form is copied as it is, one in
// packFloat64 form or as a general list of ints and floats is converted.
// It returns ErrNotVector when the value is missing, is not a list, is
// empty or holds anything but numbers; ErrCorrupt when the record cannot
// be read; and a *VectorRangeError for the first item that is not finite
// or lies beyond float32's range.
func (r Record) Vector(path string, dst []float32) ([]float32, error) {
	b := []byte(r)
	for {
		name, rest, more := strings.Cut(path, ".")
		sub, ok := fieldBytes(b, name)
		if !ok {
			return dst[:0], ErrNotVector
		}
		if !more {
			return appendVector(dst[:0], sub)
		}
		b, path = sub, rest
	}
}

// appendVector appends the numbers of the encoded list b to dst.
func appendVector(dst []float32, b []byte) ([]float32, error) {
	if len(b) == 0 {
		return dst, ErrCorrupt
	}
	switch b[0] {
	case packFloat32, packFloat64:
		width := packWidth(b[0])
		body, _, n, ok := packedBody(b[1:], width)
		if !ok {
			return dst, ErrCorrupt
		}
		base := len(dst)
		dst = slices.Grow(dst, n)[:base+n]
		for i := 0; i < n; i++ {
			f := packedFloat(body, i, width)
			if err := checkFloat32(i, f); err != nil {
				return dst[:base], err
			}
			dst[base+i] = float32(f)
		}
		return dst, nil
	case byte(KindList):
		body, _, n, ok := counted(b[1:])
		if !ok {
			return dst, ErrCorrupt
		}
		if n == 0 {
			return dst, ErrNotVector
		}
		base := len(dst)
		for i := 0; uint64(i) < n; i++ {
			if len(body) < 9 || (Kind(body[0]) != KindInt && Kind(body[0]) != KindFloat) {
				if size, ok := valueSize(body); !ok || size > len(body) {
					return dst[:base], ErrCorrupt
				}
				return dst[:base], ErrNotVector
			}
			bits := binary.LittleEndian.Uint64(body[1:9])
			f := math.Float64frombits(bits)
			if Kind(body[0]) == KindInt {
				f = float64(int64(bits))
			}
			if err := checkFloat32(i, f); err != nil {
				return dst[:base], err
			}
			dst = append(dst, float32(f))
			body = body[9:]
		}
		return dst, nil
	}
	if _, ok := valueSize(b); !ok {
		return dst, ErrCorrupt
	}
	return dst, ErrNotVector
}

// checkFloat32 refuses item i of a vector when a float32 cannot hold f.
func checkFloat32(i int, f float64) error {
	if math.IsNaN(f) || math.Abs(f) > math.MaxFloat32 {
		return &VectorRangeError{Index: i, Value: f}
	}
	return nil
}
