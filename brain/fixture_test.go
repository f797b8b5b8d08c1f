package brain

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestGoldenSklearn compares KNN + UniquenessScores with scikit-learn's
// NearestNeighbors (brute force) and FiftyOne Brain's formula on the fixture
// written by testdata/knn/gen_fixture.py.
func TestGoldenSklearn(t *testing.T) {
	needRuntime(t)
	dir := filepath.Join("..", "testdata", "knn")
	raw, err := os.ReadFile(filepath.Join(dir, "embeddings.f32"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Dists  [][]float64 `json:"dists"`
		Scores []float64   `json:"scores"`
	}
	var want struct {
		N, D, K   int
		Weights   []float64
		Euclidean result
		Cosine    result
	}
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4*want.N*want.D {
		t.Fatalf("embeddings.f32 has %d bytes, want %d", len(raw), 4*want.N*want.D)
	}
	v := make([]float32, want.N*want.D)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	for _, tc := range []struct {
		metric Metric
		want   result
	}{{Euclidean, want.Euclidean}, {Cosine, want.Cosine}} {
		t.Run(tc.metric.String(), func(t *testing.T) {
			nb, err := KNN(context.Background(), v, want.N, want.D, want.K, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < want.N; i++ {
				_, dist := nb.Row(i)
				for j := range dist {
					if math.Abs(dist[j]-tc.want.Dists[i][j]) > 1e-5 {
						t.Errorf("row %d neighbour %d: distance %.7g, scikit-learn %.7g", i, j, dist[j], tc.want.Dists[i][j])
					}
				}
			}
			scores := UniquenessScores(nb, want.Weights)
			for i, s := range scores {
				if math.Abs(s-tc.want.Scores[i]) > 1e-5 {
					t.Errorf("row %d: score %.7g, scikit-learn %.7g", i, s, tc.want.Scores[i])
				}
			}
		})
	}
}
