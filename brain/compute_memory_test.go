package brain_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// vectorDataset adds n samples holding d-dimensional vectors in field emb,
// in batches of 500.
func vectorDataset(t *testing.T, n, d int) (*db.Dataset, []db.ID) {
	t.Helper()
	ds := memDataset(t, "vecs")
	rng := rand.New(rand.NewPCG(3, 4))
	var ids []db.ID
	for lo := 0; lo < n; lo += 500 {
		var ss []db.NewSample
		for i := lo; i < min(lo+500, n); i++ {
			v := make([]float64, d)
			for j := range v {
				v[j] = float64(float32(rng.NormFloat64()))
			}
			ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/v%d", i), Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats(v)})})
		}
		got, err := ds.Add(context.Background(), ss)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ds, ids
}

// TestUniquenessMemoryOption: a run honours the memory option, failing
// before it reads the vectors when they cannot fit, with an error that
// says what it needs; the previous scores stay.
func TestUniquenessMemoryOption(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds, ids := vectorDataset(t, 1200, 16)
	p := &brain.Provider{}
	req := insights.Request{Options: map[string]any{"embeddings": "emb", "memory": "100KB"}}
	err := p.Run(ctx, ds, req, nil)
	if !errors.Is(err, brain.ErrMemory) || !strings.Contains(err.Error(), "1200 samples of 16 values") || !strings.Contains(err.Error(), "memory = 100 KiB") {
		t.Fatalf("err = %v, want ErrMemory naming the sizes and the bound", err)
	}
	if s, _ := ds.Get(ids[0]); !s.Get("insights.uniqueness.scalar").IsMissing() {
		t.Fatal("a refused run stored scores")
	}
	var knn []insights.Progress
	req.Options["memory"] = "128MB"
	req.Options["exact"] = "true"
	err = p.Run(ctx, ds, req, func(pr insights.Progress) {
		if pr.Phase == "knn" {
			knn = append(knn, pr)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(knn) < 2 || knn[len(knn)-1].Done != knn[len(knn)-1].Total {
		t.Errorf("knn progress %v, want reports ending at the total", knn)
	}
	if s, _ := ds.Get(ids[0]); s.Get("insights.uniqueness.scalar").IsMissing() {
		t.Fatal("no score after the run")
	}
	for _, bad := range []any{"lots", "-2GB", 0} {
		req.Options["memory"] = bad
		if err := p.Run(ctx, ds, req, nil); !errors.Is(err, brain.ErrOption) {
			t.Errorf("memory = %v: err = %v, want ErrOption", bad, err)
		}
	}
}
