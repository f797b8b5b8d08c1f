package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// The selection and saved views: the bridge between the dashboard and SQL.
//
//	SELECT id FROM walkthrough WHERE id IN SELECTION;     -- the samples picked by hand
//	SELECT id FROM walkthrough WHERE id NOT IN SELECTION;
//	CREATE [OR REPLACE] VIEW dups AS SELECT … FROM walkthrough …;
//	DROP VIEW [IF EXISTS] dups;
//	SHOW VIEWS;
//
// The selection belongs to the dataset of the FROM clause and is stored in
// the database (db.Dataset.Selection), so the dashboard, the shell and Go
// programs all read the same one. A saved view is a SELECT kept under a
// name with the dataset it reads; view names are unique in a database.

// Names of the functions that id IN SELECTION is rewritten to.
const (
	fnInSelection    = "fosql_in_selection"
	fnNotInSelection = "fosql_not_in_selection"
)

// CreateView is CREATE [OR REPLACE] VIEW name AS SELECT …: a named query
// saved with the dataset it reads.
type CreateView struct {
	stmtBase
	Name      string
	OrReplace bool
	Select    *Select
}

// DropView is DROP VIEW [IF EXISTS] name.
type DropView struct {
	stmtBase
	Name     string
	IfExists bool
}

// ShowViews is SHOW VIEWS: every saved view with its dataset and SQL.
type ShowViews struct{ stmtBase }

// ErrViewExists is returned by CREATE VIEW for a name already in use
// (without OR REPLACE).
var ErrViewExists = errors.New("view already exists")

// viewStatement parses the statements about saved views when the tokens
// start one; ok is false otherwise.
func (p *parser) viewStatement(b stmtBase) (st Statement, ok bool, err error) {
	switch {
	case p.peek().is("SHOW") && p.peekN(1).is("VIEWS"):
		p.i += 2
		return &ShowViews{b}, true, p.done()
	case p.peek().is("DROP") && p.peekN(1).is("VIEW"):
		p.i += 2
		dv := &DropView{stmtBase: b}
		if p.accept("IF") {
			if err := p.expect("EXISTS"); err != nil {
				return nil, true, err
			}
			dv.IfExists = true
		}
		if dv.Name, err = p.name("a view name"); err != nil {
			return nil, true, err
		}
		return dv, true, p.done()
	case p.peek().is("CREATE") && (p.peekN(1).is("VIEW") || p.peekN(1).is("OR") && p.peekN(2).is("REPLACE") && p.peekN(3).is("VIEW")):
		p.i++
		cv := &CreateView{stmtBase: b}
		if p.accept("OR") {
			p.i++ // REPLACE
			cv.OrReplace = true
		}
		p.i++ // VIEW
		if cv.Name, err = p.name("a view name"); err != nil {
			return nil, true, err
		}
		if err := p.expect("AS"); err != nil {
			return nil, true, err
		}
		nt := p.peek()
		if !nt.is("SELECT") {
			return nil, true, p.errAt(nt, "expected SELECT")
		}
		inner := &parser{script: p.script, toks: p.toks[p.i:], start: nt.start, end: p.end}
		sub, err := inner.statement()
		if err != nil {
			return nil, true, err
		}
		sel, isSel := sub.(*Select)
		if !isSel || sel.Outfile != nil {
			return nil, true, p.errAt(nt, "a view is a SELECT without INTO OUTFILE")
		}
		cv.Select = sel
		return cv, true, nil
	}
	return nil, false, nil
}

// inSelection writes name [NOT] IN SELECTION, starting at toks[i], as a
// call fosql_in_selection(name); it returns how many tokens it read, or 0
// when toks[i] does not start that form. A back-quoted `selection` is a
// field, not the selection.
func (r *rewrite) inSelection(toks []token, i int) int {
	if !toks[i].isName() || (i > 0 && toks[i-1].isOp(".")) {
		return 0
	}
	n := chainLen(toks, i)
	if n == 0 {
		n = 1
	}
	k := i + n
	not := k < len(toks) && toks[k].is("NOT")
	if not {
		k++
	}
	if k+1 >= len(toks) || !toks[k].is("IN") || !toks[k+1].is("SELECTION") ||
		(k+2 < len(toks) && (toks[k+2].isOp("(") || toks[k+2].isOp("."))) {
		return 0
	}
	fn := fnInSelection
	if not {
		fn = fnNotInSelection
	}
	r.emit(fn+"(", toks[i].start)
	r.name(toks[i : i+n])
	r.emit(")", toks[k+1].end-1)
	r.last = toks[k+1].end
	return k + 2 - i
}

// selectionCall binds fosql_in_selection(id): the ids of the dataset's
// selection, and whether the call is the NOT form. ok is false for any
// other function.
func (b *binder) selectionCall(t *sqlparser.FuncExpr) (ids []db.ID, not, ok bool, err error) {
	name := t.Name.Lowered()
	if name != fnInSelection && name != fnNotInSelection {
		return nil, false, false, nil
	}
	not = name == fnNotInSelection
	var col *sqlparser.ColName
	if len(t.Exprs) == 1 {
		if ae, isAliased := t.Exprs[0].(*sqlparser.AliasedExpr); isAliased {
			col = colOf(ae.Expr)
		}
	}
	if col == nil {
		return nil, not, true, fmt.Errorf("IN SELECTION: %w: write id IN SELECTION", ErrUnsupported)
	}
	path, err := b.path(col)
	if err != nil {
		return nil, not, true, err
	}
	if path != db.FieldID {
		return nil, not, true, fmt.Errorf("%s IN SELECTION: %w: the selection holds sample ids; write id IN SELECTION", path, ErrUnsupported)
	}
	ids, err = b.ds.Selection()
	return ids, not, true, err
}

