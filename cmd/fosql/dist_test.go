package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fosql/fosql/brain/queuetest"
)

// distEnv turns TestDistFaults on (make test-dist sets it): it takes about
// half a minute, and make test runs the short queue tests of brain.
const distEnv = "FOSQL_TEST_DIST"

// workerProcess is a fosql worker process and its stderr.
type workerProcess struct {
	cmd *exec.Cmd
	out syncBuffer
}

// batches counts the worker's "batch <n>: <k> samples" lines.
func (w *workerProcess) batches() int {
	n := 0
	for _, l := range strings.Split(w.out.String(), "\n") {
		if strings.HasPrefix(l, "batch ") && strings.HasSuffix(l, " samples") {
			n++
		}
	}
	return n
}

// startWorker runs fosql worker as a process until the test ends.
func startWorker(t testing.TB, urls, name string, args ...string) *workerProcess {
	t.Helper()
	w := &workerProcess{}
	w.cmd = exec.Command(os.Args[0], append([]string{"worker", "-nats", urls, "-name", name}, args...)...)
	w.cmd.Env = append(os.Environ(), processEnv+"=1")
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		w.cmd.Wait()
	})
	return w
}

// startJob runs a statement in a fosql process; done gets its end.
func startJob(ctx context.Context, t *testing.T, dbDir, sql string) (*exec.Cmd, *syncBuffer, chan error) {
	t.Helper()
	job := exec.CommandContext(ctx, os.Args[0], "-db", dbDir, "-e", sql)
	job.Env = append(os.Environ(), processEnv+"=1")
	out := &syncBuffer{}
	job.Stdout, job.Stderr = out, out
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- job.Wait() }()
	return job, out, done
}

// scoresByPath reads filepath -> uniqueness score of dataset w.
func scoresByPath(t *testing.T, dbDir string) map[string]float64 {
	t.Helper()
	code, out, errs := fosqlProcess(t, 2*time.Minute, "-db", dbDir, "-q", "-e", "SELECT filepath, insights.uniqueness.scalar FROM w")
	if code != 0 {
		t.Fatalf("reading scores: exit %d: %s", code, tail(errs))
	}
	got := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 2 {
			t.Fatalf("row %q", l)
		}
		if _, dup := got[f[0]]; dup {
			t.Fatalf("%s scored twice", f[0])
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("%s: score %q", f[0], f[1])
		}
		got[f[0]] = v
	}
	return got
}

