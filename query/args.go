package query

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/fosql/fosql/db"
)

// args are the arguments bound to a script's placeholders: ? by number in
// the script, :name by name.
type args struct {
	pos   []db.Value
	named map[string]db.Value
	used  int // highest ? number bound so far
}

// newArgs converts Go arguments. sql.NamedArg and driver.NamedValue with a
// name bind :name placeholders; the others bind ? in order.
func newArgs(in []any) (*args, error) {
	a := &args{}
	for i, x := range in {
		name := ""
		switch t := x.(type) {
		case sql.NamedArg:
			name, x = t.Name, t.Value
		case driver.NamedValue:
			name, x = t.Name, t.Value
		}
		v, err := toValue(x)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w: %w", i+1, ErrParam, err)
		}
		if name != "" {
			if a.named == nil {
				a.named = map[string]db.Value{}
			}
			a.named[name] = v
			continue
		}
		a.pos = append(a.pos, v)
	}
	return a, nil
}

// toValue converts a Go argument to a value: what db.FromGo takes, plus
// []byte (as a string), time.Time (RFC 3339 text), db.ID and
// driver.Valuer.
func toValue(x any) (db.Value, error) {
	switch t := x.(type) {
	case []byte:
		return db.String(string(t)), nil
	case time.Time:
		return db.String(t.UTC().Format(time.RFC3339Nano)), nil
	case db.ID:
		return db.String(t.String()), nil
	case driver.Valuer:
		v, err := t.Value()
		if err != nil {
			return db.Value{}, err
		}
		return toValue(v)
	}
	return db.FromGo(x)
}

// lookup returns the argument for a placeholder name as the rewrite
// spells it (fosqlargN for ?, the user's name for :name).
func (a *args) lookup(name string) (db.Value, error) {
	name = strings.TrimPrefix(name, ":")
	if n, ok := strings.CutPrefix(name, argPrefix); ok {
		var k int
		if _, err := fmt.Sscanf(n, "%d", &k); err == nil && k > 0 {
			return a.param(k)
		}
	}
	if v, ok := a.named[name]; ok {
		return v, nil
	}
	return db.Value{}, fmt.Errorf("%w: no argument for :%s", ErrParam, name)
}

// param returns the argument of the k-th ? placeholder.
func (a *args) param(k int) (db.Value, error) {
	if k > len(a.pos) {
		return db.Value{}, fmt.Errorf("%w: no argument for placeholder %d (%d given)", ErrParam, k, len(a.pos))
	}
	a.used = max(a.used, k)
	return a.pos[k-1], nil
}

// literal resolves a Literal of a keyword-led statement.
func (a *args) literal(l Literal) (db.Value, error) {
	switch {
	case l.Param > 0:
		return a.param(l.Param)
	case l.Name != "":
		return a.lookup(l.Name)
	}
	return l.Value, nil
}
