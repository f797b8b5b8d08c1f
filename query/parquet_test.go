package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/fosql/fosql/db"
)

// parquetFixture imports n samples of every field kind into dataset ds:
// strings, ints, floats (some missing), bools, tags, a float32 vector, a
// list of float64s, a list of ints, a document and a field of mixed kinds.
func parquetFixture(t *testing.T, d *DB, ds string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		rec := map[string]any{
			"filepath": fmt.Sprintf("/media/%05d.png", i),
			"emb":      []float64{float64(i) * 0.5, 1.25, -2},
			"f64":      []float64{0.1 * float64(i), 1e300},
			"counts":   []int{i, i + 1},
			"label":    map[string]any{"name": "cat é", "n": i},
			"n":        i,
			"ok":       i%2 == 0,
			"name":     fmt.Sprintf("sample «%d»", i),
		}
		if i > 0 {
			rec["tags"] = []string{[]string{"even", "odd"}[i%2], "t" + strconv.Itoa(i%3)}
		}
		if i%5 != 0 {
			rec["score"] = float64(i) + 0.25
		}
		if i%2 == 0 {
			rec["mixed"] = "s" + strconv.Itoa(i)
		} else {
			rec["mixed"] = i
		}
		line, _ := json.Marshal(rec)
		b.Write(line)
		b.WriteByte('\n')
	}
	file := filepath.Join(t.TempDir(), "fixture.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(context.Background(), "IMPORT INTO "+ds+" FROM ? WITH (check_files = false)", file); err != nil {
		t.Fatal(err)
	}
}

// exportedFixture makes dataset ds of n fixture samples in a new
// in-memory database and writes the rows of sql (with ? for the file) to
// a file named name.
func exportedFixture(t *testing.T, n int, sql, name string) (*DB, string) {
	t.Helper()
	d := openMemory(t)
	parquetFixture(t, d, "ds", n)
	file := filepath.Join(t.TempDir(), name)
	if _, err := d.Exec(context.Background(), sql, file); err != nil {
		t.Fatal(err)
	}
	return d, file
}

// readParquetGeneric reads a file with parquet-go's generic reader: its
// schema and its rows as maps.
func readParquetGeneric(t *testing.T, file string) (*parquet.Schema, []map[string]any) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	r := parquet.NewGenericReader[map[string]any](pf, pf.Schema())
	defer r.Close()
	var out []map[string]any
	for {
		buf := make([]map[string]any, 100)
		for i := range buf {
			buf[i] = map[string]any{}
		}
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	return pf.Schema(), out
}

func queryRows(t *testing.T, d *DB, sql string, args ...any) *Result {
	t.Helper()
	r, err := d.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return r
}

func TestParquetTypesNullsAndGenericReader(t *testing.T) {
	d, file := exportedFixture(t, 20, "SELECT * FROM ds INTO OUTFILE ?", "all.parquet")
	want := queryRows(t, d, "SELECT * FROM ds")
	schema, rows := readParquetGeneric(t, file)
	// One column per result column, in the result's order.
	var names []string
	for _, f := range schema.Fields() {
		names = append(names, f.Name())
	}
	if strings.Join(names, ",") != strings.Join(want.ColumnNames(), ",") {
		t.Fatalf("columns %v, want %v", names, want.ColumnNames())
	}
	text := schema.String()
	for _, w := range []string{
		"optional binary id (STRING)", "optional int64 n (INT(64,true))", "optional boolean ok", "optional double score",
		"optional binary label (JSON)", "optional binary mixed (JSON)", "required float element", "required double element",
		"required binary element (STRING)", "required int64 element (INT(64,true))",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("schema lacks %q:\n%s", w, text)
		}
	}
	if len(rows) != 20 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		w := want.Rows[i]
		if r["id"] != w[0].AsString() {
			t.Fatalf("row %d: id %v, want %s (rows out of order?)", i, r["id"], w[0].AsString())
		}
		if r["n"] != int64(i) || r["ok"] != (i%2 == 0) || r["name"] != fmt.Sprintf("sample «%d»", i) {
			t.Fatalf("row %d: n %v ok %v name %v", i, r["n"], r["ok"], r["name"])
		}
		if i%5 == 0 && r["score"] != nil || i%5 != 0 && r["score"] != float64(i)+0.25 {
			t.Fatalf("row %d: score %v", i, r["score"])
		}
		emb, _ := r["emb"].([]any)
		if len(emb) != 3 || emb[0] != float32(i)*0.5 || emb[2] != float32(-2) {
			t.Fatalf("row %d: emb %#v, want float32s", i, r["emb"])
		}
		if f64, _ := r["f64"].([]any); len(f64) != 2 || f64[0] != 0.1*float64(i) {
			t.Fatalf("row %d: f64 %#v", i, r["f64"])
		}
		if tags, _ := r["tags"].([]any); i == 0 && len(tags) != 0 || i > 0 && len(tags) != 2 {
			t.Fatalf("row %d: tags %#v", i, r["tags"])
		}
		if r["metadata"] != nil || r["insights"] != nil {
			t.Fatalf("row %d: absent metadata or insights are not null: %#v %#v", i, r["metadata"], r["insights"])
		}
	}
}

