package brain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestInitRuntimeConcurrentAndIdempotent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = InitRuntime()
		}(i)
	}
	wg.Wait()
	for _, err := range errs[1:] {
		if (err == nil) != (errs[0] == nil) {
			t.Fatalf("concurrent InitRuntime disagree: %v", errs)
		}
	}
	needRuntime(t)
	if RuntimeLibrary() == "" {
		t.Error("RuntimeLibrary empty after a successful InitRuntime")
	}
	if err := InitRuntime(); err != nil {
		t.Errorf("second InitRuntime: %v", err)
	}
}

func TestRuntimeCandidates(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv(EnvRuntimeLib, "")
	paths, explicit := runtimeCandidates()
	if explicit || slices.Contains(paths, filepath.Join(cache, "fosql", "onnxruntime", ORTVersion, "libonnxruntime.so")) {
		t.Fatalf("empty cache listed: %v", paths)
	}
	if !slices.Contains(paths, "libonnxruntime.so") || !slices.Contains(paths, "libonnxruntime.so.1") {
		t.Errorf("system names missing: %v", paths)
	}
	lib := filepath.Join(cache, "fosql", "onnxruntime", ORTVersion, "libonnxruntime.so")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if paths, _ := runtimeCandidates(); len(paths) == 0 || paths[0] != lib {
		t.Errorf("cache not first: %v", paths)
	}
	t.Setenv(EnvRuntimeLib, "/opt/ort/libonnxruntime.so")
	if paths, explicit := runtimeCandidates(); !explicit || len(paths) != 1 || paths[0] != "/opt/ort/libonnxruntime.so" {
		t.Errorf("environment variable not honoured alone: %v %v", paths, explicit)
	}
}

// TestInitRuntimeMissingLibrary runs itself in a child process whose
// FOSQL_ONNXRUNTIME_LIB names a missing file: InitRuntime must fail with
// ErrRuntimeNotFound and a message naming `make setup`.
func TestInitRuntimeMissingLibrary(t *testing.T) {
	if os.Getenv("FOSQL_BRAIN_CHILD") == "missing-lib" {
		err := InitRuntime()
		if !errors.Is(err, ErrRuntimeNotFound) || !strings.Contains(err.Error(), "make setup") {
			fmt.Printf("bad error: %v\n", err)
			os.Exit(3)
		}
		if err2 := InitRuntime(); !errors.Is(err2, ErrRuntimeNotFound) {
			fmt.Printf("second call: %v\n", err2)
			os.Exit(4)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInitRuntimeMissingLibrary$")
	cmd.Env = append(os.Environ(), "FOSQL_BRAIN_CHILD=missing-lib", EnvRuntimeLib+"="+filepath.Join(t.TempDir(), "libonnxruntime.so"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
