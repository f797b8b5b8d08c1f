package query

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fosql/fosql/db/dbtest"
	"github.com/fosql/fosql/views"
)

// benchN is the size of the benchmark dataset: dbtest's peer dataset,
// the rows ../shared/tools/peer-sqlite defines, shared with the views
// benchmarks.
const benchN = dbtest.PeerN

var (
	benchOnce sync.Once
	benchDB   *DB
	benchErr  error
)

// benchDatabase opens the benchmark database, building it when missing.
func benchDatabase(b *testing.B) *DB {
	b.Helper()
	benchOnce.Do(func() {
		var dir string
		if dir, benchErr = dbtest.EnsurePeer(context.Background(), benchN); benchErr != nil {
			return
		}
		auto := false
		if benchDB, benchErr = Open(dir, &Options{AutoCompute: &auto}); benchErr != nil {
			return
		}
		// Warm the store's caches so that the first benchmark of a run is
		// not charged for them.
		for range 500 {
			if _, benchErr = benchDB.Query(context.Background(), top10SQL); benchErr != nil {
				return
			}
		}
	})
	if benchErr != nil {
		b.Fatalf("benchmark database: %v", benchErr)
	}
	return benchDB
}

// cpuTime is the process's user and system CPU time so far.
var cpuTime = dbtest.CPUTime

// reportCPU adds the CPU time per operation, which a shared, busy machine
// disturbs less than wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

const top10SQL = "SELECT id, filepath FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 10"

// BenchmarkTop10SQL1M is the walkthrough's query end to end through SQL
// (parse, bind, plan, index scan, projection) on 1,000,000 samples; compare
// with peer-sqlite's order-by-limit-10.
func BenchmarkTop10SQL1M(b *testing.B) {
	d := benchDatabase(b)
	ctx := context.Background()
	start := cpuTime()
	for b.Loop() {
		res, err := d.Query(ctx, top10SQL)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) != 10 {
			b.Fatalf("%d rows", len(res.Rows))
		}
	}
	reportCPU(b, start)
}

// BenchmarkTop10Views1M is the same query through the views API, to show
// what the SQL layer adds.
func BenchmarkTop10Views1M(b *testing.B) {
	d := benchDatabase(b)
	ctx := context.Background()
	ds, err := d.Store().Dataset("walkthrough")
	if err != nil {
		b.Fatal(err)
	}
	start := cpuTime()
	for b.Loop() {
		n := 0
		v := views.New(ds).SortBy("insights.uniqueness.scalar", views.Desc).Limit(10)
		for s, err := range v.Iter(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			_, _ = s.ID.String(), s.Filepath()
			n++
		}
		if n != 10 {
			b.Fatalf("%d rows", n)
		}
	}
	reportCPU(b, start)
}

// BenchmarkTagCountSQL1M counts the 1% tagged samples through SQL; compare
// with peer-sqlite's tag-like-scan.
func BenchmarkTagCountSQL1M(b *testing.B) {
	d := benchDatabase(b)
	ctx := context.Background()
	start := cpuTime()
	for b.Loop() {
		res, err := d.Query(ctx, "SELECT count(*) FROM walkthrough WHERE 'dup' IN tags")
		if err != nil {
			b.Fatal(err)
		}
		if got := res.Rows[0][0].AsInt(); got != benchN/100 {
			b.Fatalf("count %d", got)
		}
	}
	reportCPU(b, start)
}

var benchStatements = map[string]string{
	"top10":  top10SQL,
	"tags":   "SELECT id, filepath FROM walkthrough WHERE 'dup' IN tags AND metadata.width >= 32 LIMIT 5 OFFSET 5",
	"group":  "SELECT tag, count(*) AS n FROM walkthrough GROUP BY tag ORDER BY n DESC",
	"update": "UPDATE walkthrough ADD TAG 'dup' WHERE id IN ('6b0b97a1000000000000000d', '6b0b97a1000000000000000e')",
}

// BenchmarkParse is the cost of parsing one statement (lexing, the
// rewrites, sqlparser).
func BenchmarkParse(b *testing.B) {
	for name, sql := range benchStatements {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParsePlan is parsing plus binding and planning a statement
// (dataset lookup, schema, name checks, the view's stages and its
// physical plan), without running it.
func BenchmarkParsePlan(b *testing.B) {
	d := openFixtureDB(b)
	s := d.NewSession()
	ctx := context.Background()
	for name, sql := range benchStatements {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				sts, err := Parse(sql)
				if err != nil {
					b.Fatal(err)
				}
				a := &args{}
				switch st := sts[0].(type) {
				case *Select:
					_, p, _, err := s.planSelect(ctx, st, a, false)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p.view.Explain(); err != nil {
						b.Fatal(err)
					}
				default:
					w, err := s.planWrite(ctx, st, a, false)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.view.Explain(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
