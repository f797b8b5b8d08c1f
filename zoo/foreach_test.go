package zoo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// A panic while one image is made fails the whole run with
// db.ErrInternal; it does not end the process.
func TestForEachPanicBecomesAnError(t *testing.T) {
	err := forEach(context.Background(), 50, func(i int) error {
		if i == 17 {
			panic("image 17 broke")
		}
		return nil
	}, func() {})
	if !errors.Is(err, db.ErrInternal) || !strings.Contains(err.Error(), "image 17 broke") {
		t.Fatalf("forEach with a panicking image: %v, want db.ErrInternal", err)
	}
}
