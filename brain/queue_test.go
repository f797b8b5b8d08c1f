package brain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fosql/fosql/brain/queuetest"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// startNATS starts an in-process NATS server with JetStream in a temp
// directory and returns its URL.
func startNATS(t testing.TB) string { return queuetest.Server(t) }

// workerConn connects to the queue as a worker does, until the test ends.
func workerConn(t testing.TB, url string) (*nats.Conn, jetstream.JetStream, jetstream.Consumer) {
	t.Helper()
	ctx := context.Background()
	nc, js, err := connectQueue(url, "test worker", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := ensureStreams(ctx, nc, js); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, workStream, workerConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, cons
}

// queueDatasets ingests the same n images (one unreadable) into two
// datasets of one store: one for a local run, one for a queue run.
func queueDatasets(t *testing.T, n int) (local, dist *db.Dataset) {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	if err := os.Mkdir(img, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		b := noiseJPEG(uint64(i%(n-3)), 48+i%5, 40) // a few near-copies
		if err := os.WriteFile(filepath.Join(img, fmt.Sprintf("%03d.jpg", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var out [2]*db.Dataset
	for k, name := range []string{"local", "dist"} {
		ds, err := d.CreateDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ds.AddImages(context.Background(), img, db.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
		out[k] = ds
	}
	// One sample whose file is gone by the time the job runs: skipped by
	// the workers as by a local run.
	if err := os.WriteFile(filepath.Join(img, "000.jpg"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return out[0], out[1]
}

// byPath reads each sample's uniqueness score by filepath.
func byPath(t *testing.T, ds *db.Dataset) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for s, err := range ds.Samples(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if v := s.Get("insights.uniqueness.scalar"); !v.IsMissing() {
			out[s.Filepath()] = v.AsFloat()
		}
	}
	return out
}

func sameScores(t *testing.T, want, got map[string]float64) {
	t.Helper()
	if len(want) == 0 || len(want) != len(got) {
		t.Fatalf("%d scores locally, %d through the queue", len(want), len(got))
	}
	for p, w := range want {
		g, ok := got[p]
		if !ok || math.Abs(w-g) > 1e-5 {
			t.Fatalf("%s: local %v, queue %v (present %v)", p, w, g, ok)
		}
	}
}

// startWorkers runs n workers until the test ends.
func startWorkers(t *testing.T, url string, n int) *syncLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncLog{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := RunWorker(ctx, WorkerOptions{URL: url, Name: fmt.Sprintf("w%d", i), Log: log}); err != nil {
				t.Error(err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return log
}

// syncLog is a log writer safe for several workers.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// progressLog keeps a job's progress reports.
type progressLog struct {
	mu  sync.Mutex
	all []insights.Progress
}

func (p *progressLog) add(pr insights.Progress) {
	p.mu.Lock()
	p.all = append(p.all, pr)
	p.mu.Unlock()
}

// detail returns the last detail of phase.
func (p *progressLog) detail(phase string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.all) - 1; i >= 0; i-- {
		if p.all[i].Phase == phase && p.all[i].Detail != "" {
			return p.all[i].Detail
		}
	}
	return ""
}

func TestQueueJobEqualsLocalRun(t *testing.T) {
	needRuntime(t)
	url := startNATS(t)
	local, dist := queueDatasets(t, 40)
	ctx := context.Background()
	if _, err := ComputeUniqueness(ctx, local, ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	log := startWorkers(t, url, 2)
	var pl progressLog
	var skipped []string
	res, err := ComputeUniqueness(ctx, dist, ComputeOptions{Queue: QueueOptions{URL: url, Batch: 8}, Progress: pl.add,
		OnSkip: func(_ db.ID, p string, _ error) { skipped = append(skipped, filepath.Base(p)) }})
	if err != nil {
		t.Fatal(err)
	}
	sameScores(t, byPath(t, local), byPath(t, dist))
	if res.Embedded != 39 || res.Skipped != 1 || len(skipped) != 1 || skipped[0] != "000.jpg" {
		t.Fatalf("embedded %d, skipped %d %v; want 39 and 000.jpg", res.Embedded, res.Skipped, skipped)
	}
	if d := pl.detail("queue"); !strings.Contains(d, "5 batches sent, 0 redelivered") {
		t.Fatalf("closing line %q", d)
	}
	// A worker logs a batch after its acknowledgement comes back, which
	// can be after the job has all its replies: wait for the lines.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(log.String(), "samples\n") < 5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(log.String(), "samples\n"); n != 5 {
		t.Fatalf("workers logged %d batches, want 5:\n%s", n, log)
	}
	// The job's state is gone with the switch-over; a second run is
	// fresh and embeds nothing.
	parts, err := dist.JobState(ctx, queueJobName(UniquenessGroup, res.Run.Model))
	if err != nil || len(parts) != 0 {
		t.Fatalf("job state after the run: %d parts, %v", len(parts), err)
	}
}

// TestQueueJobOtherBuiltin runs a queue job with the built-in descriptor
// that is not the default: workers build it by its name, and the scores
// equal a local run's.
func TestQueueJobOtherBuiltin(t *testing.T) {
	needRuntime(t)
	url := startNATS(t)
	local, dist := queueDatasets(t, 24)
	ctx := context.Background()
	spec, ok := BuiltinSpec(DescriptorShortName)
	if !ok || spec.Name == DefaultModelSpec().Name {
		t.Fatalf("BuiltinSpec(%q) = %+v, %v; want descriptor-v1", DescriptorShortName, spec, ok)
	}
	v1 := ComputeOptions{Model: &spec, ModelName: spec.Name}
	want, err := ComputeUniqueness(ctx, local, v1)
	if err != nil {
		t.Fatal(err)
	}
	startWorkers(t, url, 1)
	v1.Queue = QueueOptions{URL: url, Batch: 8}
	got, err := ComputeUniqueness(ctx, dist, v1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Run.Model != want.Run.Model || got.Run.Model != descriptorV1.identity {
		t.Fatalf("queue run of model %s, local run of %s; descriptor-v1 is %s", got.Run.Model, want.Run.Model, descriptorV1.identity)
	}
	sameScores(t, byPath(t, local), byPath(t, dist))
}

func TestQueueNoWorkerSaysSoAndCancels(t *testing.T) {
	needRuntime(t)
	url := startNATS(t)
	_, dist := queueDatasets(t, 12)
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	var pl progressLog
	_, err := ComputeUniqueness(ctx, dist, ComputeOptions{Queue: QueueOptions{URL: url, Batch: 4}, Progress: pl.add})
	if !errors.Is(err, ErrNoWorker) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want no worker and the deadline", err)
	}
	if d := pl.detail("embed"); !strings.Contains(d, "no worker available") {
		t.Fatalf("progress detail %q does not say no worker is available", d)
	}
	if got := byPath(t, dist); len(got) != 0 {
		t.Fatalf("a cancelled job left %d scores", len(got))
	}
	// Nothing was embedded here: no embedding is stored.
	want, _, _, err := ComputeOptions{}.want()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := dist.ScanEmbeddings(context.Background(), want.Model, func(db.ID, []float32) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d embeddings stored by a job with no worker (%v)", n, err)
	}
	// Auto-compute leaves the stopped job to its workers: a query reads
	// the stored values instead of embedding here, unless it names a
	// queue itself.
	why, err := (&Provider{}).Defer(context.Background(), dist, insights.Request{})
	if err != nil || !strings.Contains(why, "queue job waits for workers (0 of 3 batches stored)") {
		t.Fatalf("Defer = %q, %v", why, err)
	}
	if why, _ := (&Provider{}).Defer(WithQueue(context.Background(), QueueOptions{URL: url}), dist, insights.Request{}); why != "" {
		t.Fatalf("Defer with a queue = %q", why)
	}
	// Its batches left the work stream with it.
	_, js, err := connectQueue(url, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), workStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Fatalf("work stream holds %v messages after the cancel (%v)", info.State.Msgs, err)
	}
}

// TestQueueRedeliveredBatchStoredOnce: a worker that dies after sending
// its reply but before its ack, and one that dies mid-batch, each leave a
// batch that is redelivered; the job ends equal to a local run, each
// batch stored once.
func TestQueueRedeliveredBatchStoredOnce(t *testing.T) {
	needRuntime(t)
	defer func(w time.Duration) { ackWait = w }(ackWait)
	ackWait = time.Second
	url := startNATS(t)
	local, dist := queueDatasets(t, 24)
	ctx := context.Background()
	if _, err := ComputeUniqueness(ctx, local, ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	// The dying workers take the first two batches as soon as they are
	// published.
	nc, js, cons := workerConn(t, url)
	took := make(chan struct{})
	go func() {
		defer close(took)
		w := &worker{o: WorkerOptions{Name: "dying", Log: &syncLog{}}, nc: nc, js: js}
		models := map[string]*Model{}
		// Two distinct batches: the first one may come back (its ack wait
		// over) before the second is taken.
		seen := map[int]bool{}
		for len(seen) < 2 {
			b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				return
			}
			for m := range b.Messages() {
				var wb workBatch
				if json.Unmarshal(m.Data(), &wb) != nil || seen[wb.Batch] {
					continue
				}
				if len(seen) == 0 {
					// Work and reply, then die before the ack.
					w.reply(ctx, m, models)
				}
				seen[wb.Batch] = true
			}
		}
	}()
	var pl progressLog
	done := make(chan error, 1)
	var res *ComputeResult
	go func() {
		var err error
		res, err = ComputeUniqueness(ctx, dist, ComputeOptions{Queue: QueueOptions{URL: url, Batch: 6}, Progress: pl.add})
		done <- err
	}()
	<-took
	startWorkers(t, url, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sameScores(t, byPath(t, local), byPath(t, dist))
	if res.Embedded != 23 {
		t.Fatalf("embedded %d, want 23: a batch was stored twice or not at all", res.Embedded)
	}
	if d := pl.detail("queue"); !strings.Contains(d, "4 batches sent, 2 redelivered") {
		t.Fatalf("closing line %q", d)
	}
}

// TestQueueResumesAfterCancel: a job cancelled once some batches are
// stored resumes from them.
func TestQueueResumesAfterCancel(t *testing.T) {
	needRuntime(t)
	url := startNATS(t)
	local, dist := queueDatasets(t, 40)
	if _, err := ComputeUniqueness(context.Background(), local, ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	stopWorkers := startWorkersCancel(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := ComputeUniqueness(ctx, dist, ComputeOptions{Queue: QueueOptions{URL: url, Batch: 4}, Progress: func(p insights.Progress) {
		if p.Phase == "embed" && p.Done >= 12 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	stopWorkers()
	if got := byPath(t, dist); len(got) != 0 {
		t.Fatalf("a cancelled job left %d scores", len(got))
	}
	startWorkers(t, url, 1)
	var pl progressLog
	res, err := ComputeUniqueness(context.Background(), dist, ComputeOptions{Queue: QueueOptions{URL: url, Batch: 4}, Progress: pl.add})
	if err != nil {
		t.Fatal(err)
	}
	sameScores(t, byPath(t, local), byPath(t, dist))
	d := pl.detail("queue")
	if !strings.Contains(d, "done for an earlier run") || res.Embedded >= 39 || res.Embedded == 0 {
		t.Fatalf("the rerun embedded %d of 39 (%q): it did not resume", res.Embedded, d)
	}
}

// startWorkersCancel runs one worker until the returned function is called.
func startWorkersCancel(t *testing.T, url string) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = RunWorker(ctx, WorkerOptions{URL: url, Concurrency: 1})
	}()
	return func() { cancel(); <-done }
}

func TestQueueOptions(t *testing.T) {
	p := &Provider{}
	o, err := p.options(insights.Request{Options: map[string]any{"queue": "nats://127.0.0.1:4222", "batch": int64(16)}})
	if err != nil || o.Queue.URL != "nats://127.0.0.1:4222" || o.Queue.Batch != 16 {
		t.Fatalf("%+v %v", o.Queue, err)
	}
	for _, bad := range []map[string]any{
		{"queue": "http://x:1"},
		{"queue": "nats://x:1", "batch": int64(0)},
		{"queue": "nats://x:1", "batch": int64(MaxQueueBatch + 1)},
		{"queue": "nats://x:1", "embeddings": "vec"},
	} {
		o, err := p.options(insights.Request{Options: bad})
		if err == nil {
			_, _, _, err = o.want()
		}
		if !errors.Is(err, ErrOption) {
			t.Errorf("%v: err = %v, want ErrOption", bad, err)
		}
	}
	// The queue is not part of the run's identity: a queue run is fresh
	// for a local one.
	a, _, _, err := ComputeOptions{}.want()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, _ := ComputeOptions{Queue: QueueOptions{URL: "nats://x:1", Batch: 8}}.want()
	if a.Model != b.Model || string(a.Options) != string(b.Options) {
		t.Fatalf("queue changed the identity: %s vs %s", a.Options, b.Options)
	}
}
