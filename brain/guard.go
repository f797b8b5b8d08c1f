package brain

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/fosql/fosql/db"
)

// ErrBadVector is wrapped by the errors about a vector that holds a value
// no distance can be computed on: NaN, an infinity, or a number beyond
// float32's range (it would become an infinity once stored as float32).
var ErrBadVector = errors.New("embeddings must be finite numbers within float32 range")

// checkElement returns an error wrapping ErrBadVector when x cannot be an
// embedding value.
func checkElement(x float64) error {
	switch {
	case math.IsNaN(x):
		return fmt.Errorf("is NaN (%w)", ErrBadVector)
	case math.IsInf(x, 0):
		return fmt.Errorf("is %v (%w)", x, ErrBadVector)
	case math.Abs(x) > math.MaxFloat32:
		return fmt.Errorf("is %g, beyond float32's range of ±3.4e+38 (%w)", x, ErrBadVector)
	}
	return nil
}

// CheckVector checks every value of one vector before it is used as an
// embedding: each must be finite and within float32's range. The error
// names the first bad element by index and wraps ErrBadVector; callers add
// the sample and field it came from.
func CheckVector(v []float64) error {
	for j, x := range v {
		if err := checkElement(x); err != nil {
			return fmt.Errorf("element %d %w", j, err)
		}
	}
	return nil
}

// CheckVectors checks rows of d float32 values, as CheckVector does; name
// says which row the first bad value is in (a sample id, an item).
func CheckVectors(v []float32, d int, name func(row int) string) error {
	for i, x := range v {
		if err := checkElement(float64(x)); err != nil {
			return fmt.Errorf("%s: element %d %w", name(i/d), i%d, err)
		}
	}
	return nil
}

// firstError gathers the outcome of a group of goroutines: the first error
// one of them reports, or the first panic one of them recovers, as an error
// wrapping db.ErrInternal. Its zero value is ready to use.
type firstError struct {
	mu  sync.Mutex
	err error
}

// set records err unless an error is already recorded.
func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// get returns the recorded error, or nil.
func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// recoverPanic is deferred first thing by every goroutine of the group: it
// turns a panic of the goroutine into the group's error instead of the end
// of the program.
func (f *firstError) recoverPanic() {
	if r := recover(); r != nil {
		f.set(db.Recovered(r))
	}
}
