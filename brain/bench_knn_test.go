package brain

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchVectors returns n x d float32 vectors clustered like peer-knn's
// "random" mode (n/50 centres, noise 0.3), seeded.
func benchVectors(n, d int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	centres := max(1, n/50)
	c := make([]float64, centres*d)
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	v := make([]float32, n*d)
	for i := 0; i < n; i++ {
		ci := rng.IntN(centres)
		for j := 0; j < d; j++ {
			v[i*d+j] = float32(c[ci*d+j] + 0.3*rng.NormFloat64())
		}
	}
	return v
}

// writeF32 writes v as raw little-endian float32 (peer-knn's input format)
// when FOSQL_BENCH_F32_DIR is set, so the peer can run on the same vectors.
func writeF32(b *testing.B, name string, v []float32) {
	dir := os.Getenv("FOSQL_BENCH_F32_DIR")
	if dir == "" {
		return
	}
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUniqueness times k-NN (K=3) + scores, the peer-knn measurement.
// Set FOSQL_BENCH_F32_DIR to also write the vectors for peer-knn.
func BenchmarkUniqueness(b *testing.B) {
	for _, size := range []struct{ n, d int }{{10000, 512}, {100000, 128}} {
		v := benchVectors(size.n, size.d)
		writeF32(b, fmt.Sprintf("bench_%dx%d.f32", size.n, size.d), v)
		for _, metric := range []Metric{Euclidean, Cosine} {
			b.Run(fmt.Sprintf("%dx%d/%v", size.n, size.d, metric), func(b *testing.B) {
				needRuntime(b)
				var ms runtime.MemStats
				for i := 0; i < b.N; i++ {
					res, err := Uniqueness(context.Background(), v, size.n, size.d, UniquenessOptions{Metric: metric})
					if err != nil {
						b.Fatal(err)
					}
					_ = res
				}
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapMiB")
			})
		}
	}
}
