package views

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/fosql/fosql/db"
)

// lastByteRanker ranks samples by the distance of their id's last byte
// from a target byte, and records what it was asked.
type lastByteRanker struct {
	target     byte
	gotK       int
	candidates []db.ID
}

func (r *lastByteRanker) String() string { return "last id byte near 3" }

func (r *lastByteRanker) Rank(_ context.Context, candidates []db.ID, k int) ([]db.ID, []float64, error) {
	r.gotK, r.candidates = k, slices.Clone(candidates)
	ids := slices.Clone(candidates)
	dist := func(id db.ID) float64 { return float64(max(id[11], r.target) - min(id[11], r.target)) }
	slices.SortFunc(ids, func(a, b db.ID) int {
		if c := cmp.Compare(dist(a), dist(b)); c != 0 {
			return c
		}
		return bytes.Compare(a[:], b[:])
	})
	if k >= 0 && len(ids) > k {
		ids = ids[:k]
	}
	dists := make([]float64, len(ids))
	for i, id := range ids {
		dists[i] = dist(id)
	}
	return ids, dists, nil
}

// TestSortBySimilarity checks that the stage ranks the samples left by
// its filters, asks the ranker for offset + limit of them, yields them in
// rank order and records their distances.
func TestSortBySimilarity(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name      string
		view      *View
		wantK     int
		wantCands int
		want      []int // fixture sample numbers, in order
	}{
		// Sample 3 first, then the others by distance (|i - 3|, the ids
		// being consecutive), ties by id.
		{"all", New(f.ds).SortBySimilarity(&lastByteRanker{}), -1, 8, []int{3, 2, 4, 1, 5, 0, 6, 7}},
		{"window", New(f.ds).SortBySimilarity(&lastByteRanker{}).Skip(2).Limit(3), 5, 8, []int{4, 1, 5}},
		{"filter after the stage runs first", New(f.ds).SortBySimilarity(&lastByteRanker{}).MatchTags("x").Limit(2), 2, 3, []int{3, 2}},
		{"limit before the stage", New(f.ds).Limit(3).SortBySimilarity(&lastByteRanker{}).Limit(1), 1, 3, []int{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *lastByteRanker
			for _, s := range tc.view.Stages() {
				if st, ok := s.(SimilarityStage); ok {
					r = st.Ranker.(*lastByteRanker)
				}
			}
			r.target = f.ids[3][11]
			ctx, dists := WithDistances(ctx)
			var got []int
			for s, err := range tc.view.Iter(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				i := slices.Index(f.ids, s.ID)
				got = append(got, i)
				d, ok := dists.Of(s.ID)
				if want := float64(max(s.ID[11], r.target) - min(s.ID[11], r.target)); !ok || d != want {
					t.Fatalf("sample %d: distance %g, %t; want %g", i, d, ok, want)
				}
				if s.Filepath() == "" {
					t.Fatalf("sample %d fetched without its fields", i)
				}
			}
			if r.gotK != tc.wantK || len(r.candidates) != tc.wantCands {
				t.Fatalf("ranker asked for %d of %d candidates, want %d of %d", r.gotK, len(r.candidates), tc.wantK, tc.wantCands)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("samples %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMergeParts checks that parts in id order are merged into one list
// in id order, and that parts out of order are kept as they are.
func TestMergeParts(t *testing.T) {
	id := func(b byte) db.ID { return db.ID{11: b} }
	cases := []struct {
		name  string
		parts [][]db.ID
		want  []db.ID
	}{
		{"none", nil, []db.ID{}},
		{"one", [][]db.ID{{id(1), id(4)}}, []db.ID{id(1), id(4)}},
		{"interleaved", [][]db.ID{{id(1), id(4), id(9)}, {}, {id(2), id(3), id(10)}}, []db.ID{id(1), id(2), id(3), id(4), id(9), id(10)}},
		{"a part out of order", [][]db.ID{{id(5), id(1)}, {id(2)}}, []db.ID{id(5), id(1), id(2)}},
	}
	for _, tc := range cases {
		if got := mergeParts(tc.parts); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
