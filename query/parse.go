package query

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
)

// Statement is one parsed statement. The concrete types are *ShowDatasets,
// *ShowModels, *DescribeDataset, *CreateDataset, *DropDataset, *LoadZoo, *Compute,
// *SetVariable, *Explain, *Select, *Insert, *Update, *UpdateTags,
// *Delete, *CreateView, *DropView and *ShowViews.
type Statement interface {
	// SQL is the statement's text as written (without the semicolon).
	SQL() string
	base() *stmtBase
}

type stmtBase struct {
	text   string // the statement as written
	offset int    // byte offset of the statement in its script
}

// SQL implements Statement.
func (b *stmtBase) SQL() string     { return b.text }
func (b *stmtBase) base() *stmtBase { return b }

// Literal is a constant written in a statement: a value, or a placeholder
// (? or :name) whose argument is bound when the statement runs.
type Literal struct {
	Value db.Value
	Param int    // the ? placeholder's 1-based number in the script; 0 if none
	Name  string // the :name placeholder's name; "" if none
}

// String prints the literal as SQL shows it.
func (l Literal) String() string {
	switch {
	case l.Param > 0:
		return "?"
	case l.Name != "":
		return ":" + l.Name
	case l.Value.Kind() == db.KindString:
		return QuoteString(l.Value.AsString())
	}
	return l.Value.String()
}

// QuoteString quotes s as a single-quoted string literal of the dialect,
// so that the literal reads back as exactly s: a backslash is an escape
// character in the dialect (as in MySQL), so both it and the quote are
// escaped. Anything that writes SQL for a user to run (the dashboard, the
// shell) quotes with it.
func QuoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// ShowDatasets is SHOW DATASETS: the datasets with their sample counts.
type ShowDatasets struct{ stmtBase }

// ShowModels is SHOW MODELS: the model zoo's models, with their sizes,
// licences and whether each is present.
type ShowModels struct{ stmtBase }

// DescribeDataset is DESCRIBE name: the dataset's summary as rows.
type DescribeDataset struct {
	stmtBase
	Dataset string
}

// CreateDataset is CREATE DATASET [IF NOT EXISTS] name [FROM IMAGES 'dir'
// [RECURSIVE] [WITH (endpoint = 'http://host:port')]]; dir may be an
// s3://bucket/prefix URL, whose endpoint the WITH option gives.
type CreateDataset struct {
	stmtBase
	Dataset     string
	IfNotExists bool
	FromImages  *Literal // the image folder; nil for an empty dataset
	Recursive   bool
	Options     map[string]Literal // WITH (…) after FROM IMAGES
}

// DropDataset is DROP DATASET [IF EXISTS] name.
type DropDataset struct {
	stmtBase
	Dataset  string
	IfExists bool
}

// LoadZoo is LOAD ZOO DATASET name [SPLIT s] [AS dataset] [WITH (k = v, …)].
type LoadZoo struct {
	stmtBase
	Name    string // the zoo's dataset name, e.g. cifar10
	Split   string // "" when not given
	Dataset string // the dataset to load into; "" means the zoo's default
	Options map[string]Literal
}

// Import is IMPORT INTO dataset FROM 'samples.jsonl' [WITH (check_files =
// false)], one sample per JSON line, or IMPORT INTO dataset (field) FROM
// 'vectors.npy' [WITH (ids = 'ids.txt')], row i of an N × D array into
// field of the i-th sample in ascending id order (or of the sample line i
// of the ids file names). Either is all-or-nothing.
type Import struct {
	stmtBase
	Dataset string
	Field   string // the field an .npy import fills; "" for .jsonl
	File    Literal
	Options map[string]Literal
}

// CheckDatabase is CHECK DATABASE: the integrity check, one row per
// problem and a last row "ok" or "N problems".
type CheckDatabase struct{ stmtBase }

// RepairDatabase is REPAIR DATABASE: every dataset's indexes, counts and
// full-text index rebuilt from its samples.
type RepairDatabase struct{ stmtBase }

