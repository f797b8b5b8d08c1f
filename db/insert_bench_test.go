package db

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
)

// BenchmarkInsert1M inserts 1,000,000 samples with three user fields each
// in batches of 1,000 and reports samples/s and bytes on disk per sample.
// Run: go test -run '^$' -bench Insert1M -benchtime 1x ./db
func BenchmarkInsert1M(b *testing.B) {
	const n, batch = 1_000_000, 1000
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		d, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		ds, err := d.CreateDataset("bench")
		if err != nil {
			b.Fatal(err)
		}
		samples := make([]NewSample, batch)
		b.StartTimer()
		for i := 0; i < n; i += batch {
			for j := range samples {
				k := i + j
				samples[j] = NewSample{
					Filepath: fmt.Sprintf("/data/images/%04d/img_%07d.jpg", k/1000, k),
					Fields: Doc(
						Field{"label", String([]string{"cat", "dog", "bird"}[k%3])},
						Field{"score", Float(float64(k%1000) / 1000)},
						Field{"width", Int(32)},
					),
				}
			}
			if _, err := ds.Add(context.Background(), samples); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var size int64
		filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if info, err := e.Info(); err == nil {
					size += info.Size()
				}
			}
			return nil
		})
		b.ReportMetric(float64(size)/n, "bytes/sample")
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
