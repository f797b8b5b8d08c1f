// Package insights owns the insights.<group>.<key> namespace: computed
// columns such as insights.uniqueness.scalar.
//
// A provider computes one group (the brain's uniqueness provider computes
// "uniqueness"). The registry knows the providers, decides whether a
// group's stored values are fresh, and runs the provider when a query
// needs values that are missing or stale.
//
// A run is fresh when its record is complete, was made at the dataset's
// current version, and used the model identity and options asked for now.
// A query names a group by naming one of its paths (in SELECT, WHERE or
// ORDER BY); SELECT * shows what is stored and triggers nothing. With
// auto-compute off, a query that needs a missing or stale run fails with
// ErrStale instead of computing.
package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fosql/fosql/db"
)

// ErrStale means a query needs a run that is missing or stale while
// auto-compute is off.
var ErrStale = errors.New("insights are missing or stale")

// ErrUnknownGroup means no provider computes the group.
var ErrUnknownGroup = errors.New("no provider for insights group")

// Progress reports how far a run has come.
type Progress struct {
	Group string
	Phase string // e.g. "embed", "knn", "store"
	Done  int
	Total int
	// Detail, when set, says more in words (a queue job's batches and
	// workers).
	Detail string
}

// Request is what a run is asked to compute: the provider's options as a
// map of option name to value (k, metric, model, embeddings, ...).
type Request struct {
	Options map[string]any
}

// Want is the identity a fresh run must have.
type Want struct {
	// Model identifies the model or input field (e.g. a sha256).
	Model string
	// Options are the run's effective options as canonical JSON. They are
	// stored in the run record and, decoded, must make a Request that asks
	// for the same run again: Ensure reruns a stale group with them.
	Options json.RawMessage
}

// Provider computes one insights group.
type Provider interface {
	// Group is the insights group the provider writes, e.g. "uniqueness".
	Group() string
	// Keys are the keys the provider writes under its group, e.g.
	// "scalar": a statement can reject a misspelt one before it runs.
	Keys() []string
	// Want resolves a request into the identity of the run it would make,
	// without computing anything expensive.
	Want(ctx context.Context, ds *db.Dataset, req Request) (Want, error)
	// Run computes the group for every sample of ds and publishes the
	// values and the run record together (db.InsightStage); on error or
	// cancellation it leaves the previous values as they were.
	Run(ctx context.Context, ds *db.Dataset, req Request, progress func(Progress)) error
}

// Deferrer is a Provider that may hold a run back from auto-compute: Defer
// returns why the run that req asks for must not start behind a query
// (a queue job of the group waits to be resumed on its workers), or ""
// when it may. Ensure with auto-compute on then answers from the stored
// values and reports the reason as progress (phase "deferred").
type Deferrer interface {
	Defer(ctx context.Context, ds *db.Dataset, req Request) (string, error)
}

// Registry holds the providers by group. The zero value is empty and
// ready; a Registry is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]Provider
	running   map[string]*sync.Mutex
}

// Register adds a provider, replacing any for the same group.
func (r *Registry) Register(p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.providers == nil {
		r.providers = map[string]Provider{}
		r.running = map[string]*sync.Mutex{}
	}
	r.providers[p.Group()] = p
	r.running[p.Group()] = &sync.Mutex{}
}

// Keys maps each group that has a provider to the keys it writes.
func (r *Registry) Keys() map[string][]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string][]string, len(r.providers))
	for g, p := range r.providers {
		out[g] = p.Keys()
	}
	return out
}

// Provider returns the provider of a group.
func (r *Registry) Provider(group string) (Provider, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.providers[group]
	return p, ok
}

