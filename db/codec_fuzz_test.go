package db

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// fuzzValues builds values from fuzz bytes: each byte picks a kind and
// the bytes after it fill the value, so that mutating the input explores
// every kind, nesting, the int/float boundary and strings with NUL bytes.
type fuzzValues struct{ b []byte }

func (g *fuzzValues) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *fuzzValues) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], g.b)
	g.b = g.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (g *fuzzValues) str() string {
	n := int(g.byte() % 8)
	if n > len(g.b) {
		n = len(g.b)
	}
	s := string(g.b[:n])
	g.b = g.b[n:]
	return s
}

// value returns the next value; depth bounds the nesting.
func (g *fuzzValues) value(depth int) Value {
	op := g.byte() % 12
	if depth <= 0 && op >= 9 {
		op %= 9
	}
	switch op {
	case 0:
		return Missing()
	case 1:
		return Null()
	case 2:
		return Bool(g.byte()&1 == 1)
	case 3:
		return Int(int64(g.uint64()))
	case 4:
		return Float(math.Float64frombits(g.uint64()))
	case 5:
		return Int(int64(int8(g.byte())))
	case 6:
		// A float equal to an int's float64 (or to a small int), so that
		// ties between kinds and residuals are reached.
		if g.byte()&1 == 0 {
			return Float(float64(int64(g.uint64())))
		}
		return Float(float64(int8(g.byte())))
	case 7:
		// Ints at the edge of float64's precision and of int64's range.
		base := []int64{1 << 53, -(1 << 53), math.MaxInt64, math.MinInt64, 1 << 62}[g.byte()%5]
		return Int(base + int64(int8(g.byte())))
	case 8:
		return String(g.str())
	case 9, 10:
		n := int(g.byte() % 4)
		items := make([]Value, n)
		for i := range items {
			items[i] = g.value(depth - 1)
		}
		return List(items...)
	default:
		n := int(g.byte() % 4)
		fields := make([]Field, n)
		for i := range fields {
			fields[i] = Field{Name: g.str(), Value: g.value(depth - 1)}
		}
		return Doc(fields...)
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// FuzzKeyEncoding checks the order-preserving key encoding. For any two
// values built from the input, the byte order of AppendKey is the order
// of Compare (what every index scan relies on), Compare is antisymmetric,
// and DecodeKey gives back an equal value. The input read as a key, as a
// damaged index would hold it, must not make DecodeKey panic, and a value
// it accepts must encode to a key that decodes to an equal value.
func FuzzKeyEncoding(f *testing.F) {
	f.Add([]byte{3, 1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0, 0})          // int 1, float 1
	f.Add([]byte{7, 0, 1, 6, 0, 1, 0, 0, 0, 0, 0, 0x20, 0})                         // 2^53+1 against 2^53
	f.Add([]byte{7, 2, 0xff, 7, 2, 0})                                              // near MaxInt64
	f.Add([]byte{4, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f, 4, 0, 0, 0, 0, 0, 0, 0xf0, 0xff}) // NaN, -Inf
	f.Add([]byte{8, 2, 'a', 0, 8, 1, 'a'})                                          // "a\x00" against "a"
	f.Add([]byte{9, 2, 5, 1, 8, 1, 'x', 9, 1, 5, 1})                                // lists
	f.Add([]byte{11, 2, 1, 'a', 5, 3, 1, 'b', 1, 11, 1, 1, 'a', 5, 3})              // documents
	f.Add([]byte{11, 1, 0, 9, 1, 0, 10, 2, 0, 1})                                   // empty names, missing items
	for _, v := range []Value{Int(5), Float(-2.5), String("a\x00b"), List(Null(), Bool(true)),
		Doc(Field{"k", Int(1 << 60)}), Int(math.MinInt64), Float(math.NaN())} {
		f.Add(AppendKey(nil, v))
	}
	f.Add([]byte{keyString, 'a', 0, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeKey(t, data)
		g := &fuzzValues{b: data}
		a, b := g.value(3), g.value(3)
		ka, kb := AppendKey(nil, a), AppendKey(nil, b)
		c := Compare(a, b)
		if got := sign(bytes.Compare(ka, kb)); got != c {
			t.Fatalf("Compare(%v, %v) = %d but their keys compare %d\n%x\n%x", a, b, c, got, ka, kb)
		}
		if back := Compare(b, a); back != -c {
			t.Fatalf("Compare(%v, %v) = %d but Compare back = %d", a, b, c, back)
		}
		if Compare(a, a) != 0 {
			t.Fatalf("%v does not equal itself", a)
		}
		for _, k := range []struct {
			v   Value
			key []byte
		}{{a, ka}, {b, kb}} {
			// A key followed by more bytes (a compound index key) must
			// decode to the same value and leave the rest.
			suffix := append(append([]byte(nil), k.key...), 0x42)
			v, rest, err := DecodeKey(suffix)
			if err != nil || !bytes.Equal(rest, []byte{0x42}) || !Equal(v, k.v) {
				t.Fatalf("DecodeKey(AppendKey(%v)) = %v, rest %x, %v", k.v, v, rest, err)
			}
		}
	})
}

// checkDecodeKey feeds arbitrary bytes to DecodeKey.
func checkDecodeKey(t *testing.T, data []byte) {
	t.Helper()
	v, rest, err := DecodeKey(data)
	if err != nil {
		return
	}
	if len(rest) > len(data) {
		t.Fatalf("rest %d bytes longer than the input %d", len(rest), len(data))
	}
	again := AppendKey(nil, v)
	v2, rest2, err := DecodeKey(again)
	if err != nil || len(rest2) != 0 || !Equal(v, v2) {
		t.Fatalf("%v re-encoded as %x decodes to %v, rest %x, %v", v, again, v2, rest2, err)
	}
}

// FuzzRecord checks the stored document encoding. Any document built from
// the input decodes to an equal document, encodes canonically (re-encoding
// gives the same bytes) and answers Lookup for every field and nested path
// as the decoded document does. The input read as a record, as a damaged
// store would hold it, must not make Decode or Lookup panic, and a record
// that decodes re-encodes to a record that decodes to an equal document.
func FuzzRecord(f *testing.F) {
	f.Add([]byte{11, 3, 1, 'a', 5, 3, 1, 'b', 8, 2, 'h', 'i', 1, 'c', 11, 1, 1, 'd', 4, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add([]byte{11, 2, 0, 9, 2, 0, 1, 3, 'x', 'y', 'z', 7, 3, 0xff})
	f.Add([]byte{11, 1, 2, 'a', 0, 10, 1, 10, 1, 10, 1, 1})
	f.Add([]byte(EncodeRecord(Doc(Field{"a", Int(1)}, Field{"b", List(String("x"), Null())}))))
	f.Add([]byte(EncodeRecord(Doc(Field{"n", Doc(Field{"m", Float(2.5)})}))))
	f.Add([]byte{byte(KindDoc), 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01})
	f.Add([]byte{byte(KindList), 3, 200, byte(KindNull), byte(KindNull)})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRecordDecode(t, Record(data))
		g := &fuzzValues{b: data}
		var fields []Field
		for len(g.b) > 0 && len(fields) < 8 {
			fields = append(fields, Field{Name: g.str(), Value: g.value(3)})
		}
		doc := Doc(fields...)
		rec := EncodeRecord(doc)
		got, err := rec.Decode()
		if err != nil {
			t.Fatalf("Decode(EncodeRecord(%v)): %v", doc, err)
		}
		if !Equal(got, doc) {
			t.Fatalf("round trip: %v became %v", doc, got)
		}
		if again := EncodeRecord(got); !bytes.Equal(again, rec) {
			t.Fatalf("re-encoding %v: %x, first %x", got, []byte(again), []byte(rec))
		}
		checkLookups(t, rec, doc, "", 2)
	})
}

// checkLookups asserts rec.Lookup(prefix+name) equals each field of doc,
// down depth levels of nested documents.
func checkLookups(t *testing.T, rec Record, doc Value, prefix string, depth int) {
	t.Helper()
	for _, fl := range doc.Fields() {
		if strings.Contains(fl.Name, ".") {
			continue // a dotted path cannot name it
		}
		path := prefix + fl.Name
		if got := rec.Lookup(path); !Equal(got, fl.Value) {
			t.Fatalf("Lookup(%q) = %v, want %v", path, got, fl.Value)
		}
		if fl.Value.Kind() == KindDoc && depth > 0 {
			checkLookups(t, rec, fl.Value, path+".", depth-1)
		}
	}
}

// checkRecordDecode feeds arbitrary bytes to Record.Decode and Lookup.
func checkRecordDecode(t *testing.T, rec Record) {
	t.Helper()
	for _, p := range []string{"a", "b", "n.m", "", "a.b.c"} {
		rec.Lookup(p)
	}
	v, err := rec.Decode()
	if err != nil {
		if err != ErrCorrupt {
			t.Fatalf("Decode error %v is not ErrCorrupt", err)
		}
		return
	}
	again, err := EncodeRecord(v).Decode()
	if err != nil || !Equal(again, v) {
		t.Fatalf("%v re-encoded decodes to %v, %v", v, again, err)
	}
	// Lookup agrees with the decoded document where the record is in
	// canonical form (fields sorted, names unique).
	fields := v.Fields()
	for i := 1; i < len(fields); i++ {
		if fields[i-1].Name >= fields[i].Name {
			return
		}
	}
	for _, fl := range fields {
		if strings.Contains(fl.Name, ".") {
			continue
		}
		if got := rec.Lookup(fl.Name); !Equal(got, fl.Value) {
			t.Fatalf("Lookup(%q) = %v, decoded %v", fl.Name, got, fl.Value)
		}
	}
}
