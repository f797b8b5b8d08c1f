package query

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// colKind says what a result column holds.
type colKind uint8

const (
	colField    colKind = iota // a field path of each sample
	colTag                     // the tag being grouped by (GROUP BY tag)
	colAgg                     // an aggregate
	colConst                   // a constant
	colDistance                // the distance of ORDER BY SIMILARITY TO
)

// The pseudo-column that unnests tags: GROUP BY tag gives one group per tag.
const tagColumn = "tag"

// outCol is one column of a SELECT's result.
type outCol struct {
	Column
	kind     colKind
	path     string   // colField, and the argument of colAgg ("" for count(*))
	fn       string   // colAgg: count, min, max, avg or sum
	distinct bool     // colAgg: count(DISTINCT x)
	value    db.Value // colConst
	alias    string   // AS name, if any
	space    string   // colField of a stored embedding: its space (see schema.embeddings)
}

// describe prints the column as EXPLAIN shows it.
func (c outCol) describe() string {
	switch c.kind {
	case colTag:
		return tagColumn
	case colAgg:
		arg := c.path
		if arg == "" {
			arg = "*"
		}
		if c.distinct {
			arg = "distinct " + arg
		}
		return c.fn + "(" + arg + ")"
	case colConst:
		return describeValue(c.value)
	case colDistance:
		return distanceColumn
	}
	return c.path
}

// groupKey is one GROUP BY key: a field path, or tag.
type groupKey struct {
	path string // "" for tag
}

func (g groupKey) String() string {
	if g.path == "" {
		return tagColumn
	}
	return g.path
}

// rowKey orders result rows by one column (grouped and aggregate
// queries, whose rows are made after the view).
type rowKey struct {
	col  int
	desc bool
}

// planMode is how a SELECT makes its rows.
type planMode uint8

const (
	modeRows      planMode = iota // one row per sample of the view
	modeAggregate                 // one row of aggregates over the view
	modeGroup                     // one row per group
)

// selectPlan is a bound SELECT: the view that selects the samples and
// how rows are made from them.
type selectPlan struct {
	view     *views.View
	cols     []outCol
	mode     planMode
	distinct bool
	groupBy  []groupKey
	having   rowPred
	order    []rowKey // modeAggregate/modeGroup, or modeRows with DISTINCT
	offset   int
	limit    int // -1: none; applied to rows when not pushed into the view
	pushed   bool
	notes    []string // extra EXPLAIN lines
	// distances: the view orders by similarity, whose distances the
	// _distance column shows.
	distances bool
}

var aggregates = map[string]bool{"count": true, "min": true, "max": true, "avg": true, "sum": true}

