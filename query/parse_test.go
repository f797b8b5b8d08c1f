package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
)

func TestParseDatasetStatements(t *testing.T) {
	tests := []struct {
		sql  string
		want Statement
	}{
		{"SHOW DATASETS", &ShowDatasets{}},
		{"show tables", &ShowDatasets{}},
		{"SHOW MODELS", &ShowModels{}},
		{"show Models", &ShowModels{}},
		{"DESCRIBE walkthrough", &DescribeDataset{Dataset: "walkthrough"}},
		{"desc dataset `my-ds`", &DescribeDataset{Dataset: "my-ds"}},
		{"DESCRIBE dataset", &DescribeDataset{Dataset: "dataset"}},
		{"CREATE DATASET walkthrough FROM IMAGES 'data' RECURSIVE",
			&CreateDataset{Dataset: "walkthrough", FromImages: &Literal{Value: db.String("data")}, Recursive: true}},
		{"CREATE DATASET flat FROM IMAGES 'data'",
			&CreateDataset{Dataset: "flat", FromImages: &Literal{Value: db.String("data")}}},
		{"create dataset if not exists empty", &CreateDataset{Dataset: "empty", IfNotExists: true}},
		{"CREATE DATASET d FROM IMAGES ?", &CreateDataset{Dataset: "d", FromImages: &Literal{Param: 1}}},
		{"DROP DATASET walkthrough", &DropDataset{Dataset: "walkthrough"}},
		{"DROP DATASET IF EXISTS walkthrough", &DropDataset{Dataset: "walkthrough", IfExists: true}},
		{"LOAD ZOO DATASET cifar10 SPLIT test", &LoadZoo{Name: "cifar10", Split: "test"}},
		{"LOAD ZOO DATASET fashion-mnist SPLIT test AS fm", &LoadZoo{Name: "fashion-mnist", Split: "test", Dataset: "fm"}},
		{"LOAD ZOO DATASET coco-2017", &LoadZoo{Name: "coco-2017"}},
		{"LOAD ZOO DATASET 'cifar-10' AS c WITH (max_samples = 100, shuffle = true)",
			&LoadZoo{Name: "cifar-10", Dataset: "c", Options: map[string]Literal{
				"max_samples": {Value: db.Int(100)}, "shuffle": {Value: db.Bool(true)}}}},
		{"COMPUTE UNIQUENESS ON walkthrough", &Compute{Group: "uniqueness", Dataset: "walkthrough"}},
		{"COMPUTE UNIQUENESS ON walkthrough WITH (k = 3, metric = 'cosine', model = '/m.onnx', embeddings = 'emb', w = -0.5)",
			&Compute{Group: "uniqueness", Dataset: "walkthrough", Options: map[string]Literal{
				"k": {Value: db.Int(3)}, "metric": {Value: db.String("cosine")}, "model": {Value: db.String("/m.onnx")},
				"embeddings": {Value: db.String("emb")}, "w": {Value: db.Float(-0.5)}}}},
		{"COMPUTE uniqueness ON w WITH (metric = euclidean)",
			&Compute{Group: "uniqueness", Dataset: "w", Options: map[string]Literal{"metric": {Value: db.String("euclidean")}}}},
		{"SET auto_compute = off", &SetVariable{Name: "auto_compute", Value: Literal{Value: db.String("off")}}},
		{"set session AUTO_COMPUTE to 1", &SetVariable{Name: "auto_compute", Value: Literal{Value: db.Int(1)}}},
		{"SET @@auto_compute = on", &SetVariable{Name: "auto_compute", Value: Literal{Value: db.String("on")}}},
		{"UPDATE walkthrough ADD TAG 'dup', ? WHERE id IN ('a')",
			&UpdateTags{Dataset: "walkthrough", Tags: []Literal{{Value: db.String("dup")}, {Param: 1}}}},
		{"UPDATE walkthrough REMOVE TAGS 'dup'", &UpdateTags{Dataset: "walkthrough", Remove: true, Tags: []Literal{{Value: db.String("dup")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			got, err := Parse(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d statements", len(got))
			}
			if got[0].SQL() != tt.sql {
				t.Errorf("SQL() = %q", got[0].SQL())
			}
			clearBase(got[0])
			if ut, ok := got[0].(*UpdateTags); ok {
				if ut.sel == nil || ut.sel.Where == nil && strings.Contains(tt.sql, "WHERE") {
					t.Errorf("UPDATE … TAG lost its WHERE")
				}
				ut.sel = nil
			}
			if !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("got  %#v\nwant %#v", got[0], tt.want)
			}
		})
	}
}

// clearBase drops the source text so statements compare by content.
func clearBase(st Statement) { *st.base() = stmtBase{} }

func TestParseStandardStatements(t *testing.T) {
	for _, tt := range []struct {
		sql  string
		want string // the statement's type
	}{
		{"SELECT * FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 10", "*query.Select"},
		{"SELECT id, filepath FROM walkthrough WHERE 'dup' IN tags", "*query.Select"},
		{"SELECT id FROM w WHERE a.b.c.d.e = 1", "*query.Select"},
		{"INSERT INTO walkthrough (filepath, tags, ground_truth.label) VALUES ('/data/new/a.jpg', 'dup', 'cat')", "*query.Insert"},
		{"UPDATE walkthrough SET ground_truth.label = 'cat' WHERE id = '1'", "*query.Update"},
		{"DELETE FROM walkthrough WHERE metadata.size_bytes = 0", "*query.Delete"},
		{"EXPLAIN SELECT id FROM walkthrough", "*query.Explain"},
		{"DESCRIBE SELECT id FROM walkthrough", "*query.Explain"},
		{"EXPLAIN UPDATE w ADD TAG 'x'", "*query.Explain"},
	} {
		st, err := Parse(tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if got := reflect.TypeOf(st[0]).String(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.sql, got, tt.want)
		}
	}
}

// The rewrites give sqlparser names it can read and never touch strings.
func TestRewrite(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"SELECT id FROM w WHERE 'dup' IN tags", "SELECT id FROM w WHERE fosql_contains(tags, 'dup') "},
		{"SELECT id FROM w WHERE 'dup' NOT IN tags", "SELECT id FROM w WHERE fosql_not_contains(tags, 'dup') "},
		{"SELECT id FROM w WHERE ? IN w.tags", "SELECT id FROM w WHERE fosql_contains(`w.tags`, :fosqlarg1) "},
		{"SELECT metadata.width FROM w", "SELECT `metadata.width` FROM w "},
		{"SELECT a . b . `c`.d FROM w", "SELECT `a.b.c.d` FROM w "},
		{"SELECT id FROM w WHERE 'a IN tags' = filepath", "SELECT id FROM w WHERE 'a IN tags' = filepath "},
		{`SELECT id FROM w WHERE f LIKE 'a\\%' OR g = "it's"`, `SELECT id FROM w WHERE f LIKE 'a\\%' OR g = 'it''s' `},
		{"SELECT id FROM w WHERE x IN (1, 2)", "SELECT id FROM w WHERE x IN (1, 2) "},
		{"SELECT id FROM w WHERE 'x' IN (tags)", "SELECT id FROM w WHERE 'x' IN (tags) "},
		{"SELECT id FROM w /* c */ WHERE a = ? AND b = ?", "SELECT id FROM w WHERE a = :fosqlarg1 AND b = :fosqlarg2 "},
		{"SELECT w.* FROM w", "SELECT w.* FROM w "},
		{"SELECT db.f(x) FROM w", "SELECT db.f(x) FROM w "},
		{"SELECT größe FROM w", "SELECT `größe` FROM w "},
	} {
		toks, err := lex(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range toks {
			if toks[i].kind == tokParam {
				n++
				toks[i].n = n
			}
		}
		rw := newRewrite(tt.in, len(tt.in))
		if err := rw.tokens(toks, true); err != nil {
			t.Fatal(err)
		}
		rw.emit(" ", len(tt.in))
		if got := string(rw.buf); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if len(rw.origin) != len(rw.buf) {
			t.Errorf("%s: origin map has %d entries for %d bytes", tt.in, len(rw.origin), len(rw.buf))
		}
	}
}

