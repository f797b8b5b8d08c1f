package brain

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/draw"
)

// benchPicture draws a w x h picture: colour blobs over a gradient with
// pixel noise, so encoders and decoders do realistic work.
func benchPicture(seed uint64, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	type blob struct {
		x, y, r float64
		c       [3]float64
	}
	blobs := make([]blob, 8)
	for i := range blobs {
		blobs[i] = blob{rng.Float64() * float64(w), rng.Float64() * float64(h), (0.05 + 0.25*rng.Float64()) * float64(w),
			[3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := [3]float64{float64(x) / float64(w) * 200, float64(y) / float64(h) * 200, 90}
			for _, b := range blobs {
				if math.Hypot(float64(x)-b.x, float64(y)-b.y) < b.r {
					c = b.c
				}
			}
			n := rng.Float64()*24 - 12
			img.Pix[img.PixOffset(x, y)+0] = uint8(min(255, max(0, c[0]+n)))
			img.Pix[img.PixOffset(x, y)+1] = uint8(min(255, max(0, c[1]+n)))
			img.Pix[img.PixOffset(x, y)+2] = uint8(min(255, max(0, c[2]+n)))
			img.Pix[img.PixOffset(x, y)+3] = 255
		}
	}
	return img
}

var benchSets struct {
	sync.Mutex
	m map[string][][]byte
}

// benchImages returns n encoded pictures ("png" 32x32 or "jpeg" 1024x768),
// made once per process.
func benchImages(kind string, n int) [][]byte {
	benchSets.Lock()
	defer benchSets.Unlock()
	key := fmt.Sprint(kind, n)
	if v, ok := benchSets.m[key]; ok {
		return v
	}
	out := make([][]byte, n)
	for i := range out {
		var b bytes.Buffer
		if kind == "png" {
			png.Encode(&b, benchPicture(uint64(i), 32, 32))
		} else {
			jpeg.Encode(&b, benchPicture(uint64(i), 1024, 768), &jpeg.Options{Quality: 85})
		}
		out[i] = b.Bytes()
	}
	if benchSets.m == nil {
		benchSets.m = map[string][][]byte{}
	}
	benchSets.m[key] = out
	return out
}

var benchCases = []struct {
	name, kind string
	n          int
}{
	{"png32x32", "png", 2048},
	{"jpeg1024x768", "jpeg", 96},
}

// decodeAll preprocesses every image on GOMAXPROCS goroutines.
func decodeAll(b *testing.B, pre *preprocessor, imgs [][]byte) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc scratch
			dst := make([]float32, pre.size())
			for i := range next {
				if err := pre.loadTensor(context.Background(), bytes.NewReader(imgs[i]), limits{}.orDefault(), dst, &sc); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range imgs {
		next <- i
	}
	close(next)
	wg.Wait()
}

// inferBatches runs n batches of bs pre-made tensors through m, as many
// at once as Embed runs them by default.
func inferBatches(b *testing.B, m *Model, batch []float32, bs, n int) {
	runners := defaultRunners(m)
	var wg sync.WaitGroup
	next := make(chan struct{})
	for range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if _, _, err := m.run(batch, bs); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for range n {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
}

// BenchmarkEmbed reports images/s for decode + preprocessing alone,
// inference alone (pre-made tensors) and the whole Embed pipeline, with
// each built-in descriptor, one after the other.
func BenchmarkEmbed(b *testing.B) {
	needRuntime(b)
	for _, bd := range builtins {
		b.Run(bd.short, func(b *testing.B) {
			m, err := bd.load()
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			benchEmbed(b, m)
		})
	}
}

// benchEmbed is BenchmarkEmbed for one model.
func benchEmbed(b *testing.B, m *Model) {
	for _, bc := range benchCases {
		imgs := benchImages(bc.kind, bc.n)
		b.Run(bc.name+"/decode", func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				decodeAll(b, m.pre, imgs)
			}
			b.ReportMetric(float64(b.N*len(imgs))/time.Since(start).Seconds(), "images/s")
		})
		b.Run(bc.name+"/infer", func(b *testing.B) {
			size := m.pre.size()
			batch := make([]float32, descriptorBatch*size)
			var sc scratch
			for j := 0; j < descriptorBatch; j++ {
				img, o, err := decodeImage(imgs[j%len(imgs)], DefaultMaxPixels)
				if err != nil {
					b.Fatal(err)
				}
				m.pre.fill(batch[j*size:(j+1)*size], img, o, &sc)
			}
			batches := (len(imgs) + descriptorBatch - 1) / descriptorBatch
			start := time.Now()
			for i := 0; i < b.N; i++ {
				inferBatches(b, m, batch, descriptorBatch, batches)
			}
			b.ReportMetric(float64(b.N*batches*descriptorBatch)/time.Since(start).Seconds(), "images/s")
		})
		b.Run(bc.name+"/end-to-end", func(b *testing.B) {
			items := make([]Item, len(imgs))
			for i := range imgs {
				items[i] = Item{ID: fmt.Sprint(i), Media: bytesMedia(imgs[i])}
			}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				emb, err := Embed(context.Background(), m, items, EmbedOptions{})
				if err != nil || len(emb.Skipped) > 0 {
					b.Fatal(err, emb.Skipped)
				}
			}
			b.ReportMetric(float64(b.N*len(imgs))/time.Since(start).Seconds(), "images/s")
		})
	}
}

// BenchmarkInferBatch compares inference batch sizes for the built-in model.
func BenchmarkInferBatch(b *testing.B) {
	needRuntime(b)
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const images = 1024
	for _, bs := range []int{8, 16, 32, 64, 128, 256} {
		b.Run(fmt.Sprint(bs), func(b *testing.B) {
			batch := make([]float32, bs*m.pre.size())
			for i := range batch {
				batch[i] = float32(i%251) / 251
			}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				inferBatches(b, m, batch, bs, images/bs)
			}
			b.ReportMetric(float64(b.N*images)/time.Since(start).Seconds(), "images/s")
		})
	}
}

// BenchmarkResizeKernel compares interpolators for the final step of
// bringing a decoded 1024x768 JPEG to the model input (after the box
// pre-filter), and times the enlarging path of a 32x32 PNG.
func BenchmarkResizeKernel(b *testing.B) {
	spec := DefaultModelSpec()
	pre := newPreprocessor(&spec)
	big, _, err := decodeImage(benchImages("jpeg", 96)[0], DefaultMaxPixels)
	if err != nil {
		b.Fatal(err)
	}
	small, _, err := decodeImage(benchImages("png", 2048)[0], DefaultMaxPixels)
	if err != nil {
		b.Fatal(err)
	}
	defer func(k draw.Interpolator) { resizeKernel = k }(resizeKernel)
	run := func(b *testing.B, img image.Image) {
		dst := make([]float32, pre.size())
		var sc scratch
		for i := 0; i < b.N; i++ {
			pre.fill(dst, img, 1, &sc)
		}
	}
	for _, k := range []struct {
		name string
		k    draw.Interpolator
	}{{"NearestNeighbor", draw.NearestNeighbor}, {"ApproxBiLinear", draw.ApproxBiLinear}, {"BiLinear", draw.BiLinear}, {"CatmullRom", draw.CatmullRom}} {
		b.Run(k.name+"/jpeg1024x768", func(b *testing.B) {
			resizeKernel = k.k
			run(b, big)
		})
	}
	resizeKernel = draw.BiLinear
	b.Run("enlarge/png32x32", func(b *testing.B) { run(b, small) })
}