// bindSelect plans a SELECT on the binder's dataset.
func (b *binder) bindSelect(sel *sqlparser.Select) (*selectPlan, error) {
	if sel.Lock != "" {
		return nil, fmt.Errorf("SELECT …%s: %w", strings.ToUpper(sel.Lock), ErrUnsupported)
	}
	p := &selectPlan{view: views.New(b.ds), limit: -1, distinct: sel.Distinct != ""}
	// GROUP BY first: it decides what `tag` means in the select list.
	hasTagGroup := false
	for _, e := range sel.GroupBy {
		if col := colOf(e); col != nil && b.isTagColumn(col) {
			hasTagGroup = true
		}
	}
	for _, se := range sel.SelectExprs {
		switch t := se.(type) {
		case *sqlparser.StarExpr:
			if q := t.TableName.Name.String(); q != "" && q != b.sc.dataset && q != b.sc.alias {
				return nil, &NameError{Kind: "dataset", Name: q, Suggestion: b.sc.dataset}
			}
			p.cols = append(p.cols, b.star()...)
		case *sqlparser.AliasedExpr:
			c, err := b.selectColumn(t.Expr, hasTagGroup)
			if err != nil {
				return nil, err
			}
			if !t.As.IsEmpty() {
				c.alias = t.As.String()
				c.Name = c.alias
			}
			p.cols = append(p.cols, c)
		default:
			return nil, fmt.Errorf("select item %s: %w", sqlparser.String(se), ErrUnsupported)
		}
	}
	for _, e := range sel.GroupBy {
		k, err := b.groupKey(e, p.cols)
		if err != nil {
			return nil, err
		}
		p.groupBy = append(p.groupBy, k)
	}
	hasAgg := false
	for _, c := range p.cols {
		if c.kind == colAgg {
			hasAgg = true
		}
	}
	switch {
	case len(p.groupBy) > 0:
		p.mode = modeGroup
	case hasAgg:
		p.mode = modeAggregate
	}
	var err error
	if p.view, err = b.where(p.view, sel.Where); err != nil {
		return nil, err
	}
	if p.offset, p.limit, err = b.limit(sel.Limit); err != nil {
		return nil, err
	}
	if b.similar && p.mode != modeRows {
		return nil, fmt.Errorf("ORDER BY SIMILARITY TO with GROUP BY or aggregates: %w; it orders the rows of samples", ErrUnsupported)
	}
	if p.mode == modeRows {
		for _, c := range p.cols {
			if c.kind == colTag {
				return nil, fmt.Errorf("%w: tag is the tag a GROUP BY tag query groups by; the list of a sample's tags is tags", ErrUnknownField)
			}
		}
		if sel.Having != nil {
			return nil, fmt.Errorf("HAVING without GROUP BY or aggregates: %w; use WHERE", ErrUnsupported)
		}
		keys, err := b.sortKeys(sel.OrderBy, func(e sqlparser.Expr) (string, bool, error) { return p.aliasPath(e) })
		if err != nil {
			return nil, err
		}
		if len(keys) > 0 {
			p.view = p.view.SortByKeys(keys...)
		}
		if b.ranker != nil {
			p.view = p.view.SortBySimilarity(b.ranker)
			p.distances = true
		}
		if !p.distinct {
			if p.offset > 0 {
				p.view = p.view.Skip(p.offset)
			}
			if p.limit >= 0 {
				p.view = p.view.Limit(p.limit)
			}
			p.pushed = true
		}
		// Fetch only what the columns read: a sample's insights are
		// separate reads, skipped when no column needs them.
		var paths []string
		for _, c := range p.cols {
			if c.kind == colField && c.space == "" {
				paths = append(paths, c.path)
			}
		}
		p.view = p.view.SelectFields(paths...)
		return p, nil
	}
	// Aggregates and groups: every plain column must be a group key.
	for _, c := range p.cols {
		switch c.kind {
		case colField:
			if !p.isGroupPath(c.path) {
				if p.mode == modeAggregate {
					return nil, fmt.Errorf("%w: %s next to an aggregate needs GROUP BY %s", ErrUnsupported, c.path, c.path)
				}
				return nil, fmt.Errorf("%w: %s must appear in GROUP BY or inside an aggregate", ErrUnsupported, c.path)
			}
		case colTag:
			if !p.isGroupPath("") {
				return nil, fmt.Errorf("%w: tag needs GROUP BY tag", ErrUnsupported)
			}
		}
	}
	if sel.Having != nil {
		if p.having, err = b.rowPredicate(sel.Having.Expr, p); err != nil {
			return nil, err
		}
	}
	for _, o := range sel.OrderBy {
		i, err := p.resultColumn(b, o.Expr)
		if err != nil {
			return nil, err
		}
		p.order = append(p.order, rowKey{col: i, desc: o.Direction == sqlparser.DescScr})
	}
	return p, nil
}

// isTagColumn reports whether a column reference is the tag pseudo-column
// (and not a real field named tag).
func (b *binder) isTagColumn(c *sqlparser.ColName) bool {
	if rawPath(c) != tagColumn {
		return false
	}
	_, known := b.sc.kinds(tagColumn)
	return !known
}

// star expands SELECT *: id, filepath, tags, metadata, the top-level user
// fields in name order, and insights; nested documents come out as JSON.
func (b *binder) star() []outCol {
	names := []string{db.FieldID, db.FieldFilepath, db.FieldTags, db.FieldMetadata}
	names = append(names, b.sc.top...)
	names = append(names, db.FieldInsights)
	out := make([]outCol, len(names))
	for i, n := range names {
		out[i] = outCol{Column: Column{Name: n, Type: b.sc.columnType(n)}, kind: colField, path: n}
	}
	return out
}

// selectColumn binds one item of the select list.
func (b *binder) selectColumn(e sqlparser.Expr, tagGroup bool) (outCol, error) {
	if col := colOf(e); col != nil && col.Qualifier.IsEmpty() && col.Name.String() == distanceColumn {
		if b.similar {
			return outCol{Column: Column{Name: distanceColumn, Type: TypeFloat}, kind: colDistance}, nil
		}
		if _, known := b.sc.kinds(distanceColumn); !known {
			return outCol{}, fmt.Errorf("%w: %s is the distance of ORDER BY SIMILARITY TO, and this query has none", ErrUnknownField, distanceColumn)
		}
	}
	if col := colOf(e); col != nil {
		if tagGroup && b.isTagColumn(col) {
			return outCol{Column: Column{Name: tagColumn, Type: TypeString}, kind: colTag}, nil
		}
		if b.isTagColumn(col) {
			// Let bindSelect explain; keep the name for the message.
			return outCol{Column: Column{Name: tagColumn, Type: TypeString}, kind: colTag}, nil
		}
		path, err := b.path(col)
		if err != nil {
			return outCol{}, err
		}
		return outCol{Column: Column{Name: path, Type: b.sc.columnType(path)}, kind: colField, path: path, space: b.sc.embeddings[path]}, nil
	}
	if f, ok := e.(*sqlparser.FuncExpr); ok {
		return b.aggregate(f)
	}
	v, ok, err := b.constant(e)
	if err != nil {
		return outCol{}, err
	}
	if ok {
		return outCol{Column: Column{Name: strings.TrimSpace(sqlparser.String(e)), Type: typeOfKinds([]db.Kind{v.Kind()})}, kind: colConst, value: v}, nil
	}
	return outCol{}, fmt.Errorf("select item %s: %w; select fields, constants, or count/min/max/avg/sum", sqlparser.String(e), ErrUnsupported)
}