func TestSplitStatements(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1 FROM a; SELECT 2 FROM b", []string{"SELECT 1 FROM a", "SELECT 2 FROM b"}},
		{"SELECT ';' FROM a;;  ; SELECT \"x;\" FROM `b;c`;", []string{"SELECT ';' FROM a", "SELECT \"x;\" FROM `b;c`"}},
		{"SELECT 'it''s; fine' FROM a -- a; comment\n;SHOW DATASETS", []string{"SELECT 'it''s; fine' FROM a", "SHOW DATASETS"}},
		{"SELECT 'a\\'; b' FROM a /* ; */", []string{"SELECT 'a\\'; b' FROM a"}},
		{"  ;  ", nil},
	} {
		sts, err := Parse(tt.in)
		if err != nil && tt.want != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		var got []string
		for _, s := range sts {
			got = append(got, s.SQL())
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLiteralStrings(t *testing.T) {
	sts, err := Parse(`SELECT id FROM w WHERE filepath = 'a\'b' AND x = "q""q" AND y = 'tab\there' AND z = 'p\%'`)
	if err != nil {
		t.Fatal(err)
	}
	sel := sts[0].(*Select)
	b := &binder{args: &args{}}
	var got []string
	for _, c := range conjuncts(sel.ast.Where.Expr) {
		v, ok, err := b.constant(c.(*sqlparser.ComparisonExpr).Right)
		if !ok || err != nil {
			t.Fatalf("%v: %v %v", c, ok, err)
		}
		got = append(got, v.AsString())
	}
	want := []string{"a'b", `q"q`, "tab\there", `p\%`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseErrorsAreSyntaxErrors(t *testing.T) {
	for _, sql := range []string{
		"SELEC id FRM walkthrough",
		"SELECT 'unterminated",
		"CREATE DATASET",
		"COMPUTE UNIQUENESS walkthrough",
		"LOAD ZOO cifar10",
		"SET auto_compute",
		"UPDATE w ADD TAG",
		"UPDATE w ADD TAG 'x' GROUP BY y",
		"SELECT id FROM w WHERE 'x' IN",
		"SELECT id FROM w INTO OUTFILE",
		"EXPLAIN",
		"SHOW",
		"SHOW MODELS extra",
	} {
		_, err := Parse(sql)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v is not a *SyntaxError", sql, err)
			continue
		}
		if se.Line != 1 || se.Column < 1 || se.Column > len(sql)+1 {
			t.Errorf("%s: position line %d column %d", sql, se.Line, se.Column)
		}
	}
}

// TestParseSimilarity checks ORDER BY SIMILARITY TO: the query, FILE,
// options and placeholders are taken out, and the rest of the SELECT is
// parsed as it stands; a field named similarity still sorts.
func TestParseSimilarity(t *testing.T) {
	tests := []struct {
		sql       string
		want      *SimilarityOrder
		where     string // the rest, as sqlparser prints it: WHERE, ORDER BY, LIMIT
		outfile   bool
		explained bool
		fails     bool // only at depth 0: inside a subquery it is a syntax error
	}{
		{sql: "SELECT id FROM w ORDER BY SIMILARITY TO '0123456789abcdef01234567' LIMIT 10",
			want: &SimilarityOrder{Query: Literal{Value: db.String("0123456789abcdef01234567")}}, where: " limit 10"},
		{sql: "select id from w where n > 1 order by similarity to file 'q.jpg' with (model = 'm', metric = euclidean) limit 5 offset 2",
			want: &SimilarityOrder{Query: Literal{Value: db.String("q.jpg")}, File: true, Options: map[string]Literal{
				"model": {Value: db.String("m")}, "metric": {Value: db.String("euclidean")}}},
			where: " where n > 1 limit 2, 5"},
		{sql: "SELECT id FROM w WHERE 'dup' IN tags ORDER BY SIMILARITY TO ? LIMIT ? INTO OUTFILE 'o.csv'",
			want:  &SimilarityOrder{Query: Literal{Param: 1}},
			where: " where fosql_contains(tags, 'dup') limit :fosqlarg2", outfile: true},
		{sql: "EXPLAIN SELECT id FROM w ORDER BY SIMILARITY TO :q",
			want: &SimilarityOrder{Query: Literal{Name: "q"}}, explained: true},
		{sql: "SELECT id FROM w ORDER BY similarity DESC", where: " order by similarity desc"},
		{sql: "SELECT id FROM w WHERE a IN (SELECT b FROM v ORDER BY SIMILARITY TO 'x')", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			sts, err := Parse(tt.sql)
			if tt.fails {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("got %v, want a syntax error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := sts[0]
			if tt.explained {
				st = st.(*Explain).Statement
			}
			sel := st.(*Select)
			if !reflect.DeepEqual(sel.Similarity, tt.want) {
				t.Fatalf("similarity %+v, want %+v", sel.Similarity, tt.want)
			}
			if (sel.Outfile != nil) != tt.outfile {
				t.Fatalf("outfile %v", sel.Outfile)
			}
			if tt.where != "" {
				rest := sqlparser.String(sel.ast.Where) + sqlparser.String(sel.ast.OrderBy) + sqlparser.String(sel.ast.Limit)
				if rest != tt.where {
					t.Fatalf("rest %q, want %q", rest, tt.where)
				}
			}
		})
	}
}