func TestParquetRoundTripAndKeepIDs(t *testing.T) {
	d, file := exportedFixture(t, 30, "SELECT * FROM ds INTO OUTFILE ?", "all.parquet")
	bg := context.Background()
	// Every column comes back as it was; ids are new without keep_ids.
	res, err := d.Exec(bg, "IMPORT INTO back FROM ? WITH (check_files = false)", file)
	if err != nil || res.RowsAffected != 30 {
		t.Fatalf("import: %v, %v", res, err)
	}
	a := queryRows(t, d, "SELECT * FROM ds ORDER BY filepath")
	b := queryRows(t, d, "SELECT * FROM back ORDER BY filepath")
	if strings.Join(a.ColumnNames(), ",") != strings.Join(b.ColumnNames(), ",") {
		t.Fatalf("columns %v after the round trip, want %v", b.ColumnNames(), a.ColumnNames())
	}
	for i := range a.Rows {
		if a.Rows[i][0].AsString() == b.Rows[i][0].AsString() {
			t.Fatalf("row %d kept its id without keep_ids", i)
		}
		for j := 1; j < len(a.Columns); j++ {
			if x, y := a.Rows[i][j], b.Rows[i][j]; !db.Equal(x, y) || x.Kind() != y.Kind() && !(x.IsMissing() || y.IsMissing()) {
				t.Fatalf("row %d column %s: %s became %s", i, a.Columns[j].Name, x, y)
			}
		}
	}
	if n := count(t, d, "SELECT count(*) FROM back WHERE 't1' IN tags"); n != 10 {
		t.Fatalf("tag index after the import: %d", n)
	}
	// keep_ids keeps them; the same ids again are refused whole.
	if _, err := d.Exec(bg, "IMPORT INTO kept FROM ? WITH (check_files = false, keep_ids = true)", file); err != nil {
		t.Fatal(err)
	}
	k := queryRows(t, d, "SELECT id FROM kept")
	all := queryRows(t, d, "SELECT id FROM ds")
	for i := range all.Rows {
		if k.Rows[i][0].AsString() != all.Rows[i][0].AsString() {
			t.Fatalf("row %d: id %s, want %s", i, k.Rows[i][0], all.Rows[i][0])
		}
	}
	_, err = d.Exec(bg, "IMPORT INTO kept FROM ? WITH (check_files = false, keep_ids = true)", file)
	if !errors.Is(err, db.ErrDuplicateID) || !strings.Contains(err.Error(), "row 1:") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("a second keep_ids import: %v", err)
	}
	if n := count(t, d, "SELECT count(*) FROM kept"); n != 30 {
		t.Fatalf("a refused import changed the count to %d", n)
	}
	// A file without ids cannot keep them.
	noID := filepath.Join(t.TempDir(), "noid.parquet")
	if _, err := d.Exec(bg, "SELECT filepath FROM ds INTO OUTFILE ?", noID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(bg, "IMPORT INTO other FROM ? WITH (check_files = false, keep_ids = true)", noID); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "needs an id column") {
		t.Fatalf("keep_ids without an id column: %v", err)
	}
}