// BackupDatabase is BACKUP DATABASE TO 'dir': a consistent copy that
// fosql -db dir opens as it is.
type BackupDatabase struct {
	stmtBase
	Dir Literal
}

// Compute is COMPUTE group ON dataset [WITH (k = v, …)], e.g. COMPUTE
// UNIQUENESS ON walkthrough WITH (k = 3, metric = 'cosine').
type Compute struct {
	stmtBase
	Group   string // lower case, e.g. "uniqueness"
	Dataset string
	Options map[string]Literal
}

// SetVariable is SET name = value, a setting of the session (for example
// SET auto_compute = off), or with SET DATABASE a setting kept in the
// database for every later session.
type SetVariable struct {
	stmtBase
	Name     string // lower case
	Value    Literal
	Database bool // SET DATABASE name = value
}

// Explain is EXPLAIN statement (or DESCRIBE SELECT …): the plan, not the
// answer.
type Explain struct {
	stmtBase
	Statement Statement
}

// Select is a SELECT statement, with an optional INTO OUTFILE 'file' and
// an optional ORDER BY SIMILARITY TO.
type Select struct {
	stmtBase
	Outfile    *Literal
	Similarity *SimilarityOrder
	ast        *sqlparser.Select
}

// SimilarityOrder is ORDER BY SIMILARITY TO 'sample id' or ORDER BY
// SIMILARITY TO FILE 'image' [WITH (model = …, metric = …, embeddings = …)]:
// the samples nearest to the query first (FiftyOne Brain's
// sort_by_similarity). It is the only sort key of its SELECT.
type SimilarityOrder struct {
	Query   Literal // a sample id, or with File an image file's path
	File    bool
	Options map[string]Literal
}

// Insert is INSERT INTO dataset (columns…) VALUES (…), ….
type Insert struct {
	stmtBase
	ast *sqlparser.Insert
}

// Update is UPDATE dataset SET path = value, … [WHERE …].
type Update struct {
	stmtBase
	ast *sqlparser.Update
}

// UpdateTags is UPDATE dataset ADD TAG 'x' [, 'y'] [WHERE …] or REMOVE TAG.
type UpdateTags struct {
	stmtBase
	Dataset string
	Remove  bool
	Tags    []Literal
	sel     *sqlparser.Select // SELECT * FROM dataset WHERE …: the samples to tag
}

// Delete is DELETE FROM dataset [WHERE …].
type Delete struct {
	stmtBase
	ast *sqlparser.Delete
}

// String implements fmt.Stringer for EXPLAIN and logs.
func (s *Select) String() string { return s.text }

// Parse parses a script of statements separated by semicolons (a
// semicolon inside a string, identifier or comment separates nothing).
// A syntax error is a *SyntaxError.
func Parse(sql string) ([]Statement, error) {
	sc, err := parseScript(sql)
	if err != nil {
		return nil, err
	}
	return sc.stmts, nil
}

// ParseCached parses sql as Parse does, through the cache of parsed
// scripts that running a statement uses, so that a statement looked at
// before it runs is parsed once. The statements are shared with every
// later run of the same text: the caller must not change them.
func ParseCached(sql string) ([]Statement, error) {
	sc, err := parseCached(sql)
	if err != nil {
		return nil, err
	}
	return sc.stmts, nil
}

// script is a parsed script with its placeholder counts.
type script struct {
	stmts  []Statement
	params int  // number of ? placeholders
	named  bool // whether :name placeholders appear
}