// TestDistFaults is issue 16's fault test: a job on a few hundred images
// over a 3-node NATS cluster and 3 fosql worker processes, during which
// one worker is SIGKILLed right after its first batch, one NATS node is
// shut down, and then the coordinator is SIGKILLed and the statement run
// again; the rerun resumes, and every sample is scored once, equal to a
// local run.
func TestDistFaults(t *testing.T) {
	if os.Getenv(distEnv) != "1" {
		t.Skipf("the distributed fault test runs with make test-dist (%s=1)", distEnv)
	}
	const n = 400
	img := crashPictures(t, filepath.Join(t.TempDir(), "img"), n, 0)
	localDB := filepath.Join(t.TempDir(), "local")
	distDB := filepath.Join(t.TempDir(), "dist")
	for _, d := range []string{localDB, distDB} {
		if code, _, errs := fosqlProcess(t, time.Minute, "-db", d, "-q", "-e", "CREATE DATASET w FROM IMAGES '"+img+"'"); code != 0 {
			t.Fatalf("CREATE DATASET: exit %d: %s", code, errs)
		}
	}
	if code, _, errs := fosqlProcess(t, 2*time.Minute, "-db", localDB, "-q", "-e", "COMPUTE UNIQUENESS ON w"); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, tail(errs))
	}

	servers, urls := queuetest.Cluster(t, 3)
	// w1 starts alone, so that it is sure to take the first batches: with
	// another worker beside it, a worker still loading its model could see
	// the other one finish the whole job first.
	w1 := startWorker(t, urls, "w1", "-concurrency", "1")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sql := "COMPUTE UNIQUENESS ON w WITH (queue = '" + urls + "', batch = 1)"
	job1, out1, done1 := startJob(ctx, t, distDB, sql)

	// Faults: w1 is killed once it has finished a batch (most likely
	// holding its next one) and w2 has started, then a NATS node is shut
	// down; a third worker joins. Once the workers have done 40 more batches (and the
	// coordinator has had a moment to store their replies), the
	// coordinator is killed, and the statement run again.
	for w1.batches() == 0 {
		select {
		case err := <-done1:
			t.Fatalf("the job ended (%v) before worker 1 finished a batch:\n%s", err, tail(out1.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	w2 := startWorker(t, urls, "w2", "-concurrency", "1")
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	servers[0].Shutdown()
	faultsAt := time.Now()
	w3 := startWorker(t, urls, "w3", "-concurrency", "1")
	for w2.batches()+w3.batches() < 40 {
		select {
		case err := <-done1:
			t.Fatalf("the job ended (%v) before its coordinator was killed:\n%s", err, tail(out1.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(200 * time.Millisecond)
	if err := job1.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done1
	killedAt := w2.batches() + w3.batches()
	_, out2, done2 := startJob(ctx, t, distDB, sql)

	var err error
	select {
	case err = <-done2:
	case <-ctx.Done():
		t.Fatalf("the job did not finish:\n%s", tail(out2.String()))
	}
	out := out2.String()
	if err != nil {
		t.Fatalf("the job failed (%v):\n%s\nworkers:\n%s\n%s", err, tail(out), w2.out.String(), w3.out.String())
	}
	t.Logf("faults at %s; coordinator killed after %d batches; the rerun ended %s later; batches: w1 %d, w2 %d, w3 %d",
		faultsAt.Format(time.TimeOnly), killedAt, time.Since(faultsAt).Round(time.Millisecond), w1.batches(), w2.batches(), w3.batches())
	if w2.batches()+w3.batches() == 0 {
		t.Fatal("the surviving workers did no batch")
	}
	closing := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "redelivered") {
			closing = l
		}
	}
	if !strings.Contains(closing, "400 batches (") || !strings.Contains(closing, "for an earlier run") {
		t.Fatalf("closing line %q, want 400 batches, some stored by the killed run:\n%s", closing, tail(out))
	}
	t.Log(closing)

	// The streams are replicated on the three servers.
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"FOSQL_WORK", "FOSQL_DONE"} {
		st, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, r)
		}
	}

	want, got := scoresByPath(t, localDB), scoresByPath(t, distDB)
	if len(want) != n || len(got) != n {
		t.Fatalf("%d scores locally, %d through the queue, want %d", len(want), len(got), n)
	}
	for p, w := range want {
		if g, ok := got[p]; !ok || math.Abs(g-w) > 1e-5 {
			t.Fatalf("%s: local %v, queue %v", p, w, g)
		}
	}
}

// distPictures writes n distinct 320x240 JPEG pictures (smooth blobs and
// noise, so decoding does a photograph's kind of work).
func distPictures(b testing.TB, dir string, n int) string {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		img := image.NewRGBA(image.Rect(0, 0, 320, 240))
		cx, cy, r := rng.IntN(320), rng.IntN(240), 20+rng.IntN(100)
		for y := range 240 {
			for x := range 320 {
				c := color.RGBA{uint8(x * 255 / 320), uint8(y * 255 / 240), uint8(i % 256), 255}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
					c = color.RGBA{uint8(rng.IntN(256)), 40, 200, 255}
				}
				img.Set(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%05d.jpg", i)), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkQueueWorkers times COMPUTE UNIQUENESS on 1,000 320x240 JPEGs
// as a one-shot fosql process: embedded in the process ("local"), and
// through a one-server NATS queue with 1, 2 and 3 fosql worker processes
// (-concurrency 2 each, the default batch). Each run starts from a copy
// of the same database with no stored embeddings (BENCHMARKS.md).
func BenchmarkQueueWorkers(b *testing.B) {
	const n = 1000
	img := distPictures(b, filepath.Join(b.TempDir(), "img"), n)
	template := filepath.Join(b.TempDir(), "template")
	if code, _, errs := fosqlProcess(b, 5*time.Minute, "-db", template, "-q", "-e", "CREATE DATASET w FROM IMAGES '"+img+"'"); code != 0 {
		b.Fatalf("CREATE DATASET: exit %d: %s", code, errs)
	}
	_, url := queuetest.Cluster(b, 1)
	for _, workers := range []int{0, 1, 2, 3} {
		name := fmt.Sprintf("workers=%d", workers)
		job := "COMPUTE UNIQUENESS ON w WITH (queue = '" + url + "')"
		if workers == 0 {
			name, job = "local", "COMPUTE UNIQUENESS ON w"
		}
		b.Run(name, func(b *testing.B) {
			var ws []*workerProcess
			for i := range workers {
				ws = append(ws, startWorker(b, url, fmt.Sprintf("w%d", i)))
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "db")
				copyTree(b, template, dir)
				b.StartTimer()
				if code, _, errs := fosqlProcess(b, 10*time.Minute, "-db", dir, "-q", "-e", job); code != 0 {
					b.Fatalf("%s: exit %d: %s", job, code, tail(errs))
				}
			}
			b.StopTimer()
			for _, w := range ws {
				w.cmd.Process.Signal(os.Interrupt)
				w.cmd.Wait()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
