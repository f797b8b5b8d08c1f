package db

import (
	"strings"
	"testing"
)

func TestRecordInt(t *testing.T) {
	r := EncodeRecord(Doc(
		Field{"a", Int(-7)},
		Field{"m", Doc(Field{"w", Int(1 << 40)}, Field{"f", Float(3)}, Field{"s", String("x")})},
		Field{"n", Null()},
	))
	for _, tc := range []struct {
		path string
		want int64
		ok   bool
	}{
		{"a", -7, true}, {"m.w", 1 << 40, true}, {"m.f", 0, false}, {"m.s", 0, false}, {"n", 0, false},
		{"m", 0, false}, {"m.missing", 0, false}, {"a.b", 0, false}, {"", 0, false},
	} {
		if got, ok := r.Int(tc.path); got != tc.want || ok != tc.ok {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := Record(r[:len(r)-3]).Int("n"); ok {
		t.Error("a cut record gave an int")
	}
}

// TestRecordIntAtNames reads ints through a path split once, past field
// names that share a first byte, names of more than 127 bytes (two-byte
// lengths) and names that sort after the one asked for, and agrees with
// Lookup on every path.
func TestRecordIntAtNames(t *testing.T) {
	long := strings.Repeat("w", 200)
	r := EncodeRecord(Doc(
		Field{"filepath", String("/data/img.jpg")},
		Field{"m", Int(1)},
		Field{"ma", Doc(Field{long, Int(5)}, Field{long + "x", Int(6)})},
		Field{"metadata", Doc(Field{"height", Int(24)}, Field{"width", Int(32)})},
		Field{"mz", Int(9)},
	))
	for _, tc := range []struct {
		path string
		want int64
		ok   bool
	}{
		{"m", 1, true}, {"ma." + long, 5, true}, {"ma." + long + "x", 6, true}, {"ma.w", 0, false},
		{"metadata.width", 32, true}, {"metadata.height", 24, true}, {"metadata.w", 0, false},
		{"mz", 9, true}, {"mb", 0, false}, {"a", 0, false}, {"zz", 0, false}, {"filepath", 0, false},
	} {
		got, ok := r.IntAt(SplitPath(tc.path))
		if got != tc.want || ok != tc.ok {
			t.Errorf("IntAt(%q) = %d, %v; want %d, %v", tc.path, got, ok, tc.want, tc.ok)
		}
		if v := r.Lookup(tc.path); (v.Kind() == KindInt) != tc.ok || (tc.ok && v.AsInt() != tc.want) {
			t.Errorf("Lookup(%q) = %v, IntAt says %d, %v", tc.path, v, got, ok)
		}
	}
	if _, ok := r.IntAt(nil); ok {
		t.Error("an empty path gave an int")
	}
	for cut := range len(r) {
		if v, ok := Record(r[:cut]).IntAt(SplitPath("mz")); ok {
			t.Errorf("a record cut at %d of %d gave %d", cut, len(r), v)
		}
	}
}
