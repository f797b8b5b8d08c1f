package tfjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/brain/tfjs"
)

// The golden file testdata/golden-tfjs.json holds what TensorFlow.js 4.22.0
// (wasm backend) computes with nsfwjs@4.4.0's mobilenet_v2_mid on the PNGs
// beside it; `make golden` (scripts/golden-tfjs.sh, which runs
// scripts/golden-tfjs.js under node) rewrites it.
const goldenFile = "testdata/golden-tfjs.json"

// featureNode is the 1792-d pooled feature before the classifier head.
const featureNode = "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/" +
	"StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze"

type golden struct {
	TFJS        string `json:"tfjs"`
	FeatureNode string `json:"feature_node"`
	ScoresNode  string `json:"scores_node"`
	Images      []struct {
		Image     string    `json:"image"`
		Embedding []float64 `json:"embedding"`
		Scores    []float64 `json:"scores"`
	} `json:"images"`
}

// modelDir is the model folder of fosql's model zoo: $FOSQL_MODELS, else
// fosql/models in the user's cache folder.
func modelDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("FOSQL_MODELS"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		tb.Fatalf("no cache folder: %v", err)
	}
	return filepath.Join(base, "fosql", "models")
}

// nsfwjsDir is where `make setup` unpacks nsfwjs's TensorFlow.js model.
func nsfwjsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(modelDir(t), "mobilenet-v2", "tfjs")
	if _, err := os.Stat(filepath.Join(dir, "model.min.js")); err != nil {
		t.Fatalf("nsfwjs's model is not in the cache (run `make setup`): %v", err)
	}
	return dir
}

// TestGoldenTFJS converts nsfwjs's model and checks that fosql, through
// ONNX Runtime and its own image pipeline, gives TensorFlow.js's 1792-d
// features and class scores: per image, the largest absolute difference is
// at most 1e-3 times the largest absolute value of TensorFlow.js's vector,
// and the top class is the same.
func TestGoldenTFJS(t *testing.T) {
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	if want.FeatureNode != featureNode || len(want.Images) < 3 {
		t.Fatalf("%s: feature node %q, %d images", goldenFile, want.FeatureNode, len(want.Images))
	}
	m, err := tfjs.ReadDir(nsfwjsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	items := make([]brain.Item, len(want.Images))
	for i, img := range want.Images {
		items[i] = brain.Item{ID: img.Image, Media: brain.File(filepath.Join("testdata", img.Image))}
	}
	// AnySize (a global pool for the head's fixed one, SAME_UPPER padding)
	// must give the same values at the declared 224x224.
	for _, anySize := range []bool{false, true} {
		t.Run(fmt.Sprintf("anySize=%v", anySize), func(t *testing.T) {
			mp, err := tfjs.Convert(m, tfjs.Options{AnySize: anySize, Outputs: []tfjs.Output{{Name: "embedding", Node: featureNode}, {Name: "scores", Node: want.ScoresNode}}})
			if err != nil {
				t.Fatal(err)
			}
			data, err := tfjs.Marshal(mp)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "mobilenet-v2.onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{"embedding", "scores"} {
				got := embedImages(t, brain.ModelSpec{Name: "mobilenet-v2", Path: path, Width: 224, Height: 224, Layout: brain.NHWC, Output: out}, items)
				for i, img := range want.Images {
					ref := img.Embedding
					if out == "scores" {
						ref = img.Scores
					}
					vec := got.Vector(i)
					if len(vec) != len(ref) {
						t.Fatalf("%s of %s: %d values, TensorFlow.js %d", out, img.Image, len(vec), len(ref))
					}
					var maxRef, maxDiff float64
					for j, r := range ref {
						maxRef = math.Max(maxRef, math.Abs(r))
						maxDiff = math.Max(maxDiff, math.Abs(float64(vec[j])-r))
					}
					t.Logf("%s of %s: largest difference %.3g, largest value %.3g", out, img.Image, maxDiff, maxRef)
					if !(maxDiff <= 1e-3*maxRef) {
						t.Errorf("%s of %s: largest difference %.3g > 1e-3 x %.3g", out, img.Image, maxDiff, maxRef)
					}
					if out == "scores" && argmax32(vec) != argmax64(ref) {
						t.Errorf("top class of %s: %d, TensorFlow.js %d", img.Image, argmax32(vec), argmax64(ref))
					}
				}
			}
			if !anySize {
				return
			}
			// The same file runs at a smaller input and still gives the
			// 1792-d feature.
			got := embedImages(t, brain.ModelSpec{Name: "mobilenet-v2", Path: path, Width: 160, Height: 160, Layout: brain.NHWC, Output: "embedding"}, items)
			if got.Dim != len(want.Images[0].Embedding) {
				t.Fatalf("at 160x160: %d values, want %d", got.Dim, len(want.Images[0].Embedding))
			}
		})
	}
}

// embedImages loads the model spec describes and embeds items with it;
// a skipped item fails the test.
func embedImages(t *testing.T, spec brain.ModelSpec, items []brain.Item) *brain.Embeddings {
	t.Helper()
	model, err := brain.LoadModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	got, err := brain.Embed(context.Background(), model, items, brain.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Skipped) > 0 {
		t.Fatalf("%s: skipped %s: %v", spec.Output, got.Skipped[0].ID, got.Skipped[0].Err)
	}
	return got
}

func argmax32(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func argmax64(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
