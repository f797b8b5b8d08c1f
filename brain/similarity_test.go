package brain

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/fosql/fosql/db"
)

// similarityData is n random d-dimensional rows, row 7 a copy of row 2,
// with sequential ids.
func similarityData(n, d int) ([]db.ID, []float32) {
	rng := rand.New(rand.NewPCG(3, 5))
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64()) + float32(i%d)
	}
	copy(v[7*d:8*d], v[2*d:3*d])
	ids := make([]db.ID, n)
	for i := range ids {
		ids[i][10], ids[i][11] = byte(i>>8), byte(i)
	}
	return ids, v
}

// TestNearestMatchesBruteForce compares Nearest, on enough rows to use
// several heaps, with the distances computed here from their definition
// and sorted in full, for both metrics and several k.
func TestNearestMatchesBruteForce(t *testing.T) {
	const n, d = 9000, 12
	ids, v := similarityData(n, d)
	ctx := context.Background()
	for _, metric := range []Metric{Cosine, Euclidean} {
		s := &SimilaritySpace{dim: d, metric: metric}
		s.index(ids, slices.Clone(v))
		mean := make([]float64, d)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				mean[j] += float64(v[i*d+j]) / n
			}
		}
		for _, qi := range []int{2, 500, 8999} {
			q, err := s.QuerySample(ids[qi])
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int, n)
			dist := make([]float64, n)
			for i := range n {
				want[i] = i
				var dot, na, nb, l2 float64
				for j := 0; j < d; j++ {
					a, b := float64(v[qi*d+j]), float64(v[i*d+j])
					l2 += (a - b) * (a - b)
					a, b = a-mean[j], b-mean[j]
					dot += a * b
					na += a * a
					nb += b * b
				}
				dist[i] = math.Sqrt(l2)
				if metric == Cosine {
					dist[i] = max(0, 1-dot/math.Sqrt(na*nb))
				}
			}
			sort.SliceStable(want, func(a, b int) bool { return dist[want[a]] < dist[want[b]] })
			all, allDist, err := s.Nearest(ctx, q, ids, -1)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != n {
				t.Fatalf("%v: %d rows of %d", metric, len(all), n)
			}
			for r := 0; r < 50; r++ {
				if all[r] != ids[want[r]] || math.Abs(allDist[r]-dist[want[r]]) > 1e-6 {
					t.Fatalf("%v, query %d, rank %d: %v at %g, want row %d at %g", metric, qi, r, all[r], allDist[r], want[r], dist[want[r]])
				}
			}
			for _, k := range []int{1, 3, 10, 4500, n + 5} {
				top, topDist, err := s.Nearest(ctx, q, ids, k)
				if err != nil {
					t.Fatal(err)
				}
				if m := min(k, n); !slices.Equal(top, all[:m]) || !slices.Equal(topDist, allDist[:m]) {
					t.Fatalf("%v, query %d: the %d nearest are not the first %d of all", metric, qi, k, m)
				}
			}
		}
	}
}

// TestNearestAgreesWithKNN checks that the distance from a sample to its
// nearest other sample is the one the k-NN of a uniqueness run gives
// (the same centring and the same exact distance), and that a copy of
// the query ties with it at distance 0, after it by id.
func TestNearestAgreesWithKNN(t *testing.T) {
	needRuntime(t)
	const n, d = 300, 16
	ids, v := similarityData(n, d)
	ctx := context.Background()
	for _, metric := range []Metric{Cosine, Euclidean} {
		nb, err := KNN(ctx, v, n, d, 3, metric)
		if err != nil {
			t.Fatal(err)
		}
		s := &SimilaritySpace{dim: d, metric: metric}
		s.index(ids, slices.Clone(v))
		for i := 0; i < n; i++ {
			q, err := s.QuerySample(ids[i])
			if err != nil {
				t.Fatal(err)
			}
			top, dist, err := s.Nearest(ctx, q, ids, 4)
			if err != nil {
				t.Fatal(err)
			}
			var others []float64
			for r, id := range top {
				if id != ids[i] {
					others = append(others, dist[r])
				}
			}
			_, want := nb.Row(i)
			if !slices.Equal(others[:3], want) {
				t.Fatalf("%v, row %d: distances %v, k-NN %v", metric, i, others[:3], want)
			}
		}
		q, _ := s.QuerySample(ids[7])
		top, dist, _ := s.Nearest(ctx, q, ids, 2)
		if top[0] != ids[2] || top[1] != ids[7] || dist[0] != 0 || dist[1] != 0 {
			t.Fatalf("%v: the copy and its original: %v %v", metric, top, dist)
		}
	}
}

// TestQueryVector checks a vector made elsewhere: its size, its values,
// and that the query by a sample's raw vector equals the query by the
// sample.
func TestQueryVector(t *testing.T) {
	const n, d = 50, 4
	ids, v := similarityData(n, d)
	ctx := context.Background()
	s := &SimilaritySpace{dim: d, metric: Cosine, Model: "m"}
	s.index(ids, slices.Clone(v))
	if _, err := s.QueryVector(make([]float32, d+1)); err == nil {
		t.Fatal("a vector of the wrong size was accepted")
	}
	if _, err := s.QueryVector([]float32{1, float32(math.NaN()), 0, 0}); err == nil {
		t.Fatal("a NaN was accepted")
	}
	byVec, err := s.QueryVector(v[5*d : 6*d])
	if err != nil {
		t.Fatal(err)
	}
	bySample, _ := s.QuerySample(ids[5])
	a, da, _ := s.Nearest(ctx, byVec, ids, 10)
	b, db2, _ := s.Nearest(ctx, bySample, ids, 10)
	if !slices.Equal(a, b) || !slices.Equal(da, db2) {
		t.Fatalf("by vector %v %v, by sample %v %v", a, da, b, db2)
	}
	if _, err := s.QuerySample(db.ID{0xff}); err == nil {
		t.Fatal("a sample outside the space was accepted")
	}
}

// TestNearestCandidatesInAnyOrder checks that candidates out of id order,
// or outside the space, give the ranking of the same set in id order.
func TestNearestCandidatesInAnyOrder(t *testing.T) {
	const n, d = 10000, 8
	ids, v := similarityData(n, d)
	ctx := context.Background()
	s := &SimilaritySpace{dim: d, metric: Cosine}
	s.index(ids, slices.Clone(v))
	q, _ := s.QuerySample(ids[40])
	var subset []db.ID
	for i := 0; i < n; i += 2 {
		subset = append(subset, ids[i])
	}
	want, wantDist, err := s.Nearest(ctx, q, subset, 25)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(subset)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, db.ID{0xff})
	got, gotDist, err := s.Nearest(ctx, q, shuffled, 25)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(gotDist, wantDist) {
		t.Fatalf("shuffled candidates: %v, want %v", got, want)
	}
	if got[0] != ids[40] || gotDist[0] != 0 {
		t.Fatalf("the query sample is not first: %v %v", got[0], gotDist[0])
	}
}
