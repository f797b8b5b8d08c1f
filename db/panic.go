package db

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrInternal wraps a panic recovered inside fosql: in a statement or in
// any goroutine a statement started. A bug then fails the statement with
// this error (and the stack, for a report) instead of taking down the
// program that embeds the database.
var ErrInternal = errors.New("internal error")

// Recovered turns a value recovered from a panic into an error wrapping
// ErrInternal, with the panic's message and the goroutine's stack. Every
// goroutine that fosql starts for a statement recovers with it and hands
// the error to the statement:
//
//	defer func() {
//		if r := recover(); r != nil {
//			errc <- db.Recovered(r)
//		}
//	}()
func Recovered(r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("%w: %w\n%s", ErrInternal, err, debug.Stack())
	}
	return fmt.Errorf("%w: %v\n%s", ErrInternal, r, debug.Stack())
}
