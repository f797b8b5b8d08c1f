package views

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fosql/fosql/db"
)

// ErrInvalid reports a stage that cannot be planned, such as a sort
// without keys or a match without an expression.
var ErrInvalid = errors.New("views: invalid stage")

// ErrNoDataset reports a view that has no dataset.
var ErrNoDataset = errors.New("views: view has no dataset")

// pred is one filter of a plan.
type pred interface{ String() string }

// exprPred keeps the samples for which an expression holds.
type exprPred struct{ e Expr }

// idPred keeps (or, with not, drops) the samples whose id is in a set.
type idPred struct {
	ids []db.ID // distinct, in the order given
	set map[db.ID]struct{}
	not bool
}

// textPred keeps the samples that the full-text index finds.
type textPred struct {
	fields []string
	words  string
}

func (p exprPred) String() string { return p.e.String() }

func (p *idPred) String() string {
	op := "in"
	if p.not {
		op = "not in"
	}
	return fmt.Sprintf("id %s (%s)", op, idsText(p.ids))
}

func (p textPred) String() string {
	return fmt.Sprintf("text match %s %q", quoteList(p.fields), p.words)
}

// idsText prints a few ids and counts the rest.
func idsText(ids []db.ID) string {
	const show = 3
	parts := make([]string, 0, show+1)
	for i, id := range ids {
		if i == show {
			parts = append(parts, fmt.Sprintf("... %d ids", len(ids)))
			break
		}
		parts = append(parts, "'"+id.String()+"'")
	}
	return strings.Join(parts, ", ")
}

func newIDPred(ids []db.ID, not bool) *idPred {
	p := &idPred{set: make(map[db.ID]struct{}, len(ids)), not: not}
	for _, id := range ids {
		if _, dup := p.set[id]; !dup {
			p.set[id] = struct{}{}
			p.ids = append(p.ids, id)
		}
	}
	return p
}

func (p *idPred) keep(id db.ID) bool {
	_, in := p.set[id]
	return in != p.not
}

// order is how a block orders its rows: a sort, the order of a select's
// ids, or take's hash order. Every order is total (ties go by id), so a
// later order in the same block replaces an earlier one.
type order interface{ String() string }

// sortKey is a SortKey with the getter that reads it through the mask.
type sortKey struct {
	SortKey
	get  func(s *db.Sample) db.Value
	full bool // the mask shows the whole value: an index can serve it
}

type sortOrder struct{ keys []sortKey } // no keys: by id
type idsOrder struct{ sel *idPred }     // the order of sel.ids
type hashOrder struct{ seed int64 }     // take's order

func (o sortOrder) String() string {
	parts := make([]string, 0, len(o.keys)+1)
	for _, k := range o.keys {
		parts = append(parts, k.SortKey.String())
	}
	if len(o.keys) == 0 || o.keys[len(o.keys)-1].Path != db.FieldID {
		parts = append(parts, "id asc")
	}
	return strings.Join(parts, ", ")
}

func (o idsOrder) String() string  { return fmt.Sprintf("given order of %d ids", len(o.sel.ids)) }
func (o hashOrder) String() string { return fmt.Sprintf("hash(id, seed=%d)", o.seed) }

// block is a run of stages that the planner may reorder freely: filters,
// at most one order (the last one given), then a window of rows. Filters
// commute with a total order, so they can run before it, where an index
// can serve them; a window fixes which rows pass, so a stage after a
// window starts a new block.
type block struct {
	filters []pred
	order   order // nil: the input's order
	off     int64 // rows to skip
	cnt     int64 // rows to keep after the skip; -1: all
}

func (b *block) windowed() bool { return b.off > 0 || b.cnt >= 0 }

// logical is a pipeline normalised into blocks.
type logical struct {
	blocks []*block
	mask   fieldMask // the field mask after the last stage
	empty  string    // non-empty: the view is empty, and why
}

