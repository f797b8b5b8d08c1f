package brain

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
)

// BenchmarkBuildVectorDataset writes the dataset of the scale benchmarks
// (BENCHMARKS.md): FOSQL_SCALE_N samples (default 1,000,000), each with a
// FOSQL_SCALE_D-dimensional vector (default 128) in field emb, clustered
// like peer-knn's random mode (benchVectors), into dataset vec<D> of the
// database at FOSQL_SCALE_DB, in batches of 1,000 samples per Add. It
// writes the vectors beside the database directory as vec<D>.f32 for
// peer-knn, and
// is skipped without FOSQL_SCALE_DB. The uniqueness run is then timed as a
// separate process (fosql -db … -e 'COMPUTE UNIQUENESS …'), so that its
// peak RSS is its own.
func BenchmarkBuildVectorDataset(b *testing.B) {
	dir := os.Getenv("FOSQL_SCALE_DB")
	if dir == "" {
		b.Skip("set FOSQL_SCALE_DB to a database directory")
	}
	n, d := envInt(b, "FOSQL_SCALE_N", 1000000), envInt(b, "FOSQL_SCALE_D", 128)
	for i := 0; i < b.N; i++ {
		store, err := db.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("vec%d", d)
		ds, err := store.CreateDataset(name)
		if err != nil {
			store.Close()
			b.Fatal(err)
		}
		v := benchVectors(n, d)
		start := time.Now()
		const batch = 1000
		row := make([]float64, d)
		for lo := 0; lo < n; lo += batch {
			ss := make([]db.NewSample, 0, batch)
			for r := lo; r < min(lo+batch, n); r++ {
				for j := range row {
					row[j] = float64(v[r*d+j])
				}
				ss = append(ss, db.NewSample{Filepath: fmt.Sprintf("/scale/%s/%07d.png", name, r),
					Fields: db.Doc(db.Field{Name: "emb", Value: db.Floats(row)})})
			}
			if _, err := ds.Add(context.Background(), ss); err != nil {
				store.Close()
				b.Fatal(err)
			}
		}
		el := time.Since(start)
		b.ReportMetric(float64(n)/el.Seconds(), "samples/s")
		if err := store.Close(); err != nil {
			b.Fatal(err)
		}
		b.Setenv("FOSQL_BENCH_F32_DIR", filepath.Dir(dir))
		writeF32(b, name+".f32", v)
	}
}

// envInt reads a positive integer from the environment, or def.
func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// BenchmarkApproximateRecallSampled runs the approximate k-NN (K = 3) over
// the raw float32 vectors of $FOSQL_SCALE_F32 ($FOSQL_SCALE_D values a
// row, default 128; as BenchmarkBuildVectorDataset writes them) and
// measures its recall@3 on 1,000 rows spread over them against a
// brute-force search of every row, for both metrics.
func BenchmarkApproximateRecallSampled(b *testing.B) {
	path := os.Getenv("FOSQL_SCALE_F32")
	if path == "" {
		b.Skip("set FOSQL_SCALE_F32 to a raw float32 vector file")
	}
	d := envInt(b, "FOSQL_SCALE_D", 128)
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	raw = nil
	n := len(v) / d
	for _, metric := range []Metric{Euclidean, Cosine} {
		b.Run(metric.String(), func(b *testing.B) {
			needRuntime(b)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				nb, err := KNNWith(context.Background(), v, n, d, 3, metric, KNNOptions{Approximate: true})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "approx-s")
				b.ReportMetric(sampledRecall(v, n, d, metric, nb, 1000), "recall@3")
			}
		})
	}
}

// sampledRecall is nb's recall@3 on rows rows spread over the n, against
// a float64 brute-force search of all n rows.
func sampledRecall(v []float32, n, d int, metric Metric, nb *Neighbors, rows int) float64 {
	x, norms := v, []float64(nil)
	if metric == Cosine {
		x, norms = centreAndNormalise(v, n, d)
	}
	dist := exactDistance(v, x, norms, n, d, metric)
	exact := &Neighbors{N: rows, K: nb.K, Indices: make([]int, rows*nb.K), Distances: make([]float64, rows*nb.K)}
	got := &Neighbors{N: rows, K: nb.K, Indices: make([]int, rows*nb.K), Distances: make([]float64, rows*nb.K)}
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			type pair struct {
				j int
				d float64
			}
			for r := w; r < rows; r += runtime.GOMAXPROCS(0) {
				i := int(int64(r) * int64(n) / int64(rows))
				best := make([]pair, 0, nb.K+1)
				for j := 0; j < n; j++ {
					if j == i {
						continue
					}
					dj := dist(i, j)
					if len(best) == nb.K && dj >= best[nb.K-1].d {
						continue
					}
					best = append(best, pair{j, dj})
					slices.SortFunc(best, func(a, b pair) int { return cmp.Compare(a.d, b.d) })
					best = best[:min(len(best), nb.K)]
				}
				for t, p := range best {
					exact.Indices[r*nb.K+t], exact.Distances[r*nb.K+t] = p.j, p.d
				}
				gi, gd := nb.Row(i)
				copy(got.Indices[r*nb.K:], gi)
				copy(got.Distances[r*nb.K:], gd)
			}
		}(w)
	}
	wg.Wait()
	return Recall(exact, got)
}
