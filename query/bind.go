package query

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// binder turns sqlparser expressions into views predicates and stages,
// checking names against a dataset's schema and binding placeholders.
type binder struct {
	ds   *db.Dataset
	sc   *schema
	args *args
	// similar is set for a SELECT … ORDER BY SIMILARITY TO, whose rows
	// ranker orders (nil while the names are only checked).
	similar bool
	ranker  views.Ranker
}

// rawPath is the dotted path a column reference names, as written.
func rawPath(c *sqlparser.ColName) string {
	p := c.Name.String()
	q := c.Qualifier
	if !q.Name.IsEmpty() {
		p = q.Name.String() + "." + p
		if !q.Qualifier.IsEmpty() {
			p = q.Qualifier.String() + "." + p
		}
	}
	return p
}

// path resolves a column reference to a field path.
func (b *binder) path(c *sqlparser.ColName) (string, error) {
	return b.sc.resolve(rawPath(c))
}

// colOf returns the column an expression names (looking through
// parentheses), or nil.
func colOf(e sqlparser.Expr) *sqlparser.ColName {
	for {
		switch t := e.(type) {
		case *sqlparser.ColName:
			return t
		case *sqlparser.ParenExpr:
			e = t.Expr
		default:
			return nil
		}
	}
}

// constant evaluates a constant expression: a literal, a placeholder,
// NULL, TRUE/FALSE, or a sign before a number. ok is false for anything
// else.
func (b *binder) constant(e sqlparser.Expr) (v db.Value, ok bool, err error) {
	switch t := e.(type) {
	case *sqlparser.SQLVal:
		switch t.Type {
		case sqlparser.StrVal:
			return db.String(string(t.Val)), true, nil
		case sqlparser.IntVal, sqlparser.FloatVal, sqlparser.HexNum:
			v, err := numberValue(string(t.Val))
			if err != nil {
				return v, true, fmt.Errorf("bad number %s: %w", t.Val, ErrTypeMismatch)
			}
			return v, true, nil
		case sqlparser.HexVal:
			raw, err := hex.DecodeString(string(t.Val))
			if err != nil {
				return v, true, fmt.Errorf("bad hex literal x'%s': %w", t.Val, ErrTypeMismatch)
			}
			return db.String(string(raw)), true, nil
		case sqlparser.BitVal:
			u, err := strconv.ParseUint(string(t.Val), 2, 63)
			if err != nil {
				return v, true, fmt.Errorf("bad bit literal b'%s': %w", t.Val, ErrTypeMismatch)
			}
			return db.Int(int64(u)), true, nil
		case sqlparser.ValArg:
			v, err := b.args.lookup(string(t.Val))
			return v, true, err
		}
	case *sqlparser.NullVal:
		return db.Null(), true, nil
	case sqlparser.BoolVal:
		return db.Bool(bool(t)), true, nil
	case *sqlparser.ParenExpr:
		return b.constant(t.Expr)
	case *sqlparser.UnaryExpr:
		if t.Operator != sqlparser.UMinusStr && t.Operator != sqlparser.UPlusStr {
			return v, false, nil
		}
		x, ok, err := b.constant(t.Expr)
		if !ok || err != nil {
			return x, ok, err
		}
		if !x.IsNumber() {
			return x, true, fmt.Errorf("%s%s: %w: a sign needs a number", t.Operator, x, ErrTypeMismatch)
		}
		if t.Operator == sqlparser.UMinusStr {
			x = negate(x)
		}
		return x, true, nil
	}
	return v, false, nil
}

// mustConstant is constant for a place where only a value may stand.
func (b *binder) mustConstant(e sqlparser.Expr, where string) (db.Value, error) {
	v, ok, err := b.constant(e)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, fmt.Errorf("%s must be a value, not %s: %w", where, sqlparser.String(e), ErrUnsupported)
	}
	return v, nil
}

