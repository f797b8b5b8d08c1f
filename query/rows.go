package query

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// rowPred is a HAVING condition over result rows.
type rowPred interface {
	eval(row []db.Value) bool
	String() string
}

type rowCmp struct {
	col  int
	name string
	op   views.CmpOp
	v    db.Value
}

func (c rowCmp) eval(row []db.Value) bool { return constCompare(row[c.col], c.op, c.v) }
func (c rowCmp) String() string           { return fmt.Sprintf("%s %s %s", c.name, c.op, c.v) }

type rowIn struct {
	col  int
	name string
	vals []db.Value
	not  bool
}

func (c rowIn) eval(row []db.Value) bool {
	if row[c.col].Kind() <= db.KindNull {
		return false
	}
	for _, v := range c.vals {
		if constCompare(row[c.col], views.Eq, v) {
			return !c.not
		}
	}
	return c.not
}

func (c rowIn) String() string {
	op := "IN"
	if c.not {
		op = "NOT IN"
	}
	return fmt.Sprintf("%s %s (%s)", c.name, op, joinValues(c.vals))
}

func joinValues(vs []db.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, ", ")
}

type rowNull struct {
	col  int
	name string
	not  bool
}

func (c rowNull) eval(row []db.Value) bool { return (row[c.col].Kind() <= db.KindNull) != c.not }
func (c rowNull) String() string {
	if c.not {
		return c.name + " IS NOT NULL"
	}
	return c.name + " IS NULL"
}

type rowLike struct {
	col     int
	name    string
	pattern string
	not     bool
}

func (c rowLike) eval(row []db.Value) bool {
	v := row[c.col]
	if v.Kind() != db.KindString {
		return false
	}
	return views.MatchLike(c.pattern, v.AsString()) != c.not
}

func (c rowLike) String() string { return fmt.Sprintf("%s LIKE %s", c.name, QuoteString(c.pattern)) }

type rowAnd []rowPred
type rowOr []rowPred
type rowNot struct{ x rowPred }
type rowConst bool

func (a rowAnd) eval(row []db.Value) bool {
	for _, x := range a {
		if !x.eval(row) {
			return false
		}
	}
	return true
}

func (a rowAnd) String() string { return joinPreds(a, " AND ") }

func (o rowOr) eval(row []db.Value) bool {
	for _, x := range o {
		if x.eval(row) {
			return true
		}
	}
	return false
}

func (o rowOr) String() string { return joinPreds(o, " OR ") }

func (n rowNot) eval(row []db.Value) bool { return !n.x.eval(row) }
func (n rowNot) String() string           { return "NOT (" + n.x.String() + ")" }

func (c rowConst) eval([]db.Value) bool { return bool(c) }
func (c rowConst) String() string {
	if c {
		return "TRUE"
	}
	return "FALSE"
}

func joinPreds(xs []rowPred, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = "(" + x.String() + ")"
	}
	return strings.Join(parts, sep)
}

