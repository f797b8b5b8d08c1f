package zoo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fosql/fosql/brain"
)

// ErrUnknownModel is wrapped by LookupModel's error for a name the
// registry does not list.
var ErrUnknownModel = errors.New("zoo: unknown model")

// ErrModelMissing is wrapped by ModelInfo.Check's error for a listed model
// whose file is not where the zoo expects it.
var ErrModelMissing = errors.New("zoo: model file missing")

// EnvModelDir names the environment variable that, when set, replaces the
// folder where the zoo keeps model files ($XDG_CACHE_HOME/fosql/models,
// else ~/.cache/fosql/models).
const EnvModelDir = "FOSQL_MODELS"

// SetupCommand is the command that prepares the models the project can
// fetch offline (mobilenet-v2).
const SetupCommand = "make setup"

// ModelInfo describes one image model fosql knows: what it computes, how
// to feed it, and where its file lives or comes from.
type ModelInfo struct {
	// Name is what `WITH (model = '…')` and SHOW MODELS call it.
	Name string
	// Description says what the model is, in a few words.
	Description string
	// Builtin is set for the descriptor that fosql builds itself; it has no
	// file.
	Builtin bool
	// EmbeddingDim is the length of the model's embedding.
	EmbeddingDim int
	// Width and Height are the input size in pixels.
	Width, Height int
	// Layout is "NCHW" or "NHWC"; Channels "RGB" or "BGR".
	Layout, Channels string
	// Mean and Std normalise each channel (R, G, B) of levels in [0, 1].
	Mean, Std [3]float32
	// Input and Output name the image input and the embedding tensor (an
	// output or an intermediate tensor).
	Input, Output string
	// License is the licence of the model's weights.
	License string
	// File is the model's file name inside the model folder (empty for a
	// built-in model).
	File string
	// URL is the address to download the file from on a machine that has
	// a network; empty when `make setup` prepares the model.
	URL string
	// Source says where the weights come from.
	Source string
}

// builtinModel lists a built-in descriptor; its input size is the
// brain's spec of it.
func builtinModel(name string, dim int, description string) ModelInfo {
	spec, _ := brain.BuiltinSpec(name)
	return ModelInfo{
		Name:         name,
		Description:  description,
		Builtin:      true,
		EmbeddingDim: dim,
		Width:        spec.Width, Height: spec.Height,
		Layout: "NCHW", Channels: "RGB",
		License: "fosql's own",
		Source:  "built by fosql as an ONNX graph",
	}
}

// registry lists the models, built-in first.
var registry = []ModelInfo{
	builtinModel(brain.DescriptorV2Name, brain.DescriptorV2Dim,
		"built-in descriptor v2: descriptor-v1's features on the picture with its plain bars trimmed off and on the whole picture, rotation wedges painted over (the default)"),
	builtinModel(brain.DescriptorName, brain.DescriptorDim,
		"built-in descriptor v1: training-free colour, layout and gradient features"),
	mobilenetV2,
	int8Form(mobilenetV2),
	{
		Name:         "resnet-50",
		Description:  "ResNet-50 v2, ImageNet-trained CNN (ONNX model zoo): the 2048-d pooled feature",
		EmbeddingDim: 2048,
		Width:        224, Height: 224,
		Layout: "NCHW", Channels: "RGB",
		Mean:  [3]float32{0.485, 0.456, 0.406},
		Std:   [3]float32{0.229, 0.224, 0.225},
		Input: "data", Output: "resnetv24_flatten0_reshape0",
		License: "Apache-2.0",
		File:    "resnet-50/resnet50-v2-7.onnx",
		URL:     "https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet50-v2-7.onnx",
		Source:  "ONNX model zoo, resnet50-v2-7",
	},
	{
		Name:         "clip-vit-b32",
		Description:  "CLIP ViT-B/32 image encoder: the 512-d image embedding",
		EmbeddingDim: 512,
		Width:        224, Height: 224,
		Layout: "NCHW", Channels: "RGB",
		Mean:  [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:   [3]float32{0.26862954, 0.26130258, 0.27577711},
		Input: "pixel_values", Output: "image_embeds",
		License: "MIT",
		File:    "clip-vit-b32/vision_model.onnx",
		URL:     "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx",
		Source:  "OpenAI CLIP ViT-B/32, ONNX export on Hugging Face (Xenova/clip-vit-base-patch32)",
	},
}

// mobilenetV2 is the pretrained CNN `make setup` converts from nsfwjs.
var mobilenetV2 = ModelInfo{
	Name:         "mobilenet-v2",
	Description:  "MobileNetV2 (width 1.4), ImageNet-trained CNN: the 1792-d pooled feature",
	EmbeddingDim: 1792,
	Width:        224, Height: 224,
	Layout: "NHWC", Channels: "RGB",
	Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1},
	Input: "input", Output: "embedding",
	License: "MIT (nsfwjs), Apache-2.0 (TF-Hub MobileNetV2)",
	File:    "mobilenet-v2/mobilenet-v2.onnx",
	Source:  "npm nsfwjs@4.4.0 mobilenet_v2_mid, converted from TensorFlow.js by make setup",
}