func TestParquetOrderAndRefusals(t *testing.T) {
	d := openMemory(t)
	bg := context.Background()
	parquetFixture(t, d, "ds", 12)
	dir := t.TempDir()
	file := filepath.Join(dir, "top.parquet")
	if _, err := d.Exec(bg, "SELECT filepath, score FROM ds WHERE score IS NOT NULL ORDER BY score DESC LIMIT 5 INTO OUTFILE ?", file); err != nil {
		t.Fatal(err)
	}
	_, rows := readParquetGeneric(t, file)
	want := []float64{11.25, 9.25, 8.25, 7.25, 6.25}
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r["score"] != want[i] {
			t.Fatalf("row %d: score %v, want %v (the query's order)", i, r["score"], want[i])
		}
	}
	// An existing file is never overwritten.
	before, _ := os.ReadFile(file)
	if _, err := d.Exec(bg, "SELECT * FROM ds INTO OUTFILE ?", file); !errors.Is(err, ErrFileExists) {
		t.Fatalf("existing file: %v", err)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatal("the existing file changed")
	}
	// Two columns of one name cannot both be in a file.
	if _, err := d.Exec(bg, "SELECT n, n FROM ds INTO OUTFILE ?", filepath.Join(dir, "twice.parquet")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("a repeated column name: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the folder holds %d files, want only top.parquet (a failed export left one behind)", len(entries))
	}
}

