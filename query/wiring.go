package query

import (
	"context"
	"fmt"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
	"github.com/fosql/fosql/zoo"
)

// defaultHooks fills the hooks that Options leaves nil, unless
// NoProviders is set: computed columns from a registry of the brain's
// providers (uniqueness), and LOAD ZOO from the zoo. Images a run cannot
// embed are reported through Options.Progress and the run goes on
// without them.
func (o *Options) defaultHooks() {
	if o.NoProviders {
		return
	}
	if o.LoadZoo == nil {
		o.LoadZoo = loadZoo
	}
	progress := o.Progress
	uniqueness := &brain.Provider{ResolveModel: zoo.ResolveModel, OnSkip: onSkip(progress, "compute uniqueness")}
	if o.Similarity == nil {
		o.Similarity = uniqueness.Similarity
	}
	if o.Ensure != nil && o.Compute != nil {
		return
	}
	reg := &insights.Registry{}
	reg.Register(uniqueness)
	reg.Register(&brain.DuplicatesProvider{Models: brain.Provider{ResolveModel: zoo.ResolveModel, OnSkip: onSkip(progress, "compute duplicates")}})
	if o.Ensure == nil {
		o.Ensure = reg.Ensure
		if o.InsightKeys == nil {
			o.InsightKeys = withEmbeddingKey(reg.Keys())
		}
	}
	if o.Compute == nil {
		o.Compute = reg.Run
	}
}

// onSkip reports, through progress, an image that op could not embed.
func onSkip(progress func(Progress), op string) func(id db.ID, path string, err error) {
	return func(id db.ID, path string, err error) {
		if progress != nil {
			progress(Progress{Op: op, Phase: "skip", Detail: fmt.Sprintf("%s: %v", path, err)})
		}
	}
}

// withEmbeddingKey adds to each group's keys the virtual key of the
// vectors its run used (see schema.embeddings).
func withEmbeddingKey(keys map[string][]string) map[string][]string {
	for g, ks := range keys {
		keys[g] = append(ks, embeddingKey)
	}
	return keys
}

// loadZoo runs LOAD ZOO DATASET through the zoo.
func loadZoo(ctx context.Context, store *db.DB, req ZooRequest, progress func(Progress)) (*db.Dataset, error) {
	return zoo.Load(ctx, store, zoo.LoadRequest{
		Name: req.Name, Split: req.Split, Dataset: req.Dataset, Options: req.Options,
		Progress: func(phase string, done, total int) {
			progress(Progress{Op: "load zoo " + req.Name, Phase: phase, Done: int64(done), Total: int64(total)})
		},
	})
}