var cmpOps = map[string]views.CmpOp{
	sqlparser.EqualStr:        views.Eq,
	sqlparser.NotEqualStr:     views.Ne,
	sqlparser.LessThanStr:     views.Lt,
	sqlparser.LessEqualStr:    views.Le,
	sqlparser.GreaterThanStr:  views.Gt,
	sqlparser.GreaterEqualStr: views.Ge,
}

// flipped is the operator with its operands swapped: 3 < x is x > 3.
func flipped(op views.CmpOp) views.CmpOp {
	switch op {
	case views.Lt:
		return views.Gt
	case views.Le:
		return views.Ge
	case views.Gt:
		return views.Lt
	case views.Ge:
		return views.Le
	}
	return op
}

// checkValue explains a value that a field's kind cannot be compared with.
func (b *binder) checkValue(path string, v db.Value, what string) (db.Value, error) {
	if v.Kind() == db.KindNull {
		return v, fmt.Errorf("%s with NULL is never true: %w; use %s IS NULL or IS NOT NULL", what, ErrTypeMismatch, path)
	}
	ks, _ := b.sc.kinds(path)
	if len(ks) == 1 && ks[0] == db.KindBool && v.Kind() == db.KindInt && (v.AsInt() == 0 || v.AsInt() == 1) {
		return db.Bool(v.AsInt() == 1), nil
	}
	if b.sc.accepts(path, v) {
		return v, nil
	}
	kt := b.sc.kindsText(path)
	switch {
	case kt == "list" && v.Kind() != db.KindList:
		return v, fmt.Errorf("%w: %s is a list; to test membership write %s IN %s", ErrTypeMismatch, path, v, path)
	case kt == "document":
		return v, fmt.Errorf("%w: %s is a document; compare one of its fields (e.g. %s.<name>)", ErrTypeMismatch, path, path)
	}
	return v, fmt.Errorf("%w: %s holds %s values; it cannot be compared with the %s %s", ErrTypeMismatch, path, kt, v.Kind(), describeValue(v))
}

// describeValue shows a value in a message: strings quoted as SQL.
func describeValue(v db.Value) string {
	if v.Kind() == db.KindString {
		return QuoteString(v.AsString())
	}
	return v.String()
}

