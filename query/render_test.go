package query

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

func sampleResult() *Result {
	return &Result{
		Columns: []Column{{"id", TypeString}, {"n", TypeInt}, {"u", TypeFloat}, {"tags", TypeList}, {"m", TypeJSON}, {"ok", TypeBool}},
		Rows: [][]db.Value{
			{db.String("a\tb\nc\\d"), db.Int(-3), db.Float(1e-7), db.Strings([]string{"dup", "x"}),
				db.Doc(db.Field{Name: "w", Value: db.Int(32)}, db.Field{Name: "f", Value: db.Float(2.5e21)}), db.Bool(true)},
			{db.String("é,\"q\""), db.Missing(), db.Float(123456789.125), db.List(), db.Null(), db.Bool(false)},
			{db.String(""), db.Int(0), db.Float(math.NaN()), db.Floats([]float64{0.1, 1e30}), db.Doc(), db.Missing()},
		},
	}
}

func render(t *testing.T, r *Result, f Format) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderTSV(t *testing.T) {
	got := render(t, sampleResult(), FormatTSV)
	want := "id\tn\tu\ttags\tm\tok\n" +
		`a\tb\nc\\d` + "\t-3\t0.0000001\t[\"dup\",\"x\"]\t{\"f\":2500000000000000000000,\"w\":32}\ttrue\n" +
		"é,\"q\"\tNULL\t123456789.125\t[]\tNULL\tfalse\n" +
		"\t0\tNaN\t[0.1,1000000000000000000000000000000]\t{}\tNULL\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderCSV(t *testing.T) {
	got := render(t, sampleResult(), FormatCSV)
	recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0][2] != "u" || recs[1][0] != "a\tb\nc\\d" || recs[2][0] != `é,"q"` ||
		recs[2][1] != "" || recs[2][4] != "" || recs[1][2] != "0.0000001" {
		t.Errorf("records: %q", recs)
	}
}

func TestRenderJSON(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(render(t, sampleResult(), FormatJSONL)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["id"] != "a\tb\nc\\d" || first["n"] != float64(-3) || first["ok"] != true {
		t.Errorf("first row: %v", first)
	}
	if !strings.Contains(lines[0], `"u":0.0000001`) || !strings.HasPrefix(lines[0], `{"id":`) {
		t.Errorf("keys out of column order or exponent: %s", lines[0])
	}
	var third map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &third); err != nil {
		t.Fatal(err)
	}
	if third["u"] != nil || third["ok"] != nil {
		t.Errorf("NaN and missing must be null: %v", third)
	}
	var arr []map[string]any
	if err := json.Unmarshal([]byte(render(t, sampleResult(), FormatJSON)), &arr); err != nil || len(arr) != 3 {
		t.Errorf("JSON array: %v, %d rows", err, len(arr))
	}
	empty := &Result{Columns: []Column{{"a", TypeInt}}}
	if got := render(t, empty, FormatJSON); got != "[]\n" {
		t.Errorf("empty JSON = %q", got)
	}
}

func TestRenderTable(t *testing.T) {
	r := &Result{
		Columns: []Column{{"id", TypeString}, {"score", TypeFloat}, {"filepath", TypeString}},
		Rows: [][]db.Value{
			{db.String("a"), db.Float(0.5), db.String(strings.Repeat("x", 80))},
			{db.String("bbbb"), db.Float(12.25), db.String("é")},
		},
	}
	got := render(t, r, FormatTable)
	want := " id   | score | filepath\n" +
		"------+-------+" + strings.Repeat("-", 62) + "\n" +
		" a    |   0.5 | " + strings.Repeat("x", 59) + "…\n" +
		" bbbb | 12.25 | é\n" +
		"(2 rows)\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := render(t, &Result{Message: "ok"}, FormatTable); got != "" {
		t.Errorf("a result without rows renders %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "TSV", "csv", "json", "jsonl", "ndjson"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	for name, want := range map[string]Format{"a.csv": FormatCSV, "b.JSON": FormatJSON, "c.jsonl": FormatJSONL, "d.tsv": FormatTSV} {
		if f, err := formatForFile(name); err != nil || f != want {
			t.Errorf("%s: %v %v", name, f, err)
		}
	}
}
