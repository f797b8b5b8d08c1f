package db

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// orderedValues lists values in their documented sort order; equal
// neighbours are marked by the same group number.
var orderedValues = []struct {
	group int
	v     Value
}{
	{0, Missing()},
	{1, Null()},
	{2, Bool(false)},
	{3, Bool(true)},
	{4, Float(math.NaN())},
	{5, Float(math.Inf(-1))},
	{6, Float(-1e300)},
	{7, Int(math.MinInt64)},
	{8, Int(-3)},
	{8, Float(-3)},
	{9, Float(-2.5)},
	{10, Float(-1e-300)},
	{11, Int(0)},
	{11, Float(0)},
	{11, Float(math.Copysign(0, -1))},
	{12, Float(1e-300)},
	{13, Float(0.5)},
	{14, Int(1)},
	{15, Int(1<<53 + 0)},
	{16, Int(1<<53 + 1)},
	{17, Int(math.MaxInt64 - 1)},
	{18, Int(math.MaxInt64)},
	{19, Float(1e19)},
	{20, Float(math.Inf(1))},
	{21, String("")},
	{22, String("\x00")},
	{23, String("\x00a")},
	{24, String("A")},
	{25, String("a")},
	{26, String("a\x00")},
	{27, String("ab")},
	{28, String("b")},
	{29, List()},
	{30, List(Null())},
	{31, List(Int(1))},
	{32, List(Int(1), Int(2))},
	{33, List(Int(2))},
	{34, List(String("a"))},
	{35, Doc()},
	{36, Doc(Field{"a", Int(1)})},
	{37, Doc(Field{"a", Int(1)}, Field{"b", Int(0)})},
	{38, Doc(Field{"a", Int(2)})},
	{39, Doc(Field{"b", Int(0)})},
}

func TestCompareOrder(t *testing.T) {
	for i, a := range orderedValues {
		for j, b := range orderedValues {
			want := cmpInt(a.group, b.group)
			if got := Compare(a.v, b.v); got != want {
				t.Errorf("Compare(%v, %v) = %d, want %d (rows %d, %d)", a.v, b.v, got, want, i, j)
			}
		}
	}
}

func TestKeyEncodingPreservesOrder(t *testing.T) {
	for i, a := range orderedValues {
		ka := AppendKey(nil, a.v)
		for j, b := range orderedValues {
			kb := AppendKey(nil, b.v)
			want := cmpInt(a.group, b.group)
			if got := bytes.Compare(ka, kb); got != want {
				t.Errorf("key order of %v vs %v = %d, want %d (rows %d, %d)", a.v, b.v, got, want, i, j)
			}
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, tc := range orderedValues {
		k := AppendKey(nil, tc.v)
		got, rest, err := DecodeKey(append(k, 0xAB))
		if err != nil {
			t.Fatalf("DecodeKey(%v): %v", tc.v, err)
		}
		if !bytes.Equal(rest, []byte{0xAB}) {
			t.Errorf("DecodeKey(%v) left %x", tc.v, rest)
		}
		if !Equal(got, tc.v) {
			t.Errorf("DecodeKey(AppendKey(%v)) = %v", tc.v, got)
		}
	}
}

func TestKeyOrderRandomNumbers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]Value, 2000)
	for i := range vals {
		switch r.IntN(4) {
		case 0:
			vals[i] = Int(r.Int64() - math.MaxInt64/2)
		case 1:
			vals[i] = Int(int64(r.IntN(100) - 50))
		case 2:
			vals[i] = Float(r.NormFloat64() * 1e6)
		default:
			vals[i] = Float(float64(r.IntN(100) - 50))
		}
	}
	byValue := append([]Value(nil), vals...)
	sort.SliceStable(byValue, func(i, j int) bool { return Compare(byValue[i], byValue[j]) < 0 })
	byKey := append([]Value(nil), vals...)
	sort.SliceStable(byKey, func(i, j int) bool {
		return bytes.Compare(AppendKey(nil, byKey[i]), AppendKey(nil, byKey[j])) < 0
	})
	for i := range vals {
		if Compare(byValue[i], byKey[i]) != 0 {
			t.Fatalf("position %d: by value %v, by key %v", i, byValue[i], byKey[i])
		}
	}
}