func parseScript(sql string) (*script, error) {
	sc := &script{}
	lx := lexer{src: sql, maxStatement: MaxStatementBytes, stmtStart: -1}
	var (
		cur   []token // the tokens of the statement being read
		guard *statementGuard
	)
	for {
		t, err := lx.next()
		if err != nil {
			return nil, lexFailure(sql, err, guard)
		}
		if t.kind == tokEOF || t.isOp(";") {
			if len(cur) > 0 {
				end := cur[len(cur)-1].end
				cur = append(cur, token{kind: tokEOF, start: end, end: end})
				p := &parser{script: sql, toks: cur, start: cur[0].start, end: end}
				st, err := p.statement()
				if err != nil {
					return nil, err
				}
				sc.stmts = append(sc.stmts, st)
				cur, guard = nil, nil
			}
			lx.stmtStart = -1
			if t.kind == tokEOF {
				return sc, nil
			}
			continue
		}
		if guard == nil {
			guard = newStatementGuard(sql, t)
			lx.stmtStart = t.start
		}
		if err := guard.add(t); err != nil {
			return nil, err
		}
		switch t.kind {
		case tokParam:
			sc.params++
			t.n = sc.params
		case tokBindVar:
			sc.named = true
		}
		cur = append(cur, t)
	}
}

// lexFailure turns an error of the lexer into a *SyntaxError, or a
// *LimitError for a quoted token that takes its statement over
// MaxStatementBytes.
func lexFailure(sql string, err error, guard *statementGuard) error {
	var tl *tooLongError
	if errors.As(err, &tl) {
		start := tl.start
		if guard != nil {
			start = guard.start
		}
		return limitAt(sql, start, "the statement", MaxStatementBytes, "bytes", "MaxStatementBytes")
	}
	var le *lexError
	if errors.As(err, &le) {
		near := sql[le.pos:]
		if i := strings.IndexByte(near, '\n'); i >= 0 {
			near = near[:i]
		}
		if len(near) > 24 {
			near = near[:24] + "…"
		}
		return newSyntaxError(sql, le.pos, near, le.msg, "")
	}
	return err
}

// parser reads one statement from its tokens.
type parser struct {
	script     string
	toks       []token // the statement's tokens, ending with tokEOF
	i          int
	start, end int // the statement's byte range in script
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// accept consumes the bare word kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

// expect consumes the bare words in order.
func (p *parser) expect(kws ...string) error {
	for _, kw := range kws {
		if !p.accept(kw) {
			return p.errAt(p.peek(), "expected "+kw)
		}
	}
	return nil
}

// errAt is a syntax error at token t.
func (p *parser) errAt(t token, msg string) error {
	near, hint := "", ""
	if t.kind != tokEOF {
		near = p.script[t.start:t.end]
		if t.kind == tokIdent {
			if kw := keywordHint(t.val); kw != "" {
				hint = "did you mean " + kw + "?"
			}
		}
	}
	return newSyntaxError(p.script, t.start, near, msg, hint)
}

// name reads an identifier (bare or back-quoted) naming a what.
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	if !t.isName() {
		return "", p.errAt(t, "expected "+what)
	}
	p.i++
	return t.val, nil
}

// fieldPath reads a field path: a name, or dotted names (ground_truth.label).
func (p *parser) fieldPath() (string, error) {
	path, err := p.name("a field name")
	for err == nil && p.peek().isOp(".") && p.peekN(1).isName() {
		path += "." + p.peekN(1).val
		p.i += 2
	}
	return path, err
}

// end checks that the statement is over.
func (p *parser) done() error {
	if t := p.peek(); t.kind != tokEOF {
		return p.errAt(t, "unexpected text after the statement")
	}
	return nil
}

// literal reads a constant or a placeholder. With words, a bare word is
// read as a string (metric = cosine, SET auto_compute = off).
func (p *parser) literal(words bool) (Literal, error) {
	t := p.peek()
	neg := false
	if t.isOp("-") && p.peekN(1).kind == tokNumber {
		neg = true
		p.i++
		t = p.peek()
	}
	switch t.kind {
	case tokString:
		p.i++
		return Literal{Value: db.String(t.val)}, nil
	case tokNumber:
		p.i++
		v, err := numberValue(t.val)
		if err != nil {
			return Literal{}, p.errAt(t, "bad number")
		}
		if neg {
			v = negate(v)
		}
		return Literal{Value: v}, nil
	case tokParam:
		p.i++
		return Literal{Param: t.n}, nil
	case tokBindVar:
		p.i++
		return Literal{Name: t.val}, nil
	case tokIdent:
		switch strings.ToLower(t.val) {
		case "true":
			p.i++
			return Literal{Value: db.Bool(true)}, nil
		case "false":
			p.i++
			return Literal{Value: db.Bool(false)}, nil
		case "null":
			p.i++
			return Literal{Value: db.Null()}, nil
		}
		if words {
			p.i++
			return Literal{Value: db.String(t.val)}, nil
		}
	}
	return Literal{}, p.errAt(t, "expected a value")
}

