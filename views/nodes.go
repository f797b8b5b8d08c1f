package views

import (
	"context"
	"fmt"
	"strings"

	"github.com/fosql/fosql/db"
)

// Node is one operator of a view's plan. A source reads the dataset (full
// scan, index scan, tag index, text search, id lookup); an operator
// filters, orders, windows or projects the rows of its input. Every node
// prints itself on one line, and Explain prints the tree with the root
// first and each input indented under the node that reads it.
type Node interface {
	// String describes the node on one line.
	String() string
	// Inputs are the nodes this one reads; none for a source.
	Inputs() []Node

	// run streams the node's rows. hint, when not negative, is how many
	// rows the reader expects to take, so a source can size its reads.
	// run stops, returning nil, as soon as yield returns false.
	run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error
}

// source is a node that reads the dataset and can apply filters while it
// reads: filters on the id before fetching a sample, the others after.
type source interface {
	Node
	scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error
	// setReads records what the nodes above read (readOpts, which every
	// source embeds, implements it).
	setReads(needRows, needInsights bool)
}

// readOpts are what the nodes above a source need of its samples.
type readOpts struct {
	idsOnly    bool // only the id: nothing above reads a field
	noInsights bool // nothing above reads insights
}

// setReads records what the nodes above need: rows or only ids, and
// insights or not.
func (r *readOpts) setReads(needRows, needInsights bool) {
	*r = readOpts{idsOnly: !needRows, noInsights: !needInsights}
}

func (r readOpts) note() string {
	switch {
	case r.idsOnly:
		return " (ids only)"
	case r.noInsights:
		return " (without insights)"
	}
	return ""
}

// emptyNode yields nothing.
type emptyNode struct{ why string }

// fullScanNode reads every sample in id order.
type fullScanNode struct{ readOpts }

// indexScanNode reads an index in value order and fetches the samples.
type indexScanNode struct {
	readOpts
	path string
	desc bool
}

// tagIndexNode reads the ids of the samples that have any (or all) of
// the tags from the tag index, in id order.
type tagIndexNode struct {
	readOpts
	tags []string
	all  bool
}

// textSearchNode reads the ids that the full-text index finds, in id
// order.
type textSearchNode struct {
	readOpts
	fields []string
	words  string
}

// idLookupNode fetches samples by id, in the order given or in id order.
type idLookupNode struct {
	readOpts
	ids     []db.ID
	ordered bool
}

// filterNode keeps the rows of its input that a predicate holds for.
type filterNode struct {
	pred  pred
	input Node
}

// limitNode keeps the first n rows.
type limitNode struct {
	n     int64
	input Node
}

// skipNode drops the first n rows.
type skipNode struct {
	n     int64
	input Node
}

// heapNode keeps the first k rows of an order in a bounded heap.
type heapNode struct {
	order order
	k     int64
	input Node
}

// sortNode orders all its input: it keeps the sort keys and the id of
// every row, sorts them, then fetches the samples by id in batches.
type sortNode struct {
	order      sortOrder
	fetch      bool // false: only ids are wanted above
	noInsights bool // the fetch may leave insights out
	input      Node
}

// reorderNode puts the rows in the order of a select's ids.
type reorderNode struct {
	sel   *idPred
	input Node
}

// projectNode shows only the fields the view's mask leaves.
type projectNode struct {
	mask  fieldMask
	input Node
}