func TestParquetExportTypeChangeFailsWhole(t *testing.T) {
	d := openMemory(t)
	bg := context.Background()
	// A list field of strings for the first rows, then numbers: the
	// file's column is chosen from the first rows.
	var b strings.Builder
	for i := range parquetTypeRows + 10 {
		v := `["a"]`
		if i >= parquetTypeRows+5 {
			v = `[1]`
		}
		fmt.Fprintf(&b, `{"filepath": "/m/%d.png", "l": %s}`+"\n", i, v)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "s.jsonl")
	os.WriteFile(src, []byte(b.String()), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "l.parquet")
	_, err := d.Exec(bg, "SELECT l FROM ds INTO OUTFILE ?", out)
	if !errors.Is(err, ErrTypeMismatch) || !strings.Contains(err.Error(), fmt.Sprintf("row %d: column l item 0 is the int 1", parquetTypeRows+6)) {
		t.Fatalf("a list that changes kind: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("a failed export left files: %d entries", len(entries))
	}
}

func TestParquetImportManyRowsAndDamage(t *testing.T) {
	var progress []Progress
	d, err := Open(":memory:", &Options{Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bg := context.Background()
	const n = 2500 // more than one journal batch
	parquetFixture(t, d, "ds", n)
	dir := t.TempDir()
	file := filepath.Join(dir, "many.parquet")
	if _, err := d.Exec(bg, "SELECT id, filepath, tags, emb, label FROM ds INTO OUTFILE ?", file); err != nil {
		t.Fatal(err)
	}
	// The last row's id is already in the target: the clash comes after
	// batches were committed, and undoes them all.
	last := filepath.Join(dir, "last.parquet")
	if _, err := d.Exec(bg, "SELECT id, filepath, tags, emb, label FROM ds ORDER BY id DESC LIMIT 1 INTO OUTFILE ?", last); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(bg, "IMPORT INTO kept FROM ? WITH (check_files = false, keep_ids = true)", last); err != nil {
		t.Fatal(err)
	}
	progress = nil
	_, err = d.Exec(bg, "IMPORT INTO kept FROM ? WITH (check_files = false, keep_ids = true)", file)
	if !errors.Is(err, db.ErrDuplicateID) || !strings.Contains(err.Error(), fmt.Sprintf("row %d", n)) {
		t.Fatalf("a clash at the last row: %v", err)
	}
	if c := count(t, d, "SELECT count(*) FROM kept"); c != 1 {
		t.Fatalf("the refused import left %d samples, want 1", c)
	}
	if c := count(t, d, "SELECT count(*) FROM kept WHERE 'even' IN tags"); c != 0 {
		t.Fatalf("the refused import left %d tag entries", c)
	}
	if len(progress) == 0 || progress[0].Total != n {
		t.Fatalf("progress %v, want reports out of %d", progress, n)
	}
	// The whole file imports, vectors intact.
	if _, err := d.Exec(bg, "IMPORT INTO all2 FROM ? WITH (check_files = false)", file); err != nil {
		t.Fatal(err)
	}
	if c := count(t, d, "SELECT count(*) FROM all2 WHERE label.n = 2499"); c != 1 {
		t.Fatalf("label.n = 2499: %d", c)
	}
	a := queryRows(t, d, "SELECT filepath, tags, emb, label FROM ds ORDER BY filepath")
	b := queryRows(t, d, "SELECT filepath, tags, emb, label FROM all2 ORDER BY filepath")
	for i := range a.Rows {
		for j := range a.Rows[i] {
			if !db.Equal(a.Rows[i][j], b.Rows[i][j]) {
				t.Fatalf("row %d column %s: %s became %s", i, a.Columns[j].Name, a.Rows[i][j], b.Rows[i][j])
			}
		}
	}
	// A cut short or damaged file: a clear error, nothing changed, and
	// no dataset left by an IMPORT that would have made it.
	data, _ := os.ReadFile(file)
	cut := filepath.Join(dir, "cut.parquet")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	bad := filepath.Join(dir, "bad.parquet")
	mangled := append([]byte(nil), data...)
	for i := len(mangled) / 3; i < len(mangled)/3+64; i++ {
		mangled[i] ^= 0x5a
	}
	os.WriteFile(bad, mangled, 0o644)
	notPQ := filepath.Join(dir, "text.parquet")
	os.WriteFile(notPQ, []byte("id,filepath\n"), 0o644)
	// Damage anywhere: an import either fails whole or succeeds, and the
	// process does not crash.
	small := filepath.Join(dir, "small.parquet")
	if _, err := d.Exec(bg, "SELECT id, filepath, tags, emb, label FROM ds LIMIT 50 INTO OUTFILE ?", small); err != nil {
		t.Fatal(err)
	}
	sdata, _ := os.ReadFile(small)
	for k := range 30 {
		m := append([]byte(nil), sdata...)
		at := k * len(m) / 30
		m[at] ^= 0xff
		f := filepath.Join(dir, fmt.Sprintf("flip%d.parquet", k))
		os.WriteFile(f, m, 0o644)
		res, err := d.Exec(bg, "IMPORT INTO flips FROM ? WITH (check_files = false)", f)
		if err != nil {
			if _, derr := d.Store().Dataset("flips"); !errors.Is(derr, db.ErrNotFound) || !strings.Contains(err.Error(), "nothing was imported") {
				t.Fatalf("byte %d flipped: %v, and the dataset: %v", at, err, derr)
			}
			continue
		}
		if c := count(t, d, "SELECT count(*) FROM flips"); c != res.RowsAffected {
			t.Fatalf("byte %d flipped: %d samples, %d imported", at, c, res.RowsAffected)
		}
		d.Exec(bg, "DROP DATASET flips")
	}
	for _, f := range []string{cut, bad, notPQ} {
		_, err := d.Exec(bg, "IMPORT INTO all2 FROM ? WITH (check_files = false)", f)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), filepath.Base(f)) || !strings.Contains(err.Error(), "nothing was imported") {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if c := count(t, d, "SELECT count(*) FROM all2"); c != n {
			t.Fatalf("%s: the failed import changed the count to %d", filepath.Base(f), c)
		}
		if _, err := d.Exec(bg, "IMPORT INTO fresh FROM ? WITH (check_files = false)", f); err == nil {
			t.Fatalf("%s imported", filepath.Base(f))
		}
		if _, err := d.Store().Dataset("fresh"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("%s: a failed IMPORT left its new dataset: %v", filepath.Base(f), err)
		}
	}
}

// duckDBModules finds the node_modules folder that scripts/setup-duckdb.sh
// fills, or FOSQL_DUCKDB_NODE.
func duckDBModules() string {
	if p := os.Getenv("FOSQL_DUCKDB_NODE"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "fosql", "duckdb-node", "*", "node_modules"))
	if len(matches) == 0 {
		return ""
	}
	return matches[len(matches)-1]
}

// duckDBScript prints the DESCRIBE and the rows of a query as JSON.
const duckDBScript = `
const { DuckDBInstance } = require(process.argv[2] + "/@duckdb/node-api");
(async () => {
  const con = await (await DuckDBInstance.create(":memory:")).connect();
  if (process.argv[3].startsWith("COPY")) {
    await con.run(process.argv[3]);
    console.log("{}");
    return;
  }
  const d = await con.runAndReadAll("DESCRIBE " + process.argv[3]);
  const r = await con.runAndReadAll(process.argv[3]);
  console.log(JSON.stringify({ types: d.getRowObjectsJson(), rows: r.getRowObjectsJson() }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`

// duckDB returns a function that runs one statement in DuckDB under
// node and returns what duckDBScript prints, or skips the test when
// DuckDB's node client is not installed.
func duckDB(t *testing.T) func(sql string) []byte {
	t.Helper()
	mods := duckDBModules()
	node, err := exec.LookPath("node")
	if mods == "" || err != nil {
		t.Skip("DuckDB's node client is not installed: run scripts/setup-duckdb.sh (make setup) to read the files back with DuckDB")
	}
	script := filepath.Join(t.TempDir(), "duckdb.js")
	os.WriteFile(script, []byte(duckDBScript), 0o644)
	return func(sql string) []byte {
		t.Helper()
		var stderr strings.Builder
		cmd := exec.Command(node, script, mods, sql)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("DuckDB %s: %v %s", sql, err, stderr.String())
		}
		return out
	}
}

