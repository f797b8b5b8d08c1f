package brain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
)

// TestFIFOInPlaceOfAnImageIsSkipped: a named pipe where an image was is a
// skip naming the file, at once, not a read that waits for a writer.
func TestFIFOInPlaceOfAnImageIsSkipped(t *testing.T) {
	needRuntime(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := t.TempDir()
	good, fifo := filepath.Join(dir, "good.jpg"), filepath.Join(dir, "pipe.png")
	if err := os.WriteFile(good, noiseJPEG(3, 40, 30), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	var emb *Embeddings
	go func() {
		defer close(done)
		emb, err = Embed(context.Background(), m, []Item{{ID: "good", Media: File(good)}, {ID: "pipe", Media: File(fifo)}}, EmbedOptions{})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Embed is blocked on a FIFO")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.IDs) != 1 || len(emb.Skipped) != 1 || emb.Skipped[0].ID != "pipe" {
		t.Fatalf("embedded %v, skipped %v", emb.IDs, emb.Skipped)
	}
	if err := emb.Skipped[0].Err; !errors.Is(err, db.ErrNotRegular) || !strings.Contains(err.Error(), fifo) {
		t.Fatalf("skip reason %v, want db.ErrNotRegular naming %s", err, fifo)
	}
}

// TestModelFileMustBeRegular: a model path linked to /dev/zero, or a FIFO,
// is an error at once (not a read until memory runs out), and so is a spec
// file that is a FIFO.
func TestModelFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.onnx")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	spec := ModelSpec{Name: "zero", Path: zero, Width: 32, Height: 32}
	if _, err := LoadModel(spec); !errors.Is(err, db.ErrNotRegular) || !strings.Contains(err.Error(), zero) {
		t.Fatalf("LoadModel: %v, want db.ErrNotRegular naming %s", err, zero)
	}
	if _, _, _, err := (ComputeOptions{Model: &spec}).want(); !errors.Is(err, db.ErrNotRegular) {
		t.Fatalf("ComputeOptions.want: %v, want db.ErrNotRegular", err)
	}
	piped := filepath.Join(dir, "piped.onnx")
	if err := os.WriteFile(piped, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(piped+".json", 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := SpecBeside(piped); !errors.Is(err, db.ErrNotRegular) {
		t.Fatalf("SpecBeside with a FIFO spec: %v, want db.ErrNotRegular", err)
	}
}
