package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// writePlan is a bound UPDATE, UPDATE … ADD/REMOVE TAG or DELETE: the
// view that selects the samples, and what to do with them.
type writePlan struct {
	ds     *db.Dataset
	view   *views.View
	groups []string
	action string // the last EXPLAIN line
	apply  func(ctx context.Context, ids []db.ID) (*Result, error)
}

// selection adds WHERE, ORDER BY and LIMIT to the dataset's view.
func (b *binder) selection(w *sqlparser.Where, ob sqlparser.OrderBy, l *sqlparser.Limit) (*views.View, error) {
	v, err := b.where(views.New(b.ds), w)
	if err != nil {
		return nil, err
	}
	keys, err := b.sortKeys(ob, nil)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		v = v.SortByKeys(keys...)
	}
	offset, count, err := b.limit(l)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		v = v.Skip(offset)
	}
	if count >= 0 {
		v = v.Limit(count)
	}
	return v, nil
}

// writablePath checks the target of SET or an INSERT column.
func (b *binder) writablePath(raw string) (string, error) {
	path := raw
	for _, q := range []string{b.sc.dataset, b.sc.alias} {
		if q != "" && strings.HasPrefix(path, q+".") {
			path = strings.TrimPrefix(path, q+".")
			break
		}
	}
	top, _, _ := strings.Cut(path, ".")
	switch top {
	case db.FieldID:
		return "", fmt.Errorf("%w: id is assigned by fosql and cannot be set", ErrUnsupported)
	case db.FieldTags:
		if path == db.FieldTags {
			return "", fmt.Errorf("%w: tags are changed with UPDATE %s ADD TAG 'x' / REMOVE TAG 'x' WHERE …", ErrUnsupported, b.sc.dataset)
		}
		return "", fmt.Errorf("%w: tags is a list of strings and has no fields", ErrUnsupported)
	case db.FieldInsights:
		return "", fmt.Errorf("%w: %s is computed (COMPUTE … ON %s); it cannot be set", ErrUnsupported, path, b.sc.dataset)
	}
	if path == "" || strings.HasSuffix(path, ".") || strings.HasPrefix(path, ".") || strings.Contains(path, "..") {
		return "", fmt.Errorf("field %q: %w", raw, ErrUnknownField)
	}
	return path, nil
}

// planWrite binds the selection and the action of a write statement.
// With ensure, the computed columns it names are brought up to date, but
// only once the whole statement has bound against the schema as it is:
// a misspelt name or a bad value fails before any job runs.
func (s *Session) planWrite(ctx context.Context, st Statement, a *args, ensure bool) (*writePlan, error) {
	w, err := s.bindWrite(ctx, st, a, false)
	if err != nil || !ensure || len(w.groups) == 0 || s.db.opts.Ensure == nil {
		return w, err
	}
	return s.bindWrite(ctx, st, a, true)
}

