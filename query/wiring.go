package query

import (
	"context"
	"fmt"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// defaultHooks fills the computed-column hooks that Options leaves nil
// with a registry of the brain's providers (uniqueness), unless
// NoProviders is set. Images a run cannot embed are reported through
// Options.Progress and the run goes on without them.
func (o *Options) defaultHooks() {
	if o.NoProviders || (o.Ensure != nil && o.Compute != nil) {
		return
	}
	progress := o.Progress
	reg := &insights.Registry{}
	reg.Register(&brain.Provider{OnSkip: func(id db.ID, path string, err error) {
		if progress != nil {
			progress(Progress{Op: "compute uniqueness", Phase: "skip", Detail: fmt.Sprintf("%s: %v", path, err)})
		}
	}})
	if o.Ensure == nil {
		o.Ensure = reg.Ensure
	}
	if o.Compute == nil {
		o.Compute = func(ctx context.Context, ds *db.Dataset, group string, req insights.Request, progress func(insights.Progress)) error {
			return reg.Run(ctx, ds, group, req, progress)
		}
	}
}
