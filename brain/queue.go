package brain

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A queue job sends the embedding of a brain job to workers over NATS
// JetStream instead of running the model in the process that holds the
// database. The process that runs the statement (the coordinator) cuts the
// samples to embed into batches, publishes each batch to the work stream,
// stores the embeddings the workers send back, and then runs the k-NN and
// the scores itself, as a local run does.
//
// Subjects and streams:
//
//	fosql.work.<job>    FOSQL_WORK, a work-queue stream: one message per batch
//	fosql.done.<job>    FOSQL_DONE: one reply per finished batch
//	fosql.workers.ping  core NATS: every worker answers with its name
//
// Workers share one durable pull consumer of FOSQL_WORK, so each batch goes
// to one worker at a time; a worker acknowledges a batch only after its
// reply is stored in FOSQL_DONE, and a batch not acknowledged within the
// ack wait (a worker killed mid-batch) goes to another worker. Both streams
// have min(3, number of servers) replicas. Models other than the built-in
// one travel through the object store bucket fosql-models, named by their
// identity.
const (
	workStream     = "FOSQL_WORK"
	doneStream     = "FOSQL_DONE"
	workPrefix     = "fosql.work."
	donePrefix     = "fosql.done."
	pingSubject    = "fosql.workers.ping"
	workerConsumer = "fosql-workers"
	modelBucket    = "fosql-models"
)

// QueueAckWait is how long a batch may stay unacknowledged before it goes
// to another worker. A worker busy with a batch tells the server so every
// third of it, so a slow batch is not sent twice; a killed worker's batch
// is redelivered after at most this long.
const QueueAckWait = 10 * time.Second

// ackWait is QueueAckWait, shorter in tests.
var ackWait = QueueAckWait

// DefaultQueueBatch is the number of samples in a queue batch of the
// built-in model when a job names none, and DefaultQueueBatchModel that of
// any other model. They are chosen by measurement (BENCHMARKS.md, "Queue
// jobs"): the round trip of a batch through the queue stays under 5% of
// the batch's compute time even for 32 x 32 pictures with the cheap
// built-in model; a CNN costs tens of times more per image, so a smaller
// batch keeps its reply (16 x 1792 float32) small and spreads the work.
const (
	DefaultQueueBatch      = 128
	DefaultQueueBatchModel = 16
)

// MaxQueueBatch is the largest queue batch: a batch's reply (its
// embeddings) must fit in one NATS message.
const MaxQueueBatch = 1024

// ErrNoWorker is wrapped by the error of a queue job cancelled while no
// worker was connected.
var ErrNoWorker = errors.New("no worker available")

// QueueOptions send a brain job's embedding to workers (fosql worker) over
// NATS JetStream.
type QueueOptions struct {
	// URL is the NATS server, nats://host:4222; several servers of one
	// cluster may be given separated by commas. Empty: the job runs
	// locally.
	URL string
	// Batch is the number of samples per batch (0: DefaultQueueBatch for
	// the built-in model, DefaultQueueBatchModel for others).
	Batch int
}

// batchSize is the batch size to use for the built-in model or another.
func (q QueueOptions) batchSize(builtin bool) int {
	switch {
	case q.Batch > 0:
		return q.Batch
	case builtin:
		return DefaultQueueBatch
	}
	return DefaultQueueBatchModel
}

// Validate checks the URL's scheme and the batch size; errors wrap
// ErrOption.
func (q QueueOptions) Validate() error {
	if q.Batch < 0 || q.Batch > MaxQueueBatch {
		return fmt.Errorf("%w: batch = %d (want 1 to %d)", ErrOption, q.Batch, MaxQueueBatch)
	}
	if q.URL == "" {
		return nil
	}
	for _, u := range strings.Split(q.URL, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("%w: queue %q: want nats://host:port", ErrOption, u)
		}
	}
	return nil
}

type queueKey struct{}

// WithQueue returns a context whose brain jobs use q when their own options
// name no queue: a session's queue setting (SET queue = 'nats://…').
func WithQueue(ctx context.Context, q QueueOptions) context.Context {
	return context.WithValue(ctx, queueKey{}, q)
}

// queueFrom returns the queue WithQueue set on ctx.
func queueFrom(ctx context.Context) QueueOptions {
	q, _ := ctx.Value(queueKey{}).(QueueOptions)
	return q
}

// queueModel names the model of a batch: its identity, the name it was
// asked for, and its spec (nil for the built-in model).
type queueModel struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Spec *ModelSpec `json:"spec,omitempty"`
}

// workBatch is the message of one batch.
type workBatch struct {
	Job   string     `json:"job"`
	Batch int        `json:"batch"`
	Model queueModel `json:"model"`
	// Endpoint is the dataset's media endpoint ("" for local files).
	Endpoint string     `json:"endpoint,omitempty"`
	Items    []workItem `json:"items"`
}

// workItem is one sample of a batch.
type workItem struct {
	ID   string `json:"id"`
	Path string `json:"filepath"`
}

