package query

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// writeNpy writes rows as an .npy file of '<f4' or '<f8' values.
func writeNpy(t *testing.T, path string, rows [][]float64, descr string) {
	t.Helper()
	var b bytes.Buffer
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, len(rows), len(rows[0]))
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	b.WriteString(npyMagic + "\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	for _, r := range rows {
		for _, x := range r {
			if descr == "<f4" {
				binary.Write(&b, binary.LittleEndian, float32(x))
			} else {
				binary.Write(&b, binary.LittleEndian, x)
			}
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openMemory opens an in-memory database, closed when the test ends.
func openMemory(t *testing.T) *DB {
	t.Helper()
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func count(t *testing.T, d *DB, sql string) int64 {
	t.Helper()
	r, err := d.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return r.Rows[0][0].AsInt()
}

func TestImportJSONLines(t *testing.T) {
	dir := t.TempDir()
	writePNGs(t, filepath.Join(dir, "img"), 3)
	var lines []string
	for i := range 3 {
		lines = append(lines, fmt.Sprintf(`{"id": "ignored", "filepath": "img/p%04d.png", "tags": ["a", "t%d"], "label": {"name": "cat", "n": %d}, "w": %g}`, i, i, i, float64(i)+0.25))
	}
	file := filepath.Join(dir, "s.jsonl")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644) // no newline at the end
	d := openMemory(t)
	bg := context.Background()
	res, err := d.Exec(bg, "IMPORT INTO ds FROM ?", file)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != 3 || len(res.InsertedIDs) != 3 {
		t.Fatalf("imported %d (%d ids), want 3", res.RowsAffected, len(res.InsertedIDs))
	}
	r, err := d.Query(bg, "SELECT filepath, tags, label.name, label.n, w, metadata.width FROM ds ORDER BY label.n")
	if err != nil {
		t.Fatal(err)
	}
	row := r.Rows[2]
	if got := row[0].AsString(); got != filepath.Join(dir, "img", "p0002.png") {
		t.Fatalf("relative filepath became %q", got)
	}
	if got := fmt.Sprint(row[1].Interface()); got != "[a t2]" {
		t.Fatalf("tags %s", got)
	}
	if row[2].AsString() != "cat" || row[3].AsInt() != 2 || row[4].AsFloat() != 2.25 || row[5].AsInt() != 4 {
		t.Fatalf("fields: %v", row)
	}
	if n := count(t, d, "SELECT count(*) FROM ds WHERE 'a' IN tags"); n != 3 {
		t.Fatalf("tag index: %d", n)
	}
}

func TestImportFailsWholeNamingTheLine(t *testing.T) {
	dir := t.TempDir()
	d := openMemory(t)
	bg := context.Background()
	good := filepath.Join(dir, "good.jsonl")
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"filepath": "/elsewhere/%d.jpg", "tags": ["t%d"], "v": [%d, 1.5]}`+"\n", i, i%3, i)
	}
	os.WriteFile(good, []byte(b.String()), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", good); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, body, want string }{
		{"malformed", `{"filepath": "/x/1.jpg"}` + "\n\n" + `{"filepath": "/x/2.jpg", "tags": [` + "\n", "line 3"},
		{"no filepath", `{"filepath": "/x/1.jpg"}` + "\n" + `{"tags": ["a"]}` + "\n", "line 2: the record has no filepath"},
		{"not an object", `[1, 2]` + "\n", "line 1: a record must be a JSON object"},
		{"insights", `{"filepath": "/x/1.jpg", "insights": {}}` + "\n", "line 1: insights are computed"},
		{"dotted name", `{"filepath": "/x/1.jpg", "a.b": 1}` + "\n", `line 1: field name "a.b"`},
		{"bad tags", `{"filepath": "/x/1.jpg", "tags": [1]}` + "\n", "line 1"},
		{"too deep", `{"filepath": "/x/1.jpg", "a": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}\n", "nested deeper"},
		{"infinite", `{"filepath": "/x/1.jpg", "a": 1e999}` + "\n", "bad number"},
		{"duplicate", `{"filepath": "/x/1.jpg"}` + "\n" + `{"filepath": "/elsewhere/7.jpg"}` + "\n", "duplicate filepath"},
	}
	// Many good records before the bad one, so that several batches were
	// committed when it fails.
	prefix := strings.Repeat(`{"filepath": "/new/`, 1)
	var many strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&many, `%s%d.jpg", "v": [%d, 2.5]}`+"\n", prefix, i, i)
	}
	for _, c := range cases {
		for _, lead := range []string{"", many.String()} {
			file := filepath.Join(dir, "bad.jsonl")
			os.WriteFile(file, []byte(lead+c.body), 0o644)
			_, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", file)
			want := c.want
			if lead != "" && strings.HasPrefix(want, "line ") {
				var n int
				fmt.Sscanf(want, "line %d", &n)
				want = fmt.Sprintf("line %d", n+4000) + strings.TrimPrefix(want, fmt.Sprintf("line %d", n))
			}
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was imported") {
				t.Fatalf("%s (after %d good lines): %v, want an error with %q", c.name, strings.Count(lead, "\n"), err, want)
			}
			if n := count(t, d, "SELECT count(*) FROM ds"); n != 5000 {
				t.Fatalf("%s: %d samples after the failed import, want 5000", c.name, n)
			}
			if n := count(t, d, "SELECT count(*) FROM ds WHERE 't1' IN tags"); n != 1667 {
				t.Fatalf("%s: tag index has %d, want 1667", c.name, n)
			}
		}
	}
	// A missing image with check_files on (the default) names the line,
	// and an IMPORT that created its dataset leaves none behind.
	file := filepath.Join(dir, "missing.jsonl")
	os.WriteFile(file, []byte(`{"filepath": "/nonexistent/a.png"}`+"\n"), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO fresh FROM ?", file); err == nil || !strings.Contains(err.Error(), "line 1") ||
		!strings.Contains(err.Error(), "check_files = false") {
		t.Fatalf("missing image: %v", err)
	}
	if names, _ := d.Store().DatasetNames(); len(names) != 1 {
		t.Fatalf("a failed IMPORT left datasets %v", names)
	}
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (bogus = 1)", file); !errors.Is(err, ErrParam) {
		t.Fatalf("unknown option: %v", err)
	}
}

