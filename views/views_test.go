package views

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

var ctx = context.Background()

// fixture is a small dataset whose every row the tests know:
//
//	i  filepath            tags     score   label  c          insights.u.scalar
//	0  /data/cat/a0.jpg    dup      3       cat    {d:0,e:x}  0.5
//	1  /data/dog/a1.jpg    -        1.5     dog    -          0.9
//	2  /data/cat/a2.jpg    dup x    -       cat    {d:2,e:x}  -
//	3  /data/dog/a3.jpg    x        null    Dog    -          0.1
//	4  /data/cat/a4.jpg    -        3       -      {d:4,e:x}  0.9
//	5  /data/bird/a5.jpg   dup      -2      bird   -          0.3
//	6  /data/cat/a6.jpg    y        "high"  cat    {d:6,e:x}  0.7
//	7  /data/dog/a7.jpg    x y      2.0     dog    -          -
type fixture struct {
	ds  *db.Dataset
	ids []db.ID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("fixture")
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{"cat", "dog", "cat", "dog", "cat", "bird", "cat", "dog"}
	tags := [][]string{{"dup"}, nil, {"dup", "x"}, {"x"}, nil, {"dup"}, {"y"}, {"x", "y"}}
	scores := []db.Value{db.Int(3), db.Float(1.5), db.Missing(), db.Null(), db.Int(3), db.Int(-2), db.String("high"), db.Float(2)}
	labels := []db.Value{db.String("cat"), db.String("dog"), db.String("cat"), db.String("Dog"), db.Missing(), db.String("bird"), db.String("cat"), db.String("dog")}
	samples := make([]db.NewSample, 8)
	for i := range samples {
		fields := []db.Field{{Name: "score", Value: scores[i]}, {Name: "label", Value: labels[i]}}
		if i%2 == 0 {
			fields = append(fields, db.Field{Name: "c", Value: db.Doc(db.Field{Name: "d", Value: db.Int(int64(i))}, db.Field{Name: "e", Value: db.String("x")})})
		}
		samples[i] = db.NewSample{
			Filepath: fmt.Sprintf("/data/%s/a%d.jpg", dirs[i], i),
			Tags:     tags[i],
			Metadata: &db.ImageMetadata{Width: 32, Height: 32},
			Fields:   db.Doc(fields...),
		}
	}
	ids, err := ds.Add(ctx, samples)
	if err != nil {
		t.Fatal(err)
	}
	u := []float64{0.5, 0.9, -1, 0.1, 0.9, 0.3, 0.7, -1}
	vals := map[db.ID]db.Value{}
	for i, x := range u {
		if x >= 0 {
			vals[ids[i]] = db.Float(x)
		}
	}
	if err := ds.SetInsights(ctx, "u", "scalar", vals); err != nil {
		t.Fatal(err)
	}
	if err := ds.CreateIndex(ctx, "score"); err != nil {
		t.Fatal(err)
	}
	return &fixture{ds: ds, ids: ids}
}

// numbers maps ids back to row numbers.
func (f *fixture) numbers(ids []db.ID) []int {
	out := make([]int, len(ids))
	for k, id := range ids {
		out[k] = slices.Index(f.ids, id)
	}
	return out
}