// doneHeader is the JSON head of a batch's reply; the embeddings follow it
// as float32 little-endian, one row of Dim values per id of IDs.
type doneHeader struct {
	Job       string     `json:"job"`
	Batch     int        `json:"batch"`
	Worker    string     `json:"worker"`
	Delivered int        `json:"delivered"`
	Dim       int        `json:"dim"`
	IDs       []string   `json:"ids"`
	Skipped   []doneSkip `json:"skipped,omitempty"`
	// Error, when set, says why the worker refused the batch (a model it
	// could not get or whose bytes differ from the batch's identity).
	Error string `json:"error,omitempty"`
}

// doneSkip is a sample a worker could not embed, and why.
type doneSkip struct {
	ID  string `json:"id"`
	Err string `json:"err"`
}

// encodeDone makes a reply: a 4-byte big-endian length, the header as
// JSON, then the vectors.
func encodeDone(h doneHeader, vectors []float32) []byte {
	js, _ := json.Marshal(h) // plain struct: cannot fail
	out := make([]byte, 4, 4+len(js)+4*len(vectors))
	binary.BigEndian.PutUint32(out, uint32(len(js)))
	out = append(out, js...)
	for _, v := range vectors {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return out
}

// decodeDone reads a reply made by encodeDone.
func decodeDone(b []byte) (doneHeader, []float32, error) {
	var h doneHeader
	if len(b) < 4 {
		return h, nil, errors.New("reply too short")
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > len(b)-4 {
		return h, nil, errors.New("reply header cut short")
	}
	if err := json.Unmarshal(b[4:4+n], &h); err != nil {
		return h, nil, fmt.Errorf("reply header: %w", err)
	}
	rest := b[4+n:]
	if h.Dim < 0 || len(rest) != 4*h.Dim*len(h.IDs) {
		return h, nil, fmt.Errorf("reply of %d ids of %d values holds %d bytes", len(h.IDs), h.Dim, len(rest))
	}
	vec := make([]float32, len(rest)/4)
	for i := range vec {
		vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
	}
	return h, vec, nil
}

// connectQueue connects to the NATS servers of url. It keeps trying to
// reconnect for as long as the connection is used, so a server of a
// cluster that stops is replaced by another; retry makes the first
// connection wait for a server too (a worker started before its server).
func connectQueue(url, name string, retry bool) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.Timeout(5 * time.Second),
	}
	if retry {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("queue %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("queue %s: %w", url, err)
	}
	return nc, js, nil
}

// queueReplicas is the replica count of the streams: min(3, number of
// servers), 1 for a server that is not in a cluster.
func queueReplicas(nc *nats.Conn) int {
	if nc.ConnectedClusterName() == "" {
		return 1
	}
	seen := map[string]bool{}
	for _, s := range nc.Servers() {
		seen[s] = true
	}
	return max(1, min(3, len(seen)))
}

// ensureStreams creates the work and reply streams when they do not exist
// yet (a stream that exists is used as it is).
func ensureStreams(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	r := queueReplicas(nc)
	cfgs := []jetstream.StreamConfig{
		{Name: workStream, Subjects: []string{workPrefix + ">"}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Replicas: r},
		{Name: doneStream, Subjects: []string{donePrefix + ">"}, Retention: jetstream.LimitsPolicy,
			Storage: jetstream.FileStorage, Replicas: r, MaxAge: 7 * 24 * time.Hour},
	}
	for _, cfg := range cfgs {
		err := retryQueue(ctx, func(ctx context.Context) error {
			_, err := js.Stream(ctx, cfg.Name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				_, err = js.CreateStream(ctx, cfg)
				if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
					err = nil
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("queue: stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// workerConsumerConfig is the durable consumer all workers share.
func workerConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       workerConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 4096,
	}
}

// retryQueue runs op until it succeeds or ctx ends, waiting a little
// between tries: while a server of a cluster is down, a stream's leader is
// being elected for a few seconds and requests fail meanwhile. Each try
// gets 5 seconds. After 2 minutes of failures it gives up with the last
// error.
func retryQueue(ctx context.Context, op func(ctx context.Context) error) error {
	deadline := time.Now().Add(2 * time.Minute)
	wait := 100 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := op(tctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// publishQueue publishes data to subject and waits until the stream has
// stored it, retrying through a server's failure.
func publishQueue(ctx context.Context, js jetstream.JetStream, subject string, data []byte, msgID string) error {
	return retryQueue(ctx, func(ctx context.Context) error {
		_, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
		return err
	})
}

// countWorkers asks the workers to answer the ping subject and counts the
// distinct answers that come within wait.
func countWorkers(nc *nats.Conn, wait time.Duration) int {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return 0
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(pingSubject, inbox, nil); err != nil {
		return 0
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		m, err := sub.NextMsg(left)
		if err != nil {
			break
		}
		seen[string(m.Data)] = true
	}
	return len(seen)
}

// every runs fn every d in a goroutine of its own until ctx ends or the
// returned stop is called.
func every(ctx context.Context, d time.Duration, fn func()) (stop func()) {
	ctx, stop = context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return stop
}
