package views

import (
	"fmt"
	"strings"

	"github.com/fosql/fosql/db"
)

// View is a dataset seen through a list of stages. Building and chaining
// views reads nothing: each method returns a new View and leaves the
// receiver unchanged. Work happens when the view is iterated or
// aggregated, and then the stages are planned together (an index scan
// for a sort with a limit, the tag index for a tag filter, a bounded heap
// for an unindexed sort with a limit).
type View struct {
	ds     *db.Dataset
	stages []Stage
	mask   fieldMask // what the field stages leave visible
	// noIndex plans without field indexes, so that benchmarks and tests
	// can compare an index scan with the plan it replaces.
	noIndex bool
	// rows keeps the plan Iter runs, for the commit epoch it was made in.
	rows *planMemo
}

// New returns the view of a whole dataset, in id (insertion) order.
func New(ds *db.Dataset) *View { return &View{ds: ds, rows: &planMemo{}} }

// withoutIndexes returns the view planned as if no field had an index.
func (v *View) withoutIndexes() *View {
	c := *v
	c.noIndex = true
	c.rows = &planMemo{}
	return &c
}

// Dataset is the dataset the view reads.
func (v *View) Dataset() *db.Dataset { return v.ds }

// Stages returns the view's stages in order.
func (v *View) Stages() []Stage { return append([]Stage(nil), v.stages...) }

// With returns the view with one more stage.
func (v *View) With(s Stage) *View {
	stages := make([]Stage, len(v.stages), len(v.stages)+1)
	copy(stages, v.stages)
	mask := v.mask
	switch f := s.(type) {
	case SelectFieldsStage:
		mask = mask.with(maskOp{keep: true, paths: f.Paths})
	case ExcludeFieldsStage:
		mask = mask.with(maskOp{paths: f.Paths})
	}
	return &View{ds: v.ds, stages: append(stages, s), mask: mask, noIndex: v.noIndex, rows: &planMemo{}}
}

// String lists the stages, one per line, as EXPLAIN shows them.
func (v *View) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataset %s", v.ds.Name())
	for _, s := range v.stages {
		b.WriteString("\n")
		b.WriteString(s.String())
	}
	return b.String()
}

// Stage is one step of a view. Every stage prints itself.
type Stage interface {
	String() string
	stage()
}

// SortKey is one key of a sort: a field path and a direction.
type SortKey struct {
	Path string
	Desc bool
}

// String prints the key as "path asc" or "path desc".
func (k SortKey) String() string {
	if k.Desc {
		return k.Path + " desc"
	}
	return k.Path + " asc"
}

// Order is a sort direction.
type Order bool

// Sort directions.
const (
	Asc  Order = false
	Desc Order = true
)

// SortStage orders samples by one or more keys; missing values come first
// ascending and last descending; ties are broken by id ascending. Reverse
// flips the direction of every key (ties still go by id ascending).
type SortStage struct {
	Keys    []SortKey
	Reverse bool
}

// MatchTagsStage keeps samples with any of Tags (with All: every one; with
// Negate: the samples that do not match).
type MatchTagsStage struct {
	Tags   []string
	All    bool
	Negate bool
}

// LimitStage keeps the first N samples; N <= 0 keeps none.
type LimitStage struct{ N int }

// SkipStage drops the first N samples; N <= 0 is a no-op.
type SkipStage struct{ N int }

// MatchStage keeps the samples for which the expression holds.
type MatchStage struct{ Expr Expr }

// TextMatchStage keeps the samples whose text fields contain any of the
// words, through the dataset's full-text index. No fields means all text
// fields.
type TextMatchStage struct {
	Fields []string
	Words  string
}

// ExistsStage keeps samples where Path holds a non-null value (with
// Negate: where it is missing or null).
type ExistsStage struct {
	Path   string
	Negate bool
}

// SelectStage keeps the given samples; with Ordered, in the given order.
type SelectStage struct {
	IDs     []db.ID
	Ordered bool
}

// ExcludeStage drops the given samples.
type ExcludeStage struct{ IDs []db.ID }

// TakeStage keeps N samples chosen at random; the same seed gives the same
// samples in the same order.
type TakeStage struct {
	N    int
	Seed int64
}

// SelectFieldsStage limits the fields a sample shows to Paths (id,
// filepath, tags and metadata always show).
type SelectFieldsStage struct{ Paths []string }

// ExcludeFieldsStage hides Paths from the samples shown.
type ExcludeFieldsStage struct{ Paths []string }

func (SortStage) stage()          {}
func (MatchTagsStage) stage()     {}
func (LimitStage) stage()         {}
func (SkipStage) stage()          {}
func (MatchStage) stage()         {}
func (TextMatchStage) stage()     {}
func (ExistsStage) stage()        {}
func (SelectStage) stage()        {}
func (ExcludeStage) stage()       {}
func (TakeStage) stage()          {}
func (SelectFieldsStage) stage()  {}
func (ExcludeFieldsStage) stage() {}