func TestStages(t *testing.T) {
	f := newFixture(t)
	unknown, _ := db.ParseID("ffffffffffffffffffffffff")
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	cases := []struct {
		name string
		view func(v *View) *View
		want []int
		plan string // a line the plan must hold, when set
	}{
		{"whole dataset in id order", func(v *View) *View { return v }, all, "full scan"},
		{"sort asc: missing, null, numbers, strings", func(v *View) *View { return v.SortBy("score", Asc) }, []int{2, 3, 5, 1, 7, 0, 4, 6}, "index scan score asc"},
		{"sort desc: ties by id asc, missing last", func(v *View) *View { return v.SortBy("score", Desc) }, []int{6, 0, 4, 7, 1, 5, 3, 2}, "index scan score desc"},
		{"sort desc on an unindexed path", func(v *View) *View { return v.SortBy("label", Desc) }, []int{1, 7, 0, 2, 6, 5, 3, 4}, "sort by label desc, id asc"},
		{"sort insight desc", func(v *View) *View { return v.SortBy("insights.u.scalar", Desc) }, []int{1, 4, 6, 0, 5, 3, 2, 7}, "index scan insights.u.scalar desc"},
		{"sort insight asc", func(v *View) *View { return v.SortBy("insights.u.scalar", Asc) }, []int{2, 7, 3, 5, 0, 6, 1, 4}, "index scan insights.u.scalar asc"},
		{"sort insight desc limit", func(v *View) *View { return v.SortBy("insights.u.scalar", Desc).Limit(3) }, []int{1, 4, 6}, "limit 3"},
		{"two keys", func(v *View) *View {
			return v.SortByKeys(SortKey{Path: "label"}, SortKey{Path: "score", Desc: true})
		}, []int{4, 3, 5, 6, 0, 2, 7, 1}, "sort by label asc, score desc, id asc"},
		{"two keys with limit use a heap", func(v *View) *View {
			return v.SortByKeys(SortKey{Path: "label"}, SortKey{Path: "score", Desc: true}).Limit(4)
		}, []int{4, 3, 5, 6}, "heap top-N 4"},
		{"reverse flips every key", func(v *View) *View {
			return v.With(SortStage{Keys: []SortKey{{Path: "label", Desc: true}, {Path: "score"}}, Reverse: true})
		}, []int{4, 3, 5, 6, 0, 2, 7, 1}, "sort by label asc, score desc, id asc"},
		{"sort by id desc", func(v *View) *View { return v.SortBy("id", Desc) }, []int{7, 6, 5, 4, 3, 2, 1, 0}, ""},
		{"sort by id asc is the scan order", func(v *View) *View { return v.SortBy("id", Asc).Limit(2) }, []int{0, 1}, "full scan"},
		{"a later sort replaces an earlier one", func(v *View) *View { return v.SortBy("label", Asc).SortBy("score", Asc) }, []int{2, 3, 5, 1, 7, 0, 4, 6}, ""},
		{"match_tags any", func(v *View) *View { return v.MatchTags("dup") }, []int{0, 2, 5}, "tag index any of [\"dup\"]"},
		{"match_tags any of two", func(v *View) *View { return v.MatchTags("x", "y") }, []int{2, 3, 6, 7}, "tag index any of"},
		{"match_tags all", func(v *View) *View { return v.MatchAllTags("x", "y") }, []int{7}, "tag index all of"},
		{"match_tags negated", func(v *View) *View { return v.ExcludeTags("dup") }, []int{1, 3, 4, 6, 7}, "filter not tags contains"},
		{"match_tags none of two", func(v *View) *View { return v.ExcludeTags("x", "y") }, []int{0, 1, 4, 5}, ""},
		{"contains on tags uses the tag index", func(v *View) *View {
			return v.Match(Contains{Path: "tags", Values: []db.Value{db.String("y")}})
		}, []int{6, 7}, "tag index"},
		{"limit", func(v *View) *View { return v.Limit(3) }, []int{0, 1, 2}, "limit 3"},
		{"limit 0 is empty", func(v *View) *View { return v.Limit(0) }, nil, "empty (limit 0)"},
		{"limit -1 is empty", func(v *View) *View { return v.Limit(-1) }, nil, "empty"},
		{"skip", func(v *View) *View { return v.Skip(6) }, []int{6, 7}, "skip 6"},
		{"skip 0 is a no-op", func(v *View) *View { return v.Skip(0) }, all, ""},
		{"skip -2 is a no-op", func(v *View) *View { return v.Skip(-2) }, all, ""},
		{"skip past the end", func(v *View) *View { return v.Skip(10) }, nil, ""},
		{"limit before sort limits first", func(v *View) *View { return v.Limit(4).SortBy("score", Asc) }, []int{2, 3, 1, 0}, ""},
		{"sort then limit", func(v *View) *View { return v.SortBy("score", Asc).Limit(2) }, []int{2, 3}, ""},
		{"sort, skip, limit", func(v *View) *View { return v.SortBy("insights.u.scalar", Desc).Skip(2).Limit(2) }, []int{6, 0}, "skip 2"},
		{"limit then skip", func(v *View) *View { return v.Limit(3).Skip(1) }, []int{1, 2}, ""},
		{"skip then limit", func(v *View) *View { return v.Skip(1).Limit(3) }, []int{1, 2, 3}, ""},
		{"match >", func(v *View) *View { return v.Match(Cmp{Path: "score", Op: Gt, Value: db.Int(1)}) }, []int{0, 1, 4, 7}, "index range score > 1"},
		{"match != skips missing, null and other kinds", func(v *View) *View { return v.Match(Cmp{Path: "score", Op: Ne, Value: db.Int(3)}) }, []int{1, 5, 7}, ""},
		{"match = across int and float", func(v *View) *View { return v.Match(Cmp{Path: "score", Op: Eq, Value: db.Float(2)}) }, []int{7}, ""},
		{"in", func(v *View) *View {
			return v.Match(In{Path: "label", Values: []db.Value{db.String("cat"), db.String("bird")}})
		}, []int{0, 2, 5, 6}, ""},
		{"not in skips missing", func(v *View) *View {
			return v.Match(In{Path: "label", Values: []db.Value{db.String("cat"), db.String("bird")}, Not: true})
		}, []int{1, 3, 7}, ""},
		{"like ignores case", func(v *View) *View { return v.Match(Like{Path: "filepath", Pattern: "%/CAT/%"}) }, []int{0, 2, 4, 6}, ""},
		{"like _", func(v *View) *View { return v.Match(Like{Path: "label", Pattern: "d_g"}) }, []int{1, 3, 7}, ""},
		{"not like", func(v *View) *View { return v.Match(Like{Path: "label", Pattern: "c%", Not: true}) }, []int{1, 3, 5, 7}, ""},
		{"exists expr", func(v *View) *View { return v.Match(Exists{Path: "score"}) }, []int{0, 1, 4, 5, 6, 7}, ""},
		{"is null expr", func(v *View) *View { return v.Match(Exists{Path: "score", Not: true}) }, []int{2, 3}, ""},
		{"or", func(v *View) *View {
			return v.Match(Or{Cmp{Path: "label", Op: Eq, Value: db.String("bird")}, Contains{Path: "tags", Values: []db.Value{db.String("y")}}})
		}, []int{5, 6, 7}, ""},
		{"and splits into filters", func(v *View) *View {
			return v.Match(And{Contains{Path: "tags", Values: []db.Value{db.String("dup")}}, Cmp{Path: "score", Op: Ge, Value: db.Int(0)}})
		}, []int{0}, "tag index"},
		{"not", func(v *View) *View { return v.Match(Not{X: Exists{Path: "label"}}) }, []int{4}, ""},
		{"nested path", func(v *View) *View { return v.Match(Cmp{Path: "c.d", Op: Ge, Value: db.Int(4)}) }, []int{4, 6}, ""},
		{"exists stage", func(v *View) *View { return v.Exists("insights.u.scalar") }, []int{0, 1, 3, 4, 5, 6}, ""},
		{"not exists stage", func(v *View) *View { return v.NotExists("label") }, []int{4}, ""},
		{"text match all fields", func(v *View) *View { return v.TextMatch(nil, "dog") }, []int{1, 3, 7}, "text search"},
		{"text match one field", func(v *View) *View { return v.TextMatch([]string{"label"}, "cat bird") }, []int{0, 2, 5, 6}, ""},
		{"select keeps view order", func(v *View) *View { return v.Select(f.ids[5], f.ids[1], unknown) }, []int{1, 5}, "id lookup"},
		{"select ordered keeps the given order", func(v *View) *View { return v.SelectOrdered(f.ids[5], f.ids[1], unknown, f.ids[5]) }, []int{5, 1}, "given order"},
		{"select ordered after a sort", func(v *View) *View { return v.SortBy("score", Asc).SelectOrdered(f.ids[4], f.ids[2]) }, []int{4, 2}, ""},
		{"sort after select ordered", func(v *View) *View { return v.SelectOrdered(f.ids[4], f.ids[2]).SortBy("score", Asc) }, []int{2, 4}, ""},
		{"select ordered after a limit", func(v *View) *View { return v.Limit(5).SelectOrdered(f.ids[7], f.ids[4], f.ids[0]) }, []int{4, 0}, "order by the 3 ids given"},
		{"exclude", func(v *View) *View { return v.Exclude(f.ids[0], unknown, f.ids[7]) }, []int{1, 2, 3, 4, 5, 6}, ""},
		{"take 0 is empty", func(v *View) *View { return v.Take(0, 1) }, nil, ""},
		{"tags then sort then limit", func(v *View) *View { return v.MatchTags("dup", "y").SortBy("insights.u.scalar", Desc).Limit(2) }, []int{6, 0}, "index scan insights.u.scalar desc"},
		{"filter after limit is a new block", func(v *View) *View { return v.Limit(3).MatchTags("dup") }, []int{0, 2}, ""},
		{"hidden field reads as missing", func(v *View) *View { return v.SelectFields("label").Match(Exists{Path: "score"}) }, nil, ""},
		{"hidden sort key leaves id order", func(v *View) *View { return v.ExcludeFields("score").SortBy("score", Desc) }, all, ""},
		{"hidden subfield", func(v *View) *View { return v.ExcludeFields("c.d").Match(Exists{Path: "c.d"}) }, nil, ""},
		{"kept subfield", func(v *View) *View { return v.SelectFields("c.d").Match(Exists{Path: "c.d"}) }, []int{0, 2, 4, 6}, ""},
		{"tags always show", func(v *View) *View { return v.SelectFields("label").MatchTags("x") }, []int{2, 3, 7}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, noIndex := range []bool{false, true} {
				v := tc.view(New(f.ds))
				if noIndex {
					v = v.withoutIndexes()
				}
				got, err := v.IDs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var rows []int
				for s, err := range v.Iter(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					rows = append(rows, slices.Index(f.ids, s.ID))
				}
				if !slices.Equal(f.numbers(got), tc.want) || !slices.Equal(rows, tc.want) {
					plan, _ := v.Explain()
					t.Fatalf("noIndex=%v: IDs %v, Iter %v, want %v\nplan:\n%s", noIndex, f.numbers(got), rows, tc.want, plan)
				}
				n, err := v.Count(ctx)
				if err != nil || n != int64(len(tc.want)) {
					t.Fatalf("count = %d, %v, want %d", n, err, len(tc.want))
				}
				if tc.plan != "" && !noIndex {
					if plan, _ := v.Explain(); !strings.Contains(plan, tc.plan) {
						t.Errorf("plan lacks %q:\n%s", tc.plan, plan)
					}
				}
			}
		})
	}
}

