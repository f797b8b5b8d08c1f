package query

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/queuetest"
)

// SET queue sends the brain jobs of a session (COMPUTE DUPLICATES here) to
// the queue's workers; SET queue = off brings them back. The driver's data
// source takes the setting too.
func TestQueueSetting(t *testing.T) {
	if err := brain.InitRuntime(); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	url := queuetest.Server(t)
	ctx, stop := context.WithCancel(context.Background())
	var log strings.Builder
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return log.Write(p) })
		if err := brain.RunWorker(ctx, brain.WorkerOptions{URL: url, Log: w}); err != nil {
			t.Error(err)
		}
	}()
	defer func() { stop(); wg.Wait() }()

	dir := filepath.Join(t.TempDir(), "img")
	writePNGs(t, dir, 20)
	var details []string
	d, err := Open(":memory:", &Options{Progress: func(p Progress) {
		if p.Detail != "" {
			mu.Lock()
			details = append(details, p.Phase+": "+p.Detail)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, "CREATE DATASET w FROM IMAGES '"+dir+"'"); err != nil {
		t.Fatal(err)
	}
	r, err := d.Exec(ctx, "SET queue = '"+url+"'")
	if err != nil || r.Message != "queue is "+url {
		t.Fatalf("SET queue: %v %+v", err, r)
	}
	if _, err := d.Exec(ctx, "COMPUTE DUPLICATES ON w WITH (batch = 8)"); err != nil {
		t.Fatal(err)
	}
	// A computed column brought up to date reuses the embeddings the
	// workers made.
	if _, err := d.Query(ctx, "SELECT count(*) FROM w WHERE insights.uniqueness.scalar >= 0"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := strings.Join(details, "\n")
	batches := strings.Count(log.String(), "samples\n")
	mu.Unlock()
	if !strings.Contains(got, "queue: 3 batches sent, 0 redelivered") || batches != 3 {
		t.Fatalf("the duplicates job did not go through the queue (%d batches):\n%s", batches, got)
	}
	if r, err := d.Exec(ctx, "SET queue = off"); err != nil || !strings.Contains(r.Message, "off") {
		t.Fatalf("SET queue = off: %v %+v", err, r)
	}
	for _, bad := range []string{"SET queue = 'http://x:1'", "SET queue = 3", "COMPUTE UNIQUENESS ON w WITH (queue = 'nats://127.0.0.1:1', batch = 0)"} {
		if _, err := d.Exec(ctx, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// batch without a queue is refused rather than ignored.
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON w WITH (batch = 8, k = 2)"); !errors.Is(err, brain.ErrOption) {
		t.Errorf("batch without a queue: %v", err)
	}
	if _, o, err := parseDSN("/x/db?queue=" + url); err != nil || o.Queue != url {
		t.Errorf("DSN queue: %+v %v", o, err)
	}
	if _, _, err := parseDSN("/x/db?queue=ftp://x"); err == nil {
		t.Error("DSN with a bad queue: no error")
	}
}

// writerFunc adapts a function to io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// SET DATABASE queue keeps the queue in the database, so later sessions
// and processes send their brain jobs there without repeating it; SET
// queue = off in one session leaves the stored setting alone.
func TestQueueDatabaseSetting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	open := func() *DB {
		d, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ctx := context.Background()
	const url = "nats://127.0.0.1:4222"
	d := open()
	if got := d.NewSession().Queue(); got != "" {
		t.Fatalf("a new database's queue = %q", got)
	}
	r, err := d.Exec(ctx, "SET DATABASE queue = '"+url+"'")
	if err != nil || !strings.Contains(r.Message, "every session") {
		t.Fatalf("SET DATABASE queue: %v %+v", err, r)
	}
	if _, err := d.Exec(ctx, "SET DATABASE auto_compute = off"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SET DATABASE auto_compute: %v", err)
	}
	d.Close()

	d = open()
	s := d.NewSession()
	if got := s.Queue(); got != url {
		t.Fatalf("after reopening, a session's queue = %q, want %q", got, url)
	}
	if _, err := s.Exec(ctx, "SET queue = off"); err != nil {
		t.Fatal(err)
	}
	if got := d.NewSession().Queue(); got != url {
		t.Errorf("SET queue = off in one session changed the stored queue: %q", got)
	}
	if _, err := d.Exec(ctx, "SET DATABASE queue = off"); err != nil {
		t.Fatal(err)
	}
	if got := d.NewSession().Queue(); got != "" {
		t.Errorf("after SET DATABASE queue = off a session's queue = %q", got)
	}
	d.Close()
}
