package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/queuetest"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/db/s3test"
)

// A queue job over a dataset whose media is in S3-compatible storage: the
// workers read each object through the endpoint stored with the dataset,
// and the scores equal a local run's over the same objects.
func TestQueueJobReadsS3Media(t *testing.T) {
	if err := brain.InitRuntime(); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	fake := s3test.NewFake(t, "media")
	t.Setenv("AWS_ACCESS_KEY_ID", "fake-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(db.EnvS3Endpoint, "")
	dir := filepath.Join(t.TempDir(), "img")
	writePNGs(t, dir, 24)
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fake.Put("media", "set/"+e.Name(), b)
	}

	url := queuetest.Server(t)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := brain.RunWorker(ctx, brain.WorkerOptions{URL: url, Log: writerFunc(func(p []byte) (int, error) { return len(p), nil })}); err != nil {
			t.Error(err)
		}
	}()
	defer func() { stop(); wg.Wait() }()

	create := fmt.Sprintf("CREATE DATASET s FROM IMAGES 's3://media/set/' WITH (endpoint = '%s')", fake.URL)
	scores := func(queue string) map[string]float64 {
		d, err := Open(":memory:", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Exec(ctx, create); err != nil {
			t.Fatal(err)
		}
		job := "COMPUTE UNIQUENESS ON s"
		if queue != "" {
			job += " WITH (queue = '" + queue + "', batch = 5)"
		}
		if _, err := d.Exec(ctx, job); err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		res, err := d.Query(ctx, "SELECT filepath, insights.uniqueness.scalar FROM s")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, r := range res.Rows {
			out[r[0].AsString()] = r[1].AsFloat()
		}
		return out
	}
	local, queued := scores(""), scores(url)
	if len(local) != 24 || len(queued) != 24 {
		t.Fatalf("scored %d samples locally and %d through the queue, want 24", len(local), len(queued))
	}
	for fp, want := range local {
		if got, ok := queued[fp]; !ok || got-want > 1e-5 || want-got > 1e-5 {
			t.Errorf("%s: %v through the queue, %v locally", fp, got, want)
		}
	}
}