func TestTake(t *testing.T) {
	f := newFixture(t)
	a, err := New(f.ds).Take(3, 7).IDs(ctx)
	if err != nil || len(a) != 3 {
		t.Fatalf("take 3: %v, %v", a, err)
	}
	b, _ := New(f.ds).SortBy("score", Desc).Take(3, 7).IDs(ctx)
	if !slices.Equal(a, b) {
		t.Errorf("take depends on the order before it: %v vs %v", f.numbers(a), f.numbers(b))
	}
	c, _ := New(f.ds).Take(3, 8).IDs(ctx)
	d, _ := New(f.ds).Take(3, 8).IDs(ctx)
	if !slices.Equal(c, d) {
		t.Errorf("take is not stable for a seed: %v vs %v", c, d)
	}
	whole, _ := New(f.ds).Take(100, 7).IDs(ctx)
	if len(whole) != 8 || !slices.Equal(whole[:3], a) || !slices.Equal(sortedIDs(whole), f.ids) {
		t.Errorf("take 100 = %v, want all 8 starting with take 3", f.numbers(whole))
	}
	seeds := map[string]bool{}
	for seed := range int64(20) {
		ids, _ := New(f.ds).Take(1, seed).IDs(ctx)
		seeds[ids[0].String()] = true
	}
	if len(seeds) < 3 {
		t.Errorf("20 seeds picked only %d distinct samples", len(seeds))
	}
}

