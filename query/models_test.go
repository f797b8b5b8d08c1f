package query

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// emptyModelDir points the model zoo at an empty folder for the test.
func emptyModelDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(zoo.EnvModelDir, dir)
	return dir
}

func TestShowModels(t *testing.T) {
	dir := emptyModelDir(t)
	resnet := filepath.Join(dir, "resnet-50", "resnet50-v2-7.onnx")
	if err := os.MkdirAll(filepath.Dir(resnet), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resnet, []byte("placeholder"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := d.Query(context.Background(), "show models")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range res.Columns {
		cols = append(cols, c.Name)
	}
	if got := strings.Join(cols, ","); got != "name,embedding_dim,input,present,license,file,download,description" {
		t.Fatalf("columns %s", got)
	}
	type row struct {
		dim      int64
		input    string
		present  bool
		file     string
		download string
	}
	want := map[string]row{
		brain.DescriptorName:   {dim: brain.DescriptorDim, input: "48x48 RGB", present: true, file: "(built in)"},
		brain.DescriptorV2Name: {dim: brain.DescriptorV2Dim, input: "64x64 RGB", present: true, file: "(built in)"},
		"mobilenet-v2":         {dim: 1792, input: "224x224 RGB", file: filepath.Join(dir, "mobilenet-v2", "mobilenet-v2.onnx"), download: "(make setup)"},
		"mobilenet-v2-int8":    {dim: 1792, input: "224x224 RGB", file: filepath.Join(dir, "mobilenet-v2", "mobilenet-v2-int8.onnx"), download: "(make setup)"},
		"resnet-50":            {dim: 2048, input: "224x224 RGB", present: true, file: resnet, download: "https://github.com/onnx/models/"},
		"clip-vit-b32":         {dim: 512, input: "224x224 RGB", file: filepath.Join(dir, "clip-vit-b32", "vision_model.onnx"), download: "https://huggingface.co/"},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
	}
	if res.Rows[0][0].AsString() != brain.DescriptorName {
		t.Errorf("first row %v, want the built-in descriptor", res.Rows[0][0])
	}
	for _, r := range res.Rows {
		name := r[0].AsString()
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected model %s", name)
			continue
		}
		if r[1].AsInt() != w.dim || r[2].AsString() != w.input || r[3].AsBool() != w.present || r[5].AsString() != w.file ||
			!strings.HasPrefix(r[6].AsString(), w.download) || r[4].AsString() == "" || r[7].AsString() == "" {
			t.Errorf("%s: row %v, want %+v", name, r, w)
		}
	}
}

// TestZooDescriptorIsBrains checks that the zoo lists the built-in
// descriptors as the brain builds them.
func TestZooDescriptorIsBrains(t *testing.T) {
	for name, dim := range map[string]int{brain.DescriptorName: brain.DescriptorDim, brain.DescriptorV2Name: brain.DescriptorV2Dim} {
		m, ok := zoo.LookupModel(name)
		spec, builtin := brain.BuiltinSpec(name)
		if !ok || !builtin || !m.Builtin || m.EmbeddingDim != dim || m.Width != spec.Width || m.Height != spec.Height {
			t.Errorf("zoo lists %+v; brain's descriptor is %s, %d-d, %dx%d", m, name, dim, spec.Width, spec.Height)
		}
	}
	if brain.DefaultModelSpec().Name != brain.DefaultModelName {
		t.Errorf("the default model's spec is named %s, DefaultModelName is %s", brain.DefaultModelSpec().Name, brain.DefaultModelName)
	}
}

func TestModelOptionErrors(t *testing.T) {
	dir := emptyModelDir(t)
	cases := []struct {
		model string
		is    error
		want  []string
	}{
		{"resnet-50", zoo.ErrModelMissing, []string{filepath.Join(dir, "resnet-50", "resnet50-v2-7.onnx"), "https://github.com/onnx/models/", "put the file"}},
		{"CLIP-ViT-B32", zoo.ErrModelMissing, []string{filepath.Join(dir, "clip-vit-b32", "vision_model.onnx"), "https://huggingface.co/"}},
		{"mobilenet-v2", zoo.ErrModelMissing, []string{filepath.Join(dir, "mobilenet-v2", "mobilenet-v2.onnx"), "make setup"}},
		{"mobilenet", zoo.ErrUnknownModel, []string{"mobilenet-v2", "resnet-50", ".onnx"}},
		{filepath.Join(dir, "none.onnx"), os.ErrNotExist, []string{"none.onnx"}},
	}
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE DATASET ds"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			_, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON ds WITH (model = ?)", tc.model)
			if err == nil || !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

// TestComputeWithMobileNet runs uniqueness with the pretrained CNN that
// `make setup` prepares, and checks that the run and its embeddings name
// the model.
func TestComputeWithMobileNet(t *testing.T) {
	m, _ := zoo.LookupModel("mobilenet-v2")
	if err := m.Check(); err != nil {
		t.Fatalf("%v", err)
	}
	d := openFixtureDB(t)
	ctx := context.Background()
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON walkthrough WITH (model = 'mobilenet-v2')"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT max(insights.uniqueness.scalar), count(insights.uniqueness.scalar), count(*) FROM walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0].AsFloat() != 1 || res.Rows[0][1].AsInt() != res.Rows[0][2].AsInt() {
		t.Fatalf("max, count of scores, samples = %v", res.Rows[0])
	}
	res, err = d.Query(ctx, "SELECT insights.uniqueness.embedding FROM walkthrough LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rows[0][0].Items()); n != 1792 {
		t.Fatalf("embedding of %d values, want 1792", n)
	}
	res, err = d.Query(ctx, "DESCRIBE walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, r := range res.Rows {
		v := r[2].AsString()
		if (r[0].AsString() == "run" && strings.Contains(v, `"model":"mobilenet-v2"`)) ||
			(r[1].AsString() == "insights.uniqueness.embedding" && strings.HasSuffix(v, "model mobilenet-v2)")) {
			named++
		}
	}
	if named != 2 {
		t.Fatalf("DESCRIBE names mobilenet-v2 in %d of its run and embedding rows:\n%v", named, res.Rows)
	}
}
