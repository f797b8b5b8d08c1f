package brain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release whose shared library fosql's set-up
// (`make setup`) caches, and the oldest one onnxruntime_go v1.27.0 accepts.
const ORTVersion = "1.24.1"

// EnvRuntimeLib names the environment variable that, when set, gives the
// path of ONNX Runtime's shared library and takes precedence over the cache
// and the system paths.
const EnvRuntimeLib = "FOSQL_ONNXRUNTIME_LIB"

// ErrRuntimeNotFound is returned (wrapped) by InitRuntime when no ONNX
// Runtime shared library can be found or loaded. Its message names the set-up
// command that installs one.
var ErrRuntimeNotFound = errors.New("brain: ONNX Runtime shared library not found (run `make setup`, or set " + EnvRuntimeLib + " to libonnxruntime.so)")

var runtimeState struct {
	mu   sync.Mutex
	done bool
	path string
}

// InitRuntime loads ONNX Runtime's shared library and creates its process-wide
// environment. It is safe to call from many goroutines and cheap after the
// first success, which is remembered; a failure is not, so a later call
// (for example after `make setup`) tries again.
//
// The library is looked for, in order, at the path in FOSQL_ONNXRUNTIME_LIB,
// in fosql's cache ${XDG_CACHE_HOME:-$HOME/.cache}/fosql/onnxruntime/1.24.1/
// libonnxruntime.so, and as libonnxruntime.so / libonnxruntime.so.1 through
// the dynamic loader's usual search path. Nothing is loaded at package
// initialisation: only a brain job calls this.
func InitRuntime() error {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if runtimeState.done {
		return nil
	}
	if ort.IsInitialized() {
		// Someone else in the process set ORT up; use it.
		runtimeState.done = true
		return nil
	}
	candidates, explicit := runtimeCandidates()
	var tried []string
	for _, c := range candidates {
		ort.SetSharedLibraryPath(c)
		err := ort.InitializeEnvironment(ort.WithLogLevelError())
		if err == nil {
			runtimeState.done = true
			runtimeState.path = c
			return nil
		}
		if explicit {
			return fmt.Errorf("%w: %s=%s: %v", ErrRuntimeNotFound, EnvRuntimeLib, c, err)
		}
		tried = append(tried, fmt.Sprintf("%s: %v", c, err))
	}
	return fmt.Errorf("%w; tried: %s", ErrRuntimeNotFound, strings.Join(tried, "; "))
}

// RuntimeLibrary reports the path of the ONNX Runtime library that
// InitRuntime loaded, or "" before a successful InitRuntime.
func RuntimeLibrary() string {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	return runtimeState.path
}

// runtimeCandidates lists the library paths to try in order. explicit is true
// when the environment variable names one: then only that one is tried, so a
// typo is reported instead of silently falling back.
func runtimeCandidates() (paths []string, explicit bool) {
	if p := os.Getenv(EnvRuntimeLib); p != "" {
		return []string{p}, true
	}
	if p := cachedRuntimePath(); p != "" {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			paths = append(paths, p)
		}
	}
	// Bare names make dlopen search LD_LIBRARY_PATH, the ld.so cache and the
	// default directories.
	switch runtime.GOOS {
	case "darwin":
		paths = append(paths, "libonnxruntime.dylib")
	default:
		paths = append(paths, "libonnxruntime.so", "libonnxruntime.so.1")
	}
	return paths, false
}

// cachedRuntimePath is where scripts/setup-onnxruntime.sh puts the library.
func cachedRuntimePath() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "fosql", "onnxruntime", ORTVersion, "libonnxruntime.so")
}

// sessionConfig describes how a session uses the machine's cores.
type sessionConfig struct {
	// threads is ORT's intra-op thread count; 0 lets ORT choose.
	threads int
	// spin lets ORT's worker threads spin between calls. Off for sessions
	// that run beside Go goroutines doing real work (image decoding).
	spin bool
	// noLayoutOpt stops at ORT's "extended" graph optimisations, skipping
	// the layout transformation to blocked NCHWc. That transformation pays
	// off for real CNNs but, for the built-in descriptor's many thin
	// convolutions, the reordering costs more than it saves (1.8x slower).
	noLayoutOpt bool
}

// newSessionOptions builds ORT session options from cfg. The caller destroys
// them after creating the session.
func newSessionOptions(cfg sessionConfig) (*ort.SessionOptions, error) {
	o, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("brain: session options: %w", err)
	}
	fail := func(err error) (*ort.SessionOptions, error) {
		o.Destroy()
		return nil, fmt.Errorf("brain: session options: %w", err)
	}
	if cfg.threads > 0 {
		if err := o.SetIntraOpNumThreads(cfg.threads); err != nil {
			return fail(err)
		}
	}
	if err := o.SetInterOpNumThreads(1); err != nil {
		return fail(err)
	}
	if cfg.noLayoutOpt {
		if err := o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended); err != nil {
			return fail(err)
		}
	}
	spin := "0"
	if cfg.spin {
		spin = "1"
	}
	if err := o.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		return fail(err)
	}
	return o, nil
}
