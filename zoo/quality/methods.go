package quality

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/corona10/goimagehash"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// Names of the peer methods.
const (
	PHash = "phash"
	DHash = "dhash"
)

// Models lists the fosql models the benchmark scores, by name; each is
// resolved by Open. AvailableModels is the part of it this machine has.
var Models = append([]string{brain.DescriptorV2Name, brain.DescriptorName, MobileNetV2, MobileNetV2Int8},
	append(combinations(brain.DescriptorV2Name, MobileNetV2, CombinedWeights), CombinedInt8)...)

// MobileNetV2 is the zoo's pretrained CNN (set up by `make setup`).
const MobileNetV2 = "mobilenet-v2"

// MobileNetV2Int8 is the CNN's int8 form (set up by `make setup`).
const MobileNetV2Int8 = "mobilenet-v2-int8"

// CombinedWeights are the CNN's weights at which the benchmark scores the
// default built-in descriptor and the CNN together (each embedding
// L2-normalised, then concatenated with weights 1-w and w), so that the
// weight is chosen by the figures.
var CombinedWeights = []float64{0.15, 0.3, 0.45, 0.6}

// CombinedInt8 is the descriptor with the CNN's int8 form at weight 0.6.
const CombinedInt8 = brain.DescriptorV2Name + "+" + MobileNetV2Int8 + "@0.6"

// combinations names the combinations of a and b at each weight of b.
func combinations(a, b string, weights []float64) []string {
	var out []string
	for _, w := range weights {
		out = append(out, fmt.Sprintf("%s+%s@%g", a, b, w))
	}
	return out
}

// AvailableModels returns the names of Models whose files are in place
// here (the built-in descriptor always is), so that a machine without the
// CNN still gets the rest of the tables.
func AvailableModels() []string {
	var out []string
	for _, name := range Models {
		if modelsPresent(name) {
			out = append(out, name)
		}
	}
	return out
}

// modelsPresent reports whether every model a method name uses is in
// place.
func modelsPresent(name string) bool {
	if base, _, ok := sizedModel(name); ok {
		path, err := anySizePath(base)
		if err != nil {
			return false
		}
		_, err = os.Stat(path)
		return err == nil
	}
	if pair, _, ok := cutLast(name, "@"); ok {
		a, b, _ := strings.Cut(pair, "+")
		return modelsPresent(a) && modelsPresent(b)
	}
	m, ok := zoo.LookupModel(name)
	return ok && m.Present()
}

// Peers lists the perceptual hashes the benchmark scores beside the models.
var Peers = []string{PHash, DHash}

// HashThreshold is the Hamming distance (of 64 bits) at or under which two
// hashes count as duplicates, the usual rule for 64-bit pHash and dHash.
const HashThreshold = 10

// Space is a method's representation of n images: model embeddings
// compared as COMPUTE compares them (cosine on mean-centred vectors), or
// 64-bit hashes compared by Hamming distance.
type Space struct {
	N int
	// Dim and Vectors (N x Dim, row-major) hold embeddings.
	Dim     int
	Vectors []float32
	// Hashes hold one hash per image when the method is a hash.
	Hashes []uint64
	// Paths, when set, are the images, in row order: Rank then groups
	// duplicates as COMPUTE DUPLICATES does by default, with the pixel
	// check (brain.FindDuplicatesWithPixels).
	Paths []string
}

// Method turns image files into a Space.
type Method interface {
	// Name is the name the method was opened by.
	Name() string
	// Embed represents every file; a file it cannot read fails the call.
	Embed(ctx context.Context, paths []string) (*Space, error)
	// Close releases the method's resources.
	Close()
}

