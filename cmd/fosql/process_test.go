package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run fosql as a separate process — the test binary
// itself, started again with processEnv set — so that what they check is
// what a user sees: the exit status, stderr, and that a bug in any
// goroutine cannot take the process down without the test noticing.
const processEnv = "FOSQL_TEST_RUN_AS_SHELL"

func TestMain(m *testing.M) {
	if os.Getenv(processEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fosqlProcess runs the shell in a child process with args, under a time
// limit, and returns its exit status and output. A Go panic or runtime
// fatal error in the output fails the test.
func fosqlProcess(t testing.TB, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), processEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("fosql %s: no answer within %s; stderr: %s", strings.Join(args, " "), limit, tail(errb.String()))
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	for _, crash := range []string{"panic: ", "fatal error: ", "goroutine 1 ["} {
		if strings.Contains(errb.String(), crash) {
			t.Fatalf("fosql %s crashed (exit %d):\n%s", strings.Join(args, " "), code, tail(errb.String()))
		}
	}
	return code, out.String(), errb.String()
}

// tail is the end of a long output, for failure messages.
func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// processDB makes a database holding dataset w of n small images, through
// a fosql process, and returns its directory and the image folder.
func processDB(t *testing.T, n int) (dbDir, imgDir string) {
	t.Helper()
	imgDir = writePNGs(t, n)
	dbDir = filepath.Join(t.TempDir(), "db")
	if code, _, errs := fosqlProcess(t, time.Minute, "-db", dbDir, "-e", "CREATE DATASET w FROM IMAGES '"+imgDir+"'"); code != 0 {
		t.Fatalf("CREATE DATASET: exit %d: %s", code, errs)
	}
	return dbDir, imgDir
}

// storeDigests maps every file of the database's store to its sha256.
func storeDigests(t *testing.T, dbDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dbDir, "store", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return out
}

// largestTable is the store's largest .sst file.
func largestTable(t *testing.T, dbDir string) string {
	t.Helper()
	tables, _ := filepath.Glob(filepath.Join(dbDir, "store", "*.sst"))
	if len(tables) == 0 {
		t.Fatal("the store has no table file")
	}
	sort.Slice(tables, func(i, j int) bool { return fileSize(t, tables[i]) > fileSize(t, tables[j]) })
	return tables[0]
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// A damaged store is an error that names the damaged file; the process
// neither panics nor writes anything.
func TestProcessDamagedStoreIsAnError(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dbDir string) string // returns the file it damaged
	}{
		{"MANIFEST cut to half", func(t *testing.T, dbDir string) string {
			m := filepath.Join(dbDir, "store", "MANIFEST")
			if err := os.Truncate(m, fileSize(t, m)/2); err != nil {
				t.Fatal(err)
			}
			return "MANIFEST"
		}},
		{"table cut to half", func(t *testing.T, dbDir string) string {
			sst := largestTable(t, dbDir)
			if err := os.Truncate(sst, fileSize(t, sst)/2); err != nil {
				t.Fatal(err)
			}
			return filepath.Base(sst)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbDir, _ := processDB(t, 3)
			name := c.damage(t, dbDir)
			before := storeDigests(t, dbDir)
			code, out, errs := fosqlProcess(t, time.Minute, "-db", dbDir, "-e", "SELECT count(*) FROM w")
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q, stderr %q", code, out, errs)
			}
			if !strings.Contains(errs, name) {
				t.Errorf("the error does not name %s: %s", name, errs)
			}
			if strings.Contains(errs, "unknown dataset") {
				t.Errorf("a damaged store opened as an empty one: %s", errs)
			}
			after := storeDigests(t, dbDir)
			for f, sum := range before {
				if after[f] != sum {
					t.Errorf("opening the damaged store changed %s", f)
				}
			}
			for f := range after {
				if _, ok := before[f]; !ok {
					t.Errorf("opening the damaged store wrote %s", f)
				}
			}
		})
	}
}

// A FIFO where an image was, or a model that is a link to /dev/zero: the
// statement ends, names the file, and nothing blocks.
func TestProcessNonRegularFilesDoNotBlock(t *testing.T) {
	dbDir, imgDir := processDB(t, 4)
	fifo := filepath.Join(imgDir, "imgb.png")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	code, _, errs := fosqlProcess(t, time.Minute, "-db", dbDir, "-e", "SELECT filepath, insights.uniqueness.scalar FROM w")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, fifo) {
		t.Errorf("stderr does not name the FIFO %s: %s", fifo, errs)
	}

	model := filepath.Join(t.TempDir(), "zero.onnx")
	if err := os.Symlink("/dev/zero", model); err != nil {
		t.Fatal(err)
	}
	spec := `{"name":"zero","width":32,"height":32,"layout":"NCHW","channels":"RGB","mean":[0,0,0],"std":[1,1,1]}`
	if err := os.WriteFile(model+".json", []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = fosqlProcess(t, 30*time.Second, "-db", dbDir, "-e", "COMPUTE UNIQUENESS ON w WITH (model = '"+model+"')")
	if code != 1 {
		t.Fatalf("model = a link to /dev/zero: exit %d, want 1: %s", code, errs)
	}
	if !strings.Contains(errs, model) {
		t.Errorf("the error does not name the model file %s: %s", model, errs)
	}
}
