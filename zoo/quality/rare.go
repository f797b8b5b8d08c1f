package quality

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
)

// Pool is one rare-content trial: Size rows of one class and one row of
// another (Odd), as rows of a candidate list.
type Pool struct {
	Name string // "majority vs odd" classes
	Rows []int
	Odd  int // the odd row (also in Rows)
}

// RarePools draws count pools of size samples of one class plus one of
// another from candidates, seeded. A pool's majority class cycles over the
// classes that have at least size samples, listed in order; its odd class
// is drawn from the others. oddFrom, when not nil, restricts the odd class
// to those for which it returns true (and the majority to the others).
func RarePools(candidates []Original, size, count int, seed uint64, oddFrom func(label string) bool) ([]Pool, error) {
	byClass := map[string][]int{}
	for i, c := range candidates {
		byClass[c.Label] = append(byClass[c.Label], i)
	}
	var big, odd []string
	for label, rows := range byClass {
		isOdd := oddFrom != nil && oddFrom(label)
		if !isOdd && len(rows) >= size {
			big = append(big, label)
		}
		if isOdd || oddFrom == nil {
			odd = append(odd, label)
		}
	}
	sort.Strings(big)
	sort.Strings(odd)
	if len(big) == 0 || len(odd) == 0 || (len(odd) == 1 && oddFrom == nil) {
		return nil, fmt.Errorf("quality: rare content needs a class of %d samples and another class (have %d classes of that size)", size, len(big))
	}
	r := rand.New(rand.NewPCG(seed, 0x0dd))
	pools := make([]Pool, 0, count)
	for p := range count {
		major := big[p%len(big)]
		other := odd[r.IntN(len(odd))]
		for other == major {
			other = odd[r.IntN(len(odd))]
		}
		rows := byClass[major]
		pick := r.Perm(len(rows))[:size]
		pool := Pool{Name: major + " vs " + other}
		for _, j := range pick {
			pool.Rows = append(pool.Rows, rows[j])
		}
		o := byClass[other]
		pool.Odd = o[r.IntN(len(o))]
		pool.Rows = append(pool.Rows, pool.Odd)
		pools = append(pools, pool)
	}
	return pools, nil
}

// RareFigures are a method's rare-content results.
type RareFigures struct {
	Method string
	Pools  int
	// Top5 counts the pools whose odd sample is among the 5 most unique.
	Top5 int
	// RankSum adds up the odd sample's rank (1: the most unique).
	RankSum int
}

// EvaluateRare scores every pool on its own (a pool is a dataset: its
// uniqueness is computed over its rows only) and finds the odd sample's
// rank by uniqueness, most unique first. s holds the candidates.
func EvaluateRare(ctx context.Context, method string, s *Space, pools []Pool) (*RareFigures, error) {
	f := &RareFigures{Method: method, Pools: len(pools)}
	for _, p := range pools {
		sub := subspace(s, p.Rows)
		r, err := Rank(ctx, sub)
		if err != nil {
			return nil, err
		}
		odd := len(p.Rows) - 1
		rank := 1
		for i, sc := range r.Scores {
			if i != odd && sc >= r.Scores[odd] {
				rank++
			}
		}
		f.RankSum += rank
		if rank <= 5 {
			f.Top5++
		}
	}
	return f, nil
}

// subspace is the rows of s, in the order given.
func subspace(s *Space, rows []int) *Space {
	out := &Space{N: len(rows), Dim: s.Dim}
	for _, i := range rows {
		if s.Hashes != nil {
			out.Hashes = append(out.Hashes, s.Hashes[i])
		} else {
			out.Vectors = append(out.Vectors, s.Vectors[i*s.Dim:(i+1)*s.Dim]...)
		}
	}
	return out
}