// selectionStage is the stage of a top-level id [NOT] IN SELECTION: a
// select or exclude stage over the stored ids.
func (b *binder) selectionStage(t *sqlparser.FuncExpr) (views.Stage, bool, error) {
	ids, not, ok, err := b.selectionCall(t)
	if !ok || err != nil {
		return nil, ok, err
	}
	if not {
		return views.ExcludeStage{IDs: ids}, true, nil
	}
	return views.SelectStage{IDs: ids}, true, nil
}

// selectionPred is id [NOT] IN SELECTION under OR or NOT: a test of the id
// against the stored ids.
func (b *binder) selectionPred(t *sqlparser.FuncExpr) (views.Expr, bool, error) {
	ids, not, ok, err := b.selectionCall(t)
	if !ok || err != nil {
		return nil, ok, err
	}
	vals := make([]db.Value, len(ids))
	for i, id := range ids {
		vals[i] = db.String(id.String())
	}
	return views.In{Path: db.FieldID, Values: vals, Not: not}, true, nil
}

// viewExec runs the statements about saved views.
func (s *Session) viewExec(ctx context.Context, st Statement, a *args) (*Result, error) {
	switch t := st.(type) {
	case *CreateView:
		return s.createView(ctx, t, a)
	case *DropView:
		ds, err := s.findView(t.Name)
		if err != nil {
			return nil, err
		}
		if ds == nil {
			if t.IfExists {
				return &Result{Message: "no view " + t.Name}, nil
			}
			return nil, fmt.Errorf("view %s: %w (SHOW VIEWS lists them)", t.Name, db.ErrNotFound)
		}
		if _, err := ds.DropView(t.Name); err != nil {
			return nil, err
		}
		return &Result{Message: "view " + t.Name + " dropped"}, nil
	case *ShowViews:
		all, err := s.AllViews()
		if err != nil {
			return nil, err
		}
		res := &Result{Columns: []Column{{Name: "name", Type: TypeString}, {Name: "dataset", Type: TypeString}, {Name: "sql", Type: TypeString}}, Rows: [][]db.Value{}}
		for _, v := range all {
			res.Rows = append(res.Rows, []db.Value{db.String(v.Name), db.String(v.Dataset), db.String(v.SQL)})
		}
		return res, ctx.Err()
	}
	return nil, fmt.Errorf("statement %T: %w", st, ErrUnsupported)
}

// createView checks the view's SELECT against its dataset (names and
// types, without running it or any computed column's job) and saves it.
func (s *Session) createView(ctx context.Context, t *CreateView, a *args) (*Result, error) {
	name, _, err := tableOf(t.Select.ast.From)
	if err != nil {
		return nil, err
	}
	if hasPlaceholder(t.Select) {
		return nil, fmt.Errorf("CREATE VIEW with placeholders: %w: a view is saved as text", ErrUnsupported)
	}
	if _, _, _, err := s.bindSelectNow(ctx, t.Select, a, false); err != nil {
		return nil, err
	}
	ds, err := s.dataset(name)
	if err != nil {
		return nil, err
	}
	old, err := s.findView(t.Name)
	if err != nil {
		return nil, err
	}
	if old != nil && (!t.OrReplace || old.Name() != ds.Name()) {
		if old.Name() != ds.Name() {
			return nil, fmt.Errorf("view %s: %w on dataset %s; view names are unique in a database", t.Name, ErrViewExists, old.Name())
		}
		return nil, fmt.Errorf("view %s: %w (CREATE OR REPLACE VIEW replaces it)", t.Name, ErrViewExists)
	}
	if err := ds.SaveView(t.Name, t.Select.text); err != nil {
		return nil, err
	}
	return &Result{Message: "view " + t.Name + " saved on " + ds.Name()}, nil
}

// hasPlaceholder reports whether a SELECT has ? or :name placeholders.
func hasPlaceholder(sel *Select) bool {
	found := false
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if v, ok := n.(*sqlparser.SQLVal); ok && v.Type == sqlparser.ValArg {
			found = true
		}
		return !found, nil
	}, sel.ast)
	return found
}

// findView returns the dataset that holds the view name (nil when no
// dataset does).
func (s *Session) findView(name string) (*db.Dataset, error) {
	all, err := s.AllViews()
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if strings.EqualFold(v.Name, name) {
			return s.db.store.Dataset(v.Dataset)
		}
	}
	return nil, nil
}

// NamedView is a saved view with the dataset it reads.
type NamedView struct {
	Name    string `json:"name"`
	Dataset string `json:"dataset"`
	SQL     string `json:"sql"`
}

// AllViews returns the saved views of every dataset, by dataset then name.
func (s *Session) AllViews() ([]NamedView, error) {
	names, err := s.db.store.DatasetNames()
	if err != nil {
		return nil, err
	}
	var out []NamedView
	for _, n := range names {
		ds, err := s.db.store.Dataset(n)
		if err != nil {
			continue
		}
		vs, err := ds.Views()
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			out = append(out, NamedView{Name: v.Name, Dataset: n, SQL: v.SQL})
		}
	}
	return out, nil
}

// AllViews returns the saved views of every dataset. See Session.AllViews.
func (d *DB) AllViews() ([]NamedView, error) { return d.def.AllViews() }

// Dataset is the name of the dataset the SELECT reads (its FROM clause),
// or "" when FROM names something else than one dataset.
func (s *Select) Dataset() string {
	name, _, err := tableOf(s.ast.From)
	if err != nil {
		return ""
	}
	return name
}
