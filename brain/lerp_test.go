package brain

import (
	"math/rand/v2"
	"testing"
)

// TestLerpRow checks the interpolation against the plain loop, bit for bit,
// for every length around the four-lane blocks.
func TestLerpRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 40; n++ {
		r0, r1, out := make([]float32, n+3), make([]float32, n+5), make([]float32, n)
		for i := range r0 {
			r0[i] = rng.Float32()*4 - 2
		}
		for i := range r1 {
			r1[i] = rng.Float32()*4 - 2
		}
		w := rng.Float32()
		lerpRow(out, r0, r1, w)
		for i := range out {
			if want := r0[i] + (r1[i]-r0[i])*w; out[i] != want {
				t.Fatalf("n=%d: out[%d] = %v, want %v", n, i, out[i], want)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a short row did not panic")
		}
	}()
	lerpRow(make([]float32, 4), make([]float32, 3), make([]float32, 4), 0.5)
}
