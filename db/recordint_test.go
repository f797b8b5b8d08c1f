package db

import "testing"

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
