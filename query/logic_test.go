package query

// SQL logic tests: the files under ../testdata/sql run statement by
// statement against a fresh in-memory database holding a generated image
// fixture. Run with -rewrite to regenerate the expected output.
//
// Records, separated by blank lines (# starts a comment line):
//
//	statement ok                 the SQL must succeed
//	statement error <regexp>     the SQL must fail with a matching message
//	statement affected <n>       the SQL must succeed and affect n rows
//	query <types> [rowsort]      the SQL's rows, after ----, tab-separated;
//	                             types has one letter per column: T string,
//	                             I int, R float, B bool, L list, J json, A any
//	result                       ---- then the last statement's message and
//	                             warnings, one per line
//	bind NAME                    the SQL returns one value, then $NAME
//	setinsight ds group key      lines "<filepath suffix> <value>"
//	hooks                        ---- then the hook calls since the last check
//	file NAME                    ---- then the content of $TMP/NAME
//	newdb [none|fake]            a fresh database, with or without hooks
//
// $DATA is the fixture folder, $NEW the folder of images for INSERT, $TMP
// a scratch folder; values bound with bind replace their text in output.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

var rewriteFlag = flag.Bool("rewrite", false, "rewrite the expected output of ../testdata/sql/*.test")

func TestLogic(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	files, err := filepath.Glob("../testdata/sql/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no logic test files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test"), func(t *testing.T) {
			runLogicFile(t, f, root)
		})
	}
}

// logicRecord is one record of a logic test file, with the line range of
// its expected output (for -rewrite).
type logicRecord struct {
	line       int // 1-based line of the header
	header     []string
	body       []string
	expected   []string
	sepLine    int // index of ---- (-1 if none)
	endLine    int // index after the last expected line
	headerLine int // index of the header line
}

func parseLogicFile(lines []string) []*logicRecord {
	var recs []*logicRecord
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		r := &logicRecord{line: i + 1, header: strings.Fields(l), headerLine: i, sepLine: -1}
		i++
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" && lines[i] != "----" {
			r.body = append(r.body, lines[i])
			i++
		}
		if i < len(lines) && lines[i] == "----" {
			r.sepLine = i
			i++
			for i < len(lines) && lines[i] != "" {
				r.expected = append(r.expected, lines[i])
				i++
			}
		}
		r.endLine = i
		recs = append(recs, r)
	}
	return recs
}

// logicEnv is the state of one file's run.
type logicEnv struct {
	t     *testing.T
	root  string
	tmp   string
	d     *DB
	s     *Session
	vars  map[string]string
	last  *Result
	mu    sync.Mutex
	calls []string
}

