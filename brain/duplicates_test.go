package brain

import (
	"context"
	"math/rand/v2"
	"testing"
)

// bruteDuplicates is FindDuplicates written plainly: every pair's exact
// distance, rows in order, a row duplicates the nearest earlier kept row
// within threshold.
func bruteDuplicates(vectors []float32, n, d int, metric Metric, threshold float64) []int {
	unit, norms := centreAndNormalise(vectors, n, d)
	dist := exactDistance(vectors, unit, norms, n, d, metric)
	of := make([]int, n)
	kept := make([]bool, n)
	for i := range n {
		of[i] = -1
		best := 0.0
		for j := range i {
			if !kept[j] {
				continue
			}
			if dd := dist(i, j); dd <= threshold && (of[i] < 0 || dd < best) {
				of[i], best = j, dd
			}
		}
		kept[i] = of[i] < 0
	}
	return of
}

func TestFindDuplicatesMatchesBruteForce(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 12
	// 60 distinct rows, then copies: 40 of one row (a group larger than
	// the first neighbour search), and small jitters of others.
	var v []float32
	for range 60 {
		for range d {
			v = append(v, rng.Float32()*2-1)
		}
	}
	for range 40 {
		v = append(v, v[3*d:4*d]...)
	}
	// 30 rows clustered tightly around a point near row 5: each one's
	// nearest rows are the others, and row 5, the one kept, comes after
	// them, within the threshold only once the search widens.
	offset := make([]float32, d)
	for c := range offset {
		offset[c] = float32(rng.NormFloat64() * 0.02)
	}
	for range 30 {
		for c, x := range v[5*d : 6*d] {
			v = append(v, x+offset[c]+float32(rng.NormFloat64()*0.0005))
		}
	}
	for k := range 15 {
		src := v[(10+k)*d : (11+k)*d]
		for _, x := range src {
			v = append(v, x+float32(rng.NormFloat64()*0.01))
		}
	}
	n := len(v) / d
	for _, tc := range []struct {
		metric Metric
		thr    float64
	}{{Cosine, 0.01}, {Cosine, 0.2}, {Euclidean, 0.1}, {Euclidean, 0}} {
		got, err := FindDuplicates(context.Background(), v, n, d, tc.metric, ThresholdRule(tc.thr))
		if err != nil {
			t.Fatal(err)
		}
		want := bruteDuplicates(v, n, d, tc.metric, tc.thr)
		dups := 0
		for i := range n {
			if got.Of[i] != want[i] {
				t.Fatalf("%v, threshold %v: row %d duplicates %d, want %d", tc.metric, tc.thr, i, got.Of[i], want[i])
			}
			if got.Of[i] >= 0 {
				dups++
			}
		}
		if dups < 40 {
			t.Fatalf("%v, threshold %v: %d duplicates, want at least the 40 exact copies", tc.metric, tc.thr, dups)
		}
	}
	if _, err := FindDuplicates(context.Background(), v, n, d, Cosine, ThresholdRule(-1)); err == nil {
		t.Fatal("a negative threshold was accepted")
	}
}

