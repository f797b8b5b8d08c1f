package views

import (
	"context"
	"fmt"
	"math"

	"github.com/fosql/fosql/db"
)

// indexRangeNode reads the ids whose value at an indexed path satisfies a
// comparison (=, <, <=, >, >=) from the index, then fetches them in id
// order. Counting such a range reads the index alone.
type indexRangeNode struct {
	readOpts
	cmp Cmp
}

func (n *indexRangeNode) String() string {
	return fmt.Sprintf("index range %s%s", n.cmp, n.note())
}

func (n *indexRangeNode) Inputs() []Node { return nil }

// rangeStart is where an ascending scan for c begins, or false when an
// index cannot serve c.
func rangeStart(c Cmp) (db.Value, bool) {
	switch c.Op {
	case Eq, Gt, Ge:
		switch c.Value.Kind() {
		case db.KindBool, db.KindInt, db.KindFloat, db.KindString:
			return c.Value, true
		}
	case Lt, Le:
		// From the lowest value of the constant's kind.
		switch c.Value.Kind() {
		case db.KindBool:
			return db.Bool(false), true
		case db.KindInt, db.KindFloat:
			return db.Float(math.NaN()), true
		case db.KindString:
			return db.String(""), true
		}
	}
	return db.Value{}, false
}

func (n *indexRangeNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

func (n *indexRangeNode) scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error {
	start, _ := rangeStart(n.cmp)
	var ids []db.ID
	for e, err := range ex.ds.IndexScanFrom(ctx, n.cmp.Path, start, false) {
		if err != nil {
			return err
		}
		if !sameBracket(e.Value, n.cmp.Value) {
			break // past the constant's kind
		}
		if compareOp(e.Value, n.cmp.Op, n.cmp.Value) {
			ids = append(ids, e.ID)
			continue
		}
		if n.cmp.Op != Gt { // Gt skips the values equal to the bound first
			break
		}
		if db.Compare(e.Value, n.cmp.Value) > 0 {
			break
		}
	}
	sortIDs(ids)
	return feed(newFetcher(ex.ds, n.readOpts, c.rowKeep, hint, yield), c, idSeq(ids))
}