// pred binds a WHERE expression (one that holds no MATCH … AGAINST).
func (b *binder) pred(e sqlparser.Expr) (views.Expr, error) {
	switch t := e.(type) {
	case *sqlparser.AndExpr:
		l, err := b.pred(t.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.pred(t.Right)
		if err != nil {
			return nil, err
		}
		return flatAnd(l, r), nil
	case *sqlparser.OrExpr:
		l, err := b.pred(t.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.pred(t.Right)
		if err != nil {
			return nil, err
		}
		var out views.Or
		for _, x := range []views.Expr{l, r} {
			if o, ok := x.(views.Or); ok {
				out = append(out, o...)
			} else {
				out = append(out, x)
			}
		}
		return out, nil
	case *sqlparser.NotExpr:
		x, err := b.pred(t.Expr)
		if err != nil {
			return nil, err
		}
		if c, ok := x.(views.Const); ok {
			return !c, nil
		}
		return views.Not{X: x}, nil
	case *sqlparser.ParenExpr:
		return b.pred(t.Expr)
	case *sqlparser.ComparisonExpr:
		return b.comparison(t)
	case *sqlparser.RangeCond:
		return b.between(t)
	case *sqlparser.IsExpr:
		return b.is(t)
	case *sqlparser.FuncExpr:
		return b.function(t)
	case *sqlparser.MatchExpr:
		return nil, fmt.Errorf("MATCH … AGAINST under OR or NOT: %w; AND it with the other conditions", ErrUnsupported)
	case *sqlparser.ColName:
		path, err := b.path(t)
		if err != nil {
			return nil, err
		}
		v, err := b.checkValue(path, db.Bool(true), "testing a field as a condition")
		if err != nil {
			return nil, err
		}
		return views.Cmp{Path: path, Op: views.Eq, Value: v}, nil
	case *sqlparser.Subquery, *sqlparser.ExistsExpr:
		return nil, fmt.Errorf("subqueries: %w", ErrUnsupported)
	}
	v, ok, err := b.constant(e)
	if err != nil {
		return nil, err
	}
	if ok {
		switch v.Kind() {
		case db.KindBool:
			return views.Const(v.AsBool()), nil
		case db.KindInt, db.KindFloat:
			return views.Const(v.AsFloat() != 0), nil
		case db.KindNull:
			return views.Const(false), nil
		}
		return nil, fmt.Errorf("%w: %s is not a condition", ErrTypeMismatch, describeValue(v))
	}
	return nil, fmt.Errorf("condition %s: %w", sqlparser.String(e), ErrUnsupported)
}

func flatAnd(xs ...views.Expr) views.Expr {
	var out views.And
	for _, x := range xs {
		if a, ok := x.(views.And); ok {
			out = append(out, a...)
		} else {
			out = append(out, x)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// comparison binds =, !=, <, <=, >, >=, <=>, [NOT] IN and [NOT] LIKE.
func (b *binder) comparison(t *sqlparser.ComparisonExpr) (views.Expr, error) {
	switch t.Operator {
	case sqlparser.InStr, sqlparser.NotInStr:
		return b.in(t)
	case sqlparser.LikeStr, sqlparser.NotLikeStr:
		return b.like(t)
	case sqlparser.RegexpStr, sqlparser.NotRegexpStr, sqlparser.JSONExtractOp, sqlparser.JSONUnquoteExtractOp:
		return nil, fmt.Errorf("operator %s: %w", strings.ToUpper(t.Operator), ErrUnsupported)
	}
	lc, rc := colOf(t.Left), colOf(t.Right)
	if t.Operator == sqlparser.NullSafeEqualStr {
		col, other := lc, t.Right
		if col == nil {
			col, other = rc, t.Left
		}
		if col == nil {
			return nil, fmt.Errorf("<=> between two values: %w", ErrUnsupported)
		}
		path, err := b.path(col)
		if err != nil {
			return nil, err
		}
		v, err := b.mustConstant(other, "the other side of <=>")
		if err != nil {
			return nil, err
		}
		if v.Kind() == db.KindNull {
			return views.Exists{Path: path, Not: true}, nil
		}
		if v, err = b.checkValue(path, v, "comparing"); err != nil {
			return nil, err
		}
		return views.Cmp{Path: path, Op: views.Eq, Value: v}, nil
	}
	op, ok := cmpOps[t.Operator]
	if !ok {
		return nil, fmt.Errorf("operator %s: %w", t.Operator, ErrUnsupported)
	}
	switch {
	case lc != nil && rc != nil:
		return nil, fmt.Errorf("comparing two fields (%s %s %s): %w", rawPath(lc), t.Operator, rawPath(rc), ErrUnsupported)
	case lc == nil && rc == nil:
		l, lok, err := b.constant(t.Left)
		if err != nil {
			return nil, err
		}
		r, rok, err := b.constant(t.Right)
		if err != nil {
			return nil, err
		}
		if !lok || !rok {
			return nil, fmt.Errorf("comparison %s: %w: compare a field with a value", sqlparser.String(t), ErrUnsupported)
		}
		return views.Const(constCompare(l, op, r)), nil
	}
	col, other := lc, t.Right
	if col == nil {
		col, other, op = rc, t.Left, flipped(op)
	}
	path, err := b.path(col)
	if err != nil {
		return nil, err
	}
	v, err := b.mustConstant(other, "the other side of "+t.Operator)
	if err != nil {
		return nil, err
	}
	if v, err = b.checkValue(path, v, "comparing "+path); err != nil {
		return nil, err
	}
	return views.Cmp{Path: path, Op: op, Value: v}, nil
}

// constCompare evaluates a comparison of two constants as the views
// engine would.
func constCompare(l db.Value, op views.CmpOp, r db.Value) bool {
	if l.Kind() <= db.KindNull || r.Kind() <= db.KindNull {
		return false
	}
	if l.Kind() != r.Kind() && !(l.IsNumber() && r.IsNumber()) {
		return false
	}
	c := db.Compare(l, r)
	switch op {
	case views.Eq:
		return c == 0
	case views.Ne:
		return c != 0
	case views.Lt:
		return c < 0
	case views.Le:
		return c <= 0
	case views.Gt:
		return c > 0
	}
	return c >= 0
}

// in binds x IN (…) and 'v' IN (listfield).
func (b *binder) in(t *sqlparser.ComparisonExpr) (views.Expr, error) {
	not := t.Operator == sqlparser.NotInStr
	tuple, ok := t.Right.(sqlparser.ValTuple)
	if !ok {
		return nil, fmt.Errorf("IN with a subquery or list argument: %w", ErrUnsupported)
	}
	if col := colOf(t.Left); col != nil {
		path, err := b.path(col)
		if err != nil {
			return nil, err
		}
		vals := make([]db.Value, 0, len(tuple))
		for _, e := range tuple {
			v, err := b.mustConstant(e, "each item of an IN list")
			if err != nil {
				return nil, err
			}
			if v.Kind() == db.KindNull {
				continue // never equal to anything
			}
			if v, err = b.checkValue(path, v, "IN on "+path); err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return views.In{Path: path, Values: vals, Not: not}, nil
	}
	// 'v' IN (f1, f2, …): membership for list fields, equality otherwise.
	v, err := b.mustConstant(t.Left, "the left side of IN")
	if err != nil {
		return nil, err
	}
	var any views.Or
	for _, e := range tuple {
		col := colOf(e)
		if col == nil {
			w, err := b.mustConstant(e, "each item of an IN list")
			if err != nil {
				return nil, err
			}
			any = append(any, views.Const(constCompare(v, views.Eq, w)))
			continue
		}
		x, err := b.member(col, v, false)
		if err != nil {
			return nil, err
		}
		any = append(any, x)
	}
	var x views.Expr = any
	if len(any) == 1 {
		x = any[0]
	}
	if not {
		return views.Not{X: x}, nil
	}
	return x, nil
}

// member binds "v is in the field": Contains for a list field, equality
// for any other.
func (b *binder) member(col *sqlparser.ColName, v db.Value, not bool) (views.Expr, error) {
	path, err := b.path(col)
	if err != nil {
		return nil, err
	}
	if v.Kind() <= db.KindNull {
		return nil, fmt.Errorf("NULL IN %s is never true: %w", path, ErrTypeMismatch)
	}
	if ks, _ := b.sc.kinds(path); len(ks) > 0 && typeOfKinds(ks) != TypeList && typeOfKinds(ks) != TypeAny {
		if v, err = b.checkValue(path, v, "IN on "+path); err != nil {
			return nil, err
		}
		if not {
			return views.Cmp{Path: path, Op: views.Ne, Value: v}, nil
		}
		return views.Cmp{Path: path, Op: views.Eq, Value: v}, nil
	}
	return views.Contains{Path: path, Values: []db.Value{v}, Not: not}, nil
}

// leftField binds the left side of an operator, which must be a field.
func (b *binder) leftField(e sqlparser.Expr, op string) (string, error) {
	col := colOf(e)
	if col == nil {
		return "", fmt.Errorf("%s on %s: %w: the left side must be a field", op, sqlparser.String(e), ErrUnsupported)
	}
	return b.path(col)
}

// like binds [NOT] LIKE 'pattern' [ESCAPE '\'].
func (b *binder) like(t *sqlparser.ComparisonExpr) (views.Expr, error) {
	path, err := b.leftField(t.Left, "LIKE")
	if err != nil {
		return nil, err
	}
	pat, err := b.mustConstant(t.Right, "a LIKE pattern")
	if err != nil {
		return nil, err
	}
	if pat.Kind() != db.KindString {
		return nil, fmt.Errorf("%w: a LIKE pattern must be a string, not %s", ErrTypeMismatch, pat)
	}
	if t.Escape != nil {
		esc, err := b.mustConstant(t.Escape, "an ESCAPE character")
		if err != nil {
			return nil, err
		}
		if esc.AsString() != `\` {
			return nil, fmt.Errorf("ESCAPE other than '\\': %w", ErrUnsupported)
		}
	}
	if err := checkLikePattern(pat.AsString()); err != nil {
		return nil, err
	}
	if !b.sc.accepts(path, db.String("")) {
		return nil, fmt.Errorf("%w: LIKE needs a string field; %s holds %s values", ErrTypeMismatch, path, b.sc.kindsText(path))
	}
	return views.Like{Path: path, Pattern: pat.AsString(), Not: t.Operator == sqlparser.NotLikeStr}, nil
}

// between binds x [NOT] BETWEEN a AND b.
func (b *binder) between(t *sqlparser.RangeCond) (views.Expr, error) {
	path, err := b.leftField(t.Left, "BETWEEN")
	if err != nil {
		return nil, err
	}
	lo, err := b.mustConstant(t.From, "a BETWEEN bound")
	if err != nil {
		return nil, err
	}
	hi, err := b.mustConstant(t.To, "a BETWEEN bound")
	if err != nil {
		return nil, err
	}
	if lo, err = b.checkValue(path, lo, "BETWEEN on "+path); err != nil {
		return nil, err
	}
	if hi, err = b.checkValue(path, hi, "BETWEEN on "+path); err != nil {
		return nil, err
	}
	if t.Operator == sqlparser.NotBetweenStr {
		return views.Or{views.Cmp{Path: path, Op: views.Lt, Value: lo}, views.Cmp{Path: path, Op: views.Gt, Value: hi}}, nil
	}
	return views.And{views.Cmp{Path: path, Op: views.Ge, Value: lo}, views.Cmp{Path: path, Op: views.Le, Value: hi}}, nil
}

// is binds IS [NOT] NULL and IS [NOT] TRUE/FALSE.
func (b *binder) is(t *sqlparser.IsExpr) (views.Expr, error) {
	path, err := b.leftField(t.Expr, "IS")
	if err != nil {
		return nil, err
	}
	switch t.Operator {
	case sqlparser.IsNullStr:
		return views.Exists{Path: path, Not: true}, nil
	case sqlparser.IsNotNullStr:
		return views.Exists{Path: path}, nil
	}
	want := t.Operator == sqlparser.IsTrueStr || t.Operator == sqlparser.IsNotTrueStr
	c := views.Cmp{Path: path, Op: views.Eq, Value: db.Bool(want)}
	if _, err := b.checkValue(path, c.Value, "IS TRUE/FALSE on "+path); err != nil {
		return nil, err
	}
	if t.Operator == sqlparser.IsNotTrueStr || t.Operator == sqlparser.IsNotFalseStr {
		return views.Not{X: c}, nil
	}
	return c, nil
}

// function binds the functions allowed in WHERE: the tag membership that
// the rewrite produces.
func (b *binder) function(t *sqlparser.FuncExpr) (views.Expr, error) {
	if x, ok, err := b.selectionPred(t); ok {
		return x, err
	}
	name := t.Name.Lowered()
	if name != fnContains && name != fnNotContains {
		return nil, fmt.Errorf("function %s() in WHERE: %w", t.Name.String(), ErrUnsupported)
	}
	col, v, err := b.membershipArgs(t)
	if err != nil {
		return nil, err
	}
	return b.member(col, v, name == fnNotContains)
}

// membershipArgs reads fosql_contains(field, value).
func (b *binder) membershipArgs(t *sqlparser.FuncExpr) (*sqlparser.ColName, db.Value, error) {
	if len(t.Exprs) != 2 {
		return nil, db.Value{}, fmt.Errorf("%s() takes a field and a value: %w", t.Name.String(), ErrUnsupported)
	}
	var es [2]sqlparser.Expr
	for i, se := range t.Exprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, db.Value{}, fmt.Errorf("%s(*): %w", t.Name.String(), ErrUnsupported)
		}
		es[i] = ae.Expr
	}
	col := colOf(es[0])
	if col == nil {
		return nil, db.Value{}, fmt.Errorf("IN %s: %w: the right side must be a field or a list", sqlparser.String(es[0]), ErrUnsupported)
	}
	v, err := b.mustConstant(es[1], "the value before IN")
	return col, v, err
}

// conjuncts splits an expression at its top-level ANDs.
func conjuncts(e sqlparser.Expr) []sqlparser.Expr {
	switch t := e.(type) {
	case *sqlparser.AndExpr:
		return append(conjuncts(t.Left), conjuncts(t.Right)...)
	case *sqlparser.ParenExpr:
		if _, ok := t.Expr.(*sqlparser.AndExpr); ok {
			return conjuncts(t.Expr)
		}
	}
	return []sqlparser.Expr{e}
}

// where adds the stages of a WHERE clause to v. Top-level AND terms
// become the stages the planner serves best: 'x' IN tags a match_tags
// stage (the tag index), id = '…' or id IN (…) a select stage, MATCH …
// AGAINST a text_match stage (the full-text index); the remaining terms
// one match stage.
func (b *binder) where(v *views.View, w *sqlparser.Where) (*views.View, error) {
	if w == nil || w.Expr == nil {
		return v, nil
	}
	var tagStages []views.Stage
	var idStages []views.Stage
	var textStages []views.Stage
	var rest []views.Expr
	for _, c := range conjuncts(w.Expr) {
		switch t := c.(type) {
		case *sqlparser.MatchExpr:
			st, err := b.textMatch(t)
			if err != nil {
				return nil, err
			}
			textStages = append(textStages, st)
			continue
		case *sqlparser.FuncExpr:
			if st, ok, err := b.selectionStage(t); err != nil {
				return nil, err
			} else if ok {
				idStages = append(idStages, st)
				continue
			}
			name := t.Name.Lowered()
			if name == fnContains || name == fnNotContains {
				col, val, err := b.membershipArgs(t)
				if err != nil {
					return nil, err
				}
				path, err := b.path(col)
				if err != nil {
					return nil, err
				}
				if path == db.FieldTags {
					if val.Kind() != db.KindString {
						return nil, fmt.Errorf("%w: tags are strings; %s is a %s", ErrTypeMismatch, val, val.Kind())
					}
					tagStages = append(tagStages, views.MatchTagsStage{Tags: []string{val.AsString()}, Negate: name == fnNotContains})
					continue
				}
			}
		}
		if ids, ok, err := b.idSelection(c); err != nil {
			return nil, err
		} else if ok {
			idStages = append(idStages, views.SelectStage{IDs: ids})
			continue
		}
		x, err := b.pred(c)
		if err != nil {
			return nil, err
		}
		if k, ok := x.(views.Const); ok && bool(k) {
			continue
		}
		rest = append(rest, x)
	}
	for _, st := range append(append(tagStages, idStages...), textStages...) {
		v = v.With(st)
	}
	if len(rest) > 0 {
		v = v.Match(flatAnd(rest...))
	}
	return v, nil
}

// idSelection recognises id = '…' and id IN ('…', …) with well-formed
// ids, which select samples by key instead of testing every sample.
func (b *binder) idSelection(e sqlparser.Expr) ([]db.ID, bool, error) {
	c, ok := e.(*sqlparser.ComparisonExpr)
	if !ok || (c.Operator != sqlparser.EqualStr && c.Operator != sqlparser.InStr) {
		return nil, false, nil
	}
	col := colOf(c.Left)
	other := c.Right
	if col == nil && c.Operator == sqlparser.EqualStr {
		col, other = colOf(c.Right), c.Left
	}
	if col == nil {
		return nil, false, nil
	}
	path, err := b.path(col)
	if err != nil || path != db.FieldID {
		return nil, false, err
	}
	var items []sqlparser.Expr
	if c.Operator == sqlparser.InStr {
		tuple, ok := other.(sqlparser.ValTuple)
		if !ok {
			return nil, false, nil
		}
		items = tuple
	} else {
		items = []sqlparser.Expr{other}
	}
	ids := make([]db.ID, 0, len(items))
	for _, it := range items {
		v, ok, err := b.constant(it)
		if err != nil {
			return nil, false, err
		}
		if !ok || v.Kind() != db.KindString {
			return nil, false, nil
		}
		id, err := db.ParseID(v.AsString())
		if err != nil {
			return nil, false, nil
		}
		ids = append(ids, id)
	}
	return ids, true, nil
}

// textMatch binds MATCH (fields) AGAINST ('words').
func (b *binder) textMatch(t *sqlparser.MatchExpr) (views.Stage, error) {
	if t.Option != "" {
		return nil, fmt.Errorf("MATCH … AGAINST (…%s): %w", strings.ToUpper(t.Option), ErrUnsupported)
	}
	var fields []string
	for _, se := range t.Columns {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, fmt.Errorf("MATCH (*): %w; name the fields", ErrUnsupported)
		}
		col := colOf(ae.Expr)
		if col == nil {
			return nil, fmt.Errorf("MATCH (%s): %w; name fields", sqlparser.String(ae.Expr), ErrUnsupported)
		}
		path, err := b.path(col)
		if err != nil {
			return nil, err
		}
		fields = append(fields, path)
	}
	w, err := b.mustConstant(t.Expr, "the words of AGAINST")
	if err != nil {
		return nil, err
	}
	if w.Kind() != db.KindString {
		return nil, fmt.Errorf("%w: AGAINST takes a string of words, not %s", ErrTypeMismatch, w)
	}
	if err := checkMatchWords(w.AsString()); err != nil {
		return nil, err
	}
	return views.TextMatchStage{Fields: fields, Words: w.AsString()}, nil
}

// sortKeys binds ORDER BY keys that name fields; names maps select-list
// aliases and positions to paths.
func (b *binder) sortKeys(ob sqlparser.OrderBy, alias func(sqlparser.Expr) (string, bool, error)) ([]views.SortKey, error) {
	var keys []views.SortKey
	for _, o := range ob {
		path, ok, err := "", false, error(nil)
		if alias != nil {
			path, ok, err = alias(o.Expr)
			if err != nil {
				return nil, err
			}
		}
		if !ok {
			col := colOf(o.Expr)
			if col == nil {
				return nil, fmt.Errorf("ORDER BY %s: %w; order by a field", sqlparser.String(o.Expr), ErrUnsupported)
			}
			if path, err = b.path(col); err != nil {
				return nil, err
			}
		}
		keys = append(keys, views.SortKey{Path: path, Desc: o.Direction == sqlparser.DescScr})
	}
	return keys, nil
}

// limit binds LIMIT [offset,] count; -1 means none.
func (b *binder) limit(l *sqlparser.Limit) (offset, count int, err error) {
	offset, count = 0, -1
	if l == nil {
		return
	}
	toInt := func(e sqlparser.Expr, what string) (int, error) {
		v, err := b.mustConstant(e, what)
		if err != nil {
			return 0, err
		}
		if v.Kind() != db.KindInt || v.AsInt() < 0 {
			return 0, fmt.Errorf("%w: %s must be a whole number >= 0, not %s", ErrTypeMismatch, what, v)
		}
		return int(min(v.AsInt(), 1<<50)), nil
	}
	if l.Offset != nil {
		if offset, err = toInt(l.Offset, "OFFSET"); err != nil {
			return
		}
	}
	if l.Rowcount != nil {
		count, err = toInt(l.Rowcount, "LIMIT")
	}
	return
}

// collectPaths lists the field paths that nodes name (for the insights
// groups a statement needs).
func collectPaths(nodes ...sqlparser.SQLNode) []string {
	var out []string
	for _, n := range nodes {
		if n == nil {
			continue
		}
		_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
			if c, ok := node.(*sqlparser.ColName); ok {
				out = append(out, rawPath(c))
			}
			return true, nil
		}, n)
	}
	sort.Strings(out)
	return out
}