// bindWrite is planWrite, with ensure passed to prepareInsights.
func (s *Session) bindWrite(ctx context.Context, st Statement, a *args, ensure bool) (*writePlan, error) {
	var (
		tables sqlparser.TableExprs
		where  *sqlparser.Where
		order  sqlparser.OrderBy
		limit  *sqlparser.Limit
		nodes  []sqlparser.SQLNode
	)
	switch t := st.(type) {
	case *Update:
		tables, where, order, limit = t.ast.TableExprs, t.ast.Where, t.ast.OrderBy, t.ast.Limit
		nodes = []sqlparser.SQLNode{where, order}
	case *UpdateTags:
		sel := t.sel
		if len(sel.GroupBy) > 0 || sel.Having != nil || sel.Distinct != "" || sel.Lock != "" {
			return nil, fmt.Errorf("UPDATE … TAG takes WHERE, ORDER BY and LIMIT only: %w", ErrUnsupported)
		}
		tables, where, order, limit = sel.From, sel.Where, sel.OrderBy, sel.Limit
		nodes = []sqlparser.SQLNode{where, order}
	case *Delete:
		if len(t.ast.Partitions) > 0 {
			return nil, fmt.Errorf("DELETE … PARTITION: %w", ErrUnsupported)
		}
		tables, where, order, limit = t.ast.TableExprs, t.ast.Where, t.ast.OrderBy, t.ast.Limit
		nodes = []sqlparser.SQLNode{where, order}
	default:
		return nil, fmt.Errorf("statement %T: %w", st, ErrUnsupported)
	}
	name, alias, err := tableOf(tables)
	if err != nil {
		return nil, err
	}
	b, err := s.binderFor(name, alias, a)
	if err != nil {
		return nil, err
	}
	b, groups, err := s.prepareInsights(ctx, b, collectPaths(nodes...), name, alias, a, ensure)
	if err != nil {
		return nil, err
	}
	v, err := b.selection(where, order, limit)
	if err != nil {
		return nil, err
	}
	w := &writePlan{ds: b.ds, view: v, groups: groups}
	switch t := st.(type) {
	case *Update:
		var sets []db.Field
		var descr []string
		for _, ue := range t.ast.Exprs {
			path, err := b.writablePath(rawPath(ue.Name))
			if err != nil {
				return nil, err
			}
			val, err := b.mustConstant(ue.Expr, "the value SET assigns")
			if err != nil {
				return nil, err
			}
			if path == db.FieldFilepath {
				if val.Kind() != db.KindString {
					return nil, fmt.Errorf("%w: filepath must be a string", ErrTypeMismatch)
				}
				p, err := absPath(val.AsString())
				if err != nil {
					return nil, err
				}
				val = db.String(p)
			}
			sets = append(sets, db.Field{Name: path, Value: val})
			descr = append(descr, path+" = "+describeValue(val))
		}
		w.action = "set " + strings.Join(descr, ", ")
		w.apply = func(ctx context.Context, ids []db.ID) (*Result, error) {
			changed, err := b.ds.SetFields(ctx, ids, sets...)
			if err != nil {
				return nil, err
			}
			return &Result{RowsAffected: int64(changed),
				Message: fmt.Sprintf("%s matched, %s changed", plural(len(ids), "row"), plural(changed, "row"))}, nil
		}
	case *UpdateTags:
		tags := make([]string, 0, len(t.Tags))
		for _, l := range t.Tags {
			v, err := a.literal(l)
			if err != nil {
				return nil, err
			}
			if v.Kind() != db.KindString || v.AsString() == "" {
				return nil, fmt.Errorf("%w: a tag is a non-empty string, not %s", ErrTypeMismatch, v)
			}
			tags = append(tags, v.AsString())
		}
		verb := "add_tags"
		if t.Remove {
			verb = "remove_tags"
		}
		w.action = fmt.Sprintf("%s(%s)", verb, strings.Join(quoteAll(tags), ", "))
		w.apply = func(ctx context.Context, ids []db.ID) (*Result, error) {
			var n int
			var err error
			if t.Remove {
				n, err = b.ds.RemoveTags(ctx, ids, tags...)
			} else {
				n, err = b.ds.AddTags(ctx, ids, tags...)
			}
			if err != nil {
				return nil, err
			}
			return &Result{RowsAffected: int64(n),
				Message: fmt.Sprintf("%s matched, %s changed", plural(len(ids), "row"), plural(n, "row"))}, nil
		}
	case *Delete:
		w.action = "delete"
		w.apply = func(ctx context.Context, ids []db.ID) (*Result, error) {
			n, err := b.ds.Delete(ctx, ids)
			if err != nil {
				return nil, err
			}
			return &Result{RowsAffected: int64(n), Message: plural(n, "row") + " deleted"}, nil
		}
	}
	return w, nil
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = QuoteString(x)
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (s *Session) runWrite(ctx context.Context, st Statement, a *args) (*Result, error) {
	w, err := s.planWrite(ctx, st, a, true)
	if err != nil {
		return nil, err
	}
	ids, err := w.view.IDs(ctx)
	if err != nil {
		return nil, err
	}
	return w.apply(ctx, ids)
}

func (s *Session) update(ctx context.Context, t *Update, a *args) (*Result, error) {
	return s.runWrite(ctx, t, a)
}

func (s *Session) updateTags(ctx context.Context, t *UpdateTags, a *args) (*Result, error) {
	return s.runWrite(ctx, t, a)
}

func (s *Session) delete(ctx context.Context, t *Delete, a *args) (*Result, error) {
	if len(t.ast.Targets) > 0 {
		name, _, err := tableOf(t.ast.TableExprs)
		if err != nil {
			return nil, err
		}
		for _, tg := range t.ast.Targets {
			if tg.Name.String() != name {
				return nil, fmt.Errorf("multi-table DELETE: %w", ErrUnsupported)
			}
		}
	}
	return s.runWrite(ctx, t, a)
}

// insert adds samples: the columns name filepath (required), tags and
// user fields (dotted paths keep their qualifier); each file's metadata
// is read with db.InspectImage. Every row is checked before any is
// added, and all rows go in one transaction.
func (s *Session) insert(ctx context.Context, t *Insert, a *args) (*Result, error) {
	ins := t.ast
	if len(ins.OnDup) > 0 {
		return nil, fmt.Errorf("INSERT … ON DUPLICATE KEY UPDATE: %w", ErrUnsupported)
	}
	if ins.Ignore != "" {
		return nil, fmt.Errorf("INSERT IGNORE: %w", ErrUnsupported)
	}
	name := ins.Table.Name.String()
	if !ins.Table.Qualifier.IsEmpty() {
		name = ins.Table.Qualifier.String() + "." + name
	}
	b, err := s.binderFor(name, "", a)
	if err != nil {
		return nil, err
	}
	rows, ok := ins.Rows.(sqlparser.Values)
	if !ok {
		return nil, fmt.Errorf("INSERT … SELECT: %w; list the rows with VALUES", ErrUnsupported)
	}
	cols := make([]string, len(ins.Columns))
	fpCol := -1
	seen := map[string]bool{}
	for i, c := range ins.Columns {
		raw := c.String()
		if raw == db.FieldTags {
			cols[i] = db.FieldTags
		} else {
			p, err := b.writablePath(raw)
			if err != nil {
				return nil, err
			}
			if p == db.FieldMetadata || strings.HasPrefix(p, db.FieldMetadata+".") {
				return nil, fmt.Errorf("%w: metadata is read from the image file; insert filepath and fosql fills it", ErrUnsupported)
			}
			cols[i] = p
		}
		if seen[cols[i]] {
			return nil, fmt.Errorf("%w: column %s given twice", ErrInput, cols[i])
		}
		seen[cols[i]] = true
		if cols[i] == db.FieldFilepath {
			fpCol = i
		}
	}
	if len(cols) == 0 {
		cols, fpCol = []string{db.FieldFilepath}, 0
	}
	if fpCol < 0 {
		return nil, fmt.Errorf("%w: INSERT needs a filepath column: INSERT INTO %s (filepath, …) VALUES ('/path/to/image.jpg', …)", ErrInput, name)
	}
	// An s3:// filepath is read from the dataset's media endpoint.
	endpoint, err := b.ds.MediaEndpoint()
	if err != nil {
		return nil, err
	}
	samples := make([]db.NewSample, 0, len(rows))
	for r, tuple := range rows {
		if len(tuple) != len(cols) {
			return nil, fmt.Errorf("%w: row %d has %d values for %d columns", ErrInput, r+1, len(tuple), len(cols))
		}
		ns := db.NewSample{}
		fields := db.Doc()
		for i, e := range tuple {
			v, err := b.mustConstant(e, "an inserted value")
			if err != nil {
				return nil, err
			}
			switch cols[i] {
			case db.FieldFilepath:
				if v.Kind() != db.KindString || v.AsString() == "" {
					return nil, fmt.Errorf("%w: row %d: filepath must be a non-empty string", ErrInput, r+1)
				}
				if ns.Filepath, err = absPath(v.AsString()); err != nil {
					return nil, err
				}
			case db.FieldTags:
				if ns.Tags, err = tagList(v); err != nil {
					return nil, fmt.Errorf("row %d: %w", r+1, err)
				}
			default:
				fields = fields.With(cols[i], v)
			}
		}
		md, err := db.InspectMedia(ctx, ns.Filepath, endpoint, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %w; nothing was inserted", ErrInput, r+1, err)
		}
		ns.Metadata = &md
		ns.Fields = fields
		samples = append(samples, ns)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := b.ds.Add(ctx, samples)
	if err != nil {
		if errors.Is(err, db.ErrDuplicateFilepath) {
			return nil, fmt.Errorf("%w; nothing was inserted", err)
		}
		return nil, err
	}
	return &Result{RowsAffected: int64(len(ids)), InsertedIDs: ids, Message: plural(len(ids), "row") + " inserted"}, nil
}

// tagList reads the tags column of an INSERT: a string ('dup', 'a, b' or
// a JSON list '["a","b"]'), a list of strings, or NULL.
func tagList(v db.Value) ([]string, error) {
	switch v.Kind() {
	case db.KindNull, db.KindMissing:
		return nil, nil
	case db.KindList:
		var out []string
		for _, x := range v.Items() {
			if x.Kind() != db.KindString || x.AsString() == "" {
				return nil, fmt.Errorf("%w: tags must be non-empty strings, not %s", ErrInput, x)
			}
			out = append(out, x.AsString())
		}
		return out, nil
	case db.KindString:
		s := strings.TrimSpace(v.AsString())
		if strings.HasPrefix(s, "[") {
			var out []string
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("%w: tags %s: not a JSON list of strings", ErrInput, QuoteString(s))
			}
			for _, x := range out {
				if x == "" {
					return nil, fmt.Errorf("%w: tags must be non-empty strings", ErrInput)
				}
			}
			return out, nil
		}
		var out []string
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: tags must be a string or a list of strings, not %s", ErrInput, v)
}