func TestImportAndExportVectors(t *testing.T) {
	dir := t.TempDir()
	d := openMemory(t)
	bg := context.Background()
	if _, err := d.Exec(bg, "CREATE DATASET ds"); err != nil {
		t.Fatal(err)
	}
	const n, dim = 300, 5
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"filepath": "/e/%03d.jpg"}`+"\n", i)
	}
	os.WriteFile(filepath.Join(dir, "s.jsonl"), []byte(b.String()), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", filepath.Join(dir, "s.jsonl")); err != nil {
		t.Fatal(err)
	}
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, dim)
		for j := range rows[i] {
			rows[i][j] = float64(float32(math.Sin(float64(i*dim + j))))
		}
	}
	npy := filepath.Join(dir, "v.npy")
	writeNpy(t, npy, rows, "<f4")
	if _, err := d.Exec(bg, "IMPORT INTO ds (emb.v) FROM ?", npy); err != nil {
		t.Fatal(err)
	}
	// Row i is the i-th sample in id order.
	r, err := d.Query(bg, "SELECT id, emb.v FROM ds")
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range r.Rows {
		if got := fmt.Sprint(row[1].Interface()); got != fmt.Sprint(rows[i]) {
			t.Fatalf("sample %d: %s, want %v", i, got, rows[i])
		}
	}
	// Export in the query's order: descending filepath here.
	out := filepath.Join(dir, "out.npy")
	if _, err := d.Exec(bg, "SELECT id, emb.v FROM ds ORDER BY filepath DESC INTO OUTFILE ?", out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := readNpyHeader(f)
	if err != nil || h.rows != n || h.cols != dim || h.width != 4 {
		t.Fatalf("exported header %+v %v", h, err)
	}
	if st, _ := f.Stat(); st.Size() != npyHeaderBytes+n*dim*4 {
		t.Fatalf("exported file has %d bytes", st.Size())
	}
	nr := newNpyRows(h, f)
	for i := n - 1; i >= 0; i-- {
		got, err := nr.next()
		if err != nil || fmt.Sprint(got) != fmt.Sprint(rows[i]) {
			t.Fatalf("exported row for sample %d: %v %v", i, got, err)
		}
	}
	ids, err := os.ReadFile(filepath.Join(dir, "out.ids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	idLines := strings.Fields(string(ids))
	if len(idLines) != n || idLines[0] != r.Rows[n-1][0].AsString() {
		t.Fatalf("ids file: %d lines, first %q", len(idLines), idLines[0])
	}
	// The same file again is refused; so is a query without an id.
	if _, err := d.Exec(bg, "SELECT id, emb.v FROM ds INTO OUTFILE ?", out); !errors.Is(err, ErrFileExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := d.Exec(bg, "SELECT emb.v FROM ds INTO OUTFILE ?", filepath.Join(dir, "x.npy")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("no id column: %v", err)
	}

	// An ids file names each row's sample; float64 data is read too.
	idsFile := filepath.Join(dir, "ids.txt")
	os.WriteFile(idsFile, []byte(r.Rows[7][0].AsString()+"\n"+r.Rows[3][0].AsString()+"\n"), 0o644)
	writeNpy(t, npy, [][]float64{{1, 2}, {3, 4}}, "<f8")
	if _, err := d.Exec(bg, "IMPORT INTO ds (pair) FROM ? WITH (ids = ?)", npy, idsFile); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Query(bg, "SELECT pair FROM ds WHERE pair IS NOT NULL ORDER BY filepath")
	if len(got.Rows) != 2 || fmt.Sprint(got.Rows[0][0].Interface(), got.Rows[1][0].Interface()) != "[3 4] [1 2]" {
		t.Fatalf("pairs by ids file: %v", got.Rows)
	}
	// Wrong row counts, an unknown id and a non-finite value fail whole.
	writeNpy(t, npy, [][]float64{{1}, {2}}, "<f4")
	if _, err := d.Exec(bg, "IMPORT INTO ds (one) FROM ?", npy); err == nil || !strings.Contains(err.Error(), "has 2 rows but dataset ds has 300 samples") {
		t.Fatalf("row count: %v", err)
	}
	os.WriteFile(idsFile, []byte(r.Rows[0][0].AsString()+"\n"+db.ID{1}.String()+"\n"), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO ds (one) FROM ? WITH (ids = ?)", npy, idsFile); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown id: %v", err)
	}
	big := make([][]float64, n)
	for i := range big {
		big[i] = []float64{float64(i)}
	}
	big[250][0] = math.NaN()
	writeNpy(t, npy, big, "<f8")
	if _, err := d.Exec(bg, "IMPORT INTO ds (one) FROM ?", npy); err == nil || !strings.Contains(err.Error(), "row 250") {
		t.Fatalf("NaN: %v", err)
	}
	// No sample got the field, so the schema does not know it either.
	if _, err := d.Query(bg, "SELECT count(*) FROM ds WHERE one IS NOT NULL"); !errors.Is(err, ErrUnknownField) {
		t.Fatalf("after failed vector imports, field one: %v, want unknown", err)
	}
}
