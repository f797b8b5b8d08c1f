package db

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// generalList encodes a list in the general form (a kind byte per item),
// as records written before the compact forms hold vectors.
func generalList(items ...Value) []byte {
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(items)))
	for _, x := range items {
		body = appendValue(body, x)
	}
	out := []byte{byte(KindList)}
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...)
}

// docWith encodes a document {v: <enc>} around an encoded value.
func docWith(enc []byte) Record {
	var body []byte
	body = binary.AppendUvarint(body, 1)
	body = binary.AppendUvarint(body, 1)
	body = append(body, 'v')
	body = append(body, enc...)
	out := []byte{byte(KindDoc)}
	out = binary.AppendUvarint(out, uint64(len(body)))
	return Record(append(out, body...))
}

func TestPackedFloatListsRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		list Value
		pack byte // 0: general form
	}{
		{"float32-exact", Floats([]float64{1, -2.5, 0.125, 3e9}), packFloat32},
		{"float64", Floats([]float64{0.1, 2, -1e300}), packFloat64},
		{"nan and inf", Floats([]float64{math.NaN(), math.Inf(1), 1}), packFloat64},
		{"ints stay ints", List(Int(1), Float(2)), 0},
		{"empty", List(), 0},
		{"strings", Strings([]string{"a"}), 0},
	}
	for _, c := range cases {
		doc := Doc(Field{"v", c.list}, Field{"x", Int(7)})
		rec := EncodeRecord(doc)
		// The value of v starts after the document header and the name.
		enc := rec.encodedField(t, "v")
		if c.pack != 0 && enc[0] != c.pack || c.pack == 0 && enc[0] != byte(c.list.Kind()) {
			t.Errorf("%s: encoded as %#x, want %#x", c.name, enc[0], c.pack)
		}
		got, err := rec.Decode()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if Compare(got, doc) != 0 || got.Path("x").AsInt() != 7 {
			t.Errorf("%s: decoded %v, want %v", c.name, got, doc)
		}
		// Items keep their kinds: JSON shows the same values.
		items := got.Path("v").Items()
		for i, x := range c.list.Items() {
			if items[i].Kind() != x.Kind() || math.Float64bits(items[i].AsFloat()) != math.Float64bits(x.AsFloat()) {
				t.Errorf("%s: item %d is %v (%v), want %v (%v)", c.name, i, items[i], items[i].Kind(), x, x.Kind())
			}
		}
		if c.pack != packFloat64 || c.name == "float64" {
			j1, e1 := json.Marshal(got.Interface())
			j2, e2 := json.Marshal(doc.Interface())
			if e1 != nil || e2 != nil || string(j1) != string(j2) {
				t.Errorf("%s: JSON %s (%v), want %s (%v)", c.name, j1, e1, j2, e2)
			}
		}
		if l := rec.Lookup("v"); Compare(l, c.list) != 0 {
			t.Errorf("%s: Lookup = %v", c.name, l)
		}
	}
	// A 128-float vector of float32 values takes 4 bytes a value.
	vec := make([]float64, 128)
	for i := range vec {
		vec[i] = float64(float32(i) / 7)
	}
	if n := len(EncodeRecord(Doc(Field{"v", Floats(vec)}))); n > 128*4+16 {
		t.Errorf("128 float32 values take %d bytes", n)
	}
}

// encodedField returns the encoded value of a top-level field.
func (r Record) encodedField(t *testing.T, name string) []byte {
	t.Helper()
	b, ok := fieldBytes(r, name)
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return b
}

func TestRecordVector(t *testing.T) {
	f32 := Floats([]float64{1, -2.5, 0.25})
	want := []float32{1, -2.5, 0.25}
	for name, rec := range map[string]Record{
		"packed float32": EncodeRecord(Doc(Field{"v", f32})),
		"packed float64": EncodeRecord(Doc(Field{"v", Floats([]float64{1, -2.5, 0.25 + 1e-12})})),
		"general floats": docWith(generalList(Float(1), Float(-2.5), Float(0.25))),
		"general ints":   docWith(generalList(Int(1), Float(-2.5), Float(0.25))),
	} {
		buf := make([]float32, 0, 1)
		got, err := rec.Vector("v", buf)
		if err != nil || len(got) != 3 {
			t.Fatalf("%s: %v, %v", name, got, err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
	}
	nested := EncodeRecord(Doc(Field{"emb", Doc(Field{"clip", f32})}))
	if got, err := nested.Vector("emb.clip", nil); err != nil || len(got) != 3 {
		t.Errorf("nested: %v, %v", got, err)
	}
	for name, rec := range map[string]Record{
		"missing":  EncodeRecord(Doc(Field{"w", f32})),
		"string":   EncodeRecord(Doc(Field{"v", String("x")})),
		"empty":    EncodeRecord(Doc(Field{"v", List()})),
		"strings":  EncodeRecord(Doc(Field{"v", List(Float(1), String("x"))})),
		"document": EncodeRecord(Doc(Field{"v", Doc(Field{"a", Int(1)})})),
	} {
		if _, err := rec.Vector("v", nil); !errors.Is(err, ErrNotVector) {
			t.Errorf("%s: err = %v, want ErrNotVector", name, err)
		}
	}
	for name, bad := range map[string]float64{"NaN": math.NaN(), "+Inf": math.Inf(1), "1e300": 1e300} {
		rec := EncodeRecord(Doc(Field{"v", Floats([]float64{1, 2, bad})}))
		var re *VectorRangeError
		if _, err := rec.Vector("v", nil); !errors.As(err, &re) || re.Index != 2 {
			t.Errorf("%s: err = %v, want a VectorRangeError at item 2", name, err)
		}
	}
	// A damaged compact list is corrupt, not a shorter vector.
	rec := EncodeRecord(Doc(Field{"v", f32}))
	enc := rec.encodedField(t, "v")
	enc[2] = 5 // the count: 5 values in a body of 3
	if _, err := rec.Vector("v", nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged count: err = %v, want ErrCorrupt", err)
	}
	if _, err := rec.Decode(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged count: Decode err = %v, want ErrCorrupt", err)
	}
}

func TestVectorIndexFollowsTheVersion(t *testing.T) {
	ctx := context.Background()
	d, err := Open(MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, _ := d.CreateDataset("v")
	if _, err := ds.Add(ctx, []NewSample{{Filepath: "/a"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ds.VectorIndex("field:emb|cosine"); ok || err != nil {
		t.Fatalf("an index before any was stored: ok %v, err %v", ok, err)
	}
	data := make([]byte, 3*vectorIndexPiece+17) // several pieces
	for i := range data {
		data[i] = byte(i * 7)
	}
	v, _ := ds.Version()
	if err := ds.PutVectorIndex("field:emb|cosine", v, data); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ds.VectorIndex("field:emb|cosine")
	if err != nil || !ok || string(got) != string(data) {
		t.Fatalf("read back %d bytes, ok %v, err %v; want the %d stored", len(got), ok, err, len(data))
	}
	if _, ok, _ := ds.VectorIndex("field:emb|euclidean"); ok {
		t.Fatal("another space's index was returned")
	}
	// Embeddings of other spaces do not see it.
	n := 0
	if err := ds.ScanEmbeddings(ctx, "field:emb|cosine", func(ID, []float32) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("ScanEmbeddings saw %d vectors, err %v", n, err)
	}
	if _, err := ds.Add(ctx, []NewSample{{Filepath: "/b"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ds.VectorIndex("field:emb|cosine"); ok || err != nil {
		t.Fatalf("the index outlived a change of the data: ok %v, err %v", ok, err)
	}
}
