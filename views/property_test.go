package views

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// This file checks the planner against a naive evaluator: random
// datasets, random indexes, random pipelines; the naive side loads every
// sample into memory and applies each stage literally, in order.

// naiveView evaluates stages literally over all samples of ds.
func naiveView(t *testing.T, ds *db.Dataset, stages []Stage) ([]*db.Sample, fieldMask) {
	t.Helper()
	var rows []*db.Sample
	for s, err := range ds.Samples(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, s)
	}
	var mask fieldMask
	keep := func(f func(s *db.Sample) bool) {
		out := rows[:0:0]
		for _, s := range rows {
			if f(s) {
				out = append(out, s)
			}
		}
		rows = out
	}
	idLess := func(a, b *db.Sample) int { return bytes.Compare(a.ID[:], b.ID[:]) }
	for _, st := range stages {
		switch s := st.(type) {
		case SortStage:
			m := mask
			slices.SortStableFunc(rows, func(a, b *db.Sample) int {
				for _, k := range s.Keys {
					c := db.Compare(m.get(a, k.Path), m.get(b, k.Path))
					if k.Desc != s.Reverse {
						c = -c
					}
					if c != 0 {
						return c
					}
				}
				return idLess(a, b)
			})
		case MatchTagsStage:
			e := tagsExpr(s)
			keep(e.Eval)
		case LimitStage:
			if s.N <= 0 {
				rows = nil
			} else if s.N < len(rows) {
				rows = rows[:s.N]
			}
		case SkipStage:
			if s.N > 0 {
				rows = rows[min(s.N, len(rows)):]
			}
		case MatchStage:
			m := mask
			keep(func(x *db.Sample) bool { return naiveEval(s.Expr, m, x) })
		case TextMatchStage:
			hits, err := ds.Search(context.Background(), s.Fields, s.Words)
			if err != nil {
				t.Fatal(err)
			}
			set := map[db.ID]bool{}
			for _, h := range hits {
				set[h.ID] = true
			}
			keep(func(x *db.Sample) bool { return set[x.ID] })
		case ExistsStage:
			m := mask
			keep(func(x *db.Sample) bool { return (m.get(x, s.Path).Kind() > db.KindNull) != s.Negate })
		case SelectStage:
			pos := map[db.ID]int{}
			for i, id := range s.IDs {
				if _, ok := pos[id]; !ok {
					pos[id] = i
				}
			}
			keep(func(x *db.Sample) bool { _, ok := pos[x.ID]; return ok })
			if s.Ordered {
				slices.SortStableFunc(rows, func(a, b *db.Sample) int { return pos[a.ID] - pos[b.ID] })
			}
		case ExcludeStage:
			set := map[db.ID]bool{}
			for _, id := range s.IDs {
				set[id] = true
			}
			keep(func(x *db.Sample) bool { return !set[x.ID] })
		case TakeStage:
			if s.N <= 0 {
				rows = nil
				break
			}
			slices.SortStableFunc(rows, func(a, b *db.Sample) int {
				ha, hb := takeHash(s.Seed, a.ID), takeHash(s.Seed, b.ID)
				if ha != hb {
					if ha < hb {
						return -1
					}
					return 1
				}
				return idLess(a, b)
			})
			if s.N < len(rows) {
				rows = rows[:s.N]
			}
		case SelectFieldsStage:
			mask = mask.with(maskOp{keep: true, paths: s.Paths})
		case ExcludeFieldsStage:
			mask = mask.with(maskOp{paths: s.Paths})
		default:
			t.Fatalf("naive: unknown stage %T", st)
		}
	}
	return rows, mask
}

// naiveEval evaluates e reading every leaf through the mask directly.
func naiveEval(e Expr, m fieldMask, s *db.Sample) bool {
	switch x := e.(type) {
	case leafExpr:
		return x.test(m.get(s, x.leafPath()))
	case And:
		for _, y := range x {
			if !naiveEval(y, m, s) {
				return false
			}
		}
		return true
	case Or:
		for _, y := range x {
			if naiveEval(y, m, s) {
				return true
			}
		}
		return false
	case Not:
		// SQL's NOT: pushed down to the comparisons, so a comparison on a
		// missing value stays false.
		if n, ok := pushNot(x); ok {
			return naiveEval(n, m, s)
		}
		return !naiveEval(x.X, m, s)
	}
	return e.Eval(s)
}