// numberValue converts a numeric token: integers that fit in int64 are
// ints, everything else is a float; 0x… is hexadecimal.
func numberValue(s string) (db.Value, error) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 63)
		if err != nil {
			return db.Value{}, err
		}
		return db.Int(int64(u)), nil
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return db.Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return db.Float(f), nil
		}
		return db.Value{}, err
	}
	return db.Float(f), nil
}

func negate(v db.Value) db.Value {
	if v.Kind() == db.KindInt {
		return db.Int(-v.AsInt())
	}
	return db.Float(-v.AsFloat())
}

// options reads WITH (name = value, …), if present.
func (p *parser) options() (map[string]Literal, error) {
	if !p.accept("WITH") {
		return nil, nil
	}
	if !p.peek().isOp("(") {
		return nil, p.errAt(p.peek(), "expected (")
	}
	p.i++
	opts := map[string]Literal{}
	for {
		k, err := p.name("an option name")
		if err != nil {
			return nil, err
		}
		if !p.peek().isOp("=") {
			return nil, p.errAt(p.peek(), "expected =")
		}
		p.i++
		v, err := p.literal(true)
		if err != nil {
			return nil, err
		}
		opts[strings.ToLower(k)] = v
		if p.peek().isOp(",") {
			p.i++
			continue
		}
		if p.peek().isOp(")") {
			p.i++
			return opts, nil
		}
		return nil, p.errAt(p.peek(), "expected , or )")
	}
}

