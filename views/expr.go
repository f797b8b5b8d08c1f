package views

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fosql/fosql/db"
)

// Expr is a predicate over a sample: the tree that a match stage filters
// by, and that the SQL layer builds from a WHERE clause. Comparisons
// follow SQL: a comparison, IN or LIKE on a missing or null value is
// false (so is its negation by Ne or NotIn); use Exists or IsNull to test
// presence. Values of different kinds never compare as ordered (an int
// and a float do: they are both numbers).
type Expr interface {
	// Eval reports whether the sample matches.
	Eval(s *db.Sample) bool
	// String prints the expression in the form EXPLAIN shows.
	String() string
}

// CmpOp is a comparison operator.
type CmpOp int

// Comparison operators.
const (
	Eq CmpOp = iota
	Ne
	Lt
	Le
	Gt
	Ge
)

var cmpOpText = [...]string{"=", "!=", "<", "<=", ">", ">="}

// String returns the operator as SQL writes it.
func (op CmpOp) String() string { return cmpOpText[op] }

// Cmp compares the value at Path with a constant.
type Cmp struct {
	Path  string
	Op    CmpOp
	Value db.Value
}

// In matches when the value at Path equals one of Values (Not: none of
// them).
type In struct {
	Path   string
	Values []db.Value
	Not    bool
}

// Contains matches when the list at Path (for example tags) holds any of
// Values; with All, every one of them; with Not, none of them (a sample
// without the list matches Not).
type Contains struct {
	Path   string
	Values []db.Value
	All    bool
	Not    bool
}

// Like matches the string at Path against a SQL LIKE pattern: % is any
// run of characters, _ one character, \ escapes. Matching ignores ASCII
// case, as SQLite and MySQL's default collation do.
type Like struct {
	Path    string
	Pattern string
	Not     bool
}

// Exists matches when Path holds a value other than null (Not: when it is
// missing or null). SQL's IS NOT NULL and IS NULL.
type Exists struct {
	Path string
	Not  bool
}

// And matches when every operand matches (an empty And matches all).
type And []Expr

// Or matches when any operand matches (an empty Or matches none).
type Or []Expr

// Not negates an expression.
type Not struct{ X Expr }

// Const is a constant truth value.
type Const bool

// Eval implements Expr.
func (c Cmp) Eval(s *db.Sample) bool { return c.test(s.Get(c.Path)) }

func (c Cmp) leafPath() string     { return c.Path }
func (c Cmp) test(v db.Value) bool { return compareOp(v, c.Op, c.Value) }

func compareOp(v db.Value, op CmpOp, c db.Value) bool {
	if v.Kind() <= db.KindNull || c.Kind() <= db.KindNull {
		return false
	}
	if !sameBracket(v, c) {
		return false
	}
	r := db.Compare(v, c)
	switch op {
	case Eq:
		return r == 0
	case Ne:
		return r != 0
	case Lt:
		return r < 0
	case Le:
		return r <= 0
	case Gt:
		return r > 0
	case Ge:
		return r >= 0
	}
	return false
}

// sameBracket reports whether two values are ordered against each other:
// the same kind, or both numbers.
func sameBracket(a, b db.Value) bool {
	return a.Kind() == b.Kind() || (a.IsNumber() && b.IsNumber())
}

// String implements Expr.
func (c Cmp) String() string { return fmt.Sprintf("%s %s %s", c.Path, c.Op, c.Value) }

// Eval implements Expr.
func (e In) Eval(s *db.Sample) bool { return e.test(s.Get(e.Path)) }

func (e In) leafPath() string { return e.Path }

func (e In) test(v db.Value) bool {
	if v.Kind() <= db.KindNull {
		return false
	}
	for _, c := range e.Values {
		if compareOp(v, Eq, c) {
			return !e.Not
		}
	}
	return e.Not
}

// String implements Expr.
func (e In) String() string {
	op := "IN"
	if e.Not {
		op = "NOT IN"
	}
	return fmt.Sprintf("%s %s (%s)", e.Path, op, valueList(e.Values))
}

func valueList(vs []db.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, ", ")
}

// Eval implements Expr.
func (e Contains) Eval(s *db.Sample) bool { return e.test(s.Get(e.Path)) }

func (e Contains) leafPath() string { return e.Path }

func (e Contains) test(v db.Value) bool {
	items := v.Items()
	has := func(c db.Value) bool {
		for _, x := range items {
			if db.Equal(x, c) && sameBracket(x, c) {
				return true
			}
		}
		return false
	}
	var ok bool
	if e.All {
		ok = len(e.Values) > 0
		for _, c := range e.Values {
			if !has(c) {
				ok = false
				break
			}
		}
	} else {
		for _, c := range e.Values {
			if has(c) {
				ok = true
				break
			}
		}
	}
	return ok != e.Not
}

// String implements Expr.
func (e Contains) String() string {
	q := "any"
	if e.All {
		q = "all"
	}
	not := ""
	if e.Not {
		not = "not "
	}
	return fmt.Sprintf("%s%s contains %s of (%s)", not, e.Path, q, valueList(e.Values))
}