// rowPredicate binds a HAVING condition: comparisons of result columns
// with values, joined by AND, OR and NOT.
func (b *binder) rowPredicate(e sqlparser.Expr, p *selectPlan) (rowPred, error) {
	side := func(l, r sqlparser.Expr) (int, db.Value, bool, error) {
		if v, ok, err := b.constant(r); err != nil {
			return 0, v, false, err
		} else if ok {
			i, err := p.resultColumn(b, l)
			return i, v, false, err
		}
		v, ok, err := b.constant(l)
		if err != nil {
			return 0, v, false, err
		}
		if !ok {
			return 0, v, false, fmt.Errorf("HAVING %s: %w: compare a result column with a value", sqlparser.String(e), ErrUnsupported)
		}
		i, err := p.resultColumn(b, r)
		return i, v, true, err
	}
	switch t := e.(type) {
	case *sqlparser.AndExpr:
		l, err := b.rowPredicate(t.Left, p)
		if err != nil {
			return nil, err
		}
		r, err := b.rowPredicate(t.Right, p)
		if err != nil {
			return nil, err
		}
		return rowAnd{l, r}, nil
	case *sqlparser.OrExpr:
		l, err := b.rowPredicate(t.Left, p)
		if err != nil {
			return nil, err
		}
		r, err := b.rowPredicate(t.Right, p)
		if err != nil {
			return nil, err
		}
		return rowOr{l, r}, nil
	case *sqlparser.NotExpr:
		x, err := b.rowPredicate(t.Expr, p)
		if err != nil {
			return nil, err
		}
		return rowNot{x}, nil
	case *sqlparser.ParenExpr:
		return b.rowPredicate(t.Expr, p)
	case sqlparser.BoolVal:
		return rowConst(t), nil
	case *sqlparser.IsExpr:
		i, err := p.resultColumn(b, t.Expr)
		if err != nil {
			return nil, err
		}
		switch t.Operator {
		case sqlparser.IsNullStr:
			return rowNull{col: i, name: p.cols[i].Name}, nil
		case sqlparser.IsNotNullStr:
			return rowNull{col: i, name: p.cols[i].Name, not: true}, nil
		}
		return nil, fmt.Errorf("HAVING … %s: %w", strings.ToUpper(t.Operator), ErrUnsupported)
	case *sqlparser.RangeCond:
		i, err := p.resultColumn(b, t.Left)
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
		name := p.cols[i].Name
		if t.Operator == sqlparser.NotBetweenStr {
			return rowOr{rowCmp{i, name, views.Lt, lo}, rowCmp{i, name, views.Gt, hi}}, nil
		}
		return rowAnd{rowCmp{i, name, views.Ge, lo}, rowCmp{i, name, views.Le, hi}}, nil
	case *sqlparser.ComparisonExpr:
		switch t.Operator {
		case sqlparser.InStr, sqlparser.NotInStr:
			i, err := p.resultColumn(b, t.Left)
			if err != nil {
				return nil, err
			}
			tuple, ok := t.Right.(sqlparser.ValTuple)
			if !ok {
				return nil, fmt.Errorf("HAVING … IN with a subquery: %w", ErrUnsupported)
			}
			var vals []db.Value
			for _, x := range tuple {
				v, err := b.mustConstant(x, "each item of an IN list")
				if err != nil {
					return nil, err
				}
				vals = append(vals, v)
			}
			return rowIn{col: i, name: p.cols[i].Name, vals: vals, not: t.Operator == sqlparser.NotInStr}, nil
		case sqlparser.LikeStr, sqlparser.NotLikeStr:
			i, err := p.resultColumn(b, t.Left)
			if err != nil {
				return nil, err
			}
			v, err := b.mustConstant(t.Right, "a LIKE pattern")
			if err != nil {
				return nil, err
			}
			if err := checkLikePattern(v.AsString()); err != nil {
				return nil, err
			}
			return rowLike{col: i, name: p.cols[i].Name, pattern: v.AsString(), not: t.Operator == sqlparser.NotLikeStr}, nil
		}
		op, ok := cmpOps[t.Operator]
		if !ok {
			return nil, fmt.Errorf("HAVING … %s: %w", t.Operator, ErrUnsupported)
		}
		i, v, swapped, err := side(t.Left, t.Right)
		if err != nil {
			return nil, err
		}
		if swapped {
			op = flipped(op)
		}
		return rowCmp{col: i, name: p.cols[i].Name, op: op, v: v}, nil
	}
	return nil, fmt.Errorf("HAVING %s: %w", sqlparser.String(e), ErrUnsupported)
}