// statement parses the statement: keyword-led dataset statements here,
// standard SQL through sqlparser.
func (p *parser) statement() (Statement, error) {
	b := stmtBase{text: p.script[p.start:p.end], offset: p.start}
	if st, ok, err := p.viewStatement(b); ok {
		return st, err
	}
	first := p.peek()
	switch {
	case first.is("SHOW"):
		p.i++
		if p.accept("MODELS") {
			return &ShowModels{b}, p.done()
		}
		if !p.accept("DATASETS") && !p.accept("TABLES") {
			return nil, p.errAt(p.peek(), "expected DATASETS or MODELS")
		}
		return &ShowDatasets{b}, p.done()
	case first.is("DESCRIBE") || first.is("DESC") || first.is("EXPLAIN"):
		p.i++
		nt := p.peek()
		if first.is("EXPLAIN") || nt.is("SELECT") || nt.is("UPDATE") || nt.is("DELETE") || nt.is("INSERT") {
			if nt.kind == tokEOF {
				return nil, p.errAt(nt, "expected a statement to explain")
			}
			inner := &parser{script: p.script, toks: p.toks[p.i:], start: nt.start, end: p.end}
			st, err := inner.statement()
			if err != nil {
				return nil, err
			}
			if _, ok := st.(*Explain); ok {
				return nil, p.errAt(nt, "EXPLAIN cannot explain EXPLAIN")
			}
			return &Explain{stmtBase: b, Statement: st}, nil
		}
		if p.peek().is("DATASET") && p.peekN(1).kind != tokEOF {
			p.i++ // DESCRIBE DATASET name
		}
		name, err := p.name("a dataset name")
		if err != nil {
			return nil, err
		}
		return &DescribeDataset{b, name}, p.done()
	case first.is("CREATE") && p.peekN(1).is("DATASET"):
		p.i += 2
		st := &CreateDataset{stmtBase: b}
		if p.accept("IF") {
			if err := p.expect("NOT", "EXISTS"); err != nil {
				return nil, err
			}
			st.IfNotExists = true
		}
		var err error
		if st.Dataset, err = p.name("a dataset name"); err != nil {
			return nil, err
		}
		if p.accept("FROM") {
			if err := p.expect("IMAGES"); err != nil {
				return nil, err
			}
			lit, err := p.literal(false)
			if err != nil {
				return nil, err
			}
			st.FromImages = &lit
			st.Recursive = p.accept("RECURSIVE")
			if st.Options, err = p.options(); err != nil {
				return nil, err
			}
		}
		return st, p.done()
	case first.is("DROP") && p.peekN(1).is("DATASET"):
		p.i += 2
		st := &DropDataset{stmtBase: b}
		if p.accept("IF") {
			if err := p.expect("EXISTS"); err != nil {
				return nil, err
			}
			st.IfExists = true
		}
		var err error
		if st.Dataset, err = p.name("a dataset name"); err != nil {
			return nil, err
		}
		return st, p.done()
	case first.is("LOAD"):
		p.i++
		if err := p.expect("ZOO", "DATASET"); err != nil {
			return nil, err
		}
		st := &LoadZoo{stmtBase: b}
		var err error
		if st.Name, err = p.zooName(); err != nil {
			return nil, err
		}
		if p.accept("SPLIT") {
			if st.Split, err = p.wordOrString("a split name"); err != nil {
				return nil, err
			}
		}
		if p.accept("AS") {
			if st.Dataset, err = p.name("a dataset name"); err != nil {
				return nil, err
			}
		}
		if st.Options, err = p.options(); err != nil {
			return nil, err
		}
		return st, p.done()
	case (first.is("CHECK") || first.is("REPAIR")) && p.peekN(1).is("DATABASE"):
		p.i += 2
		if first.is("CHECK") {
			return &CheckDatabase{b}, p.done()
		}
		return &RepairDatabase{b}, p.done()
	case first.is("BACKUP"):
		p.i++
		if err := p.expect("DATABASE", "TO"); err != nil {
			return nil, err
		}
		dir, err := p.literal(false)
		if err != nil {
			return nil, err
		}
		return &BackupDatabase{b, dir}, p.done()
	case first.is("IMPORT"):
		p.i++
		if err := p.expect("INTO"); err != nil {
			return nil, err
		}
		st := &Import{stmtBase: b}
		var err error
		if st.Dataset, err = p.name("a dataset name"); err != nil {
			return nil, err
		}
		if p.peek().isOp("(") {
			p.i++
			if st.Field, err = p.fieldPath(); err != nil {
				return nil, err
			}
			if !p.peek().isOp(")") {
				return nil, p.errAt(p.peek(), "expected ) after the field name")
			}
			p.i++
		}
		if err := p.expect("FROM"); err != nil {
			return nil, err
		}
		if st.File, err = p.literal(false); err != nil {
			return nil, err
		}
		if st.Options, err = p.options(); err != nil {
			return nil, err
		}
		return st, p.done()
	case first.is("COMPUTE"):
		p.i++
		st := &Compute{stmtBase: b}
		g, err := p.name("what to compute, e.g. UNIQUENESS")
		if err != nil {
			return nil, err
		}
		st.Group = strings.ToLower(g)
		if err := p.expect("ON"); err != nil {
			return nil, err
		}
		if st.Dataset, err = p.name("a dataset name"); err != nil {
			return nil, err
		}
		if st.Options, err = p.options(); err != nil {
			return nil, err
		}
		return st, p.done()
	case first.is("SET"):
		p.i++
		database := p.accept("DATABASE")
		if !database {
			p.accept("SESSION")
		}
		t := p.peek()
		name, err := p.name("a setting name")
		if err != nil {
			return nil, err
		}
		name = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(name), "@@session."), "@@")
		if !p.peek().isOp("=") && !p.peek().is("TO") {
			return nil, p.errAt(p.peek(), "expected =")
		}
		p.i++
		v, err := p.literal(true)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, p.errAt(t, "expected a setting name")
		}
		return &SetVariable{stmtBase: b, Name: name, Value: v, Database: database}, p.done()
	case first.is("UPDATE") && p.peekN(1).isName() && (p.peekN(2).is("ADD") || p.peekN(2).is("REMOVE")):
		return p.updateTags(b)
	}
	return p.standard(b)
}

