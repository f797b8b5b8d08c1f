package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// simBenchN and simBenchDim size the similarity benchmark: stored
// embeddings of the built-in model's space, as a uniqueness run leaves
// them.
const simBenchN, simBenchDim = 100_000, 128

var (
	simBenchOnce sync.Once
	simBenchDB   *DB
	simBenchIDs  []db.ID
	simBenchErr  error
)

// similarityBenchDB builds, once per process, an in-memory dataset sims of
// simBenchN samples (field n = 0, 1, …) with random simBenchDim-d
// embeddings stored in the built-in model's space and a complete
// uniqueness run record for them, so that ORDER BY SIMILARITY TO reads
// them and embeds nothing.
func similarityBenchDB(b *testing.B) (*DB, []db.ID) {
	b.Helper()
	simBenchOnce.Do(func() {
		simBenchDB, simBenchIDs, simBenchErr = buildSimilarityBench()
	})
	if simBenchErr != nil {
		b.Fatalf("similarity benchmark database: %v", simBenchErr)
	}
	return simBenchDB, simBenchIDs
}

func buildSimilarityBench() (*DB, []db.ID, error) {
	ctx := context.Background()
	off := false
	d, err := Open(":memory:", &Options{AutoCompute: &off})
	if err != nil {
		return nil, nil, err
	}
	ds, err := d.Store().CreateDataset("sims")
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []db.ID
	const batch = 1000
	for start := 0; start < simBenchN; start += batch {
		samples := make([]db.NewSample, batch)
		vecs := make([]float32, batch*simBenchDim)
		for i := range samples {
			samples[i] = db.NewSample{Filepath: fmt.Sprintf("/sims/%06d.png", start+i),
				Fields: db.Doc(db.Field{Name: "n", Value: db.Int(int64(start + i))})}
		}
		for i := range vecs {
			vecs[i] = float32(rng.NormFloat64())
		}
		got, err := ds.Add(ctx, samples)
		if err != nil {
			return nil, nil, err
		}
		want, err := (&brain.Provider{}).Want(ctx, ds, insights.Request{})
		if err != nil {
			return nil, nil, err
		}
		if err := ds.PutEmbeddings(ctx, want.Model, got, vecs, simBenchDim); err != nil {
			return nil, nil, err
		}
		ids = append(ids, got...)
	}
	want, err := (&brain.Provider{}).Want(ctx, ds, insights.Request{})
	if err != nil {
		return nil, nil, err
	}
	version, err := ds.Version()
	if err != nil {
		return nil, nil, err
	}
	run := insights.NewRunRecord(brain.UniquenessGroup, want, version)
	run.Status = db.RunComplete
	st, err := ds.StageInsights(brain.UniquenessGroup)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]db.InsightRow, len(ids))
	for i, id := range ids {
		rows[i] = db.InsightRow{ID: id, Values: db.Doc(db.Field{Name: "scalar", Value: db.Float(rng.Float64())})}
	}
	for start := 0; start < len(rows); start += batch {
		if err := st.Put(ctx, rows[start:start+batch]); err != nil {
			st.Abort()
			return nil, nil, err
		}
	}
	if err := st.Commit(ctx, &run); err != nil {
		return nil, nil, err
	}
	return d, ids, nil
}

// BenchmarkSimilarity100k is ORDER BY SIMILARITY TO a sample, LIMIT 10,
// end to end through SQL on 100,000 stored 128-d embeddings: rank every
// sample (or those a filter leaves) and fetch the 10 nearest. The
// embeddings, read and centred by the first query, are kept until the
// next commit; the cold case commits a tag write (untimed) before each
// query, so that every query reads and centres them again.
func BenchmarkSimilarity100k(b *testing.B) {
	d, ids := similarityBenchDB(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name, where string
		cold        bool
	}{
		{"top10", "", false},
		{"top10_where_half", "WHERE n < 50000", false},
		{"top10_cold", "", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := fmt.Sprintf("SELECT id, filepath, _distance FROM sims %s ORDER BY SIMILARITY TO '%s' LIMIT 10", bc.where, ids[12345])
			start := cpuTime()
			writes := 0
			for b.Loop() {
				if bc.cold {
					b.StopTimer()
					writes++
					if _, err := d.Exec(ctx, "UPDATE sims ADD TAG ? WHERE id = ?", fmt.Sprint("t", writes), ids[0].String()); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				res, err := d.Query(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Rows) != 10 || res.Rows[0][0].AsString() != ids[12345].String() {
					b.Fatalf("rows %v", res.Rows)
				}
			}
			if !bc.cold {
				reportCPU(b, start) // the cold case's would count its writes
			}
		})
	}
}
