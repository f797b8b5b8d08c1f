package views

import (
	"strings"

	"github.com/fosql/fosql/db"
)

// This file gives select_fields and exclude_fields their meaning: a field
// mask that every later stage, aggregation and Doc reads through.

// leafExpr is a predicate on the value at one path: the leaves of the
// expression tree.
type leafExpr interface {
	Expr
	leafPath() string
	test(v db.Value) bool
}

// maskOp is one select_fields (keep) or exclude_fields stage.
type maskOp struct {
	keep  bool
	paths []string
}

// fieldMask is what the field stages so far leave visible. The zero mask
// shows everything.
type fieldMask struct{ ops []maskOp }

func (m fieldMask) with(op maskOp) fieldMask {
	ops := make([]maskOp, len(m.ops), len(m.ops)+1)
	copy(ops, m.ops)
	return fieldMask{ops: append(ops, op)}
}

// visibility says how much of the value at a path a mask shows.
type visibility uint8

const (
	visFull    visibility = iota // the whole value
	visPartial                   // a document with some fields removed
	visHidden                    // nothing: the path reads as missing
)

// alwaysShown reports whether path lies in a field that every sample
// shows whatever the mask: id, filepath, tags and metadata.
func alwaysShown(path string) bool {
	top, _, _ := strings.Cut(path, ".")
	switch top {
	case db.FieldID, db.FieldFilepath, db.FieldTags, db.FieldMetadata:
		return true
	}
	return false
}

// under reports whether path is p or lies inside it.
func under(path, p string) bool {
	return path == p || (strings.HasPrefix(path, p) && len(path) > len(p) && path[len(p)] == '.')
}

// vis reports how the mask shows path. keepCut is set when a select
// stage makes the path partial (it keeps only some of its subfields), so
// that a non-document there is hidden, as MongoDB's projection does.
func (m fieldMask) vis(path string) (v visibility, keepCut bool) {
	if len(m.ops) == 0 || alwaysShown(path) {
		return visFull, false
	}
	for _, op := range m.ops {
		full, partial := !op.keep, false
		for _, p := range op.paths {
			if op.keep {
				if under(path, p) {
					full = true
					break
				}
				if under(p, path) {
					partial = true
				}
				continue
			}
			if under(path, p) {
				return visHidden, false
			}
			if under(p, path) {
				partial = true
			}
		}
		switch {
		case op.keep && !full && !partial:
			return visHidden, false
		case op.keep && !full:
			v, keepCut = visPartial, true
		case partial:
			v = visPartial
		}
	}
	return v, keepCut
}

// get returns the value the mask shows at path.
func (m fieldMask) get(s *db.Sample, path string) db.Value {
	v, keepCut := m.vis(path)
	switch v {
	case visHidden:
		return db.Missing()
	case visFull:
		return s.Get(path)
	}
	return m.prune(path, s.Get(path), keepCut)
}

// prune removes the hidden fields from x, the value at path.
func (m fieldMask) prune(path string, x db.Value, keepCut bool) db.Value {
	if x.Kind() != db.KindDoc {
		if keepCut {
			return db.Missing()
		}
		return x
	}
	fields := make([]db.Field, 0, len(x.Fields()))
	for _, f := range x.Fields() {
		cp := f.Name
		if path != "" {
			cp = path + "." + f.Name
		}
		switch v, kc := m.vis(cp); v {
		case visFull:
			fields = append(fields, f)
		case visPartial:
			if pv := m.prune(cp, f.Value, kc); !pv.IsMissing() {
				fields = append(fields, db.Field{Name: f.Name, Value: pv})
			}
		}
	}
	if len(fields) == 0 && path != "" {
		return db.Missing()
	}
	return db.Doc(fields...)
}

// doc returns the document the mask shows of s.
func (m fieldMask) doc(s *db.Sample) db.Value {
	if len(m.ops) == 0 {
		return s.Doc()
	}
	return m.prune("", s.Doc(), false)
}

// showsInsights reports whether the caller may read insights through
// the mask at path.
func (m fieldMask) showsInsights(path string) bool {
	if !readsInsights(path) && path != "" {
		return false
	}
	if path == "" {
		path = db.FieldInsights
	}
	v, _ := m.vis(path)
	return v != visHidden
}

// maskedLeaf evaluates a leaf on the value the mask shows, for a path
// that the mask shows only in part.
type maskedLeaf struct {
	leaf leafExpr
	mask fieldMask
}

// Eval implements Expr.
func (e maskedLeaf) Eval(s *db.Sample) bool {
	return e.leaf.test(e.mask.get(s, e.leaf.leafPath()))
}

// String implements Expr.
func (e maskedLeaf) String() string { return e.leaf.String() }

// maskExpr rewrites e so that it reads through the mask: a leaf on a
// hidden path becomes the constant it gives on a missing value, a leaf on
// a partly shown path reads the pruned value. Expressions of types this
// package does not know read the stored sample.
func maskExpr(e Expr, m fieldMask) Expr {
	if len(m.ops) == 0 {
		return e
	}
	switch x := e.(type) {
	case leafExpr:
		switch v, _ := m.vis(x.leafPath()); v {
		case visHidden:
			return Const(x.test(db.Missing()))
		case visPartial:
			return maskedLeaf{leaf: x, mask: m}
		}
		return x
	case And:
		out := make(And, len(x))
		for i, y := range x {
			out[i] = maskExpr(y, m)
		}
		return out
	case Or:
		out := make(Or, len(x))
		for i, y := range x {
			out[i] = maskExpr(y, m)
		}
		return out
	case Not:
		if n, ok := pushNot(x); ok {
			return maskExpr(n, m)
		}
		return Not{X: maskExpr(x.X, m)}
	}
	return e
}

// exprPaths calls fn with every path e reads; it returns false when e
// holds an expression of a type this package does not know, which may
// read anything.
func exprPaths(e Expr, fn func(path string)) bool {
	switch x := e.(type) {
	case maskedLeaf:
		fn(x.leaf.leafPath())
	case leafExpr:
		fn(x.leafPath())
	case And:
		ok := true
		for _, y := range x {
			ok = exprPaths(y, fn) && ok
		}
		return ok
	case Or:
		ok := true
		for _, y := range x {
			ok = exprPaths(y, fn) && ok
		}
		return ok
	case Not:
		return exprPaths(x.X, fn)
	case Const:
	default:
		return false
	}
	return true
}

// readsInsights reports whether a path lies under insights.
func readsInsights(path string) bool { return under(path, db.FieldInsights) }