// Open resolves a method by name: "phash" and "dhash", a fosql model
// (a built-in descriptor by its name), a zoo model at
// another square input size "model@N" (see openSized), or a combination
// "a+b@w" of two models whose embeddings are each L2-normalised and
// concatenated with weights 1-w and w (either may be a "model@N", as in
// "fosql-descriptor-v1+mobilenet-v2@160@0.6").
func Open(name string) (Method, error) {
	switch name {
	case PHash:
		return &hashMethod{name: name, hash: goimagehash.PerceptionHash}, nil
	case DHash:
		return &hashMethod{name: name, hash: goimagehash.DifferenceHash}, nil
	}
	if m, ok := zoo.LookupModel(name); ok {
		spec, ok := brain.BuiltinSpec(m.Name)
		if !ok {
			var err error
			if spec, err = zoo.ResolveModel(name); err != nil {
				return nil, fmt.Errorf("quality: model %s: %w", name, err)
			}
		}
		if err := brain.InitRuntime(); err != nil {
			return nil, fmt.Errorf("quality: model %s: %w", name, err)
		}
		m, err := brain.LoadModel(spec)
		if err != nil {
			return nil, fmt.Errorf("quality: model %s: %w", name, err)
		}
		return &modelMethod{name: name, model: m}, nil
	}
	if base, size, ok := sizedModel(name); ok {
		return openSized(name, base, size)
	}
	if pair, w, ok := cutLast(name, "@"); ok {
		a, b, ok := strings.Cut(pair, "+")
		weight, err := strconv.ParseFloat(w, 64)
		if ok && err == nil && weight >= 0 && weight <= 1 {
			return openCombined(name, a, b, weight)
		}
	}
	return nil, fmt.Errorf("quality: unknown method %q (known: %s, %s and combinations a+b@w)", name,
		strings.Join(Models, ", "), strings.Join(Peers, ", "))
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// sizedModel splits a name "model@N" (a zoo model with a file, N a whole
// number of pixels) into the model and N.
func sizedModel(name string) (base string, size int, ok bool) {
	base, n, ok := strings.Cut(name, "@")
	if !ok || strings.Contains(base, "+") {
		return "", 0, false
	}
	m, known := zoo.LookupModel(base)
	size, err := strconv.Atoi(n)
	if !known || m.Builtin || err != nil || size < 32 || size > 1024 {
		return "", 0, false
	}
	return m.Name, size, true
}

// anySizePath is where a zoo model's any-size form lives: its file with
// "-any-size" before ".onnx", as `make setup` writes it for mobilenet-v2
// (fosql convert-tfjs -any-size).
func anySizePath(base string) (string, error) {
	m, _ := zoo.LookupModel(base)
	path, err := m.Path()
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(path, ".onnx") + "-any-size.onnx", nil
}

// openSized opens a zoo model's any-size form, fed size x size images
// instead of the size its spec gives; everything else is the spec's.
func openSized(name, base string, size int) (Method, error) {
	spec, err := zoo.ResolveModel(base)
	if err != nil {
		return nil, fmt.Errorf("quality: model %s: %w", name, err)
	}
	path, err := anySizePath(base)
	if err != nil {
		return nil, fmt.Errorf("quality: model %s: %w", name, err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("quality: model %s needs %s, the model converted to accept any input size; run `%s`: %w",
			name, path, zoo.SetupCommand, err)
	}
	if err := brain.InitRuntime(); err != nil {
		return nil, fmt.Errorf("quality: model %s: %w", name, err)
	}
	spec.Name, spec.Path, spec.Width, spec.Height = name, path, size, size
	m, err := brain.LoadModel(spec)
	if err != nil {
		return nil, fmt.Errorf("quality: model %s: %w", name, err)
	}
	return &modelMethod{name: name, model: m}, nil
}

// modelMethod embeds with a fosql model through brain.Embed, as COMPUTE
// does.
type modelMethod struct {
	name  string
	model *brain.Model
}

// Name implements Method.
func (m *modelMethod) Name() string { return m.name }

// Close implements Method.
func (m *modelMethod) Close() { m.model.Close() }

// Embed implements Method with brain.Embed's default options.
func (m *modelMethod) Embed(ctx context.Context, paths []string) (*Space, error) {
	items := make([]brain.Item, len(paths))
	for i, p := range paths {
		items[i] = brain.Item{ID: p, Media: brain.File(p)}
	}
	emb, err := brain.Embed(ctx, m.model, items, brain.EmbedOptions{})
	if err != nil {
		return nil, fmt.Errorf("quality: model %s: %w", m.name, err)
	}
	if len(emb.Skipped) > 0 {
		return nil, fmt.Errorf("quality: model %s could not embed %d files (the first: %s: %v)", m.name, len(emb.Skipped),
			emb.Skipped[0].ID, emb.Skipped[0].Err)
	}
	return &Space{N: len(paths), Dim: emb.Dim, Vectors: emb.Vectors}, nil
}

// hashMethod hashes each picture, composited as the brain sees it
// (zoo.Opaque), with a 64-bit goimagehash function.
type hashMethod struct {
	name string
	hash func(image.Image) (*goimagehash.ImageHash, error)
}

// Name implements Method.
func (h *hashMethod) Name() string { return h.name }

// Close implements Method; a hash holds nothing.
func (h *hashMethod) Close() {}

// Embed implements Method, decoding and hashing on every core.
func (h *hashMethod) Embed(ctx context.Context, paths []string) (*Space, error) {
	s := &Space{N: len(paths), Hashes: make([]uint64, len(paths))}
	err := parallel(ctx, len(paths), func(i int) error {
		img, err := decodeFile(paths[i])
		if err != nil {
			return err
		}
		ih, err := h.hash(zoo.Opaque(img))
		if err != nil {
			return fmt.Errorf("quality: %s of %s: %w", h.name, paths[i], err)
		}
		s.Hashes[i] = ih.GetHash()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// combined concatenates two models' L2-normalised embeddings, weighted.
type combined struct {
	name         string
	aName, bName string
	a, b         Method
	weight       float64 // of b; a gets 1 - weight
}

// openCombined opens the two models of a combination.
func openCombined(name, a, b string, weight float64) (Method, error) {
	ma, err := Open(a)
	if err != nil {
		return nil, err
	}
	mb, err := Open(b)
	if err != nil {
		ma.Close()
		return nil, err
	}
	return &combined{name: name, aName: a, bName: b, a: ma, b: mb, weight: weight}, nil
}

// Name implements Method.
func (c *combined) Name() string { return c.name }

// Close implements Method, closing both models.
func (c *combined) Close() { c.a.Close(); c.b.Close() }

// Embed implements Method: both models embed every file, then Concat.
func (c *combined) Embed(ctx context.Context, paths []string) (*Space, error) {
	sa, err := c.a.Embed(ctx, paths)
	if err != nil {
		return nil, err
	}
	sb, err := c.b.Embed(ctx, paths)
	if err != nil {
		return nil, err
	}
	return Concat(sa, sb, 1-c.weight, c.weight)
}

// Concat joins two embedding spaces of the same images: each row of a and
// of b is scaled to unit length and then by wa and wb, and the two are
// concatenated. Hash spaces cannot be joined.
func Concat(a, b *Space, wa, wb float64) (*Space, error) {
	if a.Hashes != nil || b.Hashes != nil || a.N != b.N {
		return nil, fmt.Errorf("quality: only two embedding spaces of the same images can be joined (%d and %d rows)", a.N, b.N)
	}
	d := a.Dim + b.Dim
	out := &Space{N: a.N, Dim: d, Vectors: make([]float32, a.N*d)}
	for i := range a.N {
		row := out.Vectors[i*d : (i+1)*d]
		scaleUnit(row[:a.Dim], a.Vectors[i*a.Dim:(i+1)*a.Dim], wa)
		scaleUnit(row[a.Dim:], b.Vectors[i*b.Dim:(i+1)*b.Dim], wb)
	}
	return out, nil
}

// scaleUnit writes src scaled to length w into dst (zeros stay zeros).
func scaleUnit(dst, src []float32, w float64) {
	var ss float64
	for _, x := range src {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	f := w / math.Sqrt(ss)
	for i, x := range src {
		dst[i] = float32(float64(x) * f)
	}
}

// hamming is the number of differing bits.
func hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// embedder embeds one list of files with a run's methods, once per
// method name: a combination joins the spaces of its two models, embedded
// once and shared with the models' own rows.
type embedder struct {
	paths  []string
	spaces map[string]*Space
}

// newEmbedder embeds paths.
func newEmbedder(paths []string) *embedder {
	return &embedder{paths: paths, spaces: map[string]*Space{}}
}

// space is m's space of the files (m opened by name).
func (e *embedder) space(ctx context.Context, name string, m Method) (*Space, error) {
	if s, ok := e.spaces[name]; ok {
		return s, nil
	}
	var s *Space
	var err error
	if c, ok := m.(*combined); ok {
		var sa, sb *Space
		if sa, err = e.space(ctx, c.aName, c.a); err != nil {
			return nil, err
		}
		if sb, err = e.space(ctx, c.bName, c.b); err != nil {
			return nil, err
		}
		s, err = Concat(sa, sb, 1-c.weight, c.weight)
	} else {
		s, err = m.Embed(ctx, e.paths)
	}
	if err != nil {
		return nil, err
	}
	e.spaces[name] = s
	return s, nil
}
