package brain

import (
	"os"
	"path/filepath"
	"slices"
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
