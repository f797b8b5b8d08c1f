package views

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the EXPLAIN golden files under testdata/explain")

// explainDir holds one golden file per case: the view's stages, then the
// plan Explain prints.
const explainDir = "../testdata/explain"

func fixedID(t *testing.T, s string) db.ID {
	t.Helper()
	id, err := db.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestExplainGolden(t *testing.T) {
	f := newFixture(t)
	a, b := fixedID(t, "00000000000000000000000a"), fixedID(t, "00000000000000000000000b")
	cases := []struct {
		name string
		view *View
	}{
		{"whole_dataset", New(f.ds)},
		{"top10_index_desc", New(f.ds).SortBy("insights.u.scalar", Desc).Limit(10)},
		{"top10_no_index_heap", New(f.ds).SortBy("label", Desc).Limit(10)},
		{"top10_skip_index", New(f.ds).SortBy("insights.u.scalar", Desc).Skip(5).Limit(10)},
		{"index_scan_with_filters", New(f.ds).MatchTags("dup").SortBy("insights.u.scalar", Desc).Match(Cmp{Path: "score", Op: Gt, Value: db.Int(1)}).Limit(10)},
		{"sort_without_limit", New(f.ds).SortByKeys(SortKey{Path: "label"}, SortKey{Path: "score", Desc: true})},
		{"user_index_asc", New(f.ds).SortBy("score", Asc).Limit(3)},
		{"match_tags", New(f.ds).MatchTags("dup")},
		{"match_tags_any_of_two", New(f.ds).MatchTags("x", "y")},
		{"match_tags_all", New(f.ds).MatchAllTags("x", "y")},
		{"match_tags_negated", New(f.ds).ExcludeTags("dup")},
		{"contains_tags_in_and", New(f.ds).Match(And{Contains{Path: "tags", Values: []db.Value{db.String("dup")}}, Like{Path: "filepath", Pattern: "%/cat/%"}})},
		{"full_scan_filter", New(f.ds).Match(Or{Cmp{Path: "metadata.width", Op: Gt, Value: db.Int(32)}, Exists{Path: "label", Not: true}})},
		{"text_match", New(f.ds).TextMatch([]string{"filepath"}, "cat").Limit(2)},
		{"select", New(f.ds).Select(a, b)},
		{"select_ordered", New(f.ds).SelectOrdered(b, a).Match(Exists{Path: "label"})},
		{"exclude", New(f.ds).Exclude(a).Limit(5)},
		{"take", New(f.ds).MatchTags("x").Take(2, 42)},
		{"limit_then_sort", New(f.ds).Limit(4).SortBy("score", Asc)},
		{"limit_then_filter_then_limit", New(f.ds).Limit(5).MatchTags("dup").Limit(1)},
		{"limit_zero", New(f.ds).SortBy("score", Desc).Limit(0)},
		{"select_fields", New(f.ds).SelectFields("label").SortBy("label", Asc).Limit(3)},
		{"exclude_fields_hidden_key", New(f.ds).ExcludeFields("score").SortBy("score", Desc).Limit(3)},
		{"exists", New(f.ds).Exists("insights.u.scalar").NotExists("label")},
		{"sort_then_select_ordered_after_skip", New(f.ds).SortBy("label", Asc).Skip(1).SelectOrdered(a, b)},
		{"sort_by_id", New(f.ds).SortBy("id", Asc).Limit(3)},
		{"similarity_top10_tags", New(f.ds).MatchTags("dup").SortBySimilarity(&lastByteRanker{}).Skip(2).Limit(10)},
		{"similarity_filter_no_limit", New(f.ds).SortBySimilarity(&lastByteRanker{}).Match(Exists{Path: "label"}).SelectFields("label")},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if seen[tc.name] {
				t.Fatalf("duplicate case name %s", tc.name)
			}
			seen[tc.name] = true
			plan, err := tc.view.Explain()
			if err != nil {
				t.Fatal(err)
			}
			// The dataset name is the fixture's; the stages and the plan
			// are what the golden file pins.
			got := "view:\n" + tc.view.String() + "\n\nplan:\n" + plan
			path := filepath.Join(explainDir, tc.name+".txt")
			if *rewrite {
				if err := os.MkdirAll(explainDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./views -run TestExplainGolden -rewrite to create it)", err)
			}
			if got != string(want) {
				t.Errorf("EXPLAIN changed (run with -rewrite to accept):\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
	if !*rewrite {
		// Every golden file belongs to a case.
		files, _ := filepath.Glob(filepath.Join(explainDir, "*.txt"))
		for _, file := range files {
			if name := strings.TrimSuffix(filepath.Base(file), ".txt"); !seen[name] {
				t.Errorf("golden file %s has no case", file)
			}
		}
	}
}