func TestParquetDuckDB(t *testing.T) {
	duck := duckDB(t)
	d, file := exportedFixture(t, 40, "SELECT * FROM ds INTO OUTFILE ?", "all.parquet")
	out := duck("SELECT * FROM read_parquet('" + file + "')")
	var got struct {
		Types []struct {
			Name string `json:"column_name"`
			Type string `json:"column_type"`
		}
		Rows []map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := queryRows(t, d, "SELECT * FROM ds")
	types := map[string]string{}
	var names []string
	for _, c := range got.Types {
		types[c.Name] = c.Type
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != strings.Join(want.ColumnNames(), ",") {
		t.Fatalf("DuckDB sees columns %v, want %v", names, want.ColumnNames())
	}
	for col, typ := range map[string]string{"id": "VARCHAR", "tags": "VARCHAR[]", "emb": "FLOAT[]", "f64": "DOUBLE[]",
		"counts": "BIGINT[]", "n": "BIGINT", "ok": "BOOLEAN", "score": "DOUBLE", "label": "JSON", "mixed": "JSON", "name": "VARCHAR"} {
		if types[col] != typ {
			t.Errorf("DuckDB reads %s as %s, want %s", col, types[col], typ)
		}
	}
	if len(got.Rows) != len(want.Rows) {
		t.Fatalf("DuckDB read %d rows, want %d", len(got.Rows), len(want.Rows))
	}
	for i, row := range want.Rows {
		for j, c := range want.Columns {
			if err := sameAsDuckDB(types[c.Name], row[j], got.Rows[i][c.Name]); err != nil {
				t.Fatalf("row %d column %s: %v", i, c.Name, err)
			}
		}
	}
}

// sameAsDuckDB compares a fosql value with the JSON DuckDB's node client
// gives for a column of type typ (BIGINTs come as decimal strings, JSON
// columns as their text).
func sameAsDuckDB(typ string, v db.Value, got any) error {
	if v.IsMissing() || v.Kind() == db.KindNull {
		if got != nil {
			return fmt.Errorf("null became %v", got)
		}
		return nil
	}
	var want any
	switch typ {
	case "JSON":
		s, _ := got.(string)
		x, err := parseJSONValue([]byte(s))
		if err != nil || !db.Equal(x, v) || x.Kind() != v.Kind() {
			return fmt.Errorf("%s became the JSON %q", v, s)
		}
		return nil
	case "BIGINT":
		want = strconv.FormatInt(v.AsInt(), 10)
	case "FLOAT[]", "DOUBLE[]", "BIGINT[]", "VARCHAR[]":
		items := []any{}
		for _, x := range v.Items() {
			switch typ {
			case "FLOAT[]":
				items = append(items, float64(float32(x.AsFloat())))
			case "DOUBLE[]":
				items = append(items, x.AsFloat())
			case "BIGINT[]":
				items = append(items, strconv.FormatInt(x.AsInt(), 10))
			default:
				items = append(items, x.AsString())
			}
		}
		want = items
	default:
		want = v.Interface()
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Errorf("%v became %v", want, got)
	}
	return nil
}

func TestParquetImportFromDuckDB(t *testing.T) {
	duck := duckDB(t)
	d := openMemory(t)
	bg := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "duck.parquet")
	duck(`COPY (SELECT '/m/' || i || '.png' AS filepath, ['a', 'b'] AS tags, i::INTEGER AS small, i::UTINYINT AS tiny,
		{'label': 'cat', 'box': [1.5, 2.5]} AS gt, MAP {'k': i} AS m, TIMESTAMP '2024-03-01 12:00:00' + INTERVAL (i) SECOND AS ts,
		DATE '2024-03-01' AS day, (i / 4)::DECIMAL(9, 2) AS price, '6b156546-0000-4000-8000-000000000000'::UUID AS u,
		[1.0, 2.0, NULL]::FLOAT[] AS v, NULL::VARCHAR AS nothing
		FROM range(3) t(i)) TO '` + file + `' (FORMAT parquet)`)
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", file); err != nil {
		t.Fatal(err)
	}
	r := queryRows(t, d, "SELECT filepath, tags, small, tiny, gt, m, ts, day, price, u, v FROM ds WHERE filepath = '/m/2.png'")
	var got []string
	for _, v := range r.Rows[0] {
		got = append(got, CellText(v))
	}
	want := []string{"/m/2.png", `["a","b"]`, "2", "2", `{"box":[1.5,2.5],"label":"cat"}`, `{"k":2}`, "2024-03-01T12:00:02Z",
		"2024-03-01", "0.5", "6b156546-0000-4000-8000-000000000000", "[1,2,null]"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Fatalf("DuckDB's file imported as\n%s\nwant\n%s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
	// NaN is refused, naming the row.
	nan := filepath.Join(dir, "nan.parquet")
	duck(`COPY (SELECT '/n/' || i || '.png' AS filepath, CASE WHEN i = 1 THEN 'NaN'::DOUBLE ELSE 1 END AS x FROM range(3) t(i)) TO '` + nan + `' (FORMAT parquet)`)
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false)", nan); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "row 2") {
		t.Fatalf("NaN: %v", err)
	}
	if n := count(t, d, "SELECT count(*) FROM ds"); n != 3 {
		t.Fatalf("count %d after a refused import", n)
	}
}