// wordOrString reads a bare word, a back-quoted name or a string.
// zooName reads a zoo dataset name: a quoted string, or words joined by
// hyphens as the zoo spells them (fashion-mnist, coco-2017).
func (p *parser) zooName() (string, error) {
	name, err := p.wordOrString("a zoo dataset name")
	if err != nil || p.toks[p.i-1].kind == tokString {
		return name, err
	}
	for p.peek().isOp("-") && (p.peekN(1).isName() || p.peekN(1).kind == tokNumber) {
		name += "-" + p.peekN(1).val
		p.i += 2
	}
	return name, nil
}

func (p *parser) wordOrString(what string) (string, error) {
	t := p.peek()
	if t.isName() || t.kind == tokString {
		p.i++
		return t.val, nil
	}
	return "", p.errAt(t, "expected "+what)
}

// updateTags parses UPDATE ds ADD|REMOVE TAG[S] 'x' [, 'y'] [WHERE …]
// [ORDER BY …] [LIMIT …]; the part after the tags goes through sqlparser
// as SELECT * FROM ds ….
func (p *parser) updateTags(b stmtBase) (Statement, error) {
	upd := p.next()
	dsTok := p.next()
	st := &UpdateTags{stmtBase: b, Dataset: dsTok.val, Remove: p.next().is("REMOVE")}
	if !p.accept("TAG") && !p.accept("TAGS") {
		return nil, p.errAt(p.peek(), "expected TAG")
	}
	for {
		lit, err := p.literal(false)
		if err != nil {
			return nil, err
		}
		st.Tags = append(st.Tags, lit)
		if !p.peek().isOp(",") {
			break
		}
		p.i++
	}
	if t := p.peek(); t.kind != tokEOF && !t.is("WHERE") && !t.is("ORDER") && !t.is("LIMIT") {
		return nil, p.errAt(t, "expected WHERE")
	}
	rw := newRewrite(p.script, p.end-p.start)
	rw.emit("select * from ", upd.start)
	rw.name([]token{dsTok})
	if err := rw.tokens(p.toks[p.i:], false); err != nil {
		return nil, err
	}
	ast, err := p.sqlparse(rw, p.toks)
	if err != nil {
		return nil, err
	}
	sel, ok := ast.(*sqlparser.Select)
	if !ok {
		return nil, p.errAt(p.peek(), "expected WHERE")
	}
	st.sel = sel
	return st, nil
}

// standard parses a statement of MySQL's grammar with sqlparser, after
// rewriting the forms it does not know (see rewrite).
func (p *parser) standard(b stmtBase) (Statement, error) {
	toks := p.toks[p.i:]
	var outfile *Literal
	var similar *SimilarityOrder
	isSelect := toks[0].is("SELECT") || toks[0].isOp("(")
	if isSelect {
		var err error
		toks, outfile, err = p.stripOutfile(toks)
		if err != nil {
			return nil, err
		}
		if toks, similar, err = p.stripSimilarity(toks); err != nil {
			return nil, err
		}
	}
	rw := newRewrite(p.script, p.end-p.start)
	if err := rw.tokens(toks, true); err != nil {
		return nil, err
	}
	ast, err := p.sqlparse(rw, p.toks)
	if err != nil {
		return nil, err
	}
	switch t := ast.(type) {
	case *sqlparser.Select:
		return &Select{stmtBase: b, Outfile: outfile, Similarity: similar, ast: t}, nil
	case *sqlparser.Insert:
		if t.Action != sqlparser.InsertStr {
			return nil, fmt.Errorf("REPLACE: %w (use INSERT, or UPDATE … SET)", ErrUnsupported)
		}
		return &Insert{stmtBase: b, ast: t}, nil
	case *sqlparser.Update:
		return &Update{stmtBase: b, ast: t}, nil
	case *sqlparser.Delete:
		return &Delete{stmtBase: b, ast: t}, nil
	case *sqlparser.Union, *sqlparser.ParenSelect:
		return nil, fmt.Errorf("UNION and parenthesised SELECT: %w", ErrUnsupported)
	case *sqlparser.DDL:
		return nil, fmt.Errorf("%s: %w: fosql stores datasets, not tables; use CREATE DATASET name [FROM IMAGES 'dir' [RECURSIVE]] or DROP DATASET name",
			leadingWords(toks, 2), ErrUnsupported)
	}
	word := strings.ToUpper(p.toks[p.i].val)
	return nil, fmt.Errorf("%s statements: %w", word, ErrUnsupported)
}

