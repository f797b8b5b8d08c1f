package brain

import (
	"errors"
	"testing"
)

// needRuntime skips the test when ONNX Runtime's library is genuinely absent
// and fails it on any other initialisation error.
func needRuntime(t testing.TB) {
	t.Helper()
	if err := InitRuntime(); err != nil {
		if errors.Is(err, ErrRuntimeNotFound) {
			t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
		}
		t.Fatalf("InitRuntime: %v", err)
	}
}