// int8Form is the int8 form of m that `make setup` writes beside it
// (fosql convert-tfjs -int8): the same network, inputs and outputs, with
// int8 weights and uint8 activations.
func int8Form(m ModelInfo) ModelInfo {
	m.Description = m.Name + " with int8 weights and uint8 activations (ONNX QDQ, ranges calibrated on fosql's synthetic set): nearly the same feature for well under half the CPU"
	m.Name += "-int8"
	m.File = strings.TrimSuffix(m.File, ".onnx") + "-int8.onnx"
	m.Source += ", then quantised (convert-tfjs -int8)"
	return m
}

// ModelDir is the folder where the zoo keeps model files: $FOSQL_MODELS,
// else $XDG_CACHE_HOME/fosql/models, else ~/.cache/fosql/models.
func ModelDir() (string, error) {
	if d := os.Getenv(EnvModelDir); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("zoo: no cache folder for models: %w", err)
	}
	return filepath.Join(base, "fosql", "models"), nil
}

// Models lists the models the zoo knows, built-in first, then by name.
func Models() []ModelInfo {
	out := append([]ModelInfo(nil), registry...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Builtin != out[j].Builtin {
			return out[i].Builtin
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// LookupModel finds a listed model by name (case-insensitive; the
// built-in descriptor also by its short name). ok is false for a name the
// zoo does not list.
func LookupModel(name string) (ModelInfo, bool) {
	for _, m := range registry {
		if strings.EqualFold(m.Name, name) || (m.Builtin && brain.BuiltinName(name) == m.Name) {
			return m, true
		}
	}
	return ModelInfo{}, false
}

// ModelNames lists the names of the listed models.
func ModelNames() []string {
	var names []string
	for _, m := range Models() {
		names = append(names, m.Name)
	}
	return names
}

// Path is where the model's file lives (or must be put); "" for a built-in
// model.
func (m ModelInfo) Path() (string, error) {
	if m.Builtin {
		return "", nil
	}
	dir, err := ModelDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(m.File)), nil
}

// Present reports whether the model can be used now: built in, or its file
// is a regular file in place.
func (m ModelInfo) Present() bool {
	return m.Check() == nil
}

// Check returns nil when the model can be used, else an error (wrapping
// ErrModelMissing) that names the file path to put it at and how to get
// it: its download address, or the set-up command.
func (m ModelInfo) Check() error {
	if m.Builtin {
		return nil
	}
	path, err := m.Path()
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err == nil && st.Mode().IsRegular() {
		return nil
	}
	if m.URL == "" {
		return fmt.Errorf("%w: model %s is not set up: %s is missing; run `%s` (it fetches and converts the model once, then works offline)",
			ErrModelMissing, m.Name, path, SetupCommand)
	}
	return fmt.Errorf("%w: model %s is not downloaded: put the file at %s (download it from %s on a machine that has a network); `%s` fetches only the models that need no download",
		ErrModelMissing, m.Name, path, m.URL, SetupCommand)
}

// Unknown returns the error for a model name the zoo does not list.
func Unknown(name string) error {
	return fmt.Errorf("%w %q (known: %s; or give a path to an .onnx file)", ErrUnknownModel, name, strings.Join(ModelNames(), ", "))
}

// ResolveModel turns a model named in `model = '…'` into a brain model
// spec: a name the model zoo lists (its file must be in place, else the
// error says where to put it), or a path to an .onnx file with its spec
// beside it. The built-in descriptor is the brain's own and is not
// resolved here.
func ResolveModel(name string) (brain.ModelSpec, error) {
	m, ok := LookupModel(name)
	if !ok {
		if strings.HasSuffix(name, ".onnx") {
			return brain.SpecBeside(name)
		}
		return brain.ModelSpec{}, fmt.Errorf("%w: %w", brain.ErrOption, Unknown(name))
	}
	if m.Builtin {
		// The brain takes the built-in model's name before it resolves.
		return brain.ModelSpec{}, fmt.Errorf("%w: model %s is built in: name it exactly %q", brain.ErrOption, name, m.Name)
	}
	if err := m.Check(); err != nil {
		return brain.ModelSpec{}, err
	}
	path, err := m.Path()
	if err != nil {
		return brain.ModelSpec{}, err
	}
	return brain.ModelSpec{
		Name:     m.Name,
		Path:     path,
		Width:    m.Width,
		Height:   m.Height,
		Layout:   brain.Layout(m.Layout),
		Channels: brain.ChannelOrder(m.Channels),
		Mean:     m.Mean,
		Std:      m.Std,
		Input:    m.Input,
		Output:   m.Output,
	}, nil
}
