package tfjs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/fosql/fosql/brain"
)

// BenchmarkMobileNetV2 times the converted CNN in ONNX Runtime alone (no
// decoding) on 224x224 inputs, for each intra-op thread count, batch size
// and graph optimisation level, and reports milliseconds per image and per
// image per thread (the "per core" figure of BENCHMARKS.md). It reads the
// model `make setup` wrote.
func BenchmarkMobileNetV2(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(modelDir(b), "mobilenet-v2", "mobilenet-v2.onnx"))
	if err != nil {
		b.Fatalf("run `make setup`: %v", err)
	}
	if err := brain.InitRuntime(); err != nil {
		b.Fatal(err)
	}
	levels := map[string]ort.GraphOptimizationLevel{"basic": ort.GraphOptimizationLevelEnableBasic, "all": ort.GraphOptimizationLevelEnableAll}
	for _, level := range []string{"basic", "all"} {
		for _, threads := range []int{1, 2} {
			for _, batch := range []int{1, 8, 32} {
				b.Run(fmt.Sprintf("opt=%s/threads=%d/batch=%d", level, threads, batch), func(b *testing.B) {
					opts, err := ort.NewSessionOptions()
					if err != nil {
						b.Fatal(err)
					}
					defer opts.Destroy()
					opts.SetIntraOpNumThreads(threads)
					opts.SetInterOpNumThreads(1)
					opts.SetGraphOptimizationLevel(levels[level])
					opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")
					sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"input"}, []string{"embedding"}, opts)
					if err != nil {
						b.Fatal(err)
					}
					defer sess.Destroy()
					in := make([]float32, batch*224*224*3)
					for i := range in {
						in[i] = float32(i%251) / 251
					}
					x, err := ort.NewTensor(ort.NewShape(int64(batch), 224, 224, 3), in)
					if err != nil {
						b.Fatal(err)
					}
					defer x.Destroy()
					run := func() {
						outs := []ort.Value{nil}
						if err := sess.Run([]ort.Value{x}, outs); err != nil {
							b.Fatal(err)
						}
						outs[0].Destroy()
					}
					run() // warm up
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						run()
					}
					perImage := float64(time.Since(start).Milliseconds()) / float64(b.N*batch)
					b.ReportMetric(perImage, "ms/image")
					b.ReportMetric(perImage*float64(threads), "ms/image/thread")
				})
			}
		}
	}
}
