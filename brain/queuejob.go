package brain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// The state of a queue job lives with the dataset (db job state) under
// queueJobName(group, model):
//
//	head       JSON queuePlan: the job's id, the dataset version and batch
//	           size it was planned at, and its number of batches
//	b/<n>      batch n's sample ids, 12 bytes each
//	d/<n>      batch n is stored: JSON queueDone (its skipped samples)
//
// A batch's embeddings are stored (as a local run stores them, per sample
// and model) before its d/<n> part, so a batch that is stored twice (a
// redelivered batch, or the replies of a killed coordinator read again)
// writes the same values again and changes nothing. A rerun of the
// statement after its coordinator was killed finds the head, and
// publishes only the batches without a d/<n> part. The state is dropped
// when the run is published (publish), and replaced when the dataset
// changed or the batch size differs.

// queuePlan is the head of a queue job's state.
type queuePlan struct {
	Job     string `json:"job"`
	Queue   string `json:"queue"`
	Version uint64 `json:"version"`
	Batch   int    `json:"batch"`
	Batches int    `json:"batches"`
}

// queueDone is the part that marks a batch stored.
type queueDone struct {
	Embedded int        `json:"embedded"`
	Skipped  []doneSkip `json:"skipped,omitempty"`
}

// queueJobName is the job state's name for a run of group with a model.
func queueJobName(group, model string) string { return "queue/" + group + "/" + model }

func batchPart(n int) string { return fmt.Sprintf("b/%08d", n) }
func donePart(n int) string  { return fmt.Sprintf("d/%08d", n) }

// queueJob is one coordinator's view of a queue job.
type queueJob struct {
	plan    queuePlan
	batches [][]db.ID
	done    map[int]queueDone
}

// loadQueueJob returns the stored job of name when it was planned at
// version with batch size batch and covers every sample of todo; nil
// otherwise.
func loadQueueJob(ctx context.Context, ds *db.Dataset, name string, version uint64, batch int, todo map[db.ID]bool) (*queueJob, error) {
	parts, err := ds.JobState(ctx, name)
	if err != nil || parts["head"] == nil {
		return nil, err
	}
	j := &queueJob{done: map[int]queueDone{}}
	if json.Unmarshal(parts["head"], &j.plan) != nil || j.plan.Version != version || j.plan.Batch != batch || j.plan.Job == "" {
		return nil, nil
	}
	covered := 0
	for n := 0; n < j.plan.Batches; n++ {
		raw := parts[batchPart(n)]
		if len(raw) == 0 || len(raw)%len(db.ID{}) != 0 {
			return nil, nil
		}
		ids := make([]db.ID, len(raw)/len(db.ID{}))
		for i := range ids {
			copy(ids[i][:], raw[i*len(db.ID{}):])
			if todo[ids[i]] {
				covered++
			}
		}
		j.batches = append(j.batches, ids)
		if d, ok := parts[donePart(n)]; ok {
			var qd queueDone
			if json.Unmarshal(d, &qd) != nil {
				return nil, nil
			}
			j.done[n] = qd
		}
	}
	if covered != len(todo) {
		return nil, nil
	}
	return j, nil
}

