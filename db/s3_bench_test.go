package db

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fosql/fosql/db/s3test"
)

// BenchmarkS3Ingest ingests the same generated JPEGs (FOSQL_S3_BENCH_N,
// default 2,000, 320x240, about 20 KB each) from a local folder and from a
// local SeaweedFS server, alternating the two in each of
// FOSQL_S3_BENCH_ROUNDS rounds (default 5), each into a new dataset, and
// reports the median of each side and their ratio; FOSQL_S3_BENCH_WORKERS
// sets the S3 side's ScanOptions.Workers. It needs the weed binary
// (make setup-seaweedfs).
// Run: go test -run '^$' -bench S3Ingest -benchtime 1x ./db
func BenchmarkS3Ingest(b *testing.B) {
	n := benchEnvInt("FOSQL_S3_BENCH_N", 2000)
	rounds := benchEnvInt("FOSQL_S3_BENCH_ROUNDS", 5)
	w := s3test.StartWeed(b)
	w.MakeBucket(b, "bench")
	b.Setenv("AWS_ACCESS_KEY_ID", s3test.WeedAccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", s3test.WeedSecretKey)
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv(EnvS3Endpoint, "")

	dir := b.TempDir()
	var bytes int64
	for i := range n {
		data := scanfxEncode(b, "jpeg", scanfxNoiseBlocks(320, 240, i))
		name := fmt.Sprintf("img%05d.jpg", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(data))
		w.Put(b, "bench", "set/"+name, data)
	}

	for range b.N {
		d, err := Open(filepath.Join(b.TempDir(), "db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		var disk, s3 []float64
		for r := range rounds {
			for _, side := range []string{"disk", "s3"} {
				ds, err := d.CreateDataset(fmt.Sprintf("%s%d", side, r))
				if err != nil {
					b.Fatal(err)
				}
				root, opts := dir, IngestOptions{}
				if side == "s3" {
					root, opts.Scan.Endpoint = "s3://bench/set/", w.URL
					opts.Scan.Workers = benchEnvInt("FOSQL_S3_BENCH_WORKERS", 0)
				}
				start := time.Now()
				res, err := ds.AddImages(ctx, root, opts)
				el := time.Since(start).Seconds()
				if err != nil || len(res.Added) != n {
					b.Fatalf("%s: %v, %d added of %d", side, err, len(res.Added), n)
				}
				if side == "disk" {
					disk = append(disk, el)
				} else {
					s3 = append(s3, el)
				}
			}
		}
		d.Close()
		md, ms := benchMedian(disk), benchMedian(s3)
		b.ReportMetric(md*1000, "disk-ms")
		b.ReportMetric(ms*1000, "s3-ms")
		b.ReportMetric(float64(n)/ms, "s3-images/s")
		b.ReportMetric(ms/md, "s3/disk")
		b.ReportMetric(float64(bytes)/float64(n), "bytes/image")
		b.Logf("%d images; disk runs %v s; s3 runs %v s", n, disk, s3)
	}
}

// scanfxNoiseBlocks is a w x h picture of 8x8 blocks of random colours:
// a JPEG of it is about as large as a photograph of that size.
func scanfxNoiseBlocks(w, h, seed int) *image.RGBA {
	m := scanfxNoise(w/8, h/8, uint64(seed))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			out.Set(x, y, m.At(x/8, y/8))
		}
	}
	return out
}

// benchEnvInt reads a positive integer from the environment, else def.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchMedian is the median of xs.
func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
