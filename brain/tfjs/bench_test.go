package tfjs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/fosql/fosql/brain"
)

// processCPU is the CPU time (user + system) the process has used so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMobileNetV2 times the converted CNN in ONNX Runtime alone (no
// decoding) on 224x224 inputs and reports wall milliseconds per image and
// CPU milliseconds per image; the CPU figure is the "per core" cost of
// BENCHMARKS.md and holds on a shared machine, where wall time does not.
//
// It compares the two ways of using the cores: "calls=N/threads=1", N
// concurrent Run calls on one session with one intra-op thread (what the
// brain does: one call per core), and "calls=1/threads=N", one call at a
// time that ONNX Runtime splits over N threads (with and without
// spinning), each for several batch sizes, all with ORT's full graph
// optimisation. It reads the model `make setup` wrote.
func BenchmarkMobileNetV2(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(modelDir(b), "mobilenet-v2", "mobilenet-v2.onnx"))
	if err != nil {
		b.Fatalf("run `make setup`: %v", err)
	}
	if err := brain.InitRuntime(); err != nil {
		b.Fatal(err)
	}
	cores := runtime.GOMAXPROCS(0)
	settings := []benchSetting{{calls: 1, threads: 1}, {calls: cores, threads: 1}, {calls: 1, threads: cores}, {calls: 1, threads: cores, spin: true}}
	for _, s := range settings {
		for _, batch := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("calls=%d/threads=%d/spin=%v/batch=%d", s.calls, s.threads, s.spin, batch), func(b *testing.B) {
				benchRuns(b, data, s, batch, 224)
			})
		}
	}
}

// BenchmarkMobileNetV2Size times the any-size form of the CNN that `make
// setup` writes (mobilenet-v2-any-size.onnx, convert-tfjs -any-size) at
// several square input sizes, as the brain runs it (one call per core, one
// thread each, batches of 8), reporting wall and CPU milliseconds per image.
func BenchmarkMobileNetV2Size(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(modelDir(b), "mobilenet-v2", "mobilenet-v2-any-size.onnx"))
	if err != nil {
		b.Fatalf("run `make setup`: %v", err)
	}
	if err := brain.InitRuntime(); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{224, 160, 128, 112} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			benchRuns(b, data, benchSetting{calls: runtime.GOMAXPROCS(0), threads: 1}, 8, size)
		})
	}
}

// BenchmarkMobileNetV2Int8 times the float CNN and its int8 form
// (mobilenet-v2-int8.onnx, convert-tfjs -int8) side by side in one run, on
// 224x224 inputs, one call at a time on one thread and as the brain runs
// them (one single-thread call per core), reporting wall and CPU
// milliseconds per image. Both files come from `make setup`.
func BenchmarkMobileNetV2Int8(b *testing.B) {
	files := map[string][]byte{}
	for _, f := range []string{"mobilenet-v2", "mobilenet-v2-int8"} {
		data, err := os.ReadFile(filepath.Join(modelDir(b), "mobilenet-v2", f+".onnx"))
		if err != nil {
			b.Fatalf("run `make setup`: %v", err)
		}
		files[f] = data
	}
	if err := brain.InitRuntime(); err != nil {
		b.Fatal(err)
	}
	for _, s := range []benchSetting{{calls: 1, threads: 1}, {calls: runtime.GOMAXPROCS(0), threads: 1}} {
		for _, batch := range []int{1, 8} {
			for _, f := range []string{"mobilenet-v2", "mobilenet-v2-int8"} {
				b.Run(fmt.Sprintf("calls=%d/batch=%d/model=%s", s.calls, batch, f), func(b *testing.B) {
					benchRuns(b, files[f], s, batch, 224)
				})
			}
		}
	}
}

// benchSetting is how a benchmark uses the cores: calls concurrent Run
// calls on one session, each split over threads intra-op threads.
type benchSetting struct {
	calls, threads int
	spin           bool
}

// benchRuns runs the model in data on batches of batch size x size inputs
// with setting s and reports wall and CPU milliseconds per image.
func benchRuns(b *testing.B, data []byte, s benchSetting, batch, size int) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer opts.Destroy()
	spin := "0"
	if s.spin {
		spin = "1"
	}
	for _, err := range []error{
		opts.SetIntraOpNumThreads(s.threads),
		opts.SetInterOpNumThreads(1),
		opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll),
		opts.AddSessionConfigEntry("session.intra_op.allow_spinning", spin),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"input"}, []string{"embedding"}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Destroy()
	in := make([]float32, batch*size*size*3)
	for i := range in {
		in[i] = float32(i%251) / 251
	}
	x, err := ort.NewTensor(ort.NewShape(int64(batch), int64(size), int64(size), 3), in)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Destroy()
	run := func() {
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{x}, outs); err != nil {
			b.Error(err)
			return
		}
		outs[0].Destroy()
	}
	// calls goroutines share b.N*calls runs; the first run of
	// each warms its share of ORT's arena up.
	runAll := func(n int) {
		next := make(chan struct{})
		var wg sync.WaitGroup
		for range s.calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					run()
				}
			}()
		}
		for range n {
			next <- struct{}{}
		}
		close(next)
		wg.Wait()
	}
	runAll(s.calls)
	b.ResetTimer()
	start, cpu := time.Now(), processCPU(b)
	runAll(b.N * s.calls)
	images := float64(b.N * s.calls * batch)
	b.ReportMetric(float64(time.Since(start).Microseconds())/1e3/images, "ms/image")
	b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1e3/images, "cpu-ms/image")
}
