package query

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fosql/fosql/zoo"
)

// embedBenchJPEGs is the number of 1024x768 JPEGs in the folder
// BenchmarkEmbedModels ingests, and embedBenchFashion the number of
// Fashion-MNIST test pictures it loads.
const embedBenchJPEGs, embedBenchFashion = 256, 2000

// writeBenchJPEGs writes n 1024x768 JPEGs (quality 90) of overlapping
// colour rectangles over a gradient, with pixel noise, into dir.
func writeBenchJPEGs(b *testing.B, dir string, n int) {
	b.Helper()
	const w, h = 1024, 768
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(rng.IntN(32)), 255})
			}
		}
		for range 6 {
			c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			x0, y0 := rng.IntN(w), rng.IntN(h)
			for y := y0; y < min(h, y0+50+rng.IntN(300)); y++ {
				for x := x0; x < min(w, x0+50+rng.IntN(400)); x++ {
					img.SetRGBA(x, y, c)
				}
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedModels is embedding throughput end to end, images to
// stored embeddings: COMPUTE UNIQUENESS through SQL (decode, resize,
// inference, store, and the k-NN, small at these sizes) on a folder of
// 1024x768 JPEGs and on Fashion-MNIST's first test pictures, with the
// built-in descriptor and with mobilenet-v2 side by side. Each iteration
// ingests into a fresh in-memory database, untimed. It reports images/s
// and CPU ms per image. The CNN needs `make setup`; Fashion-MNIST needs
// Debian's dataset-fashion-mnist package and is skipped without it.
func BenchmarkEmbedModels(b *testing.B) {
	ctx := context.Background()
	folder := b.TempDir()
	writeBenchJPEGs(b, folder, embedBenchJPEGs)
	sets := []struct {
		name, load string
		n          int
	}{
		{"jpeg1024x768", fmt.Sprintf("CREATE DATASET d FROM IMAGES '%s'", folder), embedBenchJPEGs},
		{"fashion-mnist", fmt.Sprintf("LOAD ZOO DATASET fashion-mnist SPLIT test AS d WITH (n = %d)", embedBenchFashion), embedBenchFashion},
	}
	for _, set := range sets {
		for _, model := range []string{"fosql-descriptor-v1", "mobilenet-v2"} {
			b.Run(set.name+"/"+model, func(b *testing.B) {
				var wall, cpu time.Duration
				for range b.N {
					b.StopTimer()
					auto := false
					d, err := Open(":memory:", &Options{AutoCompute: &auto})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := d.Exec(ctx, set.load); err != nil {
						d.Close()
						if errors.Is(err, zoo.ErrNotInstalled) {
							b.Skipf("%s: %v", set.name, err)
						}
						b.Fatalf("%s: %v", set.load, err)
					}
					b.StartTimer()
					start, cpu0 := time.Now(), cpuTime()
					if _, err := d.Exec(ctx, fmt.Sprintf("COMPUTE UNIQUENESS ON d WITH (model = '%s')", model)); err != nil {
						b.Fatalf("%s: %v (run `make setup`)", model, err)
					}
					wall += time.Since(start)
					cpu += cpuTime() - cpu0
					b.StopTimer()
					d.Close()
				}
				images := float64(b.N * set.n)
				b.ReportMetric(images/wall.Seconds(), "images/s")
				b.ReportMetric(float64(cpu.Microseconds())/1e3/images, "cpu-ms/image")
			})
		}
	}
}