// String implements Stage.
func (s SortStage) String() string {
	parts := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		parts[i] = k.String()
	}
	if s.Reverse {
		parts = append(parts, "reverse=true")
	}
	return "sort_by(" + strings.Join(parts, ", ") + ")"
}

// String implements Stage.
func (s MatchTagsStage) String() string {
	return fmt.Sprintf("match_tags(%s, all=%t, bool=%t)", quoteList(s.Tags), s.All, !s.Negate)
}

// String implements Stage.
func (s LimitStage) String() string { return fmt.Sprintf("limit(%d)", s.N) }

// String implements Stage.
func (s SkipStage) String() string { return fmt.Sprintf("skip(%d)", s.N) }

// String implements Stage.
func (s MatchStage) String() string { return "match(" + s.Expr.String() + ")" }

// String implements Stage.
func (s TextMatchStage) String() string {
	return fmt.Sprintf("text_match(%s, %q)", quoteList(s.Fields), s.Words)
}

// String implements Stage.
func (s ExistsStage) String() string { return fmt.Sprintf("exists(%s, bool=%t)", s.Path, !s.Negate) }

// String implements Stage.
func (s SelectStage) String() string {
	return fmt.Sprintf("select(%d ids, ordered=%t)", len(s.IDs), s.Ordered)
}

// String implements Stage.
func (s ExcludeStage) String() string { return fmt.Sprintf("exclude(%d ids)", len(s.IDs)) }

// String implements Stage.
func (s TakeStage) String() string { return fmt.Sprintf("take(%d, seed=%d)", s.N, s.Seed) }

// String implements Stage.
func (s SelectFieldsStage) String() string {
	return "select_fields(" + strings.Join(s.Paths, ", ") + ")"
}

// String implements Stage.
func (s ExcludeFieldsStage) String() string {
	return "exclude_fields(" + strings.Join(s.Paths, ", ") + ")"
}

func quoteList(xs []string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// SortBy orders by one field (FiftyOne's sort_by(field, reverse)).
func (v *View) SortBy(path string, order Order) *View {
	return v.With(SortStage{Keys: []SortKey{{Path: path, Desc: bool(order)}}})
}

// SortByKeys orders by several keys in turn.
func (v *View) SortByKeys(keys ...SortKey) *View {
	return v.With(SortStage{Keys: append([]SortKey(nil), keys...)})
}

// MatchTags keeps samples that have any of the tags.
func (v *View) MatchTags(tags ...string) *View {
	return v.With(MatchTagsStage{Tags: append([]string(nil), tags...)})
}

// MatchAllTags keeps samples that have every one of the tags.
func (v *View) MatchAllTags(tags ...string) *View {
	return v.With(MatchTagsStage{Tags: append([]string(nil), tags...), All: true})
}

// ExcludeTags keeps samples that have none of the tags.
func (v *View) ExcludeTags(tags ...string) *View {
	return v.With(MatchTagsStage{Tags: append([]string(nil), tags...), Negate: true})
}

// Limit keeps the first n samples; n <= 0 gives an empty view.
func (v *View) Limit(n int) *View { return v.With(LimitStage{N: n}) }

// Skip drops the first n samples; n <= 0 changes nothing.
func (v *View) Skip(n int) *View { return v.With(SkipStage{N: n}) }

// Match keeps the samples for which e holds.
func (v *View) Match(e Expr) *View { return v.With(MatchStage{Expr: e}) }

// TextMatch keeps samples whose text fields contain any of the words.
func (v *View) TextMatch(fields []string, words string) *View {
	return v.With(TextMatchStage{Fields: append([]string(nil), fields...), Words: words})
}

// Exists keeps samples where path holds a non-null value.
func (v *View) Exists(path string) *View { return v.With(ExistsStage{Path: path}) }

// NotExists keeps samples where path is missing or null.
func (v *View) NotExists(path string) *View { return v.With(ExistsStage{Path: path, Negate: true}) }

// Select keeps the samples with the given ids, in view order.
func (v *View) Select(ids ...db.ID) *View {
	return v.With(SelectStage{IDs: append([]db.ID(nil), ids...)})
}

// SelectOrdered keeps the samples with the given ids, in the given order.
func (v *View) SelectOrdered(ids ...db.ID) *View {
	return v.With(SelectStage{IDs: append([]db.ID(nil), ids...), Ordered: true})
}

// Exclude drops the samples with the given ids.
func (v *View) Exclude(ids ...db.ID) *View {
	return v.With(ExcludeStage{IDs: append([]db.ID(nil), ids...)})
}

// Take keeps n random samples, the same ones for the same seed.
func (v *View) Take(n int, seed int64) *View { return v.With(TakeStage{N: n, Seed: seed}) }

// SelectFields shows only the given fields (plus id, filepath, tags and
// metadata).
func (v *View) SelectFields(paths ...string) *View {
	return v.With(SelectFieldsStage{Paths: append([]string(nil), paths...)})
}

// ExcludeFields hides the given fields.
func (v *View) ExcludeFields(paths ...string) *View {
	return v.With(ExcludeFieldsStage{Paths: append([]string(nil), paths...)})
}
