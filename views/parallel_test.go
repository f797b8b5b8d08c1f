package views

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestParallelScanPlans runs plans whose full scan is cut into several
// parts (the dataset is larger than two parts' worth) and compares them
// with the naive evaluation: ordered filtered scans, per-goroutine heaps,
// sorts and aggregations all merge their goroutines' work.
func TestParallelScanPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 33,000-sample dataset")
	}
	const n = 33000 // two parts of a full scan
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, err := d.CreateDataset("big")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var ids []db.ID
	for start := 0; start < n; start += 3000 {
		batch := make([]db.NewSample, 3000)
		for i := range batch {
			k := start + i
			var tags []string
			if k%50 == 7 {
				tags = []string{"dup"}
			}
			batch[i] = db.NewSample{Filepath: fmt.Sprintf("/data/%05d.jpg", k), Tags: tags,
				Fields: db.Doc(db.Field{Name: "a", Value: db.Int(int64(r.IntN(1000)))}, db.Field{Name: "b", Value: randValue(r)})}
		}
		got, err := ds.Add(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	vals := map[db.ID]db.Value{}
	for i, id := range ids {
		if i%5 != 0 {
			vals[id] = db.Float(r.Float64())
		}
	}
	if err := ds.SetInsights(ctx, "u", "scalar", vals); err != nil {
		t.Fatal(err)
	}
	views := [][]Stage{
		{SortStage{Keys: []SortKey{{Path: "a", Desc: true}}}, LimitStage{N: 25}},
		{SortStage{Keys: []SortKey{{Path: "insights.u.scalar"}}}, SkipStage{N: 3}, LimitStage{N: 7}},
		{MatchStage{Expr: Cmp{Path: "a", Op: Lt, Value: db.Int(10)}}},
		{MatchStage{Expr: Cmp{Path: "a", Op: Lt, Value: db.Int(500)}}, SortStage{Keys: []SortKey{{Path: "b"}, {Path: "a", Desc: true}}}},
		{excludeDupStage(), TakeStage{N: 30, Seed: 9}},
		{MatchStage{Expr: Exists{Path: "insights.u.scalar", Not: true}}, LimitStage{N: 100}},
		{ExcludeFieldsStage{Paths: []string{"a"}}, MatchStage{Expr: Exists{Path: "b"}}},
	}
	for i, stages := range views {
		v := New(ds)
		for _, s := range stages {
			v = v.With(s)
		}
		if i == 1 {
			// Without indexes, so that the sort on an insight runs as a heap.
			v = v.withoutIndexes()
		}
		if plan, _ := v.Explain(); i <= 1 && !strings.Contains(plan, "heap top-N") {
			t.Errorf("view %d should use a heap:\n%s", i, plan)
		}
		checkAgainstNaive(t, ctx, fmt.Sprintf("view %d %s", i, describe(stages)), ds, v, stages, "b", "insights.u.scalar")
	}
}

// excludeDupStage is match_tags(["dup"], bool=false).
func excludeDupStage() Stage { return MatchTagsStage{Tags: []string{"dup"}, Negate: true} }