func TestFieldStages(t *testing.T) {
	f := newFixture(t)
	first := func(v *View) (*db.Sample, db.Value) {
		s, err := v.First(ctx)
		if err != nil || s == nil {
			t.Fatalf("first: %v, %v", s, err)
		}
		return s, v.Doc(s)
	}
	names := func(doc db.Value) []string {
		var out []string
		for _, fl := range doc.Fields() {
			out = append(out, fl.Name)
		}
		return out
	}
	_, doc := first(New(f.ds))
	if got := names(doc); !slices.Equal(got, []string{"c", "filepath", "id", "insights", "label", "metadata", "score", "tags"}) {
		t.Errorf("whole doc fields = %v", got)
	}
	_, doc = first(New(f.ds).SelectFields("label"))
	if got := names(doc); !slices.Equal(got, []string{"filepath", "id", "label", "metadata", "tags"}) {
		t.Errorf("select_fields(label) fields = %v", got)
	}
	v := New(f.ds).SelectFields("c.e", "insights.u.scalar")
	s, doc := first(v)
	if got := doc.Path("c").String(); got != `{"e":"x"}` {
		t.Errorf("select_fields(c.e) shows c = %s", got)
	}
	if got := doc.Path("insights.u.scalar"); !db.Equal(got, db.Float(0.5)) {
		t.Errorf("select_fields(insights.u.scalar) shows %v", got)
	}
	if got := v.Value(s, "c.d"); !got.IsMissing() {
		t.Errorf("hidden c.d reads %v", got)
	}
	_, doc = first(New(f.ds).ExcludeFields("c.d", "insights", "score"))
	if got := names(doc); !slices.Equal(got, []string{"c", "filepath", "id", "label", "metadata", "tags"}) {
		t.Errorf("exclude_fields fields = %v", got)
	}
	if got := doc.Path("c").String(); got != `{"e":"x"}` {
		t.Errorf("exclude_fields(c.d) shows c = %s", got)
	}
	_, doc = first(New(f.ds).ExcludeFields("tags", "metadata.width", "id"))
	if !slices.Contains(names(doc), "tags") || doc.Path("metadata.width").IsMissing() {
		t.Errorf("default fields must always show: %s", doc)
	}
	vals, err := New(f.ds).ExcludeFields("score").Values(ctx, "score")
	if err != nil || len(vals) != 8 || !vals[0].IsMissing() {
		t.Errorf("values of a hidden field = %v, %v", vals, err)
	}
	plan, _ := New(f.ds).SelectFields("label").Explain()
	if !strings.Contains(plan, "project select_fields(label)") || !strings.Contains(plan, "without insights") {
		t.Errorf("plan of select_fields(label):\n%s", plan)
	}
}

