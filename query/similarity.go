package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
)

// distanceColumn is the result column that shows each sample's distance
// to the query of ORDER BY SIMILARITY TO.
const distanceColumn = "_distance"

// similarityOptions are the options ORDER BY SIMILARITY TO … WITH (…)
// takes; the uniqueness group's options of the same names.
var similarityOptions = []string{"embeddings", "metric", "model"}

// similarRank ranks samples by distance to the query of an ORDER BY
// SIMILARITY TO (views.Ranker). It gathers the embeddings when the view
// runs, never when it is planned or explained.
type similarRank struct {
	ds      *db.Dataset
	space   func(ctx context.Context, ds *db.Dataset, req brain.SimilarityRequest) (*brain.SimilaritySpace, error)
	req     brain.SimilarityRequest
	sample  db.ID  // the query sample, unless file is set
	file    string // the query image
	desc    string
	explain string // the embeddings and metric, as EXPLAIN shows them
}

// String implements views.Ranker.
func (r *similarRank) String() string { return r.desc + " (" + r.explain + ")" }

// Rank implements views.Ranker.
func (r *similarRank) Rank(ctx context.Context, candidates []db.ID, k int) ([]db.ID, []float64, error) {
	sp, err := r.space(ctx, r.ds, r.req)
	if err != nil {
		return nil, nil, r.explainError(err)
	}
	var q brain.SimilarityQuery
	if r.file != "" {
		q, err = sp.QueryFile(ctx, r.file)
	} else {
		q, err = sp.QuerySample(r.sample)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ORDER BY SIMILARITY TO %s: %w", r.desc, err)
	}
	return sp.Nearest(ctx, q, candidates, k)
}

// explainError adds to an error of gathering the embeddings what to do.
func (r *similarRank) explainError(err error) error {
	if errors.Is(err, brain.ErrNotEmbedded) {
		return fmt.Errorf("ORDER BY SIMILARITY TO %s: %w; run COMPUTE UNIQUENESS ON %s WITH (%s) first, or SET auto_compute = on",
			r.desc, err, r.ds.Name(), r.explain)
	}
	return fmt.Errorf("ORDER BY SIMILARITY TO %s: %w", r.desc, err)
}

// similarityNeedsRun reports whether a similarity query reads the
// embeddings of the dataset's last uniqueness run: its options name
// neither a model nor an embeddings field.
func similarityNeedsRun(so *SimilarityOrder) bool {
	_, model := so.Options["model"]
	_, field := so.Options["embeddings"]
	return !model && !field
}

// bindSimilarity prepares the ranker of an ORDER BY SIMILARITY TO on the
// binder's dataset: the query, checked (an unknown sample is an error
// now), and the options of the embeddings to search, the last uniqueness
// run's with the query's own over them.
func (s *Session) bindSimilarity(b *binder, so *SimilarityOrder, a *args) (*similarRank, error) {
	if s.db.opts.Similarity == nil {
		return nil, fmt.Errorf("ORDER BY SIMILARITY TO: %w: this build has no brain wired in (query.Options.Similarity)", ErrNotAvailable)
	}
	for k := range so.Options {
		if !slices.Contains(similarityOptions, k) {
			return nil, fmt.Errorf("ORDER BY SIMILARITY TO … WITH (%s = …): %w: unknown option (known: %s)", k, ErrUnsupported, strings.Join(similarityOptions, ", "))
		}
	}
	own, err := optionValues(so.Options, a)
	if err != nil {
		return nil, err
	}
	v, err := a.literal(so.Query)
	if err != nil {
		return nil, err
	}
	if v.Kind() != db.KindString || v.AsString() == "" {
		return nil, fmt.Errorf("%w: ORDER BY SIMILARITY TO needs a sample id or FILE 'path', not %s", ErrParam, describeValue(v))
	}
	r := &similarRank{ds: b.ds, space: s.db.opts.Similarity, req: brain.SimilarityRequest{Options: map[string]any{}}}
	if so.File {
		r.file, r.desc = v.AsString(), "FILE "+QuoteString(v.AsString())
	} else {
		r.desc = QuoteString(v.AsString())
		id, err := db.ParseID(v.AsString())
		if err != nil {
			return nil, fmt.Errorf("ORDER BY SIMILARITY TO %s: %w: not a sample id (24 hexadecimal characters); for an image file write SIMILARITY TO FILE %s",
				r.desc, ErrParam, r.desc)
		}
		if _, err := b.ds.Get(id); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return nil, fmt.Errorf("ORDER BY SIMILARITY TO %s: %w: dataset %s has no sample with that id", r.desc, db.ErrNotFound, b.ds.Name())
			}
			return nil, err
		}
		r.sample = id
	}
	if similarityNeedsRun(so) {
		runs, err := b.ds.Runs()
		if err != nil {
			return nil, err
		}
		run, ok := runs[uniquenessGroup]
		if !ok || run.Status != db.RunComplete {
			return nil, fmt.Errorf("ORDER BY SIMILARITY TO on %s: %w: it searches the embeddings of the last uniqueness run, and there is none; run COMPUTE UNIQUENESS ON %s, or name the embeddings: WITH (model = '…') or WITH (embeddings = 'field')",
				b.ds.Name(), ErrNotAvailable, b.ds.Name())
		}
		if len(run.Options) > 0 {
			var stored map[string]any
			if err := json.Unmarshal(run.Options, &stored); err != nil {
				return nil, fmt.Errorf("insights.%s: stored run options: %w", uniquenessGroup, err)
			}
			for _, k := range similarityOptions {
				if x, ok := stored[k]; ok {
					r.req.Options[k] = x
				}
			}
		}
	}
	for k, x := range own {
		r.req.Options[k] = x
	}
	// A model named in the query may need embedding what the dataset has
	// not stored: a computed column's job, run when auto_compute is on.
	r.req.Embed = !similarityNeedsRun(so) && s.AutoCompute()
	r.req.Progress = s.insightsProgress("embed for similarity")
	r.explain = describeOptions(r.req.Options)
	return r, nil
}

// uniquenessGroup is the insights group whose embeddings similarity
// queries search by default.
const uniquenessGroup = brain.UniquenessGroup

// describeOptions prints options as name = value, sorted by name, with
// the metric's default made explicit.
func describeOptions(opts map[string]any) string {
	all := map[string]any{"metric": "cosine"}
	if _, ok := opts["model"]; !ok {
		if _, field := opts["embeddings"]; !field {
			all["model"] = brain.DefaultModelName
		}
	}
	for k, v := range opts {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		val := fmt.Sprint(all[k])
		if str, ok := all[k].(string); ok {
			val = QuoteString(str)
		}
		parts[i] = k + " = " + val
	}
	return strings.Join(parts, ", ")
}
