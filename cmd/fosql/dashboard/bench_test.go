package dashboard

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkProject100k is the embeddings map of 100,000 vectors of 512
// values: the principal axes fitted on a subset, every vector projected.
func BenchmarkProject100k(b *testing.B) {
	const n, dim = 100_000, 512
	rng := rand.New(rand.NewPCG(1, 1))
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(rng.NormFloat64())
	}
	b.ResetTimer()
	for range b.N {
		project(vecs, n, dim)
	}
}
