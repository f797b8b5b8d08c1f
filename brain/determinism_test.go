package brain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"testing"
)

// TestSameImageSameEmbedding: one image embedded by each built-in
// descriptor at every position of batches of several sizes, with one or
// two workers, gets bit-identical
// embeddings (ONNX Runtime's row sums once depended on a row's alignment
// in its batch, so odd and even rows differed in the last bits).
func TestSameImageSameEmbedding(t *testing.T) {
	eachBuiltin(t, func(t *testing.T, _ *builtinDescriptor, m *Model) { checkSameEmbedding(t, m) })
}

// checkSameEmbedding embeds one image at many batch positions with m and
// fails unless every embedding of it is bit-identical.
func checkSameEmbedding(t *testing.T, m *Model) {
	same := noiseJPEG(7, 31, 21)
	var items []Item
	for i := 0; i < 40; i++ {
		data := same
		if i%3 != 0 {
			data = noiseJPEG(uint64(100+i), 31, 21)
		}
		items = append(items, Item{ID: fmt.Sprint(i), Media: MediaFunc(func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})})
	}
	var ref []float32
	for _, bs := range []int{0, 1, 2, 5, 8} {
		for _, workers := range []int{1, 2} {
			emb, err := Embed(context.Background(), m, items, EmbedOptions{BatchSize: bs, Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(items); i += 3 {
				v := emb.Vector(i)
				if ref == nil {
					ref = append([]float32(nil), v...)
				}
				for j := range v {
					if math.Float32bits(v[j]) != math.Float32bits(ref[j]) {
						t.Fatalf("batch size %d, %d workers: item %d differs from the first copy at %d: %v vs %v", bs, workers, i, j, v[j], ref[j])
					}
				}
			}
		}
	}
}