var (
	propTags  = []string{"dup", "x", "y", "z"}
	propWords = []string{"cat", "dog", "bird"}
	propPaths = []string{"a", "b", "c.d", "c", "insights.u.scalar", "insights.u", "insights", "id", "filepath", "tags", "metadata.width", "l"}
)

// randValue returns a random value of a random kind, with few distinct
// values so that ties and int/float equalities are common.
func randValue(r *rand.Rand) db.Value {
	switch r.IntN(10) {
	case 0:
		return db.Missing()
	case 1:
		return db.Null()
	case 2:
		return db.Bool(r.IntN(2) == 1)
	case 3, 4:
		return db.Int(int64(r.IntN(7) - 3))
	case 5, 6:
		return db.Float(float64(r.IntN(13)-6) / 2)
	case 7, 8:
		return db.String(string(rune('a' + r.IntN(4))))
	default:
		return db.List(db.Int(int64(r.IntN(3))), db.String("q"))
	}
}

// propDataset builds a random dataset of n samples.
func propDataset(t *testing.T, r *rand.Rand, n int) *db.Dataset {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("prop")
	if err != nil {
		t.Fatal(err)
	}
	samples := make([]db.NewSample, n)
	for i := range samples {
		var tags []string
		for _, tg := range propTags {
			if r.IntN(4) == 0 {
				tags = append(tags, tg)
			}
		}
		fields := []db.Field{{Name: "a", Value: randValue(r)}, {Name: "b", Value: randValue(r)}}
		if r.IntN(3) > 0 {
			fields = append(fields, db.Field{Name: "c", Value: db.Doc(db.Field{Name: "d", Value: randValue(r)}, db.Field{Name: "e", Value: db.Int(int64(i % 3))})})
		}
		if r.IntN(4) == 0 {
			fields = append(fields, db.Field{Name: "l", Value: db.Floats([]float64{float64(r.IntN(3)), 0.5})})
		}
		samples[i] = db.NewSample{
			Filepath: fmt.Sprintf("/data/%s/img_%03d.jpg", propWords[r.IntN(len(propWords))], i),
			Tags:     tags,
			Metadata: &db.ImageMetadata{Width: 16 * (1 + r.IntN(3)), Height: 16},
			Fields:   db.Doc(fields...),
		}
	}
	ids, err := ds.Add(ctx, samples)
	if err != nil {
		t.Fatal(err)
	}
	if r.IntN(5) > 0 {
		vals := map[db.ID]db.Value{}
		for _, id := range ids {
			if r.IntN(5) > 0 {
				v := randValue(r)
				if v.IsMissing() {
					continue
				}
				vals[id] = v
			}
		}
		if err := ds.SetInsights(ctx, "u", "scalar", vals); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a", "c.d", "filepath", "b"} {
		if r.IntN(2) == 0 {
			if err := ds.CreateIndex(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ds
}

func randPath(r *rand.Rand) string { return propPaths[r.IntN(len(propPaths))] }

func randExpr(r *rand.Rand, depth int) Expr {
	if depth > 0 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			return And{randExpr(r, depth-1), randExpr(r, depth-1)}
		case 1:
			return Or{randExpr(r, depth-1), randExpr(r, depth-1)}
		default:
			return Not{X: randExpr(r, depth-1)}
		}
	}
	path := randPath(r)
	switch r.IntN(6) {
	case 0:
		v := randValue(r)
		if v.IsMissing() {
			v = db.Int(0)
		}
		return Cmp{Path: path, Op: CmpOp(r.IntN(6)), Value: v}
	case 1:
		return In{Path: path, Values: []db.Value{randValue(r), randValue(r)}, Not: r.IntN(2) == 0}
	case 2:
		vals := []db.Value{db.String(propTags[r.IntN(len(propTags))])}
		if r.IntN(2) == 0 {
			vals = append(vals, db.String(propTags[r.IntN(len(propTags))]))
		}
		p := db.FieldTags
		if r.IntN(4) == 0 {
			p = path
		}
		return Contains{Path: p, Values: vals, All: r.IntN(3) == 0, Not: r.IntN(4) == 0}
	case 3:
		pats := []string{"%cat%", "/DATA/%", "%_1_.jpg", "a", "%", "b%"}
		return Like{Path: path, Pattern: pats[r.IntN(len(pats))], Not: r.IntN(3) == 0}
	case 4:
		return Exists{Path: path, Not: r.IntN(2) == 0}
	}
	return Const(r.IntN(4) > 0)
}

func randIDs(r *rand.Rand, ids []db.ID) []db.ID {
	var out []db.ID
	for range r.IntN(12) {
		if r.IntN(6) == 0 {
			var unknown db.ID
			unknown[11] = byte(r.IntN(256))
			out = append(out, unknown)
			continue
		}
		out = append(out, ids[r.IntN(len(ids))])
	}
	return out
}

func randStage(r *rand.Rand, ids []db.ID) Stage {
	switch r.IntN(14) {
	case 0, 1, 2:
		keys := []SortKey{{Path: randPath(r), Desc: r.IntN(2) == 0}}
		if r.IntN(3) == 0 {
			keys = append(keys, SortKey{Path: randPath(r), Desc: r.IntN(2) == 0})
		}
		if r.IntN(3) == 0 {
			keys = []SortKey{{Path: "insights.u.scalar", Desc: r.IntN(2) == 0}}
		}
		return SortStage{Keys: keys, Reverse: r.IntN(5) == 0}
	case 3:
		var tags []string
		for range 1 + r.IntN(2) {
			tags = append(tags, propTags[r.IntN(len(propTags))])
		}
		return MatchTagsStage{Tags: tags, All: r.IntN(3) == 0, Negate: r.IntN(4) == 0}
	case 4, 5:
		return LimitStage{N: r.IntN(40) - 2}
	case 6:
		return SkipStage{N: r.IntN(40) - 2}
	case 7, 8:
		return MatchStage{Expr: randExpr(r, 2)}
	case 9:
		var fields []string
		if r.IntN(2) == 0 {
			fields = []string{"filepath"}
		}
		return TextMatchStage{Fields: fields, Words: propWords[r.IntN(len(propWords))]}
	case 10:
		return ExistsStage{Path: randPath(r), Negate: r.IntN(2) == 0}
	case 11:
		if r.IntN(2) == 0 {
			return ExcludeStage{IDs: randIDs(r, ids)}
		}
		return SelectStage{IDs: randIDs(r, ids), Ordered: r.IntN(2) == 0}
	case 12:
		return TakeStage{N: r.IntN(30) - 1, Seed: int64(r.IntN(3))}
	}
	paths := []string{randPath(r)}
	if r.IntN(2) == 0 {
		paths = append(paths, randPath(r))
	}
	if r.IntN(2) == 0 {
		return SelectFieldsStage{Paths: paths}
	}
	return ExcludeFieldsStage{Paths: paths}
}

func sameValue(a, b db.Value) bool {
	if a.Kind() == db.KindFloat && b.Kind() == db.KindFloat {
		fa, fb := a.AsFloat(), b.AsFloat()
		return fa == fb || math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Abs(fa)) || (math.IsNaN(fa) && math.IsNaN(fb))
	}
	return a.Kind() == b.Kind() && db.Equal(a, b) && a.String() == b.String()
}