// newQueueJob plans a job over todo (in the order given) and stores the
// plan, the head last, so a plan cut short by a kill is not taken for one.
func newQueueJob(ds *db.Dataset, name, queue string, version uint64, batch int, todo []db.ID) (*queueJob, error) {
	if err := ds.DropJobState(name); err != nil {
		return nil, err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	j := &queueJob{plan: queuePlan{Job: hex.EncodeToString(rnd[:]), Queue: queue, Version: version, Batch: batch}, done: map[int]queueDone{}}
	parts := map[string][]byte{}
	flush := func() error {
		err := ds.PutJobState(name, parts)
		clear(parts)
		return err
	}
	for start := 0; start < len(todo); start += batch {
		ids := todo[start:min(start+batch, len(todo))]
		raw := make([]byte, 0, len(ids)*len(db.ID{}))
		for _, id := range ids {
			raw = append(raw, id[:]...)
		}
		parts[batchPart(len(j.batches))] = raw
		j.batches = append(j.batches, ids)
		if len(parts) == 512 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	j.plan.Batches = len(j.batches)
	head, _ := json.Marshal(j.plan)
	parts["head"] = head
	if err := flush(); err != nil {
		return nil, err
	}
	return j, nil
}

// queueStats are what a queue job reports when it ends.
type queueStats struct {
	batches, sent, before, redelivered, workers int
}

func (s queueStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d batches", s.batches)
	if s.before > 0 {
		fmt.Fprintf(&b, " (%d sent now, %d done for an earlier run)", s.sent, s.before)
	} else {
		b.WriteString(" sent")
	}
	fmt.Fprintf(&b, ", %d redelivered", s.redelivered)
	return b.String()
}

// embedQueue embeds the samples todo (rows of ids and paths) on workers
// reached through q, as embedMissing does locally: it fills stored for
// every sample a worker embedded, stores the embeddings in space, and
// reports the samples the workers could not read through o.OnSkip. It
// never runs the model itself: with no worker connected it waits, saying
// so in its progress, until workers come or ctx is cancelled.
func embedQueue(ctx context.Context, ds *db.Dataset, q QueueOptions, ids []db.ID, paths []string, todo []int, stored [][]float32,
	spec ModelSpec, data []byte, space string, o ComputeOptions, group string, res *ComputeResult, progress func(insights.Progress)) error {
	version, err := ds.Version()
	if err != nil {
		return err
	}
	row := make(map[db.ID]int, len(todo))
	todoSet := make(map[db.ID]bool, len(todo))
	todoIDs := make([]db.ID, len(todo))
	for k, i := range todo {
		row[ids[i]] = i
		todoSet[ids[i]] = true
		todoIDs[k] = ids[i]
	}
	name := queueJobName(group, space)
	builtin := builtinOf(spec) != nil
	batch := q.batchSize(builtin)
	job, err := loadQueueJob(ctx, ds, name, version, batch, todoSet)
	if err != nil {
		return err
	}
	var stale string // the id of a replaced job whose messages may remain
	if job == nil {
		if parts, _ := ds.JobState(ctx, name); parts["head"] != nil {
			var old queuePlan
			if json.Unmarshal(parts["head"], &old) == nil {
				stale = old.Job
			}
		}
		if job, err = newQueueJob(ds, name, q.URL, version, batch, todoIDs); err != nil {
			return err
		}
	}
	nc, js, err := connectQueue(q.URL, "fosql coordinator", false)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := ensureStreams(ctx, nc, js); err != nil {
		return err
	}
	if stale != "" {
		purgeJob(js, stale)
	}

	qm := queueModel{ID: space, Name: spec.Name}
	if !builtin {
		s := spec
		s.Path = ""
		qm.Spec = &s
		if err := shareModel(ctx, nc, js, space, spec, data); err != nil {
			return err
		}
	}

	total := len(ids)
	doneSamples := total - len(todo)
	stats := queueStats{batches: len(job.batches)}
	for n := range job.batches {
		if d, ok := job.done[n]; ok {
			doneSamples += len(job.batches[n])
			reportSkips(d.Skipped, row, ids, paths, o, res)
		}
	}

	// Replies first: those a killed coordinator did not store are read
	// again, and none of this run's can be missed.
	replies, stopReplies, err := readReplies(ctx, js, job.plan.Job)
	if err != nil {
		return err
	}
	defer stopReplies()

	// The messages of an earlier run of this job are replaced: its batches
	// may be stored now, and every batch not stored goes out once more.
	if err := retryQueue(ctx, func(ctx context.Context) error { return purgeSubject(ctx, js, workStream, workPrefix+job.plan.Job) }); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	var workers atomic.Int64
	workers.Store(int64(countWorkers(nc, 300*time.Millisecond)))
	defer every(ctx, time.Second, func() { workers.Store(int64(countWorkers(nc, 300*time.Millisecond))) })()
	report := func() {
		w := workers.Load()
		detail := fmt.Sprintf("%d/%d batches, %d workers", len(job.done), len(job.batches), w)
		if w == 0 {
			detail = fmt.Sprintf("%d/%d batches; %s: start fosql worker -nats %s, or Ctrl-C to cancel", len(job.done), len(job.batches), ErrNoWorker, q.URL)
		}
		progress(insights.Progress{Group: group, Phase: "embed", Done: doneSamples, Total: total, Detail: detail})
	}
	report()

	// handle stores a reply, once per batch. A second reply of a batch
	// stored by this run, or a reply of a batch that was delivered more
	// than once, counts its batch as redelivered; the replies of batches
	// an earlier run stored are read again and left alone.
	storedBefore := make(map[int]bool, len(job.done))
	for n := range job.done {
		storedBefore[n] = true
	}
	redelivered := map[int]bool{}
	dim := 0
	handle := func(r []byte, ok bool) error {
		if !ok {
			return fmt.Errorf("queue %s: the reply stream ended", q.URL)
		}
		h, vec, err := decodeDone(r)
		if err != nil || h.Job != job.plan.Job || h.Batch < 0 || h.Batch >= len(job.batches) {
			return nil // not a reply of this job
		}
		if h.Error != "" {
			return fmt.Errorf("queue: worker %s refused batch %d: %s", h.Worker, h.Batch, h.Error)
		}
		if h.Delivered > 1 {
			redelivered[h.Batch] = true
		}
		if _, ok := job.done[h.Batch]; ok {
			if !storedBefore[h.Batch] {
				redelivered[h.Batch] = true // the same batch done twice
			}
			return nil
		}
		d, n, err := storeBatch(ctx, ds, space, job, h, vec, &dim, row, stored)
		if err != nil {
			return err
		}
		if err := ds.PutJobState(name, map[string][]byte{donePart(h.Batch): mustJSON(d)}); err != nil {
			return err
		}
		job.done[h.Batch] = d
		res.Embedded += n
		doneSamples += len(job.batches[h.Batch])
		reportSkips(d.Skipped, row, ids, paths, o, res)
		report()
		return nil
	}

	// Publish the batches not stored yet, storing the replies that come
	// meanwhile (workers start on the first batch at once).
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	endpoint, err := ds.MediaEndpoint()
	if err != nil {
		return err
	}
	for n, b := range job.batches {
		if _, ok := job.done[n]; ok {
			continue
		}
		wb := workBatch{Job: job.plan.Job, Batch: n, Model: qm, Endpoint: endpoint, Items: make([]workItem, len(b))}
		for k, id := range b {
			wb.Items[k] = workItem{ID: id.String(), Path: paths[row[id]]}
		}
		msg, _ := json.Marshal(wb)
		if err := publishQueue(ctx, js, workPrefix+job.plan.Job, msg, fmt.Sprintf("%s-%d-%s", job.plan.Job, n, nonce)); err != nil {
			return queueCancelled(js, job.plan.Job, fmt.Errorf("queue: publishing batch %d: %w", n, err))
		}
		stats.sent++
		for drained := false; !drained; {
			select {
			case r, ok := <-replies:
				if err := handle(r, ok); err != nil {
					return queueCancelled(js, job.plan.Job, err)
				}
			default:
				drained = true
			}
		}
	}

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(job.done) < len(job.batches) {
		select {
		case <-ctx.Done():
			err := ctx.Err()
			if workers.Load() == 0 {
				err = fmt.Errorf("queue %s: %w: %w", q.URL, ErrNoWorker, err)
			}
			return queueCancelled(js, job.plan.Job, err)
		case <-tick.C:
			report()
		case r, ok := <-replies:
			if err := handle(r, ok); err != nil {
				return queueCancelled(js, job.plan.Job, err)
			}
		}
	}
	stats.before = stats.batches - stats.sent
	stats.redelivered = len(redelivered)
	stats.workers = int(workers.Load())
	progress(insights.Progress{Group: group, Phase: "queue", Done: len(job.batches), Total: len(job.batches), Detail: stats.String()})
	purgeJob(js, job.plan.Job)
	return nil
}

// queueDeferred says why auto-compute must not run group here with the
// model want resolves: a queue job of it was stopped before its batches
// were all stored, and waits to be resumed on its workers. "" when there
// is no such job, or when o or ctx names a queue (the run then resumes
// it). Options that do not resolve are left for the run to report.
func queueDeferred(ctx context.Context, ds *db.Dataset, group string, o ComputeOptions, want func() (insights.Want, ModelSpec, []byte, error)) (string, error) {
	if o.Queue.URL != "" || queueFrom(ctx).URL != "" || o.EmbeddingsField != "" {
		return "", nil
	}
	w, _, _, err := want()
	if err != nil {
		return "", nil
	}
	parts, err := ds.JobState(ctx, queueJobName(group, w.Model))
	if err != nil || parts["head"] == nil {
		return "", err
	}
	var plan queuePlan
	if err := json.Unmarshal(parts["head"], &plan); err != nil {
		return "", nil
	}
	done := 0
	for k := range parts {
		if strings.HasPrefix(k, "d/") {
			done++
		}
	}
	if done >= plan.Batches {
		return "", nil // every batch is stored: a run here embeds nothing
	}
	stmt := "COMPUTE " + strings.ToUpper(group) + " ON " + ds.Name()
	return fmt.Sprintf("a queue job waits for workers (%d of %d batches stored), so nothing is computed here and the stored values are read; "+
		"resume it with %s WITH (queue = '%s'), or compute here with %s", done, plan.Batches, stmt, plan.Queue, stmt), nil
}

// storeBatch checks a worker's reply against its batch and stores its
// embeddings; it returns the batch's done mark and how many samples it
// embedded.
func storeBatch(ctx context.Context, ds *db.Dataset, space string, job *queueJob, h doneHeader, vec []float32, dim *int,
	row map[db.ID]int, stored [][]float32) (queueDone, int, error) {
	in := make(map[db.ID]bool, len(job.batches[h.Batch]))
	for _, id := range job.batches[h.Batch] {
		in[id] = true
	}
	bad := func(format string, args ...any) (queueDone, int, error) {
		return queueDone{}, 0, fmt.Errorf("queue: worker %s: batch %d: "+format, append([]any{h.Worker, h.Batch}, args...)...)
	}
	if len(h.IDs)+len(h.Skipped) != len(in) {
		return bad("%d embedded and %d skipped, but the batch has %d samples", len(h.IDs), len(h.Skipped), len(in))
	}
	got := make([]db.ID, len(h.IDs))
	for k, s := range h.IDs {
		id, err := db.ParseID(s)
		if err != nil || !in[id] {
			return bad("sample %q is not in the batch", s)
		}
		got[k] = id
	}
	for _, s := range h.Skipped {
		if id, err := db.ParseID(s.ID); err != nil || !in[id] {
			return bad("skipped sample %q is not in the batch", s.ID)
		}
	}
	if len(got) > 0 {
		if *dim != 0 && h.Dim != *dim {
			return bad("embeddings of %d values, others %d", h.Dim, *dim)
		}
		if err := CheckVectors(vec, h.Dim, func(r int) string { return h.IDs[r] }); err != nil {
			return bad("%v", err)
		}
		*dim = h.Dim
		if err := ds.PutEmbeddings(ctx, space, got, vec, h.Dim); err != nil {
			return queueDone{}, 0, err
		}
		for k, id := range got {
			stored[row[id]] = vec[k*h.Dim : (k+1)*h.Dim]
		}
	}
	return queueDone{Embedded: len(got), Skipped: h.Skipped}, len(got), nil
}

// reportSkips reports a batch's skipped samples as a local run does.
func reportSkips(skips []doneSkip, row map[db.ID]int, ids []db.ID, paths []string, o ComputeOptions, res *ComputeResult) {
	for _, s := range skips {
		id, err := db.ParseID(s.ID)
		if err != nil {
			continue
		}
		i, ok := row[id]
		if !ok {
			continue
		}
		res.Skipped++
		if o.OnSkip != nil {
			o.OnSkip(ids[i], paths[i], errors.New(s.Err))
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // plain structs: cannot fail
	return b
}

// readReplies reads every reply of a job from the start of the reply
// stream, through an ordered consumer (which recreates itself when a
// server of a cluster goes away). stop ends it.
func readReplies(ctx context.Context, js jetstream.JetStream, job string) (<-chan []byte, func(), error) {
	var cons jetstream.Consumer
	err := retryQueue(ctx, func(ctx context.Context) error {
		var err error
		cons, err = js.OrderedConsumer(ctx, doneStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{donePrefix + job}})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("queue: reading replies: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, nil, fmt.Errorf("queue: reading replies: %w", err)
	}
	out := make(chan []byte, 64)
	quit := make(chan struct{})
	go func() {
		defer close(out)
		for {
			m, err := it.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err != nil {
				select {
				case <-quit:
					return
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			select {
			case out <- m.Data():
			case <-quit:
				return
			}
		}
	}()
	stop := func() {
		close(quit)
		it.Stop()
	}
	return out, stop, nil
}

// purgeSubject removes a subject's messages from a stream.
func purgeSubject(ctx context.Context, js jetstream.JetStream, stream, subject string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	return s.Purge(ctx, jetstream.WithPurgeSubject(subject))
}

// purgeJob removes a job's batches and replies from the streams, so no
// worker takes a batch of a job that no longer waits for it (best effort:
// a batch a worker takes meanwhile is only done for nothing).
func purgeJob(js jetstream.JetStream, job string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = purgeSubject(ctx, js, workStream, workPrefix+job)
	_ = purgeSubject(ctx, js, doneStream, donePrefix+job)
}

// queueCancelled ends a job that stops before its batches are all stored:
// its batches leave the work stream (the stored ones stay in the dataset
// for a rerun to resume from), and err is returned.
func queueCancelled(js jetstream.JetStream, job string, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = purgeSubject(ctx, js, workStream, workPrefix+job)
	return err
}

// shareModel puts a model's bytes in the object store under its identity
// for workers that do not have it, unless they are there already.
func shareModel(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, id string, spec ModelSpec, data []byte) error {
	if data == nil {
		var err error
		if data, err = readModelFile(spec); err != nil {
			return err
		}
	}
	obs, err := modelStore(ctx, nc, js)
	if err != nil {
		return err
	}
	if _, err := obs.GetInfo(ctx, objectName(id)); err == nil {
		return nil
	}
	return retryQueue(ctx, func(ctx context.Context) error {
		_, err := obs.PutBytes(ctx, objectName(id), data)
		return err
	})
}

// modelStore opens (creating when missing) the object store of models.
func modelStore(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	var obs jetstream.ObjectStore
	err := retryQueue(ctx, func(ctx context.Context) error {
		var err error
		obs, err = js.ObjectStore(ctx, modelBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: modelBucket, Replicas: queueReplicas(nc), Storage: jetstream.FileStorage})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: model store: %w", err)
	}
	return obs, nil
}

// objectName is a model identity as an object name ("sha256:…" without
// the colon).
func objectName(id string) string { return strings.ReplaceAll(id, ":", "-") }