func TestRecordRoundTripAndLookup(t *testing.T) {
	doc := Doc(
		Field{"filepath", String("/data/a.png")},
		Field{"tags", Strings([]string{"dup", "train"})},
		Field{"metadata", Doc(Field{"width", Int(32)}, Field{"height", Int(24)}, Field{"mime_type", String("image/png")})},
		Field{"ground_truth", Doc(Field{"label", String("cat")}, Field{"score", Float(0.25)})},
		Field{"flag", Bool(true)},
		Field{"nothing", Null()},
		Field{"vec", Floats([]float64{1, -2.5, 3})},
	)
	rec := EncodeRecord(doc)
	back, err := rec.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(back, doc) {
		t.Fatalf("round trip: got %v want %v", back, doc)
	}
	for path, want := range map[string]Value{
		"filepath":             String("/data/a.png"),
		"metadata.width":       Int(32),
		"metadata.mime_type":   String("image/png"),
		"ground_truth.label":   String("cat"),
		"ground_truth.score":   Float(0.25),
		"ground_truth":         doc.Field("ground_truth"),
		"flag":                 Bool(true),
		"nothing":              Null(),
		"vec":                  Floats([]float64{1, -2.5, 3}),
		"absent":               Missing(),
		"metadata.absent":      Missing(),
		"filepath.deeper":      Missing(),
		"ground_truth.label.x": Missing(),
	} {
		got := rec.Lookup(path)
		if got.Kind() != want.Kind() || !Equal(got, want) {
			t.Errorf("Lookup(%q) = %v (%s), want %v (%s)", path, got, got.Kind(), want, want.Kind())
		}
	}
}

func TestRecordCorruptIsMissing(t *testing.T) {
	rec := EncodeRecord(Doc(Field{"a", String("hello")}))
	for cut := 0; cut < len(rec); cut++ {
		r := rec[:cut]
		_ = r.Lookup("a") // must not panic
		if _, err := r.Decode(); cut > 0 && err == nil {
			t.Errorf("Decode of %d of %d bytes succeeded", cut, len(rec))
		}
	}
}

func TestWithSetsAndUnsetsNestedPaths(t *testing.T) {
	d := Doc(Field{"a", Int(1)})
	d = d.With("g.label", String("cat"))
	if got := d.Path("g.label"); !Equal(got, String("cat")) {
		t.Fatalf("g.label = %v", got)
	}
	d = d.With("g.score", Float(1))
	d = d.With("g.label", Missing())
	if got := d.Path("g.label"); !got.IsMissing() {
		t.Fatalf("unset g.label = %v", got)
	}
	d = d.With("g.score", Missing())
	if got := d.Field("g"); !got.IsMissing() {
		t.Fatalf("empty parent should vanish, got %v", got)
	}
	if got := d.Field("a"); !Equal(got, Int(1)) {
		t.Fatalf("a = %v", got)
	}
}

func TestFromGo(t *testing.T) {
	v, err := FromGo(map[string]any{"label": "cat", "n": 3, "xs": []float32{1, 2}, "ok": true, "z": nil})
	if err != nil {
		t.Fatal(err)
	}
	want := Doc(Field{"label", String("cat")}, Field{"n", Int(3)}, Field{"xs", Floats([]float64{1, 2})}, Field{"ok", Bool(true)}, Field{"z", Null()})
	if !Equal(v, want) {
		t.Fatalf("got %v want %v", v, want)
	}
	if _, err := FromGo(map[string]any{"a.b": 1}); err == nil {
		t.Error("dotted key accepted")
	}
	if _, err := FromGo(struct{}{}); err == nil {
		t.Error("struct accepted")
	}
}