// aggregate binds count(*), count([DISTINCT] x), min, max, avg and sum.
func (b *binder) aggregate(f *sqlparser.FuncExpr) (outCol, error) {
	fn := f.Name.Lowered()
	if !aggregates[fn] || !f.Qualifier.IsEmpty() {
		return outCol{}, fmt.Errorf("function %s(): %w; the aggregates are count, min, max, avg and sum", f.Name.String(), ErrUnsupported)
	}
	c := outCol{kind: colAgg, fn: fn, distinct: f.Distinct}
	if len(f.Exprs) != 1 {
		return outCol{}, fmt.Errorf("%s() takes one argument: %w", fn, ErrUnsupported)
	}
	switch a := f.Exprs[0].(type) {
	case *sqlparser.StarExpr:
		if fn != "count" || f.Distinct {
			return outCol{}, fmt.Errorf("%s(*): %w", fn, ErrUnsupported)
		}
	case *sqlparser.AliasedExpr:
		col := colOf(a.Expr)
		if col == nil {
			return outCol{}, fmt.Errorf("%s(%s): %w; aggregate a field", fn, sqlparser.String(a.Expr), ErrUnsupported)
		}
		path, err := b.path(col)
		if err != nil {
			return outCol{}, err
		}
		c.path = path
	default:
		return outCol{}, fmt.Errorf("%s(%s): %w", fn, sqlparser.String(f.Exprs[0]), ErrUnsupported)
	}
	c.Name = c.describe()
	switch fn {
	case "count":
		c.Type = TypeInt
	case "avg":
		c.Type = TypeFloat
	case "sum":
		c.Type = TypeFloat
		if b.sc.columnType(c.path) == TypeInt {
			c.Type = TypeInt
		}
	default:
		c.Type = b.sc.columnType(c.path)
	}
	return c, nil
}

// groupKey binds one GROUP BY item: tag, a field, or a select-list
// position or alias.
func (b *binder) groupKey(e sqlparser.Expr, cols []outCol) (groupKey, error) {
	if v, ok := e.(*sqlparser.SQLVal); ok && v.Type == sqlparser.IntVal {
		n, _ := strconv.Atoi(string(v.Val))
		if n < 1 || n > len(cols) {
			return groupKey{}, fmt.Errorf("GROUP BY %d: %w: there are %d result columns", n, ErrUnknownField, len(cols))
		}
		switch c := cols[n-1]; c.kind {
		case colTag:
			return groupKey{}, nil
		case colField:
			return groupKey{path: c.path}, nil
		}
		return groupKey{}, fmt.Errorf("GROUP BY %d: %w: group by a field", n, ErrUnsupported)
	}
	col := colOf(e)
	if col == nil {
		return groupKey{}, fmt.Errorf("GROUP BY %s: %w; group by a field or tag", sqlparser.String(e), ErrUnsupported)
	}
	if b.isTagColumn(col) {
		return groupKey{}, nil
	}
	if col.Qualifier.IsEmpty() {
		for _, c := range cols {
			if c.alias != "" && c.alias == col.Name.String() {
				switch c.kind {
				case colTag:
					return groupKey{}, nil
				case colField:
					return groupKey{path: c.path}, nil
				}
			}
		}
	}
	path, err := b.path(col)
	if err != nil {
		return groupKey{}, err
	}
	if path == db.FieldTags {
		return groupKey{}, fmt.Errorf("%w: GROUP BY tags would group by whole tag lists; write GROUP BY tag for one group per tag", ErrUnsupported)
	}
	return groupKey{path: path}, nil
}

func (p *selectPlan) isGroupPath(path string) bool {
	for _, g := range p.groupBy {
		if g.path == path {
			return true
		}
	}
	return false
}

