package query

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/db/dbtest"
)

// scaleQueries are the queries peer-sqlite times on the same rows (its
// names), each with a check of fosql's answer.
var scaleQueries = []struct {
	name, sql string
	check     func(rows [][]db.Value) bool
}{
	{"filter-scan-width", "SELECT count(*) FROM walkthrough WHERE metadata.width > 32", func(rows [][]db.Value) bool {
		return len(rows) == 1 && rows[0][0].AsInt() == benchN/4*3
	}},
	{"group-by-tag", "SELECT tag, count(*) FROM walkthrough GROUP BY tag", func(rows [][]db.Value) bool {
		return len(rows) == 1 && rows[0][0].AsString() == "dup" && rows[0][1].AsInt() == benchN/100
	}},
	{"group-by-width", "SELECT metadata.width, count(*) FROM walkthrough GROUP BY metadata.width", func(rows [][]db.Value) bool {
		ok := len(rows) == 8
		for i := 0; ok && i < 8; i++ {
			ok = rows[i][0].AsInt() == dbtest.PeerWidth(i) && rows[i][1].AsInt() == benchN/8
		}
		return ok
	}},
	{"group-by-filepath", "SELECT filepath, count(*) FROM walkthrough GROUP BY filepath", func(rows [][]db.Value) bool {
		return len(rows) == benchN && rows[7][0].AsString() == dbtest.PeerFilepath(7) && rows[benchN-1][1].AsInt() == 1
	}},
	// The same groups when a filter rules the filepath index out: value
	// counts spill to sorted runs past views.SpillLimit.
	{"group-by-filepath-spill", "SELECT filepath, count(*) FROM walkthrough WHERE metadata.width > 0 GROUP BY filepath", func(rows [][]db.Value) bool {
		return len(rows) == benchN && rows[7][0].AsString() == dbtest.PeerFilepath(7) && rows[benchN-1][1].AsInt() == 1
	}},
}

// BenchmarkScale1M runs peer-sqlite's scale queries through SQL on the
// 1,000,000-sample peer dataset, reading every row as SQLite's fetchall
// does, and reports the median wall and CPU time of one run.
func BenchmarkScale1M(b *testing.B) {
	d := benchDatabase(b)
	ctx := context.Background()
	for _, q := range scaleQueries {
		b.Run(q.name, func(b *testing.B) {
			var wall, cpu []time.Duration
			for b.Loop() {
				c0, t0 := cpuTime(), time.Now()
				res, err := d.Query(ctx, q.sql)
				if err != nil {
					b.Fatal(err)
				}
				wall, cpu = append(wall, time.Since(t0)), append(cpu, cpuTime()-c0)
				if !q.check(res.Rows) {
					b.Fatalf("%s: wrong answer (%d rows)", q.sql, len(res.Rows))
				}
			}
			for unit, ds := range map[string][]time.Duration{"median-ms": wall, "median-cpu-ms": cpu} {
				slices.Sort(ds)
				b.ReportMetric(float64(ds[len(ds)/2])/1e6, unit)
			}
		})
	}
}