// TestDuplicateRatioRule: the neighbourhood test keeps look-alikes that
// sit in a crowd apart, and still finds a copy that stands out, a group of
// copies of one row, and a large group of near-identical rows, which the
// threshold alone finds too.
func TestDuplicateRatioRule(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const d = 8
	var v []float32
	add := func(centre []float32, spread float64) int {
		for c := range d {
			v = append(v, centre[c]+float32(rng.NormFloat64()*spread))
		}
		return len(v)/d - 1
	}
	point := func(scale float64) []float32 {
		p := make([]float32, d)
		for c := range p {
			p[c] = float32(rng.NormFloat64() * scale)
		}
		return p
	}
	// A crowd: 30 look-alikes, each about 0.4 from the others.
	crowdAt := point(100)
	var crowd []int
	for range 30 {
		crowd = append(crowd, add(crowdAt, 0.15))
	}
	// A row and one copy of it, 0.1 apart, far from everything else.
	single := point(100)
	one := add(single, 0)
	oneCopy := add(single, 0.035)
	// A row and four copies of it, each about 0.1 from it.
	grouped := point(100)
	head := add(grouped, 0)
	var copies []int
	for range 4 {
		copies = append(copies, add(grouped, 0.035))
	}
	// Twenty rows within 0.01 of each other.
	tight := point(100)
	var burst []int
	for range 20 {
		burst = append(burst, add(tight, 0.002))
	}
	n := len(v) / d
	rule := DuplicateRule{Threshold: 0.6, Ratio: DefaultDuplicateRatio}
	got, err := FindDuplicates(context.Background(), v, n, d, Euclidean, rule)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := FindDuplicates(context.Background(), v, n, d, Euclidean, ThresholdRule(rule.Threshold))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range crowd {
		if got.Of[i] >= 0 {
			t.Errorf("crowd row %d duplicates %d at %.3f", i, got.Of[i], got.Dist[i])
		}
	}
	flagged := 0
	for _, i := range crowd {
		if plain.Of[i] >= 0 {
			flagged++
		}
	}
	if flagged < len(crowd)/2 {
		t.Errorf("the threshold alone flags %d of the crowd's %d rows: the crowd is not a test of the ratio", flagged, len(crowd))
	}
	want := map[int]int{oneCopy: one}
	for _, c := range copies {
		want[c] = head
	}
	for _, b := range burst[1:] {
		want[b] = burst[0]
	}
	for i, j := range want {
		if got.Of[i] != j {
			t.Errorf("row %d: duplicates %d (at %.3f), want %d", i, got.Of[i], got.Dist[i], j)
		}
		if plain.Of[i] != j {
			t.Errorf("row %d: threshold alone: duplicates %d, want %d", i, plain.Of[i], j)
		}
	}
	for _, i := range []int{one, head, burst[0]} {
		if got.Of[i] >= 0 {
			t.Errorf("row %d, the first of its group, duplicates %d", i, got.Of[i])
		}
	}
}

// TestDuplicateRatioRuleSmallSet: with too few rows for a neighbourhood,
// the threshold alone decides.
func TestDuplicateRatioRuleSmallSet(t *testing.T) {
	needRuntime(t)
	v := []float32{0, 0, 0.3, 0, 10, 10}
	got, err := FindDuplicates(context.Background(), v, 3, 2, Euclidean, DuplicateRule{Threshold: 0.5, Ratio: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	if got.Of[1] != 0 || got.Of[0] != -1 || got.Of[2] != -1 {
		t.Fatalf("Of = %v, want [-1 0 -1]", got.Of)
	}
	two, err := FindDuplicates(context.Background(), v[:4], 2, 2, Euclidean, DuplicateRule{Threshold: 0.5, Ratio: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	if two.Of[1] != 0 {
		t.Fatalf("two rows 0.3 apart: Of = %v, want [-1 0]", two.Of)
	}
}

// TestDuplicateRuleIndependentOfListLength: findDuplicates, which starts
// from short neighbour lists and lengthens them only when a row needs it,
// answers as the greedy pass over every row's complete list does.
func TestDuplicateRuleIndependentOfListLength(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const d = 6
	var v []float32
	// Clusters of look-alikes, some with tight groups of copies, among
	// scattered rows.
	for range 12 {
		centre := make([]float32, d)
		for c := range centre {
			centre[c] = float32(rng.NormFloat64())
		}
		for range 1 + rng.IntN(40) {
			spread := []float64{0.01, 0.1, 0.3}[rng.IntN(3)]
			for c := range d {
				v = append(v, centre[c]+float32(rng.NormFloat64()*spread))
			}
		}
	}
	n := len(v) / d
	rule := DuplicateRule{Threshold: 0.25, Ratio: 0.4}
	got, err := FindDuplicates(context.Background(), v, n, d, Cosine, rule)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := KNN(context.Background(), v, n, d, n-1, Cosine)
	if err != nil {
		t.Fatal(err)
	}
	want, err := group(nb, rule, nil, farApart(v, n, d, Cosine), nil)
	if err != nil {
		t.Fatal(err)
	}
	dups := 0
	for i := range n {
		if got.Of[i] != want.Of[i] {
			t.Fatalf("row %d: duplicates %d, want %d", i, got.Of[i], want.Of[i])
		}
		if got.Of[i] >= 0 {
			dups++
		}
	}
	if dups == 0 || dups == n-12 {
		t.Fatalf("%d duplicates among %d rows: the set does not test the rule", dups, n)
	}
	t.Logf("%d rows, %d duplicates", n, dups)
}
