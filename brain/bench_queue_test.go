package brain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// queueBenchBatches are the batch sizes the queue benchmarks compare.
var queueBenchBatches = []int{16, 32, 64, 128, 256}

// BenchmarkQueueRoundTrip is the queue's cost per batch with no model
// work: the coordinator publishes a batch of n samples (ids and paths),
// a worker takes it, publishes a reply of n embeddings of the built-in
// model's size (477 float32), and acknowledges it; the coordinator reads
// the reply. One batch is in flight at a time, so ns/op is the whole
// round trip (BENCHMARKS.md compares it with BenchmarkQueueBatchCompute).
func BenchmarkQueueRoundTrip(b *testing.B) {
	url := startNATS(b)
	ctx := context.Background()
	_, js, cons := workerConn(b, url)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go nullWorker(wctx, b, js, cons)
	for _, n := range queueBenchBatches {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			job := fmt.Sprintf("bench%d-%d", n, time.Now().UnixNano())
			replies, stop, err := readReplies(ctx, js, job)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			wb := workBatch{Job: job, Model: queueModel{ID: "sha256:00", Name: DescriptorName}}
			for i := range n {
				wb.Items = append(wb.Items, workItem{ID: fmt.Sprintf("%024x", i), Path: fmt.Sprintf("/data/photos/2024/holiday/IMG_%05d.jpg", i)})
			}
			msg, _ := json.Marshal(wb)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := publishQueue(ctx, js, workPrefix+job, msg, fmt.Sprintf("%s-%d", job, i)); err != nil {
					b.Fatal(err)
				}
				select {
				case r := <-replies:
					if h, _, err := decodeDone(r); err != nil || len(h.IDs) != n {
						b.Fatalf("reply: %d ids, %v", len(h.IDs), err)
					}
				case <-time.After(10 * time.Second):
					b.Fatal("no reply")
				}
			}
		})
	}
}

// nullWorker answers batches as a worker does, with zero embeddings and
// no model work.
func nullWorker(ctx context.Context, b *testing.B, js jetstream.JetStream, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			var wb workBatch
			if err := json.Unmarshal(m.Data(), &wb); err != nil {
				b.Error(err)
				return
			}
			ctx := context.Background() // a batch taken is answered
			h := doneHeader{Job: wb.Job, Batch: wb.Batch, Worker: "null", Delivered: 1, Dim: DescriptorDim}
			for _, it := range wb.Items {
				h.IDs = append(h.IDs, it.ID)
			}
			vec := make([]float32, len(h.IDs)*DescriptorDim)
			if err := publishQueue(ctx, js, donePrefix+wb.Job, encodeDone(h, vec), fmt.Sprint(time.Now().UnixNano())); err != nil {
				return
			}
			if err := m.DoubleAck(ctx); err != nil {
				return
			}
		}
	}
}

// BenchmarkQueueBatchCompute is a worker's model work on one batch of n
// images with the built-in model (decode, preprocessing, inference), as
// RunWorker does it: ns/op is one batch's compute time.
func BenchmarkQueueBatchCompute(b *testing.B) {
	if err := InitRuntime(); err != nil {
		b.Skipf("ONNX Runtime not available: %v", err)
	}
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct {
		name, kind string
	}{{"png32x32", "png"}, {"jpeg1024x768", "jpeg"}} {
		for _, n := range queueBenchBatches {
			if c.kind == "jpeg" && n > 64 {
				continue // a second and more per batch: the ratio only falls
			}
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, n), func(b *testing.B) {
				imgs := benchImages(c.kind, n)
				items := make([]Item, n)
				for i := range items {
					data := imgs[i]
					items[i] = Item{ID: fmt.Sprint(i), Media: MediaFunc(func(context.Context) (io.ReadCloser, error) {
						return io.NopCloser(bytes.NewReader(data)), nil
					})}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := Embed(context.Background(), m, items, EmbedOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
