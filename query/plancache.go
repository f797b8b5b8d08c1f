package query

import "github.com/fosql/fosql/db"

// planCache keeps bound SELECT plans for repeated statements. A plan is
// derived from the database's state (the dataset, its schema, the
// freshness of the insights it reads), so it is kept together with the
// commit epoch it was made in and used only while db.DB.Epoch still
// reports that epoch: any commit, from SQL or the Go API, retires every
// plan. Statements with arguments are not cached.
type planCache struct {
	plans *boundedMap[planKey, planEntry]
}

func newPlanCache() planCache {
	return planCache{plans: newBoundedMap[planKey, planEntry](planCacheSize)}
}

// planCacheSize bounds the number of plans kept.
const planCacheSize = 256

// planKey identifies a plan: the parsed statement (the script cache hands
// out the same one for the same text), whether Ensure ran for it, and
// the session's auto_compute setting that Ensure saw.
type planKey struct {
	st     *Select
	ensure bool
	auto   bool
}

type planEntry struct {
	epoch  uint64
	b      *binder
	p      *selectPlan
	groups []string
}

// get returns the plan for k if it was made in the current epoch.
func (c planCache) get(store *db.DB, k planKey) (planEntry, bool) {
	e, quiet := store.Epoch()
	if !quiet {
		return planEntry{}, false
	}
	ent, ok := c.plans.get(k)
	return ent, ok && ent.epoch == e
}

// put keeps a plan made in ent.epoch.
func (c planCache) put(k planKey, ent planEntry) { c.plans.put(k, ent) }
