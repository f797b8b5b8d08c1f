package db_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/db/dbtest"
)

// BenchmarkScan1M takes a full scan of the 1,000,000-sample peer dataset
// apart, on one goroutine and on GOMAXPROCS: the storage engine's
// iteration alone (ids), the same reading every record in place
// (records), and the filter of `WHERE metadata.width > 32` run on those
// records (width-gt-32). It reports the median wall and CPU time of a
// scan, and the CPU time per sample.
func BenchmarkScan1M(b *testing.B) {
	dir, err := dbtest.EnsurePeer(context.Background(), dbtest.PeerN)
	if err != nil {
		b.Fatal(err)
	}
	d, err := db.Open(dir, &db.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ds, err := d.Dataset(dbtest.PeerDataset)
	if err != nil {
		b.Fatal(err)
	}
	width := db.SplitPath("metadata.width")
	scans := []struct {
		name string
		opts db.SampleScan
		keep func(s *db.Sample) bool
		want int64
	}{
		{"ids", db.SampleScan{IDsOnly: true}, func(*db.Sample) bool { return true }, dbtest.PeerN},
		{"records", db.SampleScan{NoInsights: true}, func(s *db.Sample) bool { return len(s.Record()) > 0 }, dbtest.PeerN},
		{"width-gt-32", db.SampleScan{NoInsights: true}, func(s *db.Sample) bool {
			w, ok := s.Record().IntAt(width)
			return ok && w > 32
		}, dbtest.PeerN / 4 * 3},
	}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, sc := range scans {
			b.Run(fmt.Sprintf("%s/workers=%d", sc.name, workers), func(b *testing.B) {
				opts := sc.opts
				opts.Workers = workers
				var walls, cpus []time.Duration
				for b.Loop() {
					// One counter per goroutine, a cache line apart.
					counts := make([][8]int64, workers)
					c0, t0 := dbtest.CPUTime(), time.Now()
					err := ds.VisitSamples(context.Background(), opts, func(w int, s *db.Sample) error {
						if sc.keep(s) {
							counts[w][0]++
						}
						return nil
					})
					walls, cpus = append(walls, time.Since(t0)), append(cpus, dbtest.CPUTime()-c0)
					if err != nil {
						b.Fatal(err)
					}
					var n int64
					for _, c := range counts {
						n += c[0]
					}
					if n != sc.want {
						b.Fatalf("%d samples kept, want %d", n, sc.want)
					}
				}
				slices.Sort(walls)
				slices.Sort(cpus)
				cpu := cpus[len(cpus)/2]
				b.ReportMetric(float64(walls[len(walls)/2])/1e6, "median-ms")
				b.ReportMetric(float64(cpu)/1e6, "median-cpu-ms")
				b.ReportMetric(float64(cpu)/float64(dbtest.PeerN), "cpu-ns/sample")
			})
		}
	}
}
