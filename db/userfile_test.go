package db

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenUserFileRefusesWhatCouldBlock(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "a.bin")
	if err := os.WriteFile(regular, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		max  int64
		want error
	}{
		{"regular", regular, 0, nil},
		{"regular within the bound", regular, 100, nil},
		{"regular over the bound", regular, 99, ErrFileTooLarge},
		{"named pipe", fifo, 0, ErrNotRegular},
		{"link to a device", zero, 0, ErrNotRegular},
		{"directory", dir, 0, syscall.EISDIR},
		{"missing", filepath.Join(dir, "nope"), 0, os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				data, err := ReadUserFile(c.path, c.max)
				if err == nil && len(data) != 100 {
					t.Errorf("read %d bytes, want 100", len(data))
				}
				done <- err
			}()
			select {
			case err := <-done:
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("ReadUserFile(%s) = %v, want %v", c.name, err, c.want)
				}
				if err != nil && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), c.path) {
					t.Errorf("error %q does not name %s", err, c.path)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadUserFile(%s) blocked", c.name)
			}
		})
	}
}