// Eval implements Expr.
func (e Like) Eval(s *db.Sample) bool { return e.test(s.Get(e.Path)) }

func (e Like) leafPath() string { return e.Path }

func (e Like) test(v db.Value) bool {
	if v.Kind() != db.KindString {
		return false
	}
	return MatchLike(e.Pattern, v.AsString()) != e.Not
}

// String implements Expr.
func (e Like) String() string {
	op := "LIKE"
	if e.Not {
		op = "NOT LIKE"
	}
	return fmt.Sprintf("%s %s %s", e.Path, op, db.String(e.Pattern))
}

// MatchLike reports whether s matches a SQL LIKE pattern, ignoring ASCII
// case.
func MatchLike(pattern, s string) bool {
	// Iterative matching with backtracking to the last %.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			c := pattern[p]
			switch {
			case c == '%':
				star, mark = p, i
				p++
				continue
			case c == '_':
				p++
				i += charLen(s[i:])
				continue
			case c == '\\' && p+1 < len(pattern):
				if foldEq(pattern[p+1], s[i]) {
					p += 2
					i++
					continue
				}
			case foldEq(c, s[i]):
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		p = star + 1
		mark += charLen(s[mark:])
		i = mark
	}
	for p < len(pattern) && pattern[p] == '%' {
		p++
	}
	return p == len(pattern)
}

// charLen is the length of the character at the start of s: a UTF-8
// sequence, or one byte where s is not valid UTF-8.
func charLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return max(n, 1)
}

func foldEq(a, b byte) bool {
	if a == b {
		return true
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// Eval implements Expr.
func (e Exists) Eval(s *db.Sample) bool { return e.test(s.Get(e.Path)) }

func (e Exists) leafPath() string     { return e.Path }
func (e Exists) test(v db.Value) bool { return (v.Kind() > db.KindNull) != e.Not }

// String implements Expr.
func (e Exists) String() string {
	if e.Not {
		return e.Path + " IS NULL"
	}
	return e.Path + " IS NOT NULL"
}

// Eval implements Expr.
func (a And) Eval(s *db.Sample) bool {
	for _, x := range a {
		if !x.Eval(s) {
			return false
		}
	}
	return true
}

// String implements Expr.
func (a And) String() string { return joinExprs([]Expr(a), " AND ", "TRUE") }

// Eval implements Expr.
func (o Or) Eval(s *db.Sample) bool {
	for _, x := range o {
		if x.Eval(s) {
			return true
		}
	}
	return false
}

// String implements Expr.
func (o Or) String() string { return joinExprs([]Expr(o), " OR ", "FALSE") }

func joinExprs(xs []Expr, sep, empty string) string {
	if len(xs) == 0 {
		return empty
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = "(" + x.String() + ")"
	}
	return strings.Join(parts, sep)
}

// Eval implements Expr. NOT follows SQL: it is pushed down to the
// comparisons (NOT (x > 1) is x <= 1), so a comparison on a missing or
// null value stays false under NOT, as SQL's unknown does.
func (n Not) Eval(s *db.Sample) bool { return Negate(n.X).Eval(s) }

// Negate returns the expression that matches where e does not, under SQL's
// rules for missing values: comparisons flip their operator, IN, LIKE,
// Contains and Exists flip their Not, AND and OR swap by De Morgan's laws.
func Negate(e Expr) Expr {
	switch t := e.(type) {
	case Cmp:
		t.Op = [...]CmpOp{Eq: Ne, Ne: Eq, Lt: Ge, Le: Gt, Gt: Le, Ge: Lt}[t.Op]
		return t
	case In:
		t.Not = !t.Not
		return t
	case Like:
		t.Not = !t.Not
		return t
	case Contains:
		t.Not = !t.Not
		return t
	case Exists:
		t.Not = !t.Not
		return t
	case And:
		out := make(Or, len(t))
		for i, x := range t {
			out[i] = Negate(x)
		}
		return out
	case Or:
		out := make(And, len(t))
		for i, x := range t {
			out[i] = Negate(x)
		}
		return out
	case Not:
		return t.X
	case Const:
		return !t
	}
	return notFunc{e}
}

// pushNot pushes a NOT one level down; ok is false when the operand is of
// a type Negate does not know.
func pushNot(n Not) (Expr, bool) {
	e := Negate(n.X)
	_, unknown := e.(notFunc)
	return e, !unknown
}

// notFunc negates an expression of a type Negate does not know.
type notFunc struct{ x Expr }

func (n notFunc) Eval(s *db.Sample) bool { return !n.x.Eval(s) }
func (n notFunc) String() string         { return "NOT (" + n.x.String() + ")" }

// String implements Expr.
func (n Not) String() string { return "NOT (" + n.X.String() + ")" }

// Eval implements Expr.
func (c Const) Eval(*db.Sample) bool { return bool(c) }

// String implements Expr.
func (c Const) String() string {
	if c {
		return "TRUE"
	}
	return "FALSE"
}
