package brain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// WorkerOptions configure RunWorker.
type WorkerOptions struct {
	// URL is the NATS server (or several of a cluster, comma-separated).
	URL string
	// Concurrency is the number of batches worked on at once (0: 2, so
	// that the next batch's round trip hides behind the current one's
	// work).
	Concurrency int
	// Name names the worker in replies and in the coordinator's count
	// (default: host name and process id).
	Name string
	// Log receives one line per finished batch, "batch <n>: <k> samples",
	// and the worker's warnings (nil: none).
	Log io.Writer
	// ResolveModel finds a model by the name a batch gives (the model zoo's
	// cache); nil, or a model whose identity differs, makes the worker
	// fetch the model from the queue's object store instead.
	ResolveModel ModelResolver
}

// RunWorker takes embedding batches from the queue's work stream until
// ctx is cancelled: for each it opens the samples' media, runs the
// batch's model through ONNX Runtime as a local run does, publishes the
// embeddings to the reply stream, and acknowledges the batch once the
// reply is stored. A batch whose model it cannot get, or whose bytes do
// not hash to the batch's identity, is refused with a reply saying why.
// It returns nil when ctx is cancelled.
func RunWorker(ctx context.Context, o WorkerOptions) error {
	if err := (QueueOptions{URL: o.URL}).Validate(); err != nil {
		return err
	}
	if o.URL == "" {
		return fmt.Errorf("%w: no queue URL", ErrOption)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	nc, js, err := connectQueue(o.URL, "fosql worker "+o.Name, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := ensureStreams(ctx, nc, js); err != nil {
		return err
	}
	var cons jetstream.Consumer
	if err := retryQueue(ctx, func(ctx context.Context) error {
		var err error
		cons, err = js.CreateOrUpdateConsumer(ctx, workStream, workerConsumerConfig())
		return err
	}); err != nil {
		return fmt.Errorf("queue: consumer %s: %w", workerConsumer, err)
	}
	ping, err := nc.Subscribe(pingSubject, func(m *nats.Msg) { _ = m.Respond([]byte(o.Name)) })
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	defer ping.Unsubscribe()

	w := &worker{o: o, nc: nc, js: js}
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, cons)
		}()
	}
	wg.Wait()
	return nil
}

// worker is the state RunWorker's goroutines share.
type worker struct {
	o   WorkerOptions
	nc  *nats.Conn
	js  jetstream.JetStream
	log sync.Mutex
}

// logf writes a line to the log.
func (w *worker) logf(format string, args ...any) {
	w.log.Lock()
	defer w.log.Unlock()
	fmt.Fprintf(w.o.Log, format+"\n", args...)
}

// loop takes one batch at a time until ctx ends. Each goroutine keeps its
// own models, so no model is run by two batches at once.
func (w *worker) loop(ctx context.Context, cons jetstream.Consumer) {
	models := map[string]*Model{}
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	for ctx.Err() == nil {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		for m := range b.Messages() {
			w.handle(ctx, m, models)
		}
	}
}

// handle works on one batch and acknowledges it once its reply is stored;
// a batch cut short by ctx is left for redelivery.
func (w *worker) handle(ctx context.Context, m jetstream.Msg, models map[string]*Model) {
	wb, h, ok := w.reply(ctx, m, models)
	if !ok {
		return
	}
	if h.Error != "" {
		_ = m.Term()
		return
	}
	if err := retryQueue(ctx, func(ctx context.Context) error { return m.DoubleAck(ctx) }); err != nil {
		// The batch is gone (its job was cancelled) or will come again;
		// either way its reply is stored and counted once.
		return
	}
	w.logf("batch %d: %d samples", wb.Batch, len(wb.Items))
}

