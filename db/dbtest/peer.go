// Package dbtest builds the datasets that fosql's benchmarks share. The
// peer dataset holds exactly the rows that ../shared/tools/peer-sqlite
// defines, so that SQLite and fosql answer the same queries over the same
// data:
//
//	row i (0-based, added in order i, so id order is i order):
//	  filepath = /data/images/{i/1000:04d}/img_{i:07d}.jpg
//	  tags     = ["dup"] if i%100 == 7 else []
//	  metadata.width  = 16 * (1 + i%8)       (16..128; width > 32 for 75%)
//	  metadata.height = metadata.width * 3 / 4
//	  insights.uniqueness.scalar = ((i*2654435761) mod 2^32) / 2^32
//
// Building a million samples takes a minute, so the dataset is kept under
// $FOSQL_BENCH_DIR (default: the system temp directory) with a marker file
// written once it is whole; whichever benchmark runs first builds it.
package dbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fosql/fosql/db"
)

// PeerN is the number of rows peer-sqlite builds by default.
const PeerN = 1_000_000

// peerVersion is the version of the row formula (peer-sqlite's
// user_version).
const peerVersion = 2

// PeerDataset is the name of the peer dataset.
const PeerDataset = "walkthrough"

// PeerUniqueness is row i's insights.uniqueness.scalar.
func PeerUniqueness(i int) float64 {
	return float64((uint64(i)*2654435761)%4294967296) / 4294967296
}

// PeerFilepath is row i's filepath.
func PeerFilepath(i int) string {
	return fmt.Sprintf("/data/images/%04d/img_%07d.jpg", i/1000, i)
}

// PeerWidth is row i's metadata.width; its height is PeerWidth(i)*3/4.
func PeerWidth(i int) int64 { return 16 * (1 + int64(i%8)) }

// PeerTagged reports whether row i is tagged dup.
func PeerTagged(i int) bool { return i%100 == 7 }

// EnsurePeer returns the directory of the database holding the peer
// dataset of n rows, building it first when it is missing or was not
// finished.
func EnsurePeer(ctx context.Context, n int) (string, error) {
	root := os.Getenv("FOSQL_BENCH_DIR")
	if root == "" {
		root = filepath.Join(os.TempDir(), "fosql-bench")
	}
	// The version in the name follows peer-sqlite's PRAGMA user_version:
	// a directory built by an older formula is not reused.
	dir := filepath.Join(root, fmt.Sprintf("peer%d-%d", peerVersion, n))
	marker := filepath.Join(dir, "complete")
	if _, err := os.Stat(marker); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := buildPeer(ctx, dir, n); err != nil {
		return "", err
	}
	return dir, os.WriteFile(marker, []byte("ok\n"), 0o644)
}

// buildPeer writes the peer dataset of n rows into a new database at dir.
func buildPeer(ctx context.Context, dir string, n int) error {
	d, err := db.Open(dir, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	ds, err := d.CreateDataset(PeerDataset)
	if err != nil {
		return err
	}
	const batch = 2000
	var metas [8]db.Value
	for k := range metas {
		w := PeerWidth(k)
		metas[k] = db.Doc(db.Field{Name: "metadata", Value: db.Doc(
			db.Field{Name: "width", Value: db.Int(w)},
			db.Field{Name: "height", Value: db.Int(w * 3 / 4)})})
	}
	dup := []string{"dup"}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		samples := make([]db.NewSample, 0, end-start)
		for i := start; i < end; i++ {
			s := db.NewSample{Filepath: PeerFilepath(i), Fields: metas[i%8]}
			if PeerTagged(i) {
				s.Tags = dup
			}
			samples = append(samples, s)
		}
		ids, err := ds.Add(ctx, samples)
		if err != nil {
			return fmt.Errorf("dbtest: add %d: %w", start, err)
		}
		vals := make(map[db.ID]db.Value, len(ids))
		for k, id := range ids {
			vals[id] = db.Float(PeerUniqueness(start + k))
		}
		if err := ds.SetInsights(ctx, "uniqueness", "scalar", vals); err != nil {
			return fmt.Errorf("dbtest: insights %d: %w", start, err)
		}
	}
	return nil
}
