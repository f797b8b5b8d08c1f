package views

import (
	"bytes"
	"context"
	"encoding/binary"
	"iter"
	"runtime"
	"slices"

	"github.com/fosql/fosql/db"
)

// execEnv is what running a plan needs.
type execEnv struct {
	ds      *db.Dataset
	workers int // goroutines for a parallel full scan
}

// compiled is a list of filters made ready to run: the ones that need
// only the id, and the ones that read the sample. Both are safe to call
// from several goroutines.
type compiled struct {
	idKeep  func(db.ID) bool
	rowKeep func(*db.Sample) bool
}

func (c compiled) match(s *db.Sample) bool {
	return (c.idKeep == nil || c.idKeep(s.ID)) && (c.rowKeep == nil || c.rowKeep(s))
}

func (c compiled) empty() bool { return c.idKeep == nil && c.rowKeep == nil }

// compile makes filters ready to run; a text match asks the full-text
// index for its ids now.
func compile(ctx context.Context, ex *execEnv, preds []pred) (compiled, error) {
	var idFns []func(db.ID) bool
	var rowFns []func(*db.Sample) bool
	for _, p := range preds {
		switch p := p.(type) {
		case *idPred:
			idFns = append(idFns, p.keep)
		case textPred:
			hits, err := ex.ds.Search(ctx, p.fields, p.words)
			if err != nil {
				return compiled{}, err
			}
			set := make(map[db.ID]struct{}, len(hits))
			for _, h := range hits {
				set[h.ID] = struct{}{}
			}
			idFns = append(idFns, func(id db.ID) bool { _, ok := set[id]; return ok })
		case exprPred:
			rowFns = append(rowFns, compileExpr(p.e).Eval)
		}
	}
	var c compiled
	switch len(idFns) {
	case 0:
	case 1:
		c.idKeep = idFns[0]
	default:
		c.idKeep = func(id db.ID) bool {
			for _, f := range idFns {
				if !f(id) {
					return false
				}
			}
			return true
		}
	}
	switch len(rowFns) {
	case 0:
	case 1:
		c.rowKeep = rowFns[0]
	default:
		c.rowKeep = func(s *db.Sample) bool {
			for _, f := range rowFns {
				if !f(s) {
					return false
				}
			}
			return true
		}
	}
	return c, nil
}

// filterChain splits a run of filter nodes from the node under them.
func filterChain(n Node) ([]pred, Node) {
	var preds []pred
	for {
		f, ok := n.(*filterNode)
		if !ok {
			return preds, n
		}
		preds = append(preds, f.pred)
		n = f.input
	}
}

// fetcher turns ids into samples in batches: one read transaction per
// batch, the first batch sized for the rows the reader expects, later
// ones doubling.
type fetcher struct {
	ds    *db.Dataset
	read  readOpts
	keep  func(*db.Sample) bool
	yield func(*db.Sample) bool
	ids   []db.ID
	size  int
}

const maxFetchBatch = 1024

func newFetcher(ds *db.Dataset, read readOpts, keep func(*db.Sample) bool, hint int64, yield func(*db.Sample) bool) *fetcher {
	size := 64
	if hint >= 0 {
		size = int(min(max(hint, 1), maxFetchBatch))
	}
	return &fetcher{ds: ds, read: read, keep: keep, yield: yield, size: size}
}

// add queues an id; false means the reader stopped.
func (f *fetcher) add(id db.ID) (bool, error) {
	if f.read.idsOnly && f.keep == nil {
		return f.yield(&db.Sample{ID: id}), nil
	}
	f.ids = append(f.ids, id)
	if len(f.ids) < f.size {
		return true, nil
	}
	return f.flush()
}

// flush fetches and yields the queued ids; false means the reader stopped.
func (f *fetcher) flush() (bool, error) {
	if len(f.ids) == 0 {
		return true, nil
	}
	samples, err := f.ds.GetSamples(f.ids, f.read.noInsights)
	f.ids = f.ids[:0]
	f.size = min(2*f.size, maxFetchBatch)
	if err != nil {
		return false, err
	}
	for _, s := range samples {
		if s == nil || (f.keep != nil && !f.keep(s)) {
			continue
		}
		if !f.yield(s) {
			return false, nil
		}
	}
	return true, nil
}

// feed sends ids through the id filter into the fetcher.
func feed(f *fetcher, c compiled, ids iter.Seq2[db.ID, error]) error {
	for id, err := range ids {
		if err != nil {
			return err
		}
		if c.idKeep != nil && !c.idKeep(id) {
			continue
		}
		if ok, err := f.add(id); !ok || err != nil {
			return err
		}
	}
	_, err := f.flush()
	return err
}

