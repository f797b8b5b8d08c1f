package views

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fosql/fosql/db"
)

// This file answers aggregates from the dataset's metadata columns
// (db.ScanColumns) when every value they read is an int field of the
// metadata: a count of the samples wider than 32 pixels reads packed
// columns instead of every record.

// columnTest tells whether a column chunk's sample passes the filters.
type columnTest func(c *db.ColumnChunk, i int) bool

// columnPlan returns the columns to read (paths first, then those the
// filters read) and the filters as a test on them, when the view is one
// block of filters that read only metadata columns; windowed says whether
// a window of rows may stay (a count clips it itself).
func (v *View) columnPlan(l *logical, paths []string, windowed bool) (cols []string, keep columnTest, ok bool) {
	if v.noIndex || len(l.blocks) != 1 || l.empty != "" || (!windowed && l.blocks[0].windowed()) {
		return nil, nil, false
	}
	for _, p := range paths {
		if !db.IsColumnPath(p) {
			return nil, nil, false
		}
	}
	cols = slices.Clone(paths)
	index := func(path string) (int, bool) {
		if !db.IsColumnPath(path) {
			return 0, false
		}
		if i := slices.Index(cols, path); i >= 0 {
			return i, true
		}
		cols = append(cols, path)
		return len(cols) - 1, true
	}
	exprs := make([]Expr, len(l.blocks[0].filters))
	for i, f := range l.blocks[0].filters {
		ep, ok := f.(exprPred)
		if !ok {
			return nil, nil, false
		}
		exprs[i] = ep.e
	}
	tests, ok := columnExprs(exprs, index)
	if !ok {
		return nil, nil, false
	}
	return cols, allOf(tests), true
}

// columnExpr turns an expression into a test on column chunks; false when
// it reads anything but metadata columns.
func columnExpr(e Expr, index func(path string) (int, bool)) (columnTest, bool) {
	switch x := e.(type) {
	case Cmp:
		col, ok := index(x.Path)
		if !ok {
			return nil, false
		}
		if x.Value.Kind() != db.KindInt {
			return func(c *db.ColumnChunk, i int) bool { return x.test(c.Value(col, i)) }, true
		}
		// An int compared with an int, in place; the rest as Cmp does.
		ic := intCmp{Cmp: x}
		return func(c *db.ColumnChunk, i int) bool {
			if v, ok := c.Int(col, i); ok {
				return ic.ints(v)
			}
			return x.test(c.Value(col, i))
		}, true
	case leafExpr:
		col, ok := index(x.leafPath())
		if !ok {
			return nil, false
		}
		return func(c *db.ColumnChunk, i int) bool { return x.test(c.Value(col, i)) }, true
	case Const:
		return func(*db.ColumnChunk, int) bool { return bool(x) }, true
	case Not:
		return columnExpr(Negate(x.X), index)
	case notFunc:
		t, ok := columnExpr(x.x, index)
		if !ok {
			return nil, false
		}
		return func(c *db.ColumnChunk, i int) bool { return !t(c, i) }, true
	case And:
		tests, ok := columnExprs(x, index)
		return allOf(tests), ok
	case Or:
		tests, ok := columnExprs(x, index)
		return anyOf(tests), ok
	}
	return nil, false
}

// columnExprs is columnExpr of each expression.
func columnExprs(es []Expr, index func(path string) (int, bool)) ([]columnTest, bool) {
	tests := make([]columnTest, len(es))
	for i, e := range es {
		var ok bool
		if tests[i], ok = columnExpr(e, index); !ok {
			return nil, false
		}
	}
	return tests, true
}

// anyOf is the test that at least one of tests passes.
func anyOf(tests []columnTest) columnTest {
	return func(c *db.ColumnChunk, i int) bool {
		for _, t := range tests {
			if t(c, i) {
				return true
			}
		}
		return false
	}
}

// allOf is the test that every one of tests passes.
func allOf(tests []columnTest) columnTest {
	switch len(tests) {
	case 0:
		return func(*db.ColumnChunk, int) bool { return true }
	case 1:
		return tests[0]
	}
	return func(c *db.ColumnChunk, i int) bool {
		for _, t := range tests {
			if !t(c, i) {
				return false
			}
		}
		return true
	}
}

// scanColumns calls fn for every sample of the view with the chunk that
// holds it, when the view and paths can be read from columns (columnPlan);
// the chunk's columns start with paths. It returns false, having called
// nothing, when they cannot.
func (v *View) scanColumns(ctx context.Context, l *logical, paths []string, windowed bool, fn func(c *db.ColumnChunk, i int) error) (bool, error) {
	cols, keep, ok := v.columnPlan(l, paths, windowed)
	if !ok {
		return false, nil
	}
	return v.ds.ScanColumns(ctx, cols, func(c *db.ColumnChunk) error {
		for i := range c.Len {
			if keep(c, i) {
				if err := fn(c, i); err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	})
}

// ExplainColumns returns the plan of an aggregate over the values at
// paths when it reads the dataset's metadata columns, one node per line
// as Explain gives them, and false when it reads samples as Explain shows.
// count says the aggregate only counts rows, which clips a window of rows
// itself.
func (v *View) ExplainColumns(count bool, paths ...string) (string, bool) {
	l, err := v.logical()
	if err != nil {
		return "", false
	}
	cols, _, ok := v.columnPlan(l, paths, count)
	if !ok || !v.ds.ColumnsAnswer(cols) {
		return "", false
	}
	var b strings.Builder
	depth := 0
	line := func(s string) {
		b.WriteString(strings.Repeat("  ", depth) + s + "\n")
		depth++
	}
	blk := l.blocks[0]
	if blk.cnt >= 0 {
		line(fmt.Sprintf("limit %d", blk.cnt))
	}
	if blk.off > 0 {
		line(fmt.Sprintf("skip %d", blk.off))
	}
	for _, f := range blk.filters {
		line("filter " + f.String())
	}
	line("metadata columns " + strings.Join(cols, ", "))
	return b.String(), true
}