// leadingWords returns up to n leading bare words, upper-cased.
func leadingWords(toks []token, n int) string {
	var w []string
	for _, t := range toks {
		if t.kind != tokIdent || len(w) == n {
			break
		}
		w = append(w, strings.ToUpper(t.val))
	}
	return strings.Join(w, " ")
}

// stripOutfile removes INTO OUTFILE 'file' from a SELECT's tokens (at
// parenthesis depth 0, wherever MySQL allows it) and returns the file.
func (p *parser) stripOutfile(toks []token) ([]token, *Literal, error) {
	i := topLevel(toks, "INTO", "OUTFILE")
	if i < 0 {
		return toks, nil, nil
	}
	sub := &parser{script: p.script, toks: toks[i+2:]}
	lit, err := sub.literal(false)
	if err != nil {
		return nil, nil, err
	}
	if lit.Param == 0 && lit.Name == "" && lit.Value.Kind() != db.KindString {
		return nil, nil, p.errAt(toks[i+2], "expected a file name")
	}
	out := append(append([]token(nil), toks[:i]...), toks[i+3:]...)
	return out, &lit, nil
}

// topLevel returns the index in toks where the keywords words stand in a
// row at parenthesis depth 0, or -1.
func topLevel(toks []token, words ...string) int {
	depth := 0
next:
	for i, t := range toks {
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth--
		case depth == 0 && i+len(words) <= len(toks):
			for k, w := range words {
				if !toks[i+k].is(w) {
					continue next
				}
			}
			return i
		}
	}
	return -1
}

// stripSimilarity removes ORDER BY SIMILARITY TO [FILE] value [WITH (…)]
// from a SELECT's tokens (at parenthesis depth 0) and returns it; the
// grammar of sqlparser has no place for it.
func (p *parser) stripSimilarity(toks []token) ([]token, *SimilarityOrder, error) {
	i := topLevel(toks, "ORDER", "BY", "SIMILARITY", "TO")
	if i < 0 {
		return toks, nil, nil
	}
	sub := &parser{script: p.script, toks: toks[i+4:]}
	so := &SimilarityOrder{File: sub.accept("FILE")}
	lit, err := sub.literal(false)
	if err != nil {
		return nil, nil, err
	}
	if lit.Param == 0 && lit.Name == "" && lit.Value.Kind() != db.KindString {
		what := "a sample id"
		if so.File {
			what = "an image file's path"
		}
		return nil, nil, sub.errAt(sub.toks[sub.i-1], "expected "+what+" in quotes")
	}
	so.Query = lit
	if so.Options, err = sub.options(); err != nil {
		return nil, nil, err
	}
	switch next := sub.peek(); {
	case next.isOp(","):
		return nil, nil, sub.errAt(next, "ORDER BY SIMILARITY TO is the only sort key: nearer samples come first, ties by id")
	case next.is("ASC") || next.is("DESC"):
		return nil, nil, sub.errAt(next, "ORDER BY SIMILARITY TO puts the nearest first; ASC and DESC do not apply to it")
	}
	rest := toks[i+4+sub.i:]
	out := append(append([]token(nil), toks[:i]...), rest...)
	return out, so, nil
}