// normalize turns the stages into blocks and resolves field masks.
func normalize(stages []Stage) (*logical, error) {
	l := &logical{blocks: []*block{{cnt: -1}}}
	cur := func() *block { return l.blocks[len(l.blocks)-1] }
	fresh := func() *block {
		if cur().windowed() {
			l.blocks = append(l.blocks, &block{cnt: -1})
		}
		return cur()
	}
	filter := func(p pred) {
		b := fresh()
		b.filters = append(b.filters, p)
	}
	var addExpr func(e Expr)
	addExpr = func(e Expr) {
		switch x := e.(type) {
		case And:
			for _, y := range x {
				addExpr(y)
			}
		case Const:
			if !x {
				filter(exprPred{x})
			}
		default:
			filter(exprPred{x})
		}
	}
	for i, st := range stages {
		switch s := st.(type) {
		case SortStage:
			if len(s.Keys) == 0 {
				return nil, fmt.Errorf("stage %d %s: %w: sort_by needs a key", i+1, s, ErrInvalid)
			}
			keys := s.Keys
			if s.Reverse {
				keys = make([]SortKey, len(s.Keys))
				for i, k := range s.Keys {
					keys[i] = SortKey{Path: k.Path, Desc: !k.Desc}
				}
			}
			fresh().order = sortOrder{keys: resolveKeys(keys, l.mask)}
		case SimilarityStage:
			if s.Ranker == nil {
				return nil, fmt.Errorf("stage %d: %w: sort_by_similarity without a query", i+1, ErrInvalid)
			}
			fresh().order = similarityOrder{r: s.Ranker}
		case MatchTagsStage:
			filter(exprPred{tagsExpr(s)})
		case LimitStage:
			b := cur()
			if s.N <= 0 {
				b.cnt = 0
			} else if b.cnt < 0 || int64(s.N) < b.cnt {
				b.cnt = int64(s.N)
			}
		case SkipStage:
			if s.N > 0 {
				b := cur()
				b.off += int64(s.N)
				if b.cnt >= 0 {
					b.cnt = max(0, b.cnt-int64(s.N))
				}
			}
		case MatchStage:
			if s.Expr == nil {
				return nil, fmt.Errorf("stage %d: %w: match without an expression", i+1, ErrInvalid)
			}
			addExpr(maskExpr(s.Expr, l.mask))
		case TextMatchStage:
			filter(textPred{fields: s.Fields, words: s.Words})
		case ExistsStage:
			addExpr(maskExpr(Exists{Path: s.Path, Not: s.Negate}, l.mask))
		case SelectStage:
			p := newIDPred(s.IDs, false)
			filter(p)
			if s.Ordered {
				cur().order = idsOrder{sel: p}
			}
		case ExcludeStage:
			filter(newIDPred(s.IDs, true))
		case TakeStage:
			b := fresh()
			b.order = hashOrder{seed: s.Seed}
			b.cnt = max(0, int64(s.N))
		case SelectFieldsStage:
			l.mask = l.mask.with(maskOp{keep: true, paths: s.Paths})
		case ExcludeFieldsStage:
			l.mask = l.mask.with(maskOp{paths: s.Paths})
		default:
			return nil, fmt.Errorf("stage %d: %w: unknown stage %T", i+1, ErrInvalid, st)
		}
	}
	for _, b := range l.blocks {
		if b.cnt == 0 {
			l.empty = "limit 0"
		}
	}
	return l, nil
}

// tagsExpr is the predicate of a match_tags stage.
func tagsExpr(s MatchTagsStage) Expr {
	vals := make([]db.Value, len(s.Tags))
	for i, t := range s.Tags {
		vals[i] = db.String(t)
	}
	return Contains{Path: db.FieldTags, Values: vals, All: s.All, Not: s.Negate}
}

// resolveKeys reads sort keys through the mask: a hidden key is constant
// and drops out; keys after id cannot matter, ids being unique.
func resolveKeys(keys []SortKey, m fieldMask) []sortKey {
	out := make([]sortKey, 0, len(keys))
	for _, k := range keys {
		v, _ := m.vis(k.Path)
		path := k.Path
		switch v {
		case visHidden:
			continue
		case visFull:
			out = append(out, sortKey{SortKey: k, get: func(s *db.Sample) db.Value { return s.Get(path) }, full: true})
		default:
			out = append(out, sortKey{SortKey: k, get: func(s *db.Sample) db.Value { return m.get(s, path) }})
		}
		if k.Path == db.FieldID {
			break
		}
	}
	if len(out) == 1 && out[0].Path == db.FieldID && !out[0].Desc {
		return nil // id order
	}
	return out
}

