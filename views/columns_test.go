package views

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fosql/fosql/db"
)

// columnDataset is a dataset of n samples whose metadata has missing
// values (samples without metadata) and nulls.
func columnDataset(t *testing.T, r *rand.Rand, n int) *db.Dataset {
	t.Helper()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds, err := d.CreateDataset("cols")
	if err != nil {
		t.Fatal(err)
	}
	samples := make([]db.NewSample, n)
	for i := range samples {
		samples[i] = db.NewSample{Filepath: fmt.Sprintf("/data/img_%04d.jpg", i)}
		if r.IntN(6) > 0 {
			samples[i].Metadata = &db.ImageMetadata{Width: 16 * (1 + r.IntN(4)), Height: r.IntN(5) - 2, SizeBytes: int64(r.IntN(50)), NumChannels: 3}
		}
	}
	ids, err := ds.Add(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	var nulls []db.ID
	for _, id := range ids {
		if r.IntN(8) == 0 {
			nulls = append(nulls, id)
		}
	}
	if _, err := ds.SetField(context.Background(), nulls, "metadata.height", db.Null()); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestColumnsEqualNaive: counts and aggregations that the metadata
// columns answer give what the naive evaluation of the pipeline gives,
// for random filters on metadata ints (nulls and missing values among
// them), windows and other stages.
func TestColumnsEqualNaive(t *testing.T) {
	oldMin, oldPaths := db.ColumnMinSamples, propPaths
	db.ColumnMinSamples = 1
	propPaths = []string{"metadata.width", "metadata.height", "metadata.size_bytes", "metadata.num_channels"}
	defer func() { db.ColumnMinSamples, propPaths = oldMin, oldPaths }()
	ctx := context.Background()
	answered := 0
	for d := range 4 {
		r := rand.New(rand.NewPCG(uint64(d), 7))
		ds := columnDataset(t, r, 200+r.IntN(200))
		var all []db.ID
		for id, err := range ds.IDs(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, id)
		}
		for p := range 50 {
			stages := make([]Stage, 1+r.IntN(3))
			for i := range stages {
				switch r.IntN(8) {
				case 0:
					stages[i] = LimitStage{N: r.IntN(300)}
				case 1:
					stages[i] = ExistsStage{Path: randPath(r), Negate: r.IntN(2) == 0}
				case 2:
					stages[i] = randStage(r, all)
				default:
					stages[i] = MatchStage{Expr: randExpr(r, 2)}
				}
			}
			v := New(ds)
			for _, s := range stages {
				v = v.With(s)
			}
			if l, err := v.logical(); err == nil {
				if _, _, ok := v.columnPlan(l, nil, true); ok {
					answered++
				}
			}
			name := fmt.Sprintf("dataset %d pipeline %d: %s", d, p, describe(stages))
			checkAgainstNaive(t, ctx, name, ds, v, stages, randPath(r), randPath(r))
		}
	}
	if answered < 50 {
		t.Fatalf("only %d of 200 pipelines were read from columns", answered)
	}
}