// reply works on one batch and stores its reply in the reply stream; ok
// is false when there is nothing to acknowledge (a message that is not a
// batch, or ctx ended first).
func (w *worker) reply(ctx context.Context, m jetstream.Msg, models map[string]*Model) (wb workBatch, h doneHeader, ok bool) {
	if err := json.Unmarshal(m.Data(), &wb); err != nil || wb.Job == "" {
		w.logf("worker: dropping a message that is not a batch: %v", err)
		_ = m.Term()
		return wb, h, false
	}
	// Tell the server the batch is in progress, so a slow batch is not
	// given to another worker while this one is alive.
	defer every(ctx, ackWait/3, func() { _ = m.InProgress() })()
	h = doneHeader{Job: wb.Job, Batch: wb.Batch, Worker: w.o.Name}
	if md, err := m.Metadata(); err == nil {
		h.Delivered = int(md.NumDelivered)
	}
	var vectors []float32
	model, err := w.model(ctx, wb.Model, models)
	if err == nil {
		items := make([]Item, len(wb.Items))
		for k, it := range wb.Items {
			items[k] = Item{ID: it.ID, Media: Stored{Path: it.Path, Endpoint: wb.Endpoint}}
		}
		var emb *Embeddings
		if emb, err = Embed(ctx, model, items, EmbedOptions{}); err == nil {
			h.Dim, h.IDs, vectors = emb.Dim, emb.IDs, emb.Vectors
			for _, s := range emb.Skipped {
				h.Skipped = append(h.Skipped, doneSkip{ID: s.ID, Err: s.Err.Error()})
			}
		}
	}
	if ctx.Err() != nil {
		return wb, h, false // redelivered to another worker
	}
	if err != nil {
		h.Error = err.Error()
		w.logf("batch %d: refused: %v", wb.Batch, err)
	}
	msg := encodeDone(h, vectors)
	if limit := w.nc.MaxPayload(); int64(len(msg)) > limit {
		h.Error = fmt.Sprintf("the reply of %d embeddings of %d values is %d bytes, more than the server's largest message (%d): use a batch of at most %d",
			len(h.IDs), h.Dim, len(msg), limit, limit*9/10/int64(4*max(h.Dim, 1)))
		h.IDs, h.Skipped = nil, nil
		msg = encodeDone(h, nil)
	}
	if err := publishQueue(ctx, w.js, donePrefix+wb.Job, msg, fmt.Sprintf("%s-%d-%d", wb.Job, wb.Batch, h.Delivered)); err != nil {
		return wb, h, false // not stored: the batch is redelivered
	}
	return wb, h, true
}

// model returns the model a batch names, loading it once per goroutine:
// the built-in model as built in, any other from ResolveModel (the zoo's
// cache) or else from the queue's object store, refused unless its bytes
// and spec hash to the batch's identity.
func (w *worker) model(ctx context.Context, qm queueModel, models map[string]*Model) (*Model, error) {
	if m, ok := models[qm.ID]; ok {
		return m, nil
	}
	var m *Model
	var err error
	if qm.Spec == nil {
		b := builtinNamed(qm.Name)
		if b == nil {
			b = defaultDescriptor
		}
		m, err = b.load()
		if err == nil && m.Identity() != qm.ID {
			m.Close()
			return nil, fmt.Errorf("the built-in model here is %s, the batch asks for %s (run the same fosql version)", m.Identity(), qm.ID)
		}
	} else {
		m, err = w.loadModel(ctx, qm)
	}
	if err != nil {
		return nil, err
	}
	models[qm.ID] = m
	return m, nil
}

// loadModel finds a model that is not built in by identity.
func (w *worker) loadModel(ctx context.Context, qm queueModel) (*Model, error) {
	spec := *qm.Spec
	if w.o.ResolveModel != nil && qm.Name != "" {
		if local, err := w.o.ResolveModel(qm.Name); err == nil {
			if data, err := readModelFile(local); err == nil {
				if id, err := specIdentity(local, data); err == nil && id == qm.ID {
					return loadModelBytes(local, data)
				}
			}
		}
	}
	obs, err := modelStore(ctx, w.nc, w.js)
	if err != nil {
		return nil, err
	}
	data, err := obs.GetBytes(ctx, objectName(qm.ID))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("model %s (%s) is neither in this worker's model cache nor in the queue's object store", qm.Name, qm.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: object store: %w", qm.Name, err)
	}
	id, err := specIdentity(spec, data)
	if err != nil {
		return nil, err
	}
	if id != qm.ID {
		return nil, fmt.Errorf("model %s: its bytes hash to %s, not to the batch's identity %s: refused", qm.Name, id, qm.ID)
	}
	return loadModelBytes(spec, data)
}
