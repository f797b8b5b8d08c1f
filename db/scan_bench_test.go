package db

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// scanBenchFiles is the number of images BenchmarkScanImages scans.
const scanBenchFiles = 10_000

// scanBenchDir returns a folder of scanBenchFiles small images (half PNG,
// half JPEG, 64x48, in 100 subfolders) and their total size. The files are
// generated into a temporary folder, or into $FOSQL_SCAN_BENCH_DIR when set,
// where they are kept and reused by later runs (to time other tools, such as
// sha256sum, over the very same files).
func scanBenchDir(b *testing.B) (string, int64) {
	b.Helper()
	dir := os.Getenv("FOSQL_SCAN_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	marker := filepath.Join(dir, ".complete") // hidden: not scanned
	if _, err := os.Stat(marker); err != nil {
		for i := range scanBenchFiles {
			// A band of noise over a smooth picture, so that sizes look
			// like small photos rather than flat colour: a few KB each.
			img := scanfxRGBA(64, 48, i)
			copy(img.Pix, scanfxNoise(64, 8, uint64(i)).Pix)
			format, ext := "png", "png"
			if i%2 == 1 {
				format, ext = "jpeg", "jpg"
			}
			scanfxWrite(b, dir, fmt.Sprintf("d%02d/img%05d.%s", i%100, i, ext), scanfxEncode(b, format, img))
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".complete" {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			total += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, total
}

// BenchmarkScanImages measures ScanImages (walk, content sniffing,
// DecodeConfig, SHA-256, completeness checks, ordered delivery) over 10,000
// small PNG and JPEG files, warm in the page cache, and reports files/s and
// MB/s. The hash-only runs read and hash the same files with the same number
// of workers and nothing else: the floor that ScanImages is measured
// against, in the same run.
func BenchmarkScanImages(b *testing.B) {
	dir, total := scanBenchDir(b)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("scan/workers=%d", workers), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				n := 0
				err := ScanImages(context.Background(), dir, ScanOptions{Recursive: true, Workers: workers},
					func(batch []FoundImage) error { n += len(batch); return nil },
					func(s SkippedFile) { b.Fatalf("skipped %s: %v", s.Path, s.Err) })
				if err != nil || n != scanBenchFiles {
					b.Fatalf("found %d files, error %v", n, err)
				}
			}
			b.ReportMetric(float64(scanBenchFiles*b.N)/b.Elapsed().Seconds(), "files/s")
		})
		b.Run(fmt.Sprintf("hash-only/workers=%d", workers), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				if n := scanBenchHashAll(b, dir, workers); n != scanBenchFiles {
					b.Fatalf("hashed %d files", n)
				}
			}
			b.ReportMetric(float64(scanBenchFiles*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// scanBenchHashAll reads and hashes every image file under dir with the
// given number of workers and returns how many it hashed.
func scanBenchHashAll(b *testing.B, dir string, workers int) int {
	paths := make(chan string, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.New()
			buf := make([]byte, 64<<10)
			for p := range paths {
				f, err := os.Open(p)
				if err != nil {
					b.Error(err)
					continue
				}
				h.Reset()
				for {
					k, err := f.Read(buf)
					h.Write(buf[:k])
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Error(err)
						break
					}
				}
				f.Close()
				h.Sum(nil)
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != ".complete" {
			paths <- p
		}
		return err
	})
	close(paths)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkAddImages measures a whole ingest of the same 10,000 files into
// a fresh dataset: scan, metadata, hashes and the batched writes.
// Run: FOSQL_SCAN_BENCH_DIR=/tmp/scanbench go test -run '^$' -bench AddImages -count 3 ./db
func BenchmarkAddImages(b *testing.B) {
	dir, total := scanBenchDir(b)
	b.SetBytes(total)
	for b.Loop() {
		b.StopTimer()
		d, err := Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		ds, err := d.CreateDataset("ingest")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := ds.AddImages(context.Background(), dir, IngestOptions{Scan: ScanOptions{Recursive: true}})
		if err != nil || len(res.Added) != scanBenchFiles {
			b.Fatalf("added %d: %v", len(res.Added), err)
		}
		b.StopTimer()
		d.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(scanBenchFiles)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
