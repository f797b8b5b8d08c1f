package brain

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestApproximateKNNRecall(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const n, d = 6000, 24
	v := clustered(rng, n, d)
	for _, metric := range []Metric{Euclidean, Cosine} {
		exact, err := KNNWith(context.Background(), v, n, d, 3, metric, KNNOptions{Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		var calls, last, total int
		approx, err := KNNWith(context.Background(), v, n, d, 3, metric, KNNOptions{Approximate: true,
			Progress: func(done, tot int) {
				if done < last {
					t.Errorf("progress went back from %d to %d", last, done)
				}
				calls, last, total = calls+1, done, tot
			}})
		if err != nil {
			t.Fatal(err)
		}
		if r := Recall(exact, approx); r < 0.95 {
			t.Errorf("%v: recall@3 %.3f, want >= 0.95", metric, r)
		}
		if calls == 0 || last != total || total == 0 {
			t.Errorf("%v: progress: %d calls, last %d of %d", metric, calls, last, total)
		}
		// What the index finds is measured exactly: a found neighbour's
		// distance is the exact search's when it is the same row.
		for i := 0; i < n; i++ {
			ei, ed := exact.Row(i)
			ai, ad := approx.Row(i)
			if ai[0] == ei[0] && ad[0] != ed[0] {
				t.Fatalf("%v: row %d: nearest %d at %v, exact %v", metric, i, ai[0], ad[0], ed[0])
			}
			for _, j := range ai {
				if j == i {
					t.Fatalf("%v: row %d is its own neighbour", metric, i)
				}
			}
		}
	}
}

func TestKNNChoosesApproximateAboveExactWork(t *testing.T) {
	if (KNNOptions{}).approximate(250000, 128) || !(KNNOptions{}).approximate(1000000, 128) {
		t.Error("the default should be exact at 250,000 x 128 and approximate at 1,000,000 x 128")
	}
	if (KNNOptions{Exact: true}).approximate(1000000, 128) {
		t.Error("Exact should force the exact search")
	}
	if (KNNOptions{Approximate: true}).approximate(ivfMinRows-1, 8) {
		t.Error("a search below ivfMinRows should stay exact")
	}
}

func TestKNNMemoryBound(t *testing.T) {
	v := make([]float32, 2000*16)
	for i := range v {
		v[i] = float32(i % 97)
	}
	_, err := KNNWith(context.Background(), v, 2000, 16, 3, Euclidean, KNNOptions{Memory: 1 << 20})
	if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "candidate lists") || !strings.Contains(err.Error(), "2000 x 16") {
		t.Fatalf("err = %v, want ErrMemory naming the sizes and the parts", err)
	}
	big, _ := planKNN(100000, 128, 3, Cosine, false, false, 0)
	bound := big.need() - 2<<20
	p, err := planKNN(100000, 128, 3, Cosine, false, false, bound)
	if err != nil || p.block >= knnBlockRows {
		t.Errorf("a bound 2 MiB below the plan: block %d, err %v; want a smaller block that fits", p.block, err)
	}
	if big.block != knnBlockRows || p.need() > bound || big.need() <= p.need() {
		t.Errorf("plans: unbounded %d rows (%d bytes), bounded %d rows (%d bytes)", big.block, big.need(), p.block, p.need())
	}
	for s, want := range map[string]int64{"2GB": 2 << 30, "512 mb": 512 << 20, "1.5GiB": 3 << 29, "1000": 1000} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "lots", "-1GB", "0", "NaNGB"} {
		if _, err := ParseBytes(s); !errors.Is(err, ErrOption) {
			t.Errorf("ParseBytes(%q): err = %v, want ErrOption", s, err)
		}
	}
}