func (e *logicEnv) newDB(hooks string) {
	if e.d != nil {
		e.d.Close()
	}
	opts := &Options{NoProviders: true}
	if hooks != "none" {
		opts.Ensure = e.fakeEnsure
		opts.Compute = e.fakeCompute
		opts.LoadZoo = e.fakeZoo
	}
	d, err := Open(":memory:", opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.d, e.s = d, d.NewSession()
}

func (e *logicEnv) record(format string, args ...any) {
	e.mu.Lock()
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

// fakeEnsure stands in for the insights registry: it records the call;
// a group without values fails as stale when auto is off and gets
// scalar = 1 on every sample when auto is on, except the group
// "unprovided", which it leaves alone as the registry does a group
// without a provider.
func (e *logicEnv) fakeEnsure(ctx context.Context, ds *db.Dataset, groups []string, auto bool, progress func(insights.Progress)) error {
	e.record("ensure %s %v auto=%t", ds.Name(), groups, auto)
	have, err := ds.InsightGroups()
	if err != nil {
		return err
	}
	for _, g := range groups {
		if contains(have, g) || g == "unprovided" {
			continue // fresh, or a group no provider computes
		}
		if !auto {
			return fmt.Errorf("insights.%s on %s: %w", g, ds.Name(), insights.ErrStale)
		}
		if err := fillInsight(ctx, ds, g, db.Float(1)); err != nil {
			return err
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func fillInsight(ctx context.Context, ds *db.Dataset, group string, v db.Value) error {
	vals := map[db.ID]db.Value{}
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			return err
		}
		vals[s.ID] = v
	}
	return ds.SetInsights(ctx, group, "scalar", vals)
}

func (e *logicEnv) fakeCompute(ctx context.Context, ds *db.Dataset, group string, req insights.Request, progress func(insights.Progress)) error {
	b, _ := json.Marshal(req.Options)
	e.record("compute %s %s %s", ds.Name(), group, b)
	return fillInsight(ctx, ds, group, db.Float(0.75))
}

func (e *logicEnv) fakeZoo(ctx context.Context, store *db.DB, req ZooRequest, progress func(Progress)) (*db.Dataset, error) {
	b, _ := json.Marshal(req.Options)
	e.record("zoo %s split=%q as=%q %s", req.Name, req.Split, req.Dataset, b)
	name := req.Dataset
	if name == "" {
		name = req.Name
	}
	ds, err := store.CreateDataset(name)
	if err != nil {
		return nil, err
	}
	_, err = ds.AddImages(ctx, filepath.Join(e.root, "new"), db.IngestOptions{})
	return ds, err
}

// subst replaces $NAME with its value.
func (e *logicEnv) subst(s string) string {
	names := make([]string, 0, len(e.vars))
	for k := range e.vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, k := range names {
		s = strings.ReplaceAll(s, "$"+k, e.vars[k])
	}
	return s
}

var (
	timeRe = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b`)
	idRe   = regexp.MustCompile(`\b[0-9a-f]{24}\b`)
)

// unsubst replaces values with their $NAME, and times and sample ids
// that no variable holds with <time> and <id>, for stable output.
func (e *logicEnv) unsubst(s string) string {
	s = e.unsubstVars(s)
	s = timeRe.ReplaceAllString(s, "<time>")
	return idRe.ReplaceAllString(s, "<id>")
}

func (e *logicEnv) unsubstVars(s string) string {
	names := make([]string, 0, len(e.vars))
	for k := range e.vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(e.vars[names[i]]) > len(e.vars[names[j]]) })
	for _, k := range names {
		if e.vars[k] != "" {
			s = strings.ReplaceAll(s, e.vars[k], "$"+k)
		}
	}
	return s
}

var typeLetters = map[ColumnType]byte{TypeString: 'T', TypeInt: 'I', TypeFloat: 'R', TypeBool: 'B', TypeList: 'L', TypeJSON: 'J', TypeAny: 'A'}

func runLogicFile(t *testing.T, path, root string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	recs := parseLogicFile(lines)
	e := &logicEnv{t: t, root: root, tmp: t.TempDir(), vars: map[string]string{}}
	e.vars["DATA"] = filepath.Join(root, "data")
	e.vars["NEW"] = filepath.Join(root, "new")
	e.vars["TMP"] = e.tmp
	e.newDB("fake")
	defer func() { e.d.Close() }()
	ctx := context.Background()
	changed := false
	replace := map[int][]string{} // headerLine -> new lines for the record
	for _, r := range recs {
		sql := e.subst(strings.Join(r.body, "\n"))
		where := fmt.Sprintf("%s:%d", filepath.Base(path), r.line)
		var got []string
		check := true
		newHeader := strings.Join(r.header, " ")
		switch r.header[0] {
		case "newdb":
			hooks := "fake"
			if len(r.header) > 1 {
				hooks = r.header[1]
			}
			e.newDB(hooks)
			check = false
		case "statement":
			if len(r.header) < 2 {
				t.Fatalf("%s: statement what?", where)
			}
			res, err := e.s.Exec(ctx, sql)
			e.last = res
			switch r.header[1] {
			case "ok":
				if err != nil {
					t.Errorf("%s: %s\nunexpected error: %v", where, sql, err)
				}
			case "affected":
				if err != nil {
					t.Errorf("%s: %s\nunexpected error: %v", where, sql, err)
				} else if want := strings.Join(r.header[2:], " "); fmt.Sprint(res.RowsAffected) != want {
					t.Errorf("%s: %s\naffected %d rows, want %s", where, sql, res.RowsAffected, want)
					newHeader = fmt.Sprintf("statement affected %d", res.RowsAffected)
				}
			case "error":
				hdrText := strings.TrimSpace(lines[r.headerLine])
				pat := strings.TrimSpace(strings.TrimPrefix(hdrText, "statement error"))
				if err == nil {
					t.Errorf("%s: %s\nsucceeded, want error matching %q", where, sql, pat)
					break
				}
				msg := e.unsubst(err.Error())
				re, rerr := regexp.Compile(pat)
				if rerr != nil || !re.MatchString(msg) {
					if *rewriteFlag {
						first, _, _ := strings.Cut(msg, "\n")
						newHeader = "statement error " + regexp.QuoteMeta(first)
					} else {
						t.Errorf("%s: %s\nerror %q does not match %q", where, sql, msg, pat)
					}
				}
			}
			check = false
		case "query":
			if len(r.header) < 2 {
				t.Fatalf("%s: query types?", where)
			}
			res, err := e.s.Query(ctx, sql)
			if err != nil {
				t.Errorf("%s: %s\nunexpected error: %v", where, sql, err)
				check = false
				break
			}
			e.last = res
			types := make([]byte, len(res.Columns))
			for i, c := range res.Columns {
				types[i] = typeLetters[c.Type]
			}
			if string(types) != r.header[1] {
				if *rewriteFlag {
					h := append([]string{"query", string(types)}, r.header[2:]...)
					newHeader = strings.Join(h, " ")
				} else {
					t.Errorf("%s: %s\ncolumn types %s, want %s (columns %v)", where, sql, types, r.header[1], res.ColumnNames())
				}
			}
			for _, row := range res.Rows {
				cells := make([]string, len(row))
				for i, v := range row {
					cells[i] = tsvEscaper.Replace(CellText(v))
				}
				got = append(got, e.unsubst(strings.Join(cells, "\t")))
			}
			if contains(r.header[2:], "rowsort") {
				sort.Strings(got)
			}
		case "result":
			if e.last != nil {
				if e.last.Message != "" {
					got = append(got, "message: "+e.unsubst(e.last.Message))
				}
				for _, w := range e.last.Warnings {
					got = append(got, "warning: "+e.unsubst(w))
				}
			}
		case "bind":
			res, err := e.s.Query(ctx, sql)
			if err != nil || len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
				t.Fatalf("%s: bind %s: want one value, got %v, %v", where, sql, res, err)
			}
			e.vars[r.header[1]] = CellText(res.Rows[0][0])
			check = false
		case "setinsight":
			if len(r.header) != 4 {
				t.Fatalf("%s: setinsight ds group key", where)
			}
			e.setInsight(ctx, where, r.header[1], r.header[2], r.header[3], r.body)
			check = false
		case "hooks":
			e.mu.Lock()
			for _, c := range e.calls {
				got = append(got, e.unsubst(c))
			}
			e.calls = nil
			e.mu.Unlock()
		case "file":
			b, err := os.ReadFile(filepath.Join(e.tmp, r.header[1]))
			if err != nil {
				t.Errorf("%s: %v", where, err)
				check = false
				break
			}
			got = strings.Split(e.unsubst(strings.TrimRight(string(b), "\n")), "\n")
		default:
			t.Fatalf("%s: unknown record %q", where, r.header[0])
		}
		if newHeader != strings.Join(r.header, " ") {
			changed = true
		} else {
			newHeader = strings.TrimSpace(lines[r.headerLine])
		}
		var out []string
		out = append(out, newHeader)
		out = append(out, r.body...)
		if check {
			if !equalLines(got, r.expected) {
				changed = true
				if !*rewriteFlag {
					t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", where, sql, strings.Join(got, "\n"), strings.Join(r.expected, "\n"))
				}
			}
			out = append(out, "----")
			out = append(out, got...)
		} else if r.sepLine >= 0 {
			out = append(out, lines[r.sepLine:r.endLine]...)
		}
		replace[r.headerLine] = out
	}
	if *rewriteFlag && changed {
		var b strings.Builder
		skipTo := -1
		recAt := map[int]*logicRecord{}
		for _, r := range recs {
			recAt[r.headerLine] = r
		}
		for i, l := range lines {
			if i < skipTo {
				continue
			}
			if r, ok := recAt[i]; ok {
				for _, o := range replace[i] {
					b.WriteString(o + "\n")
				}
				skipTo = r.endLine
				continue
			}
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
	}
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// setInsight writes insight values by hand, as tests must (never ONNX).
func (e *logicEnv) setInsight(ctx context.Context, where, dsName, group, key string, body []string) {
	ds, err := e.d.Store().Dataset(dsName)
	if err != nil {
		e.t.Fatalf("%s: %v", where, err)
	}
	vals := map[db.ID]db.Value{}
	for _, l := range body {
		f := strings.Fields(l)
		if len(f) != 2 {
			e.t.Fatalf("%s: setinsight line %q: want <filepath suffix> <value>", where, l)
		}
		v, err := parseTestValue(f[1])
		if err != nil {
			e.t.Fatalf("%s: %v", where, err)
		}
		found := false
		for s, err := range ds.Samples(ctx) {
			if err != nil {
				e.t.Fatal(err)
			}
			if strings.HasSuffix(s.Filepath(), "/"+f[0]) {
				vals[s.ID] = v
				found = true
			}
		}
		if !found {
			e.t.Fatalf("%s: no sample ends with %s", where, f[0])
		}
	}
	if err := ds.SetInsights(ctx, group, key, vals); err != nil {
		e.t.Fatalf("%s: %v", where, err)
	}
}

func parseTestValue(s string) (db.Value, error) {
	if s == "null" {
		return db.Null(), nil
	}
	if v, err := numberValue(s); err == nil {
		return v, nil
	}
	var x any
	if err := json.NewDecoder(bufio.NewReader(strings.NewReader(s))).Decode(&x); err != nil {
		return db.Value{}, errors.New("bad value " + s)
	}
	return db.FromGo(x)
}
