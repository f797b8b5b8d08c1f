package views

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fosql/fosql/db"
)

// The benchmark dataset holds exactly the rows that
// ../shared/tools/peer-sqlite defines, so that SQLite and fosql answer the
// same queries over the same data:
//
//	row i (0-based, added in order i, so id order is i order):
//	  filepath = /data/images/{i/1000:04d}/img_{i:07d}.jpg
//	  tags     = ["dup"] if i%100 == 7 else []
//	  metadata.width = metadata.height = 32
//	  insights.uniqueness.scalar = ((i*2654435761) mod 2^32) / 2^32
//
// It is built once and kept under $FOSQL_BENCH_DIR (default: the system
// temp directory), because building a million samples takes minutes.
const benchN = 1_000_000

func benchUniqueness(i int) float64 {
	return float64((uint64(i)*2654435761)%4294967296) / 4294967296
}

func benchFilepath(i int) string {
	return fmt.Sprintf("/data/images/%04d/img_%07d.jpg", i/1000, i)
}

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
		root := os.Getenv("FOSQL_BENCH_DIR")
		if root == "" {
			root = filepath.Join(os.TempDir(), "fosql-bench")
		}
		dir := filepath.Join(root, fmt.Sprintf("views-%d", benchN))
		marker := filepath.Join(dir, "complete")
		if _, err := os.Stat(marker); err != nil {
			if err := os.RemoveAll(dir); err != nil {
				benchErr = err
				return
			}
			if benchErr = buildBenchDataset(context.Background(), dir, benchN); benchErr != nil {
				return
			}
			if benchErr = os.WriteFile(marker, []byte("ok\n"), 0o644); benchErr != nil {
				return
			}
		}
		benchDB, benchErr = db.Open(dir, nil)
		if benchErr != nil {
			return
		}
		benchDS, benchErr = benchDB.Dataset("walkthrough")
	})
	if benchErr != nil {
		b.Fatalf("benchmark dataset: %v", benchErr)
	}
	return benchDS
}

func buildBenchDataset(ctx context.Context, dir string, n int) error {
	d, err := db.Open(dir, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	ds, err := d.CreateDataset("walkthrough")
	if err != nil {
		return err
	}
	const batch = 2000
	meta := db.Doc(db.Field{Name: "metadata", Value: db.Doc(
		db.Field{Name: "width", Value: db.Int(32)},
		db.Field{Name: "height", Value: db.Int(32)})})
	dup := []string{"dup"}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		samples := make([]db.NewSample, 0, end-start)
		for i := start; i < end; i++ {
			s := db.NewSample{Filepath: benchFilepath(i), Fields: meta}
			if i%100 == 7 {
				s.Tags = dup
			}
			samples = append(samples, s)
		}
		ids, err := ds.Add(ctx, samples)
		if err != nil {
			return fmt.Errorf("add %d: %w", start, err)
		}
		vals := make(map[db.ID]db.Value, len(ids))
		for k, id := range ids {
			vals[id] = db.Float(benchUniqueness(start + k))
		}
		if err := ds.SetInsights(ctx, "uniqueness", "scalar", vals); err != nil {
			return fmt.Errorf("insights %d: %w", start, err)
		}
	}
	return nil
}