func sameValues(a, b []db.Value) bool {
	return slices.EqualFunc(a, b, sameValue)
}

// naiveAggregates computes what the aggregations should return.
func naiveDistinct(vals []db.Value) []db.Value {
	var out []db.Value
	for _, x := range vals {
		for _, e := range elements(x) {
			if e.Kind() > db.KindNull {
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b db.Value) int {
		if c := db.Compare(a, b); c != 0 {
			return c
		}
		return int(a.Kind()) - int(b.Kind())
	})
	return slices.CompactFunc(out, db.Equal)
}

func naiveCountValues(vals []db.Value) []ValueCount {
	var all []db.Value
	for _, x := range vals {
		all = append(all, elements(x)...)
	}
	slices.SortStableFunc(all, func(a, b db.Value) int {
		if c := db.Compare(a, b); c != 0 {
			return c
		}
		return int(a.Kind()) - int(b.Kind())
	})
	var out []ValueCount
	for _, e := range all {
		if n := len(out); n > 0 && db.Equal(out[n-1].Value, e) {
			out[n-1].Count++
			continue
		}
		out = append(out, ValueCount{Value: e, Count: 1})
	}
	return out
}

func naiveSum(vals []db.Value) (sum, mean db.Value) {
	var isum int64
	var fsum float64
	n, ints := 0, true
	for _, x := range vals {
		for _, e := range elements(x) {
			switch e.Kind() {
			case db.KindInt:
				isum += e.AsInt()
			case db.KindFloat:
				ints = false
			default:
				continue
			}
			n++
			fsum += e.AsFloat()
		}
	}
	if n == 0 {
		return db.Missing(), db.Missing()
	}
	if ints {
		return db.Int(isum), db.Float(fsum / float64(n))
	}
	return db.Float(fsum), db.Float(fsum / float64(n))
}

func describe(stages []Stage) string {
	parts := make([]string, len(stages))
	for i, s := range stages {
		parts[i] = s.String()
		if m, ok := s.(MatchStage); ok {
			parts[i] = "match(" + m.Expr.String() + ")"
		}
		if sel, ok := s.(SelectStage); ok {
			parts[i] += fmt.Sprint(sel.IDs)
		}
	}
	return strings.Join(parts, " | ")
}

// TestPlannedEqualsNaive is the property test: for random datasets and
// random pipelines of one to four stages, every way of reading a view
// (rows, ids, documents, count, first, values and aggregations) gives
// what the naive evaluation gives.
func TestPlannedEqualsNaive(t *testing.T) {
	ctx := context.Background()
	const datasets, pipelines = 8, 60
	for d := range datasets {
		r := rand.New(rand.NewPCG(uint64(d), 42))
		ds := propDataset(t, r, 150+r.IntN(100))
		var all []db.ID
		for s, err := range ds.Samples(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, s.ID)
		}
		for p := range pipelines {
			stages := make([]Stage, 1+r.IntN(4))
			for i := range stages {
				stages[i] = randStage(r, all)
			}
			v := New(ds)
			for _, s := range stages {
				v = v.With(s)
			}
			name := fmt.Sprintf("dataset %d pipeline %d: %s", d, p, describe(stages))
			checkAgainstNaive(t, ctx, name, ds, v, stages, randPath(r))
		}
	}
}