func TestImportJSONLinesKeepIDs(t *testing.T) {
	d, file := exportedFixture(t, 5, "SELECT id, filepath, tags FROM ds INTO OUTFILE ?", "out.jsonl")
	bg := context.Background()
	if _, err := d.Exec(bg, "IMPORT INTO kept FROM ? WITH (check_files = false, keep_ids = true)", file); err != nil {
		t.Fatal(err)
	}
	a, b := queryRows(t, d, "SELECT id FROM ds"), queryRows(t, d, "SELECT id FROM kept")
	for i := range a.Rows {
		if a.Rows[i][0].AsString() != b.Rows[i][0].AsString() {
			t.Fatalf("row %d: %s, want %s", i, b.Rows[i][0], a.Rows[i][0])
		}
	}
	if _, err := d.Exec(bg, "IMPORT INTO ds FROM ? WITH (check_files = false, keep_ids = true)", file); !errors.Is(err, db.ErrDuplicateID) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a clash: %v", err)
	}
	noID := filepath.Join(t.TempDir(), "noid.jsonl")
	os.WriteFile(noID, []byte(`{"filepath": "/x/1.png"}`+"\n"), 0o644)
	if _, err := d.Exec(bg, "IMPORT INTO other FROM ? WITH (check_files = false, keep_ids = true)", noID); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "line 1: the record has no id") {
		t.Fatalf("keep_ids with a record without id: %v", err)
	}
}