func (n *emptyNode) String() string    { return "empty (" + n.why + ")" }
func (n *fullScanNode) String() string { return "full scan in id order" + n.note() }
func (n *indexScanNode) String() string {
	dir := "asc"
	if n.desc {
		dir = "desc"
	}
	return fmt.Sprintf("index scan %s %s%s", n.path, dir, n.note())
}
func (n *tagIndexNode) String() string {
	q := "any"
	if n.all {
		q = "all"
	}
	return fmt.Sprintf("tag index %s of %s%s", q, quoteList(n.tags), n.note())
}
func (n *textSearchNode) String() string {
	return fmt.Sprintf("text search %s %q%s", quoteList(n.fields), n.words, n.note())
}
func (n *idLookupNode) String() string {
	o := "id order"
	if n.ordered {
		o = "given order"
	}
	note := ""
	if n.noInsights {
		note = " (without insights)"
	}
	return fmt.Sprintf("id lookup (%s) in %s%s", idsText(n.ids), o, note)
}
func (n *filterNode) String() string { return "filter " + n.pred.String() }
func (n *limitNode) String() string  { return fmt.Sprintf("limit %d", n.n) }
func (n *skipNode) String() string   { return fmt.Sprintf("skip %d", n.n) }
func (n *heapNode) String() string {
	return fmt.Sprintf("heap top-N %d by %s", n.k, n.order)
}
func (n *sortNode) String() string {
	s := "sort by " + n.order.String() + " (keys and ids in memory"
	if n.fetch {
		s += ", then fetch by id"
	}
	return s + ")"
}
func (n *reorderNode) String() string {
	return fmt.Sprintf("order by the %d ids given", len(n.sel.ids))
}
func (n *projectNode) String() string {
	parts := make([]string, len(n.mask.ops))
	for i, op := range n.mask.ops {
		name := "exclude_fields"
		if op.keep {
			name = "select_fields"
		}
		parts[i] = name + "(" + strings.Join(op.paths, ", ") + ")"
	}
	return "project " + strings.Join(parts, " ")
}

func (n *emptyNode) Inputs() []Node     { return nil }
func (n *fullScanNode) Inputs() []Node  { return nil }
func (n *indexScanNode) Inputs() []Node { return nil }
func (n *tagIndexNode) Inputs() []Node  { return nil }
func (n *textSearchNode) Inputs() []Node {
	return nil
}
func (n *idLookupNode) Inputs() []Node { return nil }
func (n *filterNode) Inputs() []Node   { return []Node{n.input} }
func (n *limitNode) Inputs() []Node    { return []Node{n.input} }
func (n *skipNode) Inputs() []Node     { return []Node{n.input} }
func (n *heapNode) Inputs() []Node     { return []Node{n.input} }
func (n *sortNode) Inputs() []Node     { return []Node{n.input} }
func (n *reorderNode) Inputs() []Node  { return []Node{n.input} }
func (n *projectNode) Inputs() []Node  { return []Node{n.input} }

// explainTree prints a plan, one node per line, inputs indented by two
// spaces under their reader.
func explainTree(n Node) string {
	var b strings.Builder
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.String())
		b.WriteString("\n")
		for _, in := range n.Inputs() {
			walk(in, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// annotate tells every source what the nodes above it read, and every
// sort whether it must fetch samples. needRows is false when the caller
// wants only ids; needInsights when it reads insights.
func annotate(n Node, needRows, needInsights bool) {
	switch x := n.(type) {
	case source:
		x.setReads(needRows, needInsights)
	case *filterNode:
		if ep, ok := x.pred.(exprPred); ok {
			needRows = true
			needInsights = needInsights || exprReadsInsights(ep.e)
		}
		annotate(x.input, needRows, needInsights)
	case *heapNode:
		if so, ok := x.order.(sortOrder); ok {
			needRows = true
			needInsights = needInsights || keysReadInsights(so.keys)
		}
		annotate(x.input, needRows, needInsights)
	case *sortNode:
		x.fetch, x.noInsights = needRows, !needInsights
		annotate(x.input, true, keysReadInsights(x.order.keys))
	case *similarityNode:
		x.fetch, x.noInsights = needRows, !needInsights
		annotate(x.input, false, false)
	default:
		for _, in := range n.Inputs() {
			annotate(in, needRows, needInsights)
		}
	}
}

func exprReadsInsights(e Expr) bool {
	reads := false
	known := exprPaths(e, func(p string) { reads = reads || readsInsights(p) })
	return reads || !known
}

func keysReadInsights(keys []sortKey) bool {
	for _, k := range keys {
		if readsInsights(k.Path) {
			return true
		}
	}
	return false
}
