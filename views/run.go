package views

import (
	"context"
	"iter"
	"sync"

	"github.com/fosql/fosql/db"
)

// plan is a view planned for one use.
type plan struct {
	root Node
	mask fieldMask
	env  *execEnv
}

func (v *View) logical() (*logical, error) {
	if v == nil || v.ds == nil {
		return nil, ErrNoDataset
	}
	return normalize(v.stages)
}

// planFor builds the plan of l for a use: why says whether row order
// matters, needRows whether the caller reads more than ids, needInsights
// whether it reads insights.
func (v *View) planFor(l *logical, why purpose, needRows, needInsights bool) *plan {
	p := &planner{ds: v.ds, noIndex: v.noIndex}
	root := p.physical(l, why)
	annotate(root, needRows, needInsights)
	return &plan{root: root, mask: l.mask, env: &execEnv{ds: v.ds, workers: defaultWorkers()}}
}

// planMemo keeps a view's row plan with the commit epoch it was planned
// in: plans depend on the dataset's metadata (which indexes exist), which
// only a commit changes. Plan nodes are not modified once planned, so one
// plan serves concurrent iterations.
type planMemo struct {
	mu    sync.Mutex
	epoch uint64
	plan  *plan
}

// rowsPlan returns the plan Iter runs, reusing the one made in the
// current commit epoch.
func (v *View) rowsPlan() (*plan, error) {
	if v == nil || v.ds == nil {
		return nil, ErrNoDataset
	}
	m := v.rows
	e, quiet := v.ds.DB().Epoch()
	if m != nil && quiet {
		m.mu.Lock()
		p := m.plan
		ok := p != nil && m.epoch == e
		m.mu.Unlock()
		if ok {
			return p, nil
		}
	}
	l, err := v.logical()
	if err != nil {
		return nil, err
	}
	p := v.planFor(l, forRows, true, l.mask.showsInsights(""))
	if m != nil && quiet {
		if e2, still := v.ds.DB().Epoch(); still && e2 == e {
			m.mu.Lock()
			m.epoch, m.plan = e, p
			m.mu.Unlock()
		}
	}
	return p, nil
}

// Explain returns the plan that iterating the view runs, one node per
// line, the root first and inputs indented under their reader. Planning
// reads only the dataset's metadata (which indexes exist), never samples.
func (v *View) Explain() (string, error) {
	l, err := v.logical()
	if err != nil {
		return "", err
	}
	p := v.planFor(l, forRows, true, l.mask.showsInsights(""))
	return explainTree(p.root), nil
}

// Plan returns the root of the plan that iterating the view runs.
func (v *View) Plan() (Node, error) {
	l, err := v.logical()
	if err != nil {
		return nil, err
	}
	return v.planFor(l, forRows, true, l.mask.showsInsights("")).root, nil
}

// Iter streams the view's samples in view order. The samples carry their
// insights unless select_fields or exclude_fields hide every insight;
// read them through Doc or Value to see what the view shows. Stopping
// early stops the reads.
func (v *View) Iter(ctx context.Context) iter.Seq2[*db.Sample, error] {
	return func(yield func(*db.Sample, error) bool) {
		p, err := v.rowsPlan()
		if err != nil {
			yield(nil, err)
			return
		}
		stopped := false
		err = p.root.run(ctx, p.env, -1, func(s *db.Sample) bool {
			if !yield(s, nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// First returns the first sample of the view, or nil, nil when the view
// is empty.
func (v *View) First(ctx context.Context) (*db.Sample, error) {
	for s, err := range v.Limit(1).Iter(ctx) {
		return s, err
	}
	return nil, nil
}

// IDs returns the ids of the view's samples in view order. Plans that
// can answer from indexes alone fetch no sample.
func (v *View) IDs(ctx context.Context) ([]db.ID, error) {
	l, err := v.logical()
	if err != nil {
		return nil, err
	}
	p := v.planFor(l, forRows, false, false)
	var ids []db.ID
	err = p.root.run(ctx, p.env, -1, func(s *db.Sample) bool {
		ids = append(ids, s.ID)
		return true
	})
	return ids, err
}

// Values returns the value at path of every sample, in view order, as
// the view shows it (a field the view hides reads as missing).
func (v *View) Values(ctx context.Context, path string) ([]db.Value, error) {
	l, err := v.logical()
	if err != nil {
		return nil, err
	}
	p := v.planFor(l, forRows, path != db.FieldID, l.mask.showsInsights(path))
	var out []db.Value
	err = p.root.run(ctx, p.env, -1, func(s *db.Sample) bool {
		out = append(out, l.mask.get(s, path))
		return true
	})
	return out, err
}

// Doc returns the document the view shows for s: the whole sample (id,
// filepath, tags, metadata, user fields, insights) less what
// select_fields and exclude_fields hide.
func (v *View) Doc(s *db.Sample) db.Value { return v.mask.doc(s) }

// Value returns the value at path that the view shows for s (missing
// when the view hides it).
func (v *View) Value(s *db.Sample, path string) db.Value { return v.mask.get(s, path) }
