package zoo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookupModel(t *testing.T) {
	cases := []struct {
		name    string
		ok      bool
		builtin bool
		dim     int
	}{
		{"fosql-descriptor-v1", true, true, 477},
		{"descriptor-v1", true, true, 477},
		{"fosql-descriptor-v2", true, true, 1306},
		{"Descriptor-V2", true, true, 1306},
		{"Builtin", true, true, 1306},
		{"mobilenet-v2", true, false, 1792},
		{"MobileNet-V2", true, false, 1792},
		{"mobilenet-v2-int8", true, false, 1792},
		{"resnet-50", true, false, 2048},
		{"clip-vit-b32", true, false, 512},
		{"mobilenet", false, false, 0},
		{"", false, false, 0},
	}
	for _, tc := range cases {
		m, ok := LookupModel(tc.name)
		if ok != tc.ok || m.Builtin != tc.builtin || m.EmbeddingDim != tc.dim {
			t.Errorf("LookupModel(%q) = %+v, %v", tc.name, m, ok)
		}
	}
}

func TestModelsListing(t *testing.T) {
	ms := Models()
	if len(ms) < 4 || !ms[0].Builtin {
		t.Fatalf("Models() = %v, want the built-in descriptor first", ms)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		if m.License == "" || m.EmbeddingDim <= 0 || m.Width <= 0 || m.Height <= 0 || m.Description == "" {
			t.Errorf("%s is described incompletely: %+v", m.Name, m)
		}
		if !m.Builtin && (m.File == "" || m.Input == "" || m.Output == "") {
			t.Errorf("%s has no file or tensor names: %+v", m.Name, m)
		}
		if m.URL != "" && !strings.HasPrefix(m.URL, "https://") {
			t.Errorf("%s: download address %q", m.Name, m.URL)
		}
	}
}

func TestModelCheck(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvModelDir, dir)
	mobilenet, _ := LookupModel("mobilenet-v2")
	mobilenetInt8, _ := LookupModel("mobilenet-v2-int8")
	resnet, _ := LookupModel("resnet-50")
	builtin, _ := LookupModel("fosql-descriptor-v1")
	if err := builtin.Check(); err != nil || !builtin.Present() {
		t.Fatalf("built-in model: %v", err)
	}
	cases := []struct {
		m    ModelInfo
		want []string
	}{
		{mobilenet, []string{filepath.Join(dir, "mobilenet-v2", "mobilenet-v2.onnx"), SetupCommand}},
		{mobilenetInt8, []string{filepath.Join(dir, "mobilenet-v2", "mobilenet-v2-int8.onnx"), SetupCommand}},
		{resnet, []string{filepath.Join(dir, "resnet-50", "resnet50-v2-7.onnx"), resnet.URL}},
	}
	for _, tc := range cases {
		err := tc.m.Check()
		if !errors.Is(err, ErrModelMissing) || tc.m.Present() {
			t.Fatalf("%s with no file: %v", tc.m.Name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", tc.m.Name, err, w)
			}
		}
		path, _ := tc.m.Path()
		if err := os.MkdirAll(path, 0o755); err != nil { // a folder in its place is not the file
			t.Fatal(err)
		}
		if tc.m.Present() {
			t.Errorf("%s: a folder at %s counts as the model", tc.m.Name, path)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := tc.m.Check(); err != nil {
			t.Errorf("%s with its file in place: %v", tc.m.Name, err)
		}
	}
}