func TestAggregations(t *testing.T) {
	f := newFixture(t)
	v := New(f.ds)
	str := func(vs []db.Value) string {
		parts := make([]string, len(vs))
		for i, x := range vs {
			parts[i] = x.String()
		}
		return strings.Join(parts, " ")
	}
	cases := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"distinct strings", func() (string, error) { d, err := v.Distinct(ctx, "label"); return str(d), err }, `"Dog" "bird" "cat" "dog"`},
		{"distinct list items", func() (string, error) { d, err := v.Distinct(ctx, "tags"); return str(d), err }, `"dup" "x" "y"`},
		{"distinct mixed kinds, int before equal float", func() (string, error) { d, err := v.Distinct(ctx, "score"); return str(d), err }, `-2 1.5 2 3 "high"`},
		{"distinct on a view", func() (string, error) { d, err := v.MatchTags("x").Distinct(ctx, "label"); return str(d), err }, `"Dog" "cat" "dog"`},
		{"bounds", func() (string, error) { lo, hi, err := v.Bounds(ctx, "score"); return str([]db.Value{lo, hi}), err }, `-2 "high"`},
		{"bounds of an insight", func() (string, error) {
			lo, hi, err := v.Bounds(ctx, "insights.u.scalar")
			return str([]db.Value{lo, hi}), err
		}, `0.1 0.9`},
		{"bounds of nothing", func() (string, error) {
			lo, hi, err := v.Limit(0).Bounds(ctx, "score")
			return str([]db.Value{lo, hi}), err
		}, `<missing> <missing>`},
		{"bounds of missing values", func() (string, error) { lo, hi, err := v.Bounds(ctx, "nothing"); return str([]db.Value{lo, hi}), err }, `<missing> <missing>`},
		{"count values with missing and null", func() (string, error) {
			cv, err := v.CountValues(ctx, "score")
			parts := make([]string, len(cv))
			for i, c := range cv {
				parts[i] = fmt.Sprintf("%s:%d", c.Value, c.Count)
			}
			return strings.Join(parts, " "), err
		}, `<missing>:1 null:1 -2:1 1.5:1 2:1 3:2 "high":1`},
		{"count values of a list", func() (string, error) {
			cv, err := v.CountValues(ctx, "tags")
			parts := make([]string, len(cv))
			for i, c := range cv {
				parts[i] = fmt.Sprintf("%s:%d", c.Value, c.Count)
			}
			return strings.Join(parts, " "), err
		}, `"dup":3 "x":3 "y":2`},
		{"sum mixed", func() (string, error) {
			s, err := v.Sum(ctx, "score")
			return s.String() + " " + s.Kind().String(), err
		}, `7.5 float`},
		{"sum ints", func() (string, error) { s, err := v.Sum(ctx, "c.d"); return s.String() + " " + s.Kind().String(), err }, `12 int`},
		{"sum of nothing", func() (string, error) { s, err := v.Sum(ctx, "label"); return s.String(), err }, `<missing>`},
		{"mean", func() (string, error) { s, err := v.Mean(ctx, "score"); return s.String(), err }, `1.5`},
		{"mean of ints is a float", func() (string, error) { s, err := v.Mean(ctx, "c.d"); return s.String() + " " + s.Kind().String(), err }, `3 float`},
		{"mean of nothing", func() (string, error) { s, err := v.Limit(0).Mean(ctx, "score"); return s.String(), err }, `<missing>`},
		{"values in view order", func() (string, error) {
			vs, err := v.SortBy("insights.u.scalar", Desc).Limit(3).Values(ctx, "label")
			return str(vs), err
		}, `"dog" <missing> "cat"`},
		{"count of a lone match_tags", func() (string, error) { n, err := v.MatchTags("dup", "y").Count(ctx); return fmt.Sprint(n), err }, `5`},
		{"count with a window", func() (string, error) {
			n, err := v.MatchTags("x").SortBy("score", Asc).Skip(1).Limit(2).Count(ctx)
			return fmt.Sprint(n), err
		}, `2`},
		{"count of a whole dataset", func() (string, error) { n, err := v.Count(ctx); return fmt.Sprint(n), err }, `8`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil || got != tc.want {
				t.Errorf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestFirstAndErrors(t *testing.T) {
	f := newFixture(t)
	s, err := New(f.ds).SortBy("insights.u.scalar", Desc).First(ctx)
	if err != nil || s == nil || s.ID != f.ids[1] {
		t.Fatalf("first = %v, %v; want row 1", s, err)
	}
	s, err = New(f.ds).MatchTags("nope").First(ctx)
	if err != nil || s != nil {
		t.Fatalf("first of an empty view = %v, %v; want nil, nil", s, err)
	}
	if _, err := New(f.ds).SortByKeys().IDs(ctx); !errors.Is(err, ErrInvalid) {
		t.Errorf("sort without keys: %v, want ErrInvalid", err)
	}
	if _, err := New(f.ds).Match(nil).Count(ctx); !errors.Is(err, ErrInvalid) {
		t.Errorf("match without expression: %v, want ErrInvalid", err)
	}
	if _, err := New(nil).Explain(); !errors.Is(err, ErrNoDataset) {
		t.Errorf("view without dataset: %v, want ErrNoDataset", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := New(f.ds).TextMatch(nil, "cat").IDs(cancelled); err == nil {
		t.Errorf("a cancelled context gave no error")
	}
}

func TestLazy(t *testing.T) {
	f := newFixture(t)
	base := New(f.ds).MatchTags("dup")
	a := base.Limit(1)
	b := base.SortBy("score", Desc)
	if len(base.Stages()) != 1 || len(a.Stages()) != 2 || len(b.Stages()) != 2 {
		t.Fatalf("chaining changed its receiver: %d %d %d", len(base.Stages()), len(a.Stages()), len(b.Stages()))
	}
	// Building reads nothing, so a view of a closed database builds and
	// explains; only running it fails.
	f.ds.DB().Close()
	v := New(f.ds).SortBy("label", Asc).Limit(3)
	if _, err := v.IDs(ctx); err == nil {
		t.Errorf("running a view of a closed database gave no error")
	}
	if s := v.String(); !strings.Contains(s, "sort_by(label asc)") || !strings.Contains(s, "limit(3)") {
		t.Errorf("view string = %q", s)
	}
}

func TestStopEarly(t *testing.T) {
	f := newFixture(t)
	for _, v := range []*View{New(f.ds), New(f.ds).SortBy("insights.u.scalar", Desc), New(f.ds).SortBy("label", Asc), New(f.ds).MatchTags("x", "y")} {
		n := 0
		for _, err := range v.Iter(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("%s: stopped after %d", v, n)
		}
	}
}

func TestMatchLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"%", "", true},
		{"a%", "abc", true},
		{"%c", "abc", true},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"A%", "abc", true},
		{"%b%", "abc", true},
		{"%x%", "abc", false},
		{`a\%`, "a%", true},
		{`a\%`, "ab", false},
		{`a\_c`, "abc", false},
		{"_é_", "aéb", true},
		{"%a%b%c", "xaybzc", true},
		{"%a%b%c", "xaybz", false},
	}
	for _, tc := range cases {
		if got := MatchLike(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchLike(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestCompiledLike checks that the compiled forms of LIKE patterns agree
// with MatchLike, on random patterns and strings (some not valid UTF-8).
func TestCompiledLike(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "B", "b", "/", ".", "%", "é", "\xe0", "x", "_"}
	gen := func(n int, pattern bool) string {
		var b strings.Builder
		for range n {
			c := alphabet[r.IntN(len(alphabet))]
			if !pattern && (c == "%" || c == "_") {
				c = "z"
			}
			b.WriteString(c)
		}
		return b.String()
	}
	compiled := 0
	for range 20000 {
		l := Like{Path: "p", Pattern: gen(r.IntN(5), true), Not: r.IntN(2) == 0}
		s := gen(r.IntN(8), false)
		leaf := compileLike(l)
		if _, ok := leaf.(likeMatcher); ok {
			compiled++
		}
		if got, want := leaf.test(db.String(s)), MatchLike(l.Pattern, s) != l.Not; got != want {
			t.Fatalf("LIKE %q on %q: compiled %v, MatchLike %v", l.Pattern, s, got, want)
		}
	}
	if compiled < 1000 {
		t.Errorf("only %d patterns compiled", compiled)
	}
}

func TestNotFollowsSQLOnMissingValues(t *testing.T) {
	ds := notTestDataset(t)
	count := func(e Expr) int64 {
		n, err := New(ds).Match(e).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Samples: x = 1, x = 5, x missing.
	gt := Cmp{Path: "x", Op: Gt, Value: db.Int(2)}
	if n := count(gt); n != 1 {
		t.Fatalf("x > 2 matched %d", n)
	}
	if n := count(Not{gt}); n != 1 {
		t.Fatalf("NOT (x > 2) matched %d, want 1 (missing x stays unknown)", n)
	}
	if n := count(Not{Or{gt, Exists{Path: "x", Not: true}}}); n != 1 {
		t.Fatalf("NOT (x > 2 OR x IS NULL) matched %d", n)
	}
	if n := count(Not{Not{gt}}); n != 1 {
		t.Fatalf("NOT NOT matched %d", n)
	}
}

func notTestDataset(t *testing.T) *db.Dataset {
	t.Helper()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("not")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ds.Add(context.Background(), []db.NewSample{
		{Filepath: "/a", Fields: db.Doc(db.Field{Name: "x", Value: db.Int(1)})},
		{Filepath: "/b", Fields: db.Doc(db.Field{Name: "x", Value: db.Int(5)})},
		{Filepath: "/c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestIndexRangeMatchesScan checks that every comparison an index range
// serves returns what a full scan returns, for mixed kinds and NaN.
func TestIndexRangeMatchesScan(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, _ := d.CreateDataset("r")
	vals := []db.Value{db.Int(1), db.Float(2.5), db.Int(3), db.Float(3), db.Int(5), db.Float(math.NaN()),
		db.Float(math.Inf(-1)), db.String("a"), db.String("b"), db.Bool(true), db.Null(), db.Missing(), db.Int(-2)}
	var ss []db.NewSample
	for i, v := range vals {
		ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/%d", i), Fields: db.Doc(db.Field{Name: "v", Value: v})})
	}
	if _, err := ds.Add(ctx, ss); err != nil {
		t.Fatal(err)
	}
	if err := ds.CreateIndex(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	consts := []db.Value{db.Int(3), db.Float(2.9), db.Float(-100), db.Int(9), db.String("a"), db.String("c"), db.Bool(false), db.Float(math.NaN())}
	for _, c := range consts {
		for _, op := range []CmpOp{Eq, Lt, Le, Gt, Ge} {
			e := Cmp{Path: "v", Op: op, Value: c}
			v := New(ds).Match(e)
			plan, _ := v.Explain()
			if !strings.Contains(plan, "index range") {
				t.Fatalf("%s not served by the index:\n%s", e, plan)
			}
			got, err := v.IDs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := v.withoutIndexes().IDs(ctx)
			if !slices.Equal(got, want) {
				t.Errorf("%s: index range %v, scan %v", e, got, want)
			}
			n, _ := v.Count(ctx)
			if n != int64(len(want)) {
				t.Errorf("%s: count %d, want %d", e, n, len(want))
			}
		}
	}
}

// TestReusedViewFollowsIndexChanges iterates one view again after its
// index is dropped and after one is created: the plan it keeps between
// iterations must not outlive the indexes it was made for.
func TestReusedViewFollowsIndexChanges(t *testing.T) {
	f := newFixture(t)
	v := New(f.ds).SortBy("score", Desc).Limit(3)
	run := func() []int {
		t.Helper()
		var ids []db.ID
		for s, err := range v.Iter(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.ID)
		}
		return f.numbers(ids)
	}
	want := run()
	if err := f.ds.DropIndex("score"); err != nil {
		t.Fatal(err)
	}
	if got := run(); !slices.Equal(got, want) {
		t.Fatalf("after DropIndex: rows %v, want %v", got, want)
	}
	if err := f.ds.CreateIndex(ctx, "score"); err != nil {
		t.Fatal(err)
	}
	if got := run(); !slices.Equal(got, want) {
		t.Fatalf("after CreateIndex: rows %v, want %v", got, want)
	}
}
