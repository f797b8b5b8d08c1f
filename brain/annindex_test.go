package brain

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestStoredIndexServesSimilarity: a uniqueness run above the exact range
// stores its index; a similarity query over every sample goes through it
// and finds what the exhaustive search finds; a write to the data makes
// the index stale, and exact = true never uses it.
func TestStoredIndexServesSimilarity(t *testing.T) {
	needRuntime(t)
	defer func(w float64) { exactWork = w }(exactWork)
	exactWork = 0
	ctx := context.Background()
	store, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ds, _ := store.CreateDataset("v")
	const n, d = 3000, 16
	v := clustered(rand.New(rand.NewPCG(5, 6)), n, d)
	var ids []db.ID
	for lo := 0; lo < n; lo += 500 {
		var ss []db.NewSample
		for i := lo; i < lo+500; i++ {
			row := make([]float64, d)
			for j := range row {
				row[j] = float64(v[i*d+j])
			}
			ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/v%d", i), Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats(row)})})
		}
		got, err := ds.Add(ctx, ss)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	if _, err := ComputeUniqueness(ctx, ds, ComputeOptions{EmbeddingsField: "emb"}); err != nil {
		t.Fatal(err)
	}
	p := &Provider{}
	space, err := p.Similarity(ctx, ds, SimilarityRequest{Options: map[string]any{"embeddings": "emb"}})
	if err != nil {
		t.Fatal(err)
	}
	if space.ivf == nil {
		t.Fatal("the run's index was not stored, or not loaded")
	}
	exact, err := p.Similarity(ctx, ds, SimilarityRequest{Options: map[string]any{"embeddings": "emb", "exact": true}})
	if err != nil {
		t.Fatal(err)
	}
	if exact.ivf != nil {
		t.Fatal("exact = true loaded the index")
	}
	hits, total := 0, 0
	for i := 0; i < n; i += 37 {
		q, err := space.QuerySample(ids[i])
		if err != nil {
			t.Fatal(err)
		}
		got, gotD, err := space.Nearest(ctx, q, ids, 5)
		if err != nil {
			t.Fatal(err)
		}
		want, wantD, err := exact.Nearest(ctx, q, ids, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 || gotD[0] != 0 {
			t.Fatalf("query %d: %v at %v", i, got, gotD)
		}
		for r := range want {
			total++
			for u := range got {
				if got[u] == want[r] || gotD[u] == wantD[r] {
					hits++
					break
				}
			}
		}
	}
	if r := float64(hits) / float64(total); r < 0.95 {
		t.Errorf("recall@5 through the index %.3f, want >= 0.95", r)
	}
	if _, err := ds.Add(ctx, []db.NewSample{{Filepath: "/new"}}); err != nil {
		t.Fatal(err)
	}
	stale, err := p.Similarity(ctx, ds, SimilarityRequest{Options: map[string]any{"embeddings": "emb"}})
	if err != nil {
		t.Fatal(err)
	}
	if stale.ivf != nil {
		t.Fatal("the index was used after the data changed")
	}
}

func TestIVFEncoding(t *testing.T) {
	ids := []db.ID{{1}, {2}, {3}}
	x := &IVF{Dim: 2, Lists: 2, Mean: []float32{0.5, -1}, Centroids: []float32{1, 2, 3, 4}, List: []int32{0, 1, 1}}
	b := x.encode(ids)
	got, err := decodeIVF(b, ids, 2)
	if err != nil || got == nil || got.List[2] != 1 || got.Centroids[3] != 4 || got.Mean[1] != -1 {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if got, err := decodeIVF(b, []db.ID{{1}, {2}, {4}}, 2); got != nil || err != nil {
		t.Errorf("an index over other rows: %+v, %v; want nil, nil", got, err)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-4] = 9 // row 2 in list 9 of 2
	if _, err := decodeIVF(bad, ids, 2); !errors.Is(err, db.ErrCorrupt) {
		t.Errorf("a row in a list that does not exist: err = %v, want ErrCorrupt", err)
	}
	if _, err := decodeIVF(b[:len(b)-1], ids, 2); !errors.Is(err, db.ErrCorrupt) {
		t.Errorf("a cut index: err = %v, want ErrCorrupt", err)
	}
}
