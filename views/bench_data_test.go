package views

import (
	"context"
	"sync"
	"testing"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/db/dbtest"
)

// benchN is the size of the benchmark dataset, dbtest's peer dataset
// (the rows ../shared/tools/peer-sqlite defines).
const benchN = dbtest.PeerN

var (
	benchUniqueness = dbtest.PeerUniqueness
	benchFilepath   = dbtest.PeerFilepath
)

var (
	benchOnce sync.Once
	benchDB   *db.DB
	benchDS   *db.Dataset
	benchErr  error
)

// benchDataset opens (building it first when needed) the 1,000,000-sample
// benchmark dataset.
func benchDataset(b testing.TB) *db.Dataset {
	b.Helper()
	benchOnce.Do(func() {
		var dir string
		if dir, benchErr = dbtest.EnsurePeer(context.Background(), benchN); benchErr != nil {
			return
		}
		if benchDB, benchErr = db.Open(dir, nil); benchErr != nil {
			return
		}
		benchDS, benchErr = benchDB.Dataset(dbtest.PeerDataset)
	})
	if benchErr != nil {
		b.Fatalf("benchmark dataset: %v", benchErr)
	}
	return benchDS
}
