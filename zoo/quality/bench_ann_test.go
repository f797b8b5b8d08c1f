package quality

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// BenchmarkANNRecall measures the approximate k-NN (brain's IVF index)
// against the exact search on real vectors: the built-in model's
// embeddings of Fashion-MNIST's 70,000 pictures (train and test), then of
// those plus 30,000 planted copies of them (100,000), cosine, K = 3. It
// reports recall@3 and both searches' times and allocations. The
// embeddings are kept in $FOSQL_BENCH_F32_DIR (when set) as
// fashion100k.f32 and read from there the next time.
func BenchmarkANNRecall(b *testing.B) {
	ctx := context.Background()
	v, d, err := fashionVectors(ctx, b.TempDir())
	if errors.Is(err, zoo.ErrNotInstalled) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{70000, 100000} {
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				start := time.Now()
				exact, err := brain.KNNWith(ctx, v[:n*d], n, d, 3, brain.Cosine, brain.KNNOptions{Exact: true})
				if err != nil {
					b.Fatal(err)
				}
				te := time.Since(start)
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start = time.Now()
				approx, err := brain.KNNWith(ctx, v[:n*d], n, d, 3, brain.Cosine, brain.KNNOptions{Approximate: true})
				if err != nil {
					b.Fatal(err)
				}
				ta := time.Since(start)
				runtime.ReadMemStats(&m1)
				b.ReportMetric(brain.Recall(exact, approx), "recall@3")
				b.ReportMetric(te.Seconds(), "exact-s")
				b.ReportMetric(ta.Seconds(), "approx-s")
				b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), "approx-allocMiB")
			}
		})
	}
}

// fashionVectors returns the built-in model's embeddings of Fashion-MNIST's
// 70,000 pictures followed by those of 30,000 planted copies (made in dir),
// 100,000 x d.
func fashionVectors(ctx context.Context, dir string) ([]float32, int, error) {
	cache := os.Getenv("FOSQL_BENCH_F32_DIR")
	if cache != "" {
		if v, d, err := readF32(filepath.Join(cache, "fashion100k.f32"), 100000); err == nil {
			return v, d, nil
		}
	}
	c := &Collection{Name: Fashion}
	for _, split := range []string{"train", "test"} {
		paths, labels, err := zoo.FashionMNISTFiles(ctx, zoo.LoadRequest{Split: split}, 0)
		if err != nil {
			return nil, 0, err
		}
		for i, p := range paths {
			c.Originals = append(c.Originals, Original{Path: p, Label: labels[i]})
		}
	}
	set, err := Build(ctx, c, dir, BuildOptions{Max: 30000, Seed: 12})
	if err != nil {
		return nil, 0, err
	}
	paths := make([]string, 0, len(c.Originals)+set.Copies)
	for _, o := range c.Originals {
		paths = append(paths, o.Path)
	}
	for _, s := range set.Samples[len(set.Samples)-set.Copies:] {
		paths = append(paths, s.Path)
	}
	m, err := Open(brain.DescriptorName)
	if err != nil {
		return nil, 0, err
	}
	defer m.Close()
	sp, err := m.Embed(ctx, paths)
	if err != nil {
		return nil, 0, err
	}
	if cache != "" {
		buf := make([]byte, 4*len(sp.Vectors))
		for i, x := range sp.Vectors {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		if err := os.WriteFile(filepath.Join(cache, "fashion100k.f32"), buf, 0o644); err != nil {
			return nil, 0, err
		}
	}
	return sp.Vectors, sp.Dim, nil
}

// readF32 reads n rows of raw little-endian float32.
func readF32(path string, n int) ([]float32, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(raw) == 0 || len(raw)%(4*n) != 0 {
		return nil, 0, fmt.Errorf("%s: %d bytes is not %d rows of float32", path, len(raw), n)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, len(v) / n, nil
}
