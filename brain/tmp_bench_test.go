package brain

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkTmpCPU(b *testing.B) {
	needRuntime(b)
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	imgs := benchImages("png", 2048)
	items := make([]Item, len(imgs))
	for i := range imgs {
		items[i] = Item{ID: fmt.Sprint(i), Media: bytesMedia(imgs[i])}
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprint("e2e-workers", w), func(b *testing.B) {
			start, c0 := time.Now(), cpuNow()
			for i := 0; i < b.N; i++ {
				if _, err := Embed(context.Background(), m, items, EmbedOptions{Workers: w}); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N*len(imgs))/el.Seconds(), "images/s")
			b.ReportMetric(float64(cpuNow()-c0)/float64(el), "cores")
		})
	}
	b.Run("infer", func(b *testing.B) {
		size := m.pre.size()
		batch := make([]float32, descriptorBatch*size)
		start, c0 := time.Now(), cpuNow()
		for i := 0; i < b.N; i++ {
			for done := 0; done < len(imgs); done += descriptorBatch {
				m.run(batch, descriptorBatch)
			}
		}
		el := time.Since(start)
		b.ReportMetric(float64(b.N*len(imgs))/el.Seconds(), "images/s")
		b.ReportMetric(float64(cpuNow()-c0)/float64(el), "cores")
	})
}