// tagSource reports whether a filter can be read from the tag index: a
// match on tags that holds any (or all) of some strings.
func tagSource(p pred) (Contains, bool) {
	ep, ok := p.(exprPred)
	if !ok {
		return Contains{}, false
	}
	c, ok := ep.e.(Contains)
	if !ok || c.Path != db.FieldTags || c.Not || len(c.Values) == 0 {
		return Contains{}, false
	}
	for _, v := range c.Values {
		if v.Kind() != db.KindString {
			return Contains{}, false
		}
	}
	return c, true
}

// purpose says what the plan's rows are for.
type purpose uint8

const (
	forRows      purpose = iota // rows in view order
	forCount                    // only how many rows
	forUnordered                // rows in any order (order-free aggregations)
)

// planner turns a logical pipeline into plan nodes.
type planner struct {
	ds      *db.Dataset
	noIndex bool
}

// physical builds the plan for the blocks.
func (p *planner) physical(l *logical, why purpose) Node {
	if l.empty != "" {
		return &emptyNode{why: l.empty}
	}
	var n Node
	for i, b := range l.blocks {
		last := i == len(l.blocks)-1
		o := b.order
		if last && why != forRows && !b.windowed() {
			o = nil // the order of the last rows does not matter
		}
		filters := b.filters
		done := false
		if i == 0 {
			n, filters, done = p.source(b, o)
		}
		for _, f := range filters {
			n = &filterNode{pred: f, input: n}
		}
		if !done && o != nil {
			switch o := o.(type) {
			case idsOrder:
				n = &reorderNode{sel: o.sel, input: n}
			case similarityOrder:
				k := int64(-1)
				if b.cnt >= 0 {
					k = satAdd(b.off, b.cnt)
				}
				n = &similarityNode{r: o.r, k: k, input: n}
			default:
				if b.cnt >= 0 {
					n = &heapNode{order: o, k: satAdd(b.off, b.cnt), input: n}
				} else {
					n = &sortNode{order: o.(sortOrder), input: n}
				}
			}
		}
		if b.off > 0 {
			n = &skipNode{n: b.off, input: n}
		}
		if b.cnt >= 0 {
			n = &limitNode{n: b.cnt, input: n}
		}
	}
	if len(l.mask.ops) > 0 && why == forRows {
		n = &projectNode{mask: l.mask, input: n}
	}
	return n
}

func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}

// source chooses how the first block reads the dataset. It returns the
// filters left to apply and whether the source already gives order o.
func (p *planner) source(b *block, o order) (Node, []pred, bool) {
	filters := append([]pred(nil), b.filters...)
	without := func(i int) []pred { return append(filters[:i:i], filters[i+1:]...) }
	switch o := o.(type) {
	case sortOrder:
		if k := o.keys; len(k) == 1 && k[0].full && k[0].Path != db.FieldID && !p.noIndex && p.ds.HasIndex(k[0].Path) {
			return &indexScanNode{path: k[0].Path, desc: k[0].Desc}, filters, true
		}
	case idsOrder:
		for i, f := range filters {
			if f == pred(o.sel) {
				filters = without(i)
				break
			}
		}
		return &idLookupNode{ids: o.sel.ids, ordered: true}, filters, true
	}
	done := o == nil
	if so, ok := o.(sortOrder); ok && len(so.keys) == 0 {
		done = true // id order is the order every source below gives
	}
	for i, f := range filters {
		if ip, ok := f.(*idPred); ok && !ip.not {
			return &idLookupNode{ids: ip.ids}, without(i), done
		}
	}
	for i, f := range filters {
		if c, ok := tagSource(f); ok {
			tags := make([]string, len(c.Values))
			for j, v := range c.Values {
				tags[j] = v.AsString()
			}
			return &tagIndexNode{tags: tags, all: c.All}, without(i), done
		}
	}
	for i, f := range filters {
		if tp, ok := f.(textPred); ok {
			return &textSearchNode{fields: tp.fields, words: tp.words}, without(i), done
		}
	}
	if !p.noIndex {
		for i, f := range filters {
			ep, ok := f.(exprPred)
			if !ok {
				continue
			}
			c, ok := ep.e.(Cmp)
			if _, served := rangeStart(c); ok && served && c.Path != db.FieldID && p.ds.HasIndex(c.Path) {
				return &indexRangeNode{cmp: c}, without(i), done
			}
		}
	}
	return &fullScanNode{}, filters, done
}