// aliasPath maps an ORDER BY item that names a select-list alias or
// position to the field path behind it.
func (p *selectPlan) aliasPath(e sqlparser.Expr) (string, bool, error) {
	if v, ok := e.(*sqlparser.SQLVal); ok && v.Type == sqlparser.IntVal {
		n, _ := strconv.Atoi(string(v.Val))
		if n < 1 || n > len(p.cols) {
			return "", false, fmt.Errorf("ORDER BY %d: %w: there are %d result columns", n, ErrUnknownField, len(p.cols))
		}
		if c := p.cols[n-1]; c.kind == colField {
			return c.path, true, nil
		}
		return "", false, fmt.Errorf("ORDER BY %d: %w: order by a field", n, ErrUnsupported)
	}
	if col := colOf(e); col != nil && col.Qualifier.IsEmpty() {
		for _, c := range p.cols {
			if c.alias != "" && c.alias == col.Name.String() && c.kind == colField {
				return c.path, true, nil
			}
		}
	}
	return "", false, nil
}

// resultColumn finds the result column an ORDER BY or HAVING item names:
// by position, alias, aggregate, field or tag.
func (p *selectPlan) resultColumn(b *binder, e sqlparser.Expr) (int, error) {
	if v, ok := e.(*sqlparser.SQLVal); ok && v.Type == sqlparser.IntVal {
		n, _ := strconv.Atoi(string(v.Val))
		if n < 1 || n > len(p.cols) {
			return 0, fmt.Errorf("ORDER BY %d: %w: there are %d result columns", n, ErrUnknownField, len(p.cols))
		}
		return n - 1, nil
	}
	if col := colOf(e); col != nil {
		if col.Qualifier.IsEmpty() {
			for i, c := range p.cols {
				if c.alias != "" && c.alias == col.Name.String() {
					return i, nil
				}
			}
		}
		if b.isTagColumn(col) {
			for i, c := range p.cols {
				if c.kind == colTag {
					return i, nil
				}
			}
		} else {
			path, err := b.path(col)
			if err != nil {
				return 0, err
			}
			for i, c := range p.cols {
				if c.kind == colField && c.path == path {
					return i, nil
				}
			}
		}
	}
	if f, ok := e.(*sqlparser.FuncExpr); ok {
		want, err := b.aggregate(f)
		if err != nil {
			return 0, err
		}
		for i, c := range p.cols {
			if c.kind == colAgg && c.fn == want.fn && c.path == want.path && c.distinct == want.distinct {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("%s: %w: with GROUP BY or aggregates, ORDER BY and HAVING refer to result columns (by name, alias or position)", sqlparser.String(e), ErrUnsupported)
}

// columnsPlan returns the view's plan when the aggregates read the
// dataset's metadata columns instead of its samples.
func (p *selectPlan) columnsPlan() (string, bool) {
	switch p.mode {
	case modeAggregate:
		var paths []string
		count := true // every aggregate is count(*)
		for _, c := range p.cols {
			switch {
			case c.kind == colConst:
				continue
			case c.kind != colAgg:
				return "", false
			case c.path != "":
				paths = append(paths, c.path)
				count = false
			}
		}
		return p.view.ExplainColumns(count, paths...)
	case modeGroup:
		if path := p.countValuesPath(); path != "" && p.view.ValueCountSource(path) == "" {
			return p.view.ExplainColumns(false, path)
		}
	}
	return "", false
}

// explain lists the plan: the view's own plan, then what is done with
// the samples it yields.
func (p *selectPlan) explain() ([]string, error) {
	text, ok := p.columnsPlan()
	if !ok {
		var err error
		if text, err = p.view.Explain(); err != nil {
			return nil, err
		}
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.describe()
	}
	switch p.mode {
	case modeRows:
		lines = append(lines, "project("+strings.Join(names, ", ")+")")
		if p.distinct {
			lines = append(lines, "distinct rows")
		}
	case modeAggregate:
		lines = append(lines, "aggregate("+strings.Join(names, ", ")+")")
	case modeGroup:
		keys := make([]string, len(p.groupBy))
		for i, g := range p.groupBy {
			keys[i] = g.String()
		}
		how := "scan"
		if path := p.countValuesPath(); path != "" {
			how = "count_values"
			if src := p.view.ValueCountSource(path); src != "" {
				lines = []string{src + " scan, keys only"}
			}
		}
		lines = append(lines, fmt.Sprintf("group_by(%s) aggregate(%s) via %s", strings.Join(keys, ", "), strings.Join(names, ", "), how))
	}
	if p.having != nil {
		lines = append(lines, "having "+p.having.String())
	}
	if len(p.order) > 0 {
		parts := make([]string, len(p.order))
		for i, k := range p.order {
			dir := "asc"
			if k.desc {
				dir = "desc"
			}
			parts[i] = p.cols[k.col].Name + " " + dir
		}
		lines = append(lines, "order rows by "+strings.Join(parts, ", "))
	}
	if !p.pushed {
		if p.offset > 0 {
			lines = append(lines, fmt.Sprintf("skip rows(%d)", p.offset))
		}
		if p.limit >= 0 {
			lines = append(lines, fmt.Sprintf("limit rows(%d)", p.limit))
		}
	}
	return append(lines, p.notes...), nil
}