func checkAgainstNaive(t *testing.T, ctx context.Context, name string, ds *db.Dataset, v *View, stages []Stage, paths ...string) {
	t.Helper()
	want, mask := naiveView(t, ds, stages)
	plan, err := v.Explain()
	if err != nil {
		t.Fatalf("%s: explain: %v", name, err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nplan:\n%s%s", name, plan, fmt.Sprintf(format, args...))
	}
	var got []*db.Sample
	for s, err := range v.Iter(ctx) {
		if err != nil {
			fail("iter: %v", err)
		}
		got = append(got, s)
	}
	ids := func(rows []*db.Sample) []string {
		out := make([]string, len(rows))
		for i, s := range rows {
			out[i] = s.ID.String()[16:]
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		fail("rows:\n got %v\nwant %v", ids(got), ids(want))
	}
	for i := range got {
		if g, w := v.Doc(got[i]), mask.doc(want[i]); !sameValue(g, w) {
			fail("doc %d:\n got %s\nwant %s", i, g, w)
		}
	}
	gotIDs, err := v.IDs(ctx)
	if err != nil {
		fail("ids: %v", err)
	}
	if len(gotIDs) != len(want) {
		fail("IDs: %d ids, want %d", len(gotIDs), len(want))
	}
	for i, id := range gotIDs {
		if id != want[i].ID {
			fail("IDs[%d] = %s, want %s", i, id, want[i].ID)
		}
	}
	n, err := v.Count(ctx)
	if err != nil || n != int64(len(want)) {
		fail("count = %d, %v; want %d", n, err, len(want))
	}
	first, err := v.First(ctx)
	if err != nil {
		fail("first: %v", err)
	}
	if (first == nil) != (len(want) == 0) || (first != nil && first.ID != want[0].ID) {
		fail("first = %v, want the first row", first)
	}
	for _, path := range paths {
		checkPath(ctx, v, want, mask, path, fail)
	}
}

// checkPath compares Values and the aggregations at one path with what
// the naive rows give.
func checkPath(ctx context.Context, v *View, want []*db.Sample, mask fieldMask, path string, fail func(string, ...any)) {
	wantVals := make([]db.Value, len(want))
	for i, s := range want {
		wantVals[i] = mask.get(s, path)
	}
	vals, err := v.Values(ctx, path)
	if err != nil || !sameValues(vals, wantVals) {
		fail("values(%s) = %v, %v; want %v", path, vals, err, wantVals)
	}
	dist, err := v.Distinct(ctx, path)
	if wd := naiveDistinct(wantVals); err != nil || !sameValues(dist, wd) {
		fail("distinct(%s) = %v, %v; want %v", path, dist, err, wd)
	}
	lo, hi, err := v.Bounds(ctx, path)
	wd := naiveDistinct(wantVals)
	wlo, whi := db.Missing(), db.Missing()
	if len(wd) > 0 {
		wlo, whi = wd[0], wd[len(wd)-1]
		// The greatest of equal values is shown by its lowest kind too.
		for _, x := range wd {
			if db.Equal(x, whi) && x.Kind() < whi.Kind() {
				whi = x
			}
		}
	}
	if err != nil || !sameValue(lo, wlo) || !sameValue(hi, whi) {
		fail("bounds(%s) = %v, %v, %v; want %v, %v", path, lo, hi, err, wlo, whi)
	}
	cv, err := v.CountValues(ctx, path)
	wcv := naiveCountValues(wantVals)
	if err != nil || len(cv) != len(wcv) {
		fail("count_values(%s) = %v, %v; want %v", path, cv, err, wcv)
	}
	for i := range cv {
		if !sameValue(cv[i].Value, wcv[i].Value) || cv[i].Count != wcv[i].Count {
			fail("count_values(%s) = %v; want %v", path, cv, wcv)
		}
	}
	// The same counts spilled to runs of a few values each and merged.
	var spilled []ValueCount
	err = v.eachValueCount(ctx, path, 64, func(vc ValueCount) error {
		spilled = append(spilled, vc)
		return nil
	})
	if err != nil || len(spilled) != len(wcv) {
		fail("count_values(%s) spilled = %v, %v; want %v", path, spilled, err, wcv)
	}
	for i := range spilled {
		if !sameValue(spilled[i].Value, wcv[i].Value) || spilled[i].Count != wcv[i].Count {
			fail("count_values(%s) spilled = %v; want %v", path, spilled, wcv)
		}
	}
	sum, err := v.Sum(ctx, path)
	wsum, wmean := naiveSum(wantVals)
	if err != nil || !sameValue(sum, wsum) {
		fail("sum(%s) = %v, %v; want %v", path, sum, err, wsum)
	}
	mean, err := v.Mean(ctx, path)
	if err != nil || !sameValue(mean, wmean) {
		fail("mean(%s) = %v, %v; want %v", path, mean, err, wmean)
	}
}

// sortedIDs is a helper for tests that compare id sets.
func sortedIDs(ids []db.ID) []db.ID {
	out := slices.Clone(ids)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}