// Groups lists the groups that have providers, sorted.
func (r *Registry) Groups() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.providers))
	for g := range r.providers {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Freshness says whether a group's stored values answer a request.
type Freshness struct {
	Fresh bool
	// Reason explains a stale answer in a user's words.
	Reason string
	// Run is the stored run record, if any.
	Run *db.RunRecord
}

// Check compares the stored run of a group with what a request wants.
func (r *Registry) Check(ctx context.Context, ds *db.Dataset, group string, req Request) (Freshness, error) {
	p, ok := r.Provider(group)
	if !ok {
		return Freshness{}, fmt.Errorf("insights.%s: %w", group, ErrUnknownGroup)
	}
	want, err := p.Want(ctx, ds, req)
	if err != nil {
		return Freshness{}, err
	}
	return check(ds, group, want)
}

func check(ds *db.Dataset, group string, want Want) (Freshness, error) {
	runs, err := ds.Runs()
	if err != nil {
		return Freshness{}, err
	}
	version, err := ds.Version()
	if err != nil {
		return Freshness{}, err
	}
	run, ok := runs[group]
	if !ok {
		return Freshness{Reason: "never computed"}, nil
	}
	f := Freshness{Run: &run}
	switch {
	case run.Status != db.RunComplete:
		f.Reason = "the last run did not complete (" + string(run.Status) + ")"
	case run.DatasetVersion != version:
		f.Reason = fmt.Sprintf("the dataset changed since the last run (version %d, run made at %d)", version, run.DatasetVersion)
	case run.Model != want.Model:
		f.Reason = "a different model or input was asked for"
	case !jsonEqual(run.Options, want.Options):
		f.Reason = fmt.Sprintf("different options were asked for (stored %s, asked %s)", run.Options, want.Options)
	default:
		f.Fresh = true
	}
	return f, nil
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// Ensure makes the named groups fresh on ds before a query reads them.
// Groups without a provider are left alone (their values were set by
// hand). Freshness is checked against the options of the group's last
// run, so a column computed with COMPUTE ... WITH (...) keeps those
// options; a group that never ran uses the defaults. With auto false, a
// stale group fails with ErrStale; with auto true, its provider runs
// again with those options, reporting progress.
// With auto false, values set by hand (a group that has values but no run
// record) are read as they are.
func (r *Registry) Ensure(ctx context.Context, ds *db.Dataset, groups []string, auto bool, progress func(Progress)) error {
	for _, g := range groups {
		p, ok := r.Provider(g)
		if !ok {
			continue
		}
		// The column keeps the options of its last run (COMPUTE ... WITH
		// (...)); a dataset that never had one gets the defaults.
		req, run, err := lastRequest(ds, g)
		if err != nil {
			return err
		}
		f, err := r.Check(ctx, ds, g, req)
		if err != nil {
			return err
		}
		if f.Fresh {
			continue
		}
		if !auto {
			// Values set by hand (no run ever made) are read as they are.
			if run == nil && hasValues(ds, g) {
				continue
			}
			return fmt.Errorf("insights.%s on %s: %w: %s; run COMPUTE %s ON %s, or turn auto-compute on (SET auto_compute = on)",
				g, ds.Name(), ErrStale, f.Reason, strings.ToUpper(g), ds.Name())
		}
		if d, ok := p.(Deferrer); ok {
			why, err := d.Defer(ctx, ds, req)
			if err != nil {
				return err
			}
			if why != "" {
				progress(Progress{Group: g, Phase: "deferred", Detail: why})
				continue
			}
		}
		if err := r.Run(ctx, ds, g, req, progress); err != nil {
			return err
		}
	}
	return nil
}

// lastRequest returns the request that reproduces the group's last run
// (its stored options), and that run; with no run, the default request.
func lastRequest(ds *db.Dataset, group string) (Request, *db.RunRecord, error) {
	runs, err := ds.Runs()
	if err != nil {
		return Request{}, nil, err
	}
	run, ok := runs[group]
	if !ok {
		return Request{}, nil, nil
	}
	var opts map[string]any
	if len(run.Options) > 0 {
		if err := json.Unmarshal(run.Options, &opts); err != nil {
			return Request{}, nil, fmt.Errorf("insights.%s: stored run options: %w", group, err)
		}
	}
	return Request{Options: opts}, &run, nil
}

func hasValues(ds *db.Dataset, group string) bool {
	groups, err := ds.InsightGroups()
	return err == nil && slices.Contains(groups, group)
}

// Run computes a group now, whatever its freshness. Runs of one group are
// serialised. On a database opened read-only it fails before any work with
// an error wrapping db.ErrReadOnly.
func (r *Registry) Run(ctx context.Context, ds *db.Dataset, group string, req Request, progress func(Progress)) error {
	p, ok := r.Provider(group)
	if !ok {
		return fmt.Errorf("insights.%s: %w", group, ErrUnknownGroup)
	}
	// A run ends by writing its results: on a database opened read-only
	// it fails now, before any work, with an error a caller can take as
	// the cue to reopen read-write.
	if ds.DB().ReadOnly() {
		return fmt.Errorf("insights.%s on %s: computing it writes to the database: %w", group, ds.Name(), db.ErrReadOnly)
	}
	r.mu.RLock()
	m := r.running[group]
	r.mu.RUnlock()
	m.Lock()
	defer m.Unlock()
	if progress == nil {
		progress = func(Progress) {}
	}
	return p.Run(ctx, ds, req, progress)
}

// NewRunRecord starts a run record for a provider: key, type, options,
// model and the dataset version the run reads, started now.
func NewRunRecord(group string, want Want, version uint64) db.RunRecord {
	return db.RunRecord{
		Key:            group,
		Type:           group,
		Options:        want.Options,
		Model:          want.Model,
		DatasetVersion: version,
		Started:        time.Now().UTC(),
		Status:         db.RunRunning,
	}
}

// GroupsIn returns the insights groups that field paths name, sorted and
// without repeats: "insights.uniqueness.scalar" names "uniqueness".
func GroupsIn(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		rest, ok := strings.CutPrefix(p, db.FieldInsights+".")
		if !ok {
			continue
		}
		g, _, _ := strings.Cut(rest, ".")
		if g != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}