// positionRe finds the position in a sqlparser error; compiled on the
// first syntax error rather than at every process's start.
var positionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.*) at position (\d+)`) })

// sqlparse parses rw's text with sqlparser and maps a syntax error back
// to the original text: sqlparser gives the position one past the end of
// the offending token, counted from 1.
func (p *parser) sqlparse(rw *rewrite, orig []token) (sqlparser.Statement, error) {
	// A trailing blank makes the end of input differ from a last token:
	// sqlparser reports len+1 for a token that ends the text and len+2
	// for the end of input.
	rw.emit(" ", p.end)
	text := string(rw.buf)
	ast, err := parseSafely(text)
	if err == nil {
		return ast, nil
	}
	m := positionRe().FindStringSubmatch(err.Error())
	if m == nil {
		return nil, newSyntaxError(p.script, p.start, "", err.Error(), "")
	}
	msg := m[1]
	n, _ := strconv.Atoi(m[2])
	e := n - 1 // end of the offending token in text
	if e >= len(text) || e <= 0 {
		last := p.start
		var prev token
		for _, t := range orig {
			if t.kind != tokEOF {
				last, prev = t.end, t
			}
		}
		hint := ""
		if prev.kind == tokIdent {
			if kw := keywordHint(prev.val); kw != "" {
				hint = fmt.Sprintf("did you mean %s instead of %s?", kw, prev.val)
			}
		}
		return nil, newSyntaxError(p.script, last, "", msg, hint)
	}
	o := rw.origin[e-1]
	idx := -1
	for i, t := range orig {
		if t.kind != tokEOF && t.start <= o && o < t.end {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, newSyntaxError(p.script, o, "", msg, "")
	}
	t := orig[idx]
	hint := ""
	if t.kind == tokIdent {
		if kw := keywordHint(t.val); kw != "" {
			hint = "did you mean " + kw + "?"
		}
	}
	// FROM fashion-mnist: a name with a hyphen (as zoo names have) reads
	// as a subtraction.
	if hint == "" && t.isOp("-") && idx >= 2 && orig[idx-1].kind == tokIdent && orig[idx-2].is("FROM") && orig[idx+1].kind == tokIdent {
		hint = fmt.Sprintf("a name with '-' goes in backquotes: `%s-%s` (LOAD ZOO names datasets with '_': %s_%s)",
			orig[idx-1].val, orig[idx+1].val, orig[idx-1].val, orig[idx+1].val)
	}
	// A misspelt keyword is often taken as an alias, and the error lands a
	// few tokens later (FROM w WHER metadata.width ...): look back.
	for j := idx - 1; hint == "" && j >= 0 && j >= idx-4; j-- {
		if orig[j].kind != tokIdent {
			continue
		}
		if kw := keywordHint(orig[j].val); kw != "" {
			hint = fmt.Sprintf("did you mean %s instead of %s?", kw, orig[j].val)
		}
	}
	return nil, newSyntaxError(p.script, t.start, p.script[t.start:t.end], msg, hint)
}

// parseSafely runs sqlparser, turning a panic inside it into an error.
func parseSafely(text string) (st sqlparser.Statement, err error) {
	defer func() {
		if r := recover(); r != nil {
			st, err = nil, fmt.Errorf("%w: parser: %v", ErrInternal, r)
		}
	}()
	return sqlparser.ParseStrictDDL(text)
}

// scriptCache keeps recently parsed scripts, as SQLite keeps prepared
// statements, so that a program running the same SQL again skips the
// parser. Parsed statements are never modified after parsing, so one
// entry can serve several sessions at once.
var scriptCache = newBoundedMap[string, *script](scriptCacheSize)

const (
	scriptCacheSize = 256
	scriptCacheText = 4 << 10 // longer scripts are not kept
)

// parseCached is parseScript with the cache.
func parseCached(sql string) (*script, error) {
	if len(sql) > scriptCacheText {
		return parseScript(sql)
	}
	if sc, ok := scriptCache.get(sql); ok {
		return sc, nil
	}
	sc, err := parseScript(sql)
	if err != nil {
		return nil, err
	}
	scriptCache.put(sql, sc)
	return sc, nil
}
