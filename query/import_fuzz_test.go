package query

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fosql/fosql/db"
)

// fromStdJSON converts what encoding/json decodes (with UseNumber) to the
// db.Value that IMPORT's parser should give for the same text; ok is false
// for a number that parseJSONValue rightly refuses (beyond float64).
func fromStdJSON(x any) (v db.Value, ok bool) {
	switch t := x.(type) {
	case nil:
		return db.Null(), true
	case bool:
		return db.Bool(t), true
	case string:
		return db.String(t), true
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil && !strings.ContainsAny(string(t), ".eE") {
			return db.Int(n), true
		}
		f, err := strconv.ParseFloat(string(t), 64)
		return db.Float(f), err == nil
	case []any:
		items := make([]db.Value, len(t))
		for i, e := range t {
			if items[i], ok = fromStdJSON(e); !ok {
				return v, false
			}
		}
		return db.List(items...), true
	case map[string]any:
		fields := make([]db.Field, 0, len(t))
		for k, e := range t {
			fv, ok := fromStdJSON(e)
			if !ok {
				return v, false
			}
			fields = append(fields, db.Field{Name: k, Value: fv})
		}
		return db.Doc(fields...), true
	}
	panic(fmt.Sprintf("unexpected %T", x))
}

// surrogateEscape matches the \udc80-\udcff escapes by which fosql's JSON
// keeps bytes that are not UTF-8; encoding/json reads them as U+FFFD.
var surrogateEscape = regexp.MustCompile(`(?i)\\udc[89a-f][0-9a-f]`)

// jsonDepth is the deepest nesting of arrays and objects in valid JSON.
func jsonDepth(b []byte) int {
	d, deepest := 0, 0
	in, esc := false, false
	for _, c := range b {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in:
		case c == '[' || c == '{':
			d++
			deepest = max(deepest, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return deepest
}

// FuzzJSONValue checks the JSON-lines record parser of IMPORT: it never
// panics; a value it accepts, written out by AppendJSON (as EXPORT and
// INTO OUTFILE write it) and read again, is equal to the first; on valid
// UTF-8 JSON it agrees with encoding/json, refusing only numbers beyond
// float64 and nesting deeper than maxJSONDepth.
func FuzzJSONValue(f *testing.F) {
	for _, s := range []string{
		`{"filepath": "a.png", "tags": ["x", "y"], "n": 3, "f": 2.5e-3, "ok": true, "no": null}`,
		`[1, -0, 1e400, 9223372036854775808, -9223372036854775809, 0.1]`,
		`"caf\u00e9 \ud83d\ude00 \udcff \ud800x \\ \/ \b\f\n\r\t"`,
		`{"a": {"b": {"c": [[[]]]}}, "a": 1}`,
		"\t 17 \r\n",
		strings.Repeat("[", 70) + strings.Repeat("]", 70),
		strings.Repeat(`{"k":`, 65) + "1" + strings.Repeat("}", 65),
		"\"\xff\xfe raw bytes\"",
		`{"x": 1,}`, `tru`, `-`, `1.2.3`, `"\u12"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseJSONValue(data)
		if utf8.Valid(data) && json.Valid(data) && !surrogateEscape.Match(data) {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var x any
			if jerr := dec.Decode(&x); jerr != nil {
				t.Fatalf("encoding/json: %v", jerr)
			}
			want, ok := fromStdJSON(x)
			switch {
			case err == nil && !ok:
				t.Fatalf("%q: accepted %v, a number beyond float64", data, v)
			case err == nil && !db.Equal(v, want):
				t.Fatalf("%q: parsed %v, encoding/json reads %v", data, v, want)
			case err != nil && ok && jsonDepth(data) <= maxJSONDepth:
				t.Fatalf("%q: valid JSON refused: %v", data, err)
			case err != nil && ok && !strings.Contains(err.Error(), "nested deeper"):
				t.Fatalf("%q: deep JSON refused for another reason: %v", data, err)
			}
		}
		if err != nil {
			return
		}
		out := AppendJSON(nil, v)
		again, err := parseJSONValue(out)
		if err != nil {
			t.Fatalf("%q parsed as %v, written as %s, does not parse again: %v", data, v, out, err)
		}
		if !db.Equal(again, v) {
			t.Fatalf("%q parsed as %v, written as %s, parses as %v", data, v, out, again)
		}
		if !json.Valid(out) {
			t.Fatalf("AppendJSON wrote invalid JSON %s", out)
		}
	})
}

// npyFile builds an .npy file of the given version and header dictionary
// followed by body.
func npyFile(major byte, dict string, body []byte) []byte {
	b := append([]byte(npyMagic), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dict)))
	}
	return append(append(b, dict...), body...)
}

// FuzzNpyHeader feeds arbitrary bytes to IMPORT's .npy reader: the header
// reader and the row reader never panic, a row never needs more than
// maxRecordBytes, every refusal wraps ErrInput, the header leaves the
// reader at the first data byte, and the rows read are the file's values.
func FuzzNpyHeader(f *testing.F) {
	var hdr bytes.Buffer
	if err := writeNpyHeader(&hdr, 2, 3); err != nil {
		f.Fatal(err)
	}
	var body []byte
	for _, x := range []float32{1, 2, 3, -4, 0.5, 6} {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(x))
	}
	f.Add(append(hdr.Bytes(), body...))
	f.Add(npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }\n",
		binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1)), math.Float64bits(math.NaN()))))
	f.Add(npyFile(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1)}", body[:8]))
	f.Add(npyFile(3, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1)}", body[:4]))
	f.Add(npyFile(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}", body[:4]))
	f.Add(npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4611686018427387904)}", body))
	f.Add([]byte("\x93NUMPY\x09\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := readNpyHeader(r)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("header error %v does not wrap ErrInput", err)
			}
			return
		}
		if h.rows < 0 || h.cols <= 0 || (h.width != 4 && h.width != 8) || h.cols*h.width > maxRecordBytes {
			t.Fatalf("implausible header %+v", h)
		}
		start := len(data) - r.Len()
		if h.rows > 0 && r.Len() < h.cols*h.width {
			// Too short for one row: refused at the first row (the seed of
			// shape (3, 1) with two rows covers it) after allocating the
			// row buffer, which can be maxRecordBytes; skipped here to keep
			// each execution fast.
			return
		}
		rows := newNpyRows(h, r)
		for i := 0; i < h.rows; i++ {
			row, err := rows.next()
			if err != nil {
				if !errors.Is(err, ErrInput) {
					t.Fatalf("row %d: error %v does not wrap ErrInput", i, err)
				}
				return
			}
			if len(row) != h.cols {
				t.Fatalf("row %d has %d values, header says %d", i, len(row), h.cols)
			}
			for j, x := range row {
				off := start + (i*h.cols+j)*h.width
				var want float64
				if h.width == 4 {
					want = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[off:])))
				} else {
					want = math.Float64frombits(binary.LittleEndian.Uint64(data[off:]))
				}
				if x != want || math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("row %d col %d = %v, file holds %v", i, j, x, want)
				}
			}
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	})
}
