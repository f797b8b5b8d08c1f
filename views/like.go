package views

import (
	"strings"

	"github.com/fosql/fosql/db"
)

// A LIKE pattern made only of ASCII characters and % (no _ and no escape)
// is a prefix, a suffix, a substring or an exact match; such patterns are
// compiled to those tests once per run instead of being interpreted on
// every sample. An ASCII byte in a string always starts a character
// (multi-byte UTF-8 sequences hold no ASCII bytes, and MatchLike steps
// over a byte that is not valid UTF-8 as one character), so the compiled
// tests give exactly what MatchLike gives.

type likeKind uint8

const (
	likeExact likeKind = iota
	likePrefix
	likeSuffix
	likeContains
)

// likeMatcher is a Like whose pattern compiled to a simple test.
type likeMatcher struct {
	Like
	kind likeKind
	lit  string // the literal part, lower-cased
}

// compileLike returns a faster leaf for patterns that allow one, else l.
func compileLike(l Like) leafExpr {
	p := l.Pattern
	for i := 0; i < len(p); i++ {
		if c := p[i]; c >= 0x80 || c == '_' || c == '\\' {
			return l
		}
	}
	lead, trail := strings.HasPrefix(p, "%"), strings.HasSuffix(p, "%")
	core := strings.Trim(p, "%")
	if strings.Contains(core, "%") {
		return l
	}
	m := likeMatcher{Like: l, lit: strings.ToLower(core)}
	switch {
	case lead && trail:
		m.kind = likeContains
	case lead:
		m.kind = likeSuffix
	case trail:
		m.kind = likePrefix
	default:
		m.kind = likeExact
	}
	return m
}

// Eval implements Expr.
func (m likeMatcher) Eval(s *db.Sample) bool { return m.test(s.Get(m.Path)) }

func (m likeMatcher) test(v db.Value) bool {
	if v.Kind() != db.KindString {
		return false
	}
	s, n := v.AsString(), len(m.lit)
	var ok bool
	switch m.kind {
	case likeExact:
		ok = len(s) == n && equalFoldASCII(s, m.lit)
	case likePrefix:
		ok = len(s) >= n && equalFoldASCII(s[:n], m.lit)
	case likeSuffix:
		ok = len(s) >= n && equalFoldASCII(s[len(s)-n:], m.lit)
	default:
		for i := 0; i+n <= len(s); i++ {
			if equalFoldASCII(s[i:i+n], m.lit) {
				ok = true
				break
			}
		}
	}
	return ok != m.Not
}

// equalFoldASCII reports whether s equals lower (lower-case ASCII),
// ignoring ASCII case in s.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// intCmp is a comparison with an int of a field of the sample record,
// which tests an int stored there in place and leaves every other case
// to Cmp.
type intCmp struct {
	Cmp
	path db.FieldPath
}

// Eval implements Expr.
func (c intCmp) Eval(s *db.Sample) bool {
	i, ok := s.Record().IntAt(c.path)
	if !ok {
		return c.Cmp.Eval(s)
	}
	return c.ints(i)
}

// ints compares an int of a sample with the comparison's int.
func (c intCmp) ints(i int64) bool {
	k := c.Value.AsInt()
	switch c.Op {
	case Eq:
		return i == k
	case Ne:
		return i != k
	case Lt:
		return i < k
	case Le:
		return i <= k
	case Gt:
		return i > k
	case Ge:
		return i >= k
	}
	return false
}

// compileExpr prepares an expression for evaluation over many samples:
// LIKE patterns become compiled tests. The result prints as e does.
func compileExpr(e Expr) Expr {
	switch x := e.(type) {
	case Like:
		return compileLike(x)
	case Cmp:
		if x.Value.Kind() == db.KindInt && x.Path != db.FieldID && !readsInsights(x.Path) {
			return intCmp{Cmp: x, path: db.SplitPath(x.Path)}
		}
	case maskedLeaf:
		if l, ok := x.leaf.(Like); ok {
			return maskedLeaf{leaf: compileLike(l), mask: x.mask}
		}
	case And:
		out := make(And, len(x))
		for i, y := range x {
			out[i] = compileExpr(y)
		}
		return out
	case Or:
		out := make(Or, len(x))
		for i, y := range x {
			out[i] = compileExpr(y)
		}
		return out
	case Not:
		if n, ok := pushNot(x); ok {
			return compileExpr(n)
		}
		return Not{X: compileExpr(x.X)}
	}
	return e
}