// run executes the plan.
func (p *selectPlan) run(ctx context.Context) (*Result, error) {
	res := &Result{Columns: make([]Column, len(p.cols)), Rows: [][]db.Value{}}
	for i, c := range p.cols {
		res.Columns[i] = c.Column
	}
	var err error
	switch p.mode {
	case modeRows:
		err = p.runRows(ctx, res)
	case modeAggregate:
		err = p.runAggregate(ctx, res)
	case modeGroup:
		err = p.runGroups(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	if p.having != nil {
		kept := res.Rows[:0]
		for _, r := range res.Rows {
			if p.having.eval(r) {
				kept = append(kept, r)
			}
		}
		res.Rows = kept
	}
	if len(p.order) > 0 {
		sort.SliceStable(res.Rows, func(i, j int) bool {
			for _, k := range p.order {
				c := db.Compare(res.Rows[i][k.col], res.Rows[j][k.col])
				if c != 0 {
					return (c < 0) != k.desc
				}
			}
			return false
		})
	}
	if !p.pushed {
		rows := res.Rows
		if p.offset > 0 {
			rows = rows[min(p.offset, len(rows)):]
		}
		if p.limit >= 0 && p.limit < len(rows) {
			rows = rows[:p.limit]
		}
		res.Rows = rows
	}
	return res, nil
}

func (p *selectPlan) runRows(ctx context.Context, res *Result) error {
	var seen map[string]bool
	if p.distinct {
		seen = map[string]bool{}
	}
	return p.eachRow(ctx, func(row []db.Value) bool {
		if seen != nil {
			k := rowIdentity(row)
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		res.Rows = append(res.Rows, row)
		return true
	})
}

// eachRow makes the rows of the view's samples in order, until fn returns
// false.
func (p *selectPlan) eachRow(ctx context.Context, fn func(row []db.Value) bool) error {
	var dists *views.Distances
	if p.distances {
		ctx, dists = views.WithDistances(ctx)
	}
	for s, err := range p.view.Iter(ctx) {
		if err != nil {
			return err
		}
		row, err := p.row(ctx, s, dists)
		if err != nil {
			return err
		}
		if !fn(row) {
			return nil
		}
	}
	return ctx.Err()
}

// row makes the result row of one sample; dists holds the distances of a
// similarity order.
func (p *selectPlan) row(ctx context.Context, s *db.Sample, dists *views.Distances) ([]db.Value, error) {
	row := make([]db.Value, len(p.cols))
	for i, c := range p.cols {
		switch {
		case c.space != "":
			v, err := embeddingOf(ctx, p.view.Dataset(), c.space, s)
			if err != nil {
				return nil, err
			}
			row[i] = v
		case c.kind == colField:
			row[i] = s.Get(c.path)
		case c.kind == colConst:
			row[i] = c.value
		case c.kind == colDistance:
			row[i] = db.Null()
			if d, ok := dists.Of(s.ID); ok {
				row[i] = db.Float(d)
			}
		}
	}
	return row, nil
}

// streams reports whether the plan's rows can be produced one at a time,
// in view order, with nothing to gather first: a plain row query (no
// DISTINCT, HAVING or aggregate, LIMIT and OFFSET done by the view).
func (p *selectPlan) streams() bool {
	if p.countValuesPath() != "" {
		// Groups of value counts come in key order: HAVING, OFFSET and
		// LIMIT apply as they pass.
		return len(p.order) == 0
	}
	return p.mode == modeRows && !p.distinct && p.having == nil && len(p.order) == 0 &&
		(p.pushed || p.offset == 0 && p.limit < 0)
}

// stream returns the plan's result set with rows made as they are read
// (p.streams must hold).
func (p *selectPlan) stream(ctx context.Context) *Result {
	res := &Result{Columns: make([]Column, len(p.cols))}
	for i, c := range p.cols {
		res.Columns[i] = c.Column
	}
	res.stream = func(yield func([]db.Value) bool) (err error) {
		// Rows are made after the statement returned, so a bug here
		// needs its own recovery (runOne's is gone).
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %v\n%s", ErrInternal, r, debug.Stack())
			}
		}()
		if p.mode == modeGroup {
			return p.countRows(ctx, p.window(yield))
		}
		return p.eachRow(ctx, yield)
	}
	return res
}

// window applies HAVING, OFFSET and LIMIT to rows on their way to
// yield, for the plans whose rows stream without the view doing them.
func (p *selectPlan) window(yield func([]db.Value) bool) func([]db.Value) bool {
	skip, left := p.offset, p.limit
	return func(row []db.Value) bool {
		if p.having != nil && !p.having.eval(row) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		if left == 0 {
			return false
		}
		left--
		return yield(row)
	}
}

// embeddingOf reads a sample's vector in an embedding space: a stored
// model embedding, or the user's field for "field:<path>".
func embeddingOf(ctx context.Context, ds *db.Dataset, space string, s *db.Sample) (db.Value, error) {
	if field, ok := strings.CutPrefix(space, "field:"); ok {
		return s.Get(field), nil
	}
	vs, err := ds.Embeddings(ctx, space, []db.ID{s.ID})
	if err != nil || vs[0] == nil {
		return db.Missing(), err
	}
	fs := make([]float64, len(vs[0]))
	for i, f := range vs[0] {
		fs[i] = float64(f)
	}
	return db.Floats(fs), nil
}

// rowIdentity is a key equal for equal rows (DISTINCT, groups).
func rowIdentity(row []db.Value) string {
	var b []byte
	for _, v := range row {
		b = db.AppendKey(b, v)
	}
	return string(b)
}

// runAggregate computes the one row of an aggregate SELECT. Each
// aggregate is its own pass over the view, so a statement with several
// (count(*) and sum(x)) checks the commit epoch around them: when a commit
// landed in between, its passes may have read different states, and it
// waits for a moment without commits and computes again, so that the row
// always describes one committed state. Under writes that never pause it
// waits until they do, or until ctx ends.
func (p *selectPlan) runAggregate(ctx context.Context, res *Result) error {
	aggs := 0
	for _, c := range p.cols {
		if c.kind != colConst {
			aggs++
		}
	}
	var store *db.DB
	if p.view != nil && p.view.Dataset() != nil {
		store = p.view.Dataset().DB()
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var e0 uint64
		quiet := true
		if store != nil {
			e0, quiet = store.Epoch()
		}
		row := make([]db.Value, len(p.cols))
		for i, c := range p.cols {
			if c.kind == colConst {
				row[i] = c.value
				continue
			}
			v, err := aggregateView(ctx, p.view, c)
			if err != nil {
				return err
			}
			row[i] = v
		}
		if aggs <= 1 || store == nil {
			res.Rows = append(res.Rows, row)
			return nil
		}
		if e1, still := store.Epoch(); quiet && still && e1 == e0 {
			res.Rows = append(res.Rows, row)
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// aggregateView computes one aggregate over a view with the views
// engine's aggregations.
func aggregateView(ctx context.Context, v *views.View, c outCol) (db.Value, error) {
	switch c.fn {
	case "count":
		switch {
		case c.path == "":
			n, err := v.Count(ctx)
			return db.Int(n), err
		case c.distinct:
			vals, err := v.Distinct(ctx, c.path)
			if err != nil {
				return db.Value{}, err
			}
			n := 0
			for _, x := range vals {
				if x.Kind() > db.KindNull {
					n++
				}
			}
			return db.Int(int64(n)), nil
		}
		n, err := v.Exists(c.path).Count(ctx)
		return db.Int(n), err
	case "min", "max":
		lo, hi, err := v.Bounds(ctx, c.path)
		if err != nil {
			return db.Value{}, err
		}
		if c.fn == "min" {
			return nullIfMissing(lo), nil
		}
		return nullIfMissing(hi), nil
	case "avg":
		m, err := v.Mean(ctx, c.path)
		return nullIfMissing(m), err
	case "sum":
		s, err := v.Sum(ctx, c.path)
		return nullIfMissing(s), err
	}
	return db.Value{}, fmt.Errorf("aggregate %s: %w", c.fn, ErrUnsupported)
}

func nullIfMissing(v db.Value) db.Value {
	if v.IsMissing() {
		return db.Null()
	}
	return v
}

// countValuesPath returns the path to count values of when a grouped
// query is only its one key and count(*) (tags for GROUP BY tag), which
// the views engine answers with CountValues; "" otherwise.
func (p *selectPlan) countValuesPath() string {
	if p.mode != modeGroup || len(p.groupBy) != 1 {
		return ""
	}
	for _, c := range p.cols {
		switch {
		case c.kind == colAgg && c.fn == "count" && c.path == "":
		case c.kind == colTag || c.kind == colField || c.kind == colConst:
		default:
			return ""
		}
	}
	if p.groupBy[0].path == "" {
		return db.FieldTags
	}
	return p.groupBy[0].path
}

// group is one group's key values and aggregate state.
type group struct {
	key  []db.Value // one per GROUP BY key
	accs []accum    // one per result column (used by aggregates)
}

// countRows makes the rows of a grouped query that countValuesPath
// answers, in group key order, from the views engine's value counts,
// which hold a bounded number of groups in memory whatever their number;
// it stops when fn returns false.
func (p *selectPlan) countRows(ctx context.Context, fn func(row []db.Value) bool) error {
	path := p.countValuesPath()
	tags := p.groupBy[0].path == ""
	var pending []db.Value // the last group's row, not yet given to fn
	var pendingKey db.Value
	stop := errors.New("stop")
	err := p.view.EachValueCount(ctx, path, func(vc views.ValueCount) error {
		key := vc.Value
		if tags {
			if key.Kind() != db.KindString {
				return nil // untagged samples form no tag group
			}
		} else if key.IsMissing() {
			key = db.Null() // missing and null are one group, and come next to each other
		}
		if pending != nil {
			if pendingKey.Kind() == db.KindNull && key.Kind() == db.KindNull {
				p.addCount(pending, vc.Count)
				return nil
			}
			if !fn(pending) {
				return stop
			}
		}
		pending, pendingKey = make([]db.Value, len(p.cols)), key
		for i, c := range p.cols {
			switch c.kind {
			case colConst:
				pending[i] = c.value
			case colTag, colField:
				pending[i] = key
			case colAgg:
				pending[i] = db.Int(0)
			}
		}
		p.addCount(pending, vc.Count)
		return nil
	})
	if errors.Is(err, stop) {
		return nil
	}
	if err == nil && pending != nil {
		fn(pending)
	}
	return err
}

// addCount adds n to the count(*) columns of a row of countRows.
func (p *selectPlan) addCount(row []db.Value, n int64) {
	for i, c := range p.cols {
		if c.kind == colAgg {
			row[i] = db.Int(row[i].AsInt() + n)
		}
	}
}

func (p *selectPlan) runGroups(ctx context.Context, res *Result) error {
	var groups []*group
	if p.countValuesPath() != "" {
		return p.countRows(ctx, func(row []db.Value) bool {
			res.Rows = append(res.Rows, row)
			return true
		})
	} else {
		index := map[string]*group{}
		for s, err := range p.view.Iter(ctx) {
			if err != nil {
				return err
			}
			for _, key := range p.keysOf(s) {
				id := rowIdentity(key)
				g := index[id]
				if g == nil {
					g = &group{key: key, accs: make([]accum, len(p.cols))}
					index[id] = g
					groups = append(groups, g)
				}
				for i, c := range p.cols {
					if c.kind == colAgg {
						var v db.Value
						if c.path != "" {
							v = s.Get(c.path)
						}
						g.accs[i].add(v, c.distinct)
					}
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		for k := range groups[i].key {
			if c := db.Compare(groups[i].key[k], groups[j].key[k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
	for _, g := range groups {
		row := make([]db.Value, len(p.cols))
		for i, c := range p.cols {
			switch c.kind {
			case colConst:
				row[i] = c.value
			case colTag:
				row[i] = g.key[p.groupIndex("")]
			case colField:
				row[i] = g.key[p.groupIndex(c.path)]
			case colAgg:
				row[i] = g.accs[i].result(c)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return nil
}

func (p *selectPlan) groupIndex(path string) int {
	for i, g := range p.groupBy {
		if g.path == path {
			return i
		}
	}
	return 0
}

// keysOf returns the group keys a sample belongs to: one, or one per tag
// when grouping by tag (none for an untagged sample).
func (p *selectPlan) keysOf(s *db.Sample) [][]db.Value {
	keys := [][]db.Value{make([]db.Value, 0, len(p.groupBy))}
	for _, g := range p.groupBy {
		if g.path != "" {
			v := s.Get(g.path)
			if v.IsMissing() {
				v = db.Null()
			}
			for i := range keys {
				keys[i] = append(keys[i], v)
			}
			continue
		}
		tags := s.Tags()
		var next [][]db.Value
		for _, k := range keys {
			for _, t := range tags {
				nk := append(append(make([]db.Value, 0, cap(k)), k...), db.String(t))
				next = append(next, nk)
			}
		}
		keys = next
	}
	return keys
}

// accum is the running state of one aggregate in one group.
type accum struct {
	rows     int64 // rows seen (count(*))
	count    int64 // non-null values seen
	nums     int64 // numeric values seen
	sumI     int64
	sumF     float64
	floats   bool
	min, max db.Value
	distinct map[string]bool
}

func (a *accum) add(v db.Value, distinct bool) {
	a.rows++
	if v.Kind() <= db.KindNull {
		return
	}
	if distinct {
		if a.distinct == nil {
			a.distinct = map[string]bool{}
		}
		k := string(db.AppendKey(nil, v))
		if a.distinct[k] {
			return
		}
		a.distinct[k] = true
	}
	a.count++
	if v.IsNumber() {
		a.nums++
		if v.Kind() == db.KindFloat {
			a.floats = true
		} else {
			a.sumI += v.AsInt()
		}
		a.sumF += v.AsFloat()
	}
	if a.min.IsMissing() || db.Compare(v, a.min) < 0 {
		a.min = v
	}
	if a.max.IsMissing() || db.Compare(v, a.max) > 0 {
		a.max = v
	}
}

func (a *accum) result(c outCol) db.Value {
	switch c.fn {
	case "count":
		if c.path == "" {
			return db.Int(a.rows)
		}
		return db.Int(a.count)
	case "min":
		return nullIfMissing(a.min)
	case "max":
		return nullIfMissing(a.max)
	case "sum":
		if a.nums == 0 {
			return db.Null()
		}
		if !a.floats {
			return db.Int(a.sumI)
		}
		return db.Float(a.sumF)
	case "avg":
		if a.nums == 0 {
			return db.Null()
		}
		return db.Float(a.sumF / float64(a.nums))
	}
	return db.Null()
}