func (n *emptyNode) run(context.Context, *execEnv, int64, func(*db.Sample) bool) error { return nil }

func (n *fullScanNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

func (n *fullScanNode) scanOpts(ex *execEnv) db.SampleScan {
	return db.SampleScan{NoInsights: n.noInsights, IDsOnly: n.idsOnly, Workers: ex.workers}
}

func (n *fullScanNode) scan(ctx context.Context, ex *execEnv, c compiled, _ int64, yield func(*db.Sample) bool) error {
	var keep func(*db.Sample) bool
	if !c.empty() {
		keep = c.match
	}
	for s, err := range ex.ds.ScanSamples(ctx, n.scanOpts(ex), keep) {
		if err != nil {
			return err
		}
		if !yield(s) {
			return nil
		}
	}
	return nil
}

func (n *indexScanNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

// scan reads the index in the sort's direction. An index holds (value,
// id) in ascending order, so a descending scan meets equal values in
// descending id order; it buffers each run of equal values and emits it
// in ascending id order, which is the view's tie order.
func (n *indexScanNode) scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error {
	f := newFetcher(ex.ds, n.readOpts, c.rowKeep, hint, yield)
	ids := func(yieldID func(db.ID, error) bool) {
		var run []db.ID
		var runVal db.Value
		flush := func() bool {
			for i := len(run) - 1; i >= 0; i-- {
				if !yieldID(run[i], nil) {
					return false
				}
			}
			run = run[:0]
			return true
		}
		for e, err := range ex.ds.IndexScan(ctx, n.path, n.desc) {
			if err != nil {
				yieldID(db.ID{}, err)
				return
			}
			if !n.desc {
				if !yieldID(e.ID, nil) {
					return
				}
				continue
			}
			if len(run) > 0 && db.Compare(e.Value, runVal) != 0 && !flush() {
				return
			}
			if len(run) == 0 {
				runVal = e.Value
			}
			run = append(run, e.ID)
		}
		flush()
	}
	return feed(f, c, ids)
}

func (n *tagIndexNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

func (n *tagIndexNode) scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error {
	f := newFetcher(ex.ds, n.readOpts, c.rowKeep, hint, yield)
	if len(n.tags) == 1 {
		return feed(f, c, ex.ds.TagIDs(ctx, n.tags[0]))
	}
	return feed(f, c, mergeIDs(ctx, ex.ds, n.tags, n.all))
}

// mergeIDs merges the id streams of several tags, each in id order, into
// their union (or, with all, their intersection), in id order.
func mergeIDs(ctx context.Context, ds *db.Dataset, tags []string, all bool) iter.Seq2[db.ID, error] {
	return func(yield func(db.ID, error) bool) {
		type head struct {
			next func() (db.ID, error, bool)
			id   db.ID
			ok   bool
		}
		heads := make([]*head, 0, len(tags))
		seen := map[string]bool{}
		for _, t := range tags {
			if seen[t] {
				continue
			}
			seen[t] = true
			next, stop := iter.Pull2(ds.TagIDs(ctx, t))
			defer stop()
			heads = append(heads, &head{next: next})
		}
		advance := func(h *head) bool {
			id, err, ok := h.next()
			if err != nil {
				yield(db.ID{}, err)
				return false
			}
			h.id, h.ok = id, ok
			return true
		}
		for _, h := range heads {
			if !advance(h) {
				return
			}
		}
		for {
			var lo *db.ID
			live := 0
			for _, h := range heads {
				if !h.ok {
					continue
				}
				live++
				if lo == nil || bytes.Compare(h.id[:], lo[:]) < 0 {
					id := h.id
					lo = &id
				}
			}
			if lo == nil || (all && live < len(heads)) {
				return
			}
			hits := 0
			for _, h := range heads {
				if h.ok && h.id == *lo {
					hits++
					if !advance(h) {
						return
					}
				}
			}
			if (!all || hits == len(heads)) && !yield(*lo, nil) {
				return
			}
		}
	}
}

func (n *textSearchNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

func (n *textSearchNode) scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error {
	hits, err := ex.ds.Search(ctx, n.fields, n.words)
	if err != nil {
		return err
	}
	ids := make([]db.ID, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	sortIDs(ids)
	return feed(newFetcher(ex.ds, n.readOpts, c.rowKeep, hint, yield), c, idSeq(ids))
}

func (n *idLookupNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.scan(ctx, ex, compiled{}, hint, yield)
}

func (n *idLookupNode) scan(ctx context.Context, ex *execEnv, c compiled, hint int64, yield func(*db.Sample) bool) error {
	ids := n.ids
	if !n.ordered {
		ids = slices.Clone(ids)
		sortIDs(ids)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Never ids alone: the fetch is what proves that an id is in the
	// dataset.
	read := n.readOpts
	read.idsOnly = false
	return feed(newFetcher(ex.ds, read, c.rowKeep, hint, yield), c, idSeq(ids))
}

func idSeq(ids []db.ID) iter.Seq2[db.ID, error] {
	return func(yield func(db.ID, error) bool) {
		for _, id := range ids {
			if !yield(id, nil) {
				return
			}
		}
	}
}

func sortIDs(ids []db.ID) {
	slices.SortFunc(ids, func(a, b db.ID) int { return bytes.Compare(a[:], b[:]) })
}

func (n *filterNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	preds, base := filterChain(n)
	c, err := compile(ctx, ex, preds)
	if err != nil {
		return err
	}
	if src, ok := base.(source); ok {
		return src.scan(ctx, ex, c, hint, yield)
	}
	return base.run(ctx, ex, -1, func(s *db.Sample) bool {
		if !c.match(s) {
			return true
		}
		return yield(s)
	})
}

func (n *limitNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	if n.n <= 0 {
		return nil
	}
	var seen int64
	return n.input.run(ctx, ex, n.n, func(s *db.Sample) bool {
		seen++
		return yield(s) && seen < n.n
	})
}

func (n *skipNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	if hint >= 0 {
		hint = satAdd(hint, n.n)
	}
	var seen int64
	return n.input.run(ctx, ex, hint, func(s *db.Sample) bool {
		seen++
		if seen <= n.n {
			return true
		}
		return yield(s)
	})
}

func (n *projectNode) run(ctx context.Context, ex *execEnv, hint int64, yield func(*db.Sample) bool) error {
	return n.input.run(ctx, ex, hint, yield)
}

func (n *reorderNode) run(ctx context.Context, ex *execEnv, _ int64, yield func(*db.Sample) bool) error {
	got := make(map[db.ID]*db.Sample)
	err := n.input.run(ctx, ex, -1, func(s *db.Sample) bool {
		if _, ok := n.sel.set[s.ID]; ok {
			got[s.ID] = s
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, id := range n.sel.ids {
		if s, ok := got[id]; ok && !yield(s) {
			return nil
		}
	}
	return nil
}

// parallelScan reports whether n is a full scan under filters only, which
// can run on several goroutines in any order.
func parallelScan(n Node) (*fullScanNode, []pred, bool) {
	preds, base := filterChain(n)
	fs, ok := base.(*fullScanNode)
	return fs, preds, ok
}

// visitRows calls fn for every row of n in no particular order. A full
// scan under filters runs on ex.workers goroutines with lent samples
// (valid only during the call; worker numbers the goroutine); any other
// plan streams on worker 0 with samples fn may keep.
func visitRows(ctx context.Context, ex *execEnv, n Node, fn func(worker int, s *db.Sample) error) error {
	if fs, preds, ok := parallelScan(n); ok {
		c, err := compile(ctx, ex, preds)
		if err != nil {
			return err
		}
		return ex.ds.VisitSamples(ctx, fs.scanOpts(ex), func(w int, s *db.Sample) error {
			if !c.match(s) {
				return nil
			}
			return fn(w, s)
		})
	}
	var ferr error
	err := n.run(ctx, ex, -1, func(s *db.Sample) bool {
		ferr = fn(0, s)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// item is a row with its sort key: the order-preserving encodings
// (db.AppendKey) of its key values, one after the other, each
// complemented for a descending key. The encoding is prefix-free, so
// comparing the bytes compares key by key, and complementing a
// prefix-free encoding reverses its order.
type item struct {
	id  db.ID
	key []byte
	s   *db.Sample
}

// ordering compares rows by an order, then by id.
type ordering struct {
	keys []sortKey
	hash bool
	seed int64
}

func newOrdering(o order) ordering {
	switch o := o.(type) {
	case sortOrder:
		return ordering{keys: o.keys}
	case hashOrder:
		return ordering{hash: true, seed: o.seed}
	}
	return ordering{}
}

// appendKey appends the key of s to dst.
func (o *ordering) appendKey(dst []byte, s *db.Sample) []byte {
	if o.hash {
		return binary.BigEndian.AppendUint64(dst, takeHash(o.seed, s.ID))
	}
	for _, k := range o.keys {
		start := len(dst)
		dst = db.AppendKey(dst, k.get(s))
		if k.Desc {
			for i := start; i < len(dst); i++ {
				dst[i] = ^dst[i]
			}
		}
	}
	return dst
}

// item reads the key of s; the item does not keep s.
func (o *ordering) item(s *db.Sample) item {
	return item{id: s.ID, key: o.appendKey(nil, s)}
}

func (o *ordering) less(a, b *item) bool {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// takeHash orders the samples for take(n, seed): FNV-1a over the seed
// and the id, then a 64-bit finaliser (splitmix64's) to spread it.
func takeHash(seed int64, id db.ID) uint64 {
	var buf [20]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(seed))
	copy(buf[8:], id[:])
	h := uint64(14695981039346656037)
	for _, b := range buf {
		h ^= uint64(b)
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// topK keeps the k least items of an ordering in a max-heap: the root is
// the worst item kept, which the next better item replaces.
type topK struct {
	k     int64
	o     *ordering
	items []item
}

func (h *topK) wants(it *item) bool {
	return int64(len(h.items)) < h.k || h.o.less(it, &h.items[0])
}

// push adds an item that wants reported true for.
func (h *topK) push(it item) {
	if int64(len(h.items)) < h.k {
		h.items = append(h.items, it)
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.o.less(&h.items[p], &h.items[i]) {
				break
			}
			h.items[p], h.items[i] = h.items[i], h.items[p]
			i = p
		}
		return
	}
	h.items[0] = it
	for i, n := 0, len(h.items); ; {
		l, r, big := 2*i+1, 2*i+2, i
		if l < n && h.o.less(&h.items[big], &h.items[l]) {
			big = l
		}
		if r < n && h.o.less(&h.items[big], &h.items[r]) {
			big = r
		}
		if big == i {
			return
		}
		h.items[i], h.items[big] = h.items[big], h.items[i]
		i = big
	}
}

// sorted returns the items kept, best first.
func (h *topK) sorted() []item {
	slices.SortFunc(h.items, func(a, b item) int {
		if h.o.less(&a, &b) {
			return -1
		}
		if h.o.less(&b, &a) {
			return 1
		}
		return 0
	})
	return h.items
}

func (n *heapNode) run(ctx context.Context, ex *execEnv, _ int64, yield func(*db.Sample) bool) error {
	o := newOrdering(n.order)
	heaps := make([]*topK, max(1, ex.workers))
	for i := range heaps {
		heaps[i] = &topK{k: n.k, o: &o}
	}
	_, _, parallel := parallelScan(n.input)
	// A worker builds each key in its own buffer and allocates only for
	// the rows that enter its heap.
	bufs := make([][]byte, len(heaps))
	err := visitRows(ctx, ex, n.input, func(w int, s *db.Sample) error {
		h := heaps[w]
		bufs[w] = o.appendKey(bufs[w][:0], s)
		probe := item{id: s.ID, key: bufs[w]}
		if !h.wants(&probe) {
			return nil
		}
		if parallel {
			s = s.Clone() // the scan lends its samples
		}
		h.push(item{id: s.ID, key: slices.Clone(bufs[w]), s: s})
		return nil
	})
	if err != nil {
		return err
	}
	all := heaps[0]
	for _, h := range heaps[1:] {
		for _, it := range h.items {
			if all.wants(&it) {
				all.push(it)
			}
		}
	}
	for _, it := range all.sorted() {
		if !yield(it.s) {
			return nil
		}
	}
	return nil
}

// run keeps the sort keys and id of every input row, sorts them, and
// fetches the samples in sorted order. Memory: one id and the key values
// per row, not the samples.
func (n *sortNode) run(ctx context.Context, ex *execEnv, _ int64, yield func(*db.Sample) bool) error {
	o := newOrdering(n.order)
	parts := make([][]item, max(1, ex.workers))
	err := visitRows(ctx, ex, n.input, func(w int, s *db.Sample) error {
		parts[w] = append(parts[w], o.item(s))
		return nil
	})
	if err != nil {
		return err
	}
	items := slices.Concat(parts...)
	parts = nil
	slices.SortFunc(items, func(a, b item) int {
		if o.less(&a, &b) {
			return -1
		}
		if o.less(&b, &a) {
			return 1
		}
		return 0
	})
	f := newFetcher(ex.ds, readOpts{idsOnly: !n.fetch, noInsights: n.noInsights}, nil, -1, yield)
	f.size = 256
	for i := range items {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if ok, err := f.add(items[i].id); !ok || err != nil {
			return err
		}
		items[i].key = nil
	}
	_, err = f.flush()
	return err
}

// defaultWorkers is how many goroutines a parallel scan uses.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
