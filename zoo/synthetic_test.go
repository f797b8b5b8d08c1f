package zoo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"github.com/fosql/fosql/zoo"
)

// generate makes a synthetic set in a fresh temporary directory.
func generate(t testing.TB, opts zoo.SyntheticOptions) *zoo.SyntheticSet {
	t.Helper()
	set, err := zoo.GenerateSynthetic(context.Background(), filepath.Join(t.TempDir(), "set"), opts)
	if err != nil {
		t.Fatalf("GenerateSynthetic(%+v): %v", opts, err)
	}
	return set
}

// hashTree maps every regular file under dir (by slash-separated relative
// path) to its sha256.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateSyntheticIsDeterministic(t *testing.T) {
	opts := zoo.SyntheticOptions{N: 150, Seed: 7, CopyFraction: 0.05}
	a := hashTree(t, generate(t, opts).Dir)
	b := hashTree(t, generate(t, opts).Dir)
	if len(a) != 150+2 {
		t.Fatalf("got %d files, want 150 images + 2 truth files", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		for name, sum := range a {
			if b[name] != sum {
				t.Errorf("%s differs between two runs with the same options", name)
			}
		}
		t.Fatal("same options gave different files")
	}

	opts.Seed = 8
	c := hashTree(t, generate(t, opts).Dir)
	same := 0
	for name, sum := range a {
		if c[name] == sum {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 7 and 8 share %d identical files", same)
	}
}

var imageName = regexp.MustCompile(`^images/(\d{4})/img_(\d{6})\.(png|jpg)$`)

func TestGenerateSyntheticCountsAndKinds(t *testing.T) {
	tests := []struct {
		name     string
		opts     zoo.SyntheticOptions
		n        int
		copies   int
		fraction float64
	}{
		{"default fraction", zoo.SyntheticOptions{N: 150, Seed: 1}, 150, 6, zoo.DefaultCopyFraction},
		{"five percent", zoo.SyntheticOptions{N: 200, Seed: 2, CopyFraction: 0.05}, 200, 10, 0.05},
		{"one of each kind", zoo.SyntheticOptions{N: 140, Seed: 3, CopyFraction: 0.05}, 140, 7, 0.05},
		{"fraction rounds down", zoo.SyntheticOptions{N: 99, Seed: 4, CopyFraction: 0.05}, 99, 4, 0.05},
		{"no copies", zoo.SyntheticOptions{N: 40, Seed: 5, CopyFraction: -1}, 40, 0, 0},
		{"half copies", zoo.SyntheticOptions{N: 60, Seed: 6, CopyFraction: 0.5}, 60, 30, 0.5},
		{"small pictures", zoo.SyntheticOptions{N: 30, Seed: 7, Width: 40, Height: 24, CopyFraction: 0.25}, 30, 7, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := generate(t, tt.opts)
			if len(set.Images) != tt.n {
				t.Fatalf("%d images, want %d", len(set.Images), tt.n)
			}
			copies := set.Copies()
			if len(copies) != tt.copies {
				t.Fatalf("%d copies, want %d", len(copies), tt.copies)
			}
			if float64(len(copies)) > tt.fraction*float64(tt.n)+1e-9 {
				t.Errorf("%d copies exceed %g of %d", len(copies), tt.fraction, tt.n)
			}
			if got := len(set.Originals()) + len(copies); got != tt.n {
				t.Errorf("originals + copies = %d, want %d", got, tt.n)
			}
			checkKinds(t, set)
			checkLayout(t, set)
		})
	}
}

// checkKinds checks that copies are spread evenly over the kinds, point at
// originals of the set, and never repeat a kind for one original.
func checkKinds(t *testing.T, set *zoo.SyntheticSet) {
	t.Helper()
	isOriginal := map[string]bool{}
	for _, im := range set.Originals() {
		isOriginal[im.Path] = true
		if im.Original != "" {
			t.Errorf("original %s names an original", im.Path)
		}
	}
	perKind := map[string]int{}
	seen := map[[2]string]bool{}
	for _, c := range set.Copies() {
		if !slices.Contains(zoo.CopyKinds(), c.Kind) {
			t.Errorf("copy %s has unknown kind %q", c.Path, c.Kind)
		}
		if !isOriginal[c.Original] {
			t.Errorf("copy %s: original %s is not an original of the set", c.Path, c.Original)
		}
		key := [2]string{c.Original, c.Kind}
		if seen[key] {
			t.Errorf("%s has two copies of kind %s", c.Original, c.Kind)
		}
		seen[key] = true
		perKind[c.Kind]++
	}
	lo, hi := math.MaxInt, 0
	for _, k := range zoo.CopyKinds() {
		lo, hi = min(lo, perKind[k]), max(hi, perKind[k])
	}
	if hi-lo > 1 {
		t.Errorf("copies per kind %v: not spread evenly", perKind)
	}
}

// checkLayout checks file names, folders, and that the files on disk are
// exactly the listed images plus the truth files.
func checkLayout(t *testing.T, set *zoo.SyntheticSet) {
	t.Helper()
	if !filepath.IsAbs(set.Dir) {
		t.Errorf("Dir %q is not absolute", set.Dir)
	}
	listed := map[string]bool{}
	formats := map[string]int{}
	firstCopy, lastOriginal := -1, -1
	for i, im := range set.Images {
		if !filepath.IsAbs(im.Path) {
			t.Errorf("path %q is not absolute", im.Path)
		}
		rel, err := filepath.Rel(set.Dir, im.Path)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		m := imageName.FindStringSubmatch(rel)
		if m == nil {
			t.Errorf("image name %q does not follow the scheme", rel)
			continue
		}
		if m[1] != fmt.Sprintf("%04d", i/100) || m[2] != fmt.Sprintf("%06d", i) {
			t.Errorf("image %d is %q: names are not in slot order", i, rel)
		}
		if listed[rel] {
			t.Errorf("image %q listed twice", rel)
		}
		listed[rel] = true
		if im.Kind == zoo.KindOriginal {
			formats[m[3]]++
			lastOriginal = i
		} else if firstCopy < 0 {
			firstCopy = i
		}
	}
	if len(set.Images) >= 100 && (formats["png"] == 0 || formats["jpg"] == 0) {
		t.Errorf("originals by format %v: want both PNG and JPEG", formats)
	}
	if firstCopy >= 0 && firstCopy > lastOriginal {
		t.Errorf("all copies come after all originals: positions reveal copies")
	}
	onDisk := hashTree(t, set.Dir)
	for name := range onDisk {
		if name == zoo.TruthJSON || name == zoo.TruthText {
			continue
		}
		if !listed[name] {
			t.Errorf("file %s on disk is not listed", name)
		}
	}
	for name := range listed {
		if _, ok := onDisk[name]; !ok {
			t.Errorf("listed image %s is missing", name)
		}
	}
	for _, name := range []string{zoo.TruthJSON, zoo.TruthText} {
		if _, ok := onDisk[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
}

func TestSyntheticTruthRoundTrip(t *testing.T) {
	set := generate(t, zoo.SyntheticOptions{N: 120, Seed: 11, CopyFraction: 0.05})
	loaded, err := zoo.LoadSyntheticSet(set.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, set) {
		t.Fatal("LoadSyntheticSet does not give back the generated set")
	}

	// truth.txt: one "copy original" line per copy, relative paths.
	txt, err := os.ReadFile(filepath.Join(set.Dir, zoo.TruthText))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, c := range set.Copies() {
		rc, _ := filepath.Rel(set.Dir, c.Path)
		ro, _ := filepath.Rel(set.Dir, c.Original)
		fmt.Fprintf(&want, "%s %s\n", filepath.ToSlash(rc), filepath.ToSlash(ro))
	}
	if string(txt) != want.String() {
		t.Errorf("truth.txt:\n%s\nwant:\n%s", txt, want.String())
	}

	// The set can be moved: paths follow the directory.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(set.Dir, moved); err != nil {
		t.Fatal(err)
	}
	again, err := zoo.LoadSyntheticSet(moved)
	if err != nil {
		t.Fatal(err)
	}
	if again.Dir != moved || len(again.Images) != len(set.Images) {
		t.Fatalf("moved set: Dir %q with %d images", again.Dir, len(again.Images))
	}
	for i, im := range again.Images {
		if !strings.HasPrefix(im.Path, moved+string(filepath.Separator)) {
			t.Fatalf("image %d path %q is not under the moved directory", i, im.Path)
		}
		if _, err := os.Stat(im.Path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadSyntheticSetErrors(t *testing.T) {
	if _, err := zoo.LoadSyntheticSet(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory: got %v, want fs.ErrNotExist", err)
	}

	const header = `{"format":"fosql-synthetic","version":1,`
	tests := []struct {
		name, truth string
	}{
		{"not json", `{"format":`},
		{"other format", `{"format":"something-else","version":1,"copies":0,"images":[]}`},
		{"newer version", `{"format":"fosql-synthetic","version":2,"copies":0,"images":[]}`},
		{"path leaves the directory", header + `"copies":0,"images":[{"path":"../x.png","kind":"original"}]}`},
		{"absolute path", header + `"copies":0,"images":[{"path":"/etc/passwd","kind":"original"}]}`},
		{"unclean path", header + `"copies":0,"images":[{"path":"images/./a.png","kind":"original"}]}`},
		{"unknown kind", header + `"copies":1,"images":[{"path":"a.png","kind":"blur","original":"b.png"},{"path":"b.png","kind":"original"}]}`},
		{"copy of a copy", header + `"copies":2,"images":[{"path":"a.png","kind":"crop","original":"b.png"},{"path":"b.png","kind":"exact","original":"c.png"},{"path":"c.png","kind":"original"}]}`},
		{"copy of nothing", header + `"copies":1,"images":[{"path":"a.png","kind":"crop","original":"z.png"}]}`},
		{"duplicate path", header + `"copies":0,"images":[{"path":"a.png","kind":"original"},{"path":"a.png","kind":"original"}]}`},
		{"wrong copy count", header + `"copies":3,"images":[{"path":"a.png","kind":"original"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, zoo.TruthJSON), []byte(tt.truth), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := zoo.LoadSyntheticSet(dir)
			if !errors.Is(err, zoo.ErrInvalidTruth) {
				t.Errorf("got %v, want ErrInvalidTruth", err)
			}
		})
	}
}

// decodeFile decodes an image file with the decoder its extension names.
func decodeFile(t *testing.T, name string) *image.RGBA {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var img image.Image
	switch filepath.Ext(name) {
	case ".png":
		img, err = png.Decode(bytes.NewReader(data))
	case ".jpg":
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		t.Fatalf("%s: unexpected extension", name)
	}
	if err != nil {
		t.Fatalf("%s does not decode as its extension says: %v", name, err)
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

func TestSyntheticFilesDecode(t *testing.T) {
	const w, h = 96, 80
	set := generate(t, zoo.SyntheticOptions{N: 120, Seed: 12, Width: w, Height: h, CopyFraction: 0.05})
	for _, im := range set.Images {
		img := decodeFile(t, im.Path)
		if im.Kind != zoo.KindOriginal {
			continue
		}
		dx, dy := img.Rect.Dx(), img.Rect.Dy()
		if dx < w*7/8-1 || dx > w*9/8+1 || dy < h*7/8-1 || dy > h*9/8+1 {
			t.Errorf("original %s is %dx%d, want within 12.5%% of %dx%d", im.Path, dx, dy, w, h)
		}
		if isFlat(img) {
			t.Errorf("original %s is a single colour", im.Path)
		}
	}
}

// isFlat reports whether every pixel of img is within a few levels of the
// first one.
func isFlat(img *image.RGBA) bool {
	for i := 0; i < len(img.Pix); i++ {
		if d := int(img.Pix[i]) - int(img.Pix[i%4]); d > 8 || d < -8 {
			return false
		}
	}
	return true
}

// meanAbsDiff is the mean absolute difference of two same-size images'
// colour channels.
func meanAbsDiff(a, b *image.RGBA) float64 {
	sum := 0
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(len(a.Pix)/4*3)
}

func flip(img *image.RGBA) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewRGBA(img.Rect)
	for y := range h {
		for x := range w {
			copy(out.Pix[out.PixOffset(w-1-x, y):][:4], img.Pix[img.PixOffset(x, y):][:4])
		}
	}
	return out
}

func TestSyntheticCopyTransforms(t *testing.T) {
	// 280 images at 5% give 14 copies: two of each kind.
	set := generate(t, zoo.SyntheticOptions{N: 280, Seed: 13, CopyFraction: 0.05})
	checked := map[string]int{}
	for _, c := range set.Copies() {
		t.Run(c.Kind+"/"+filepath.Base(c.Path), func(t *testing.T) {
			checkCopy(t, c)
			checked[c.Kind]++
		})
	}
	for _, k := range zoo.CopyKinds() {
		if checked[k] != 2 {
			t.Errorf("%d copies of kind %s checked, want 2", checked[k], k)
		}
	}
}

// checkCopy checks one planted copy against its original: bytes, size and
// pixels, following the rule documented for its kind.
func checkCopy(t *testing.T, c zoo.SyntheticImage) {
	copyBytes, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	origBytes, err := os.ReadFile(c.Original)
	if err != nil {
		t.Fatal(err)
	}
	if sameBytes := bytes.Equal(copyBytes, origBytes); sameBytes != (c.Kind == zoo.KindExact) {
		t.Fatalf("copy bytes equal to the original's: %v", sameBytes)
	}
	orig, cp := decodeFile(t, c.Original), decodeFile(t, c.Path)
	ow, oh := orig.Rect.Dx(), orig.Rect.Dy()
	cw, ch := cp.Rect.Dx(), cp.Rect.Dy()
	lossless := filepath.Ext(c.Path) == ".png"
	if c.Kind != zoo.KindJPEG && filepath.Ext(c.Path) != filepath.Ext(c.Original) {
		t.Errorf("copy format %s differs from the original's %s", filepath.Ext(c.Path), filepath.Ext(c.Original))
	}
	sameSize := func() {
		if cw != ow || ch != oh {
			t.Errorf("size %dx%d, want the original's %dx%d", cw, ch, ow, oh)
		}
	}
	switch c.Kind {
	case zoo.KindExact:
		if c.Detail != "" {
			t.Errorf("detail %q for an exact copy", c.Detail)
		}
	case zoo.KindCrop:
		var x, y, w, h int
		if _, err := fmt.Sscanf(c.Detail, "crop=%dx%d+%d+%d", &w, &h, &x, &y); err != nil {
			t.Fatalf("detail %q: %v", c.Detail, err)
		}
		if w != cw || h != ch {
			t.Errorf("size %dx%d, detail says %dx%d", cw, ch, w, h)
		}
		for _, side := range [][2]int{{cw, ow}, {ch, oh}} {
			if f := float64(side[0]) / float64(side[1]); f < 0.85-1/float64(side[1]) || f > 0.92+1/float64(side[1]) {
				t.Errorf("crop keeps %d of %d pixels (%.3f), want 85–92%%", side[0], side[1], f)
			}
		}
		if x < 0 || y < 0 || x+w > ow || y+h > oh {
			t.Fatalf("crop %s falls outside %dx%d", c.Detail, ow, oh)
		}
		want := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(want, want.Rect, orig, image.Pt(x, y), draw.Src)
		if d := meanAbsDiff(cp, want); (lossless && d != 0) || d > 3 {
			t.Errorf("crop differs from the original's region by %.2f levels on average", d)
		}
	case zoo.KindJPEG:
		sameSize()
		var q int
		if _, err := fmt.Sscanf(c.Detail, "quality=%d", &q); err != nil || q < 20 || q > 40 {
			t.Errorf("detail %q: want quality 20–40", c.Detail)
		}
		if filepath.Ext(c.Path) != ".jpg" {
			t.Errorf("JPEG copy stored as %s", filepath.Ext(c.Path))
		}
		if d := meanAbsDiff(cp, orig); d == 0 || d > 12 {
			t.Errorf("JPEG copy differs by %.2f levels on average, want a small non-zero change", d)
		}
	case zoo.KindBrightness:
		sameSize()
		var shift, contrast float64
		if _, err := fmt.Sscanf(c.Detail, "brightness=%f contrast=%f", &shift, &contrast); err != nil {
			t.Fatalf("detail %q: %v", c.Detail, err)
		}
		if s := math.Abs(shift); s < 0.15 || s > 0.25 || contrast < 0.8 || contrast > 1.2 {
			t.Errorf("detail %q out of range", c.Detail)
		}
		tolerance := 1.0
		if !lossless {
			tolerance = 4
		}
		want := image.NewRGBA(orig.Rect)
		for i, v := range orig.Pix {
			if i%4 == 3 {
				want.Pix[i] = v
				continue
			}
			f := (float64(v)/255-0.5)*contrast + 0.5 + shift
			want.Pix[i] = uint8(math.Round(255 * min(1, max(0, f))))
		}
		if d := meanAbsDiff(cp, want); d > tolerance {
			t.Errorf("copy is %.2f levels away from the documented formula", d)
		}
		if d := meanAbsDiff(cp, orig); d < 5 {
			t.Errorf("brightness copy changes only %.2f levels on average", d)
		}
	case zoo.KindResize:
		var s float64
		if _, err := fmt.Sscanf(c.Detail, "scale=%f", &s); err != nil {
			t.Fatalf("detail %q: %v", c.Detail, err)
		}
		if !(s >= 0.5 && s <= 0.75) && s != 1.5 {
			t.Errorf("scale %g, want 0.5–0.75 or 1.5", s)
		}
		if cw != int(math.Round(float64(ow)*s)) || ch != int(math.Round(float64(oh)*s)) {
			t.Errorf("size %dx%d, want %dx%d scaled by %g", cw, ch, ow, oh, s)
		}
	case zoo.KindRotate:
		sameSize()
		var deg float64
		if _, err := fmt.Sscanf(c.Detail, "angle=%f", &deg); err != nil {
			t.Fatalf("detail %q: %v", c.Detail, err)
		}
		if a := math.Abs(deg); a < 3 || a > 7 {
			t.Errorf("angle %g, want 3–7 degrees either way", deg)
		}
		// The centre pixel stays put; the rest moves.
		co, cc := orig.RGBAAt(ow/2, oh/2), cp.RGBAAt(ow/2, oh/2)
		if d := max(absDiff(co.R, cc.R), absDiff(co.G, cc.G), absDiff(co.B, cc.B)); d > 40 {
			t.Errorf("centre pixel moved: %v -> %v", co, cc)
		}
		if meanAbsDiff(cp, orig) == 0 {
			t.Errorf("rotated copy has the original's pixels")
		}
	case zoo.KindMirror:
		sameSize()
		d := meanAbsDiff(cp, flip(orig))
		if (lossless && d != 0) || d > 3 {
			t.Errorf("mirror differs from the flipped original by %.2f levels on average", d)
		}
	default:
		t.Fatalf("unknown kind %q", c.Kind)
	}
}

func absDiff(a, b uint8) int {
	d := int(a) - int(b)
	return max(d, -d)
}

// thumbnail is a plain image descriptor for the tests: a 16x16 colour
// thumbnail, mean-centred per channel and L2-normalised, for the picture and
// its mirror image.
type thumbnail struct{ plain, mirrored []float64 }

func describe(t *testing.T, name string) thumbnail {
	img := decodeFile(t, name)
	const side = 16
	small := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.CatmullRom.Scale(small, small.Rect, img, img.Rect, draw.Src, nil)
	vec := func(img *image.RGBA) []float64 {
		v := make([]float64, 0, 3*side*side)
		var mean [3]float64
		for i, p := range img.Pix {
			if i%4 < 3 {
				v = append(v, float64(p))
				mean[i%4] += float64(p) / (side * side)
			}
		}
		norm := 0.0
		for i := range v {
			v[i] -= mean[i%3]
			norm += v[i] * v[i]
		}
		norm = math.Sqrt(norm) + 1e-9
		for i := range v {
			v[i] /= norm
		}
		return v
	}
	return thumbnail{vec(small), vec(flip(small))}
}

// distance is the cosine distance of a to b or to b's mirror image,
// whichever is smaller.
func (a thumbnail) distance(b thumbnail) float64 {
	dot, dotMirror := 0.0, 0.0
	for i := range a.plain {
		dot += a.plain[i] * b.plain[i]
		dotMirror += a.plain[i] * b.mirrored[i]
	}
	return 1 - max(dot, dotMirror)
}

// TestSyntheticCopiesStandOut checks that the set serves its purpose even
// under a crude descriptor: every copy made by a photometric change, a
// resize, a small rotation or a mirror has its own original as nearest
// original; a crop, which shifts the content, has it among the nearest few;
// and no two originals are near-identical pictures.
func TestSyntheticCopiesStandOut(t *testing.T) {
	set := generate(t, zoo.SyntheticOptions{N: 400, Seed: 21, CopyFraction: 0.05})
	desc := map[string]thumbnail{}
	for _, im := range set.Images {
		desc[im.Path] = describe(t, im.Path)
	}
	originals := set.Originals()
	for _, c := range set.Copies() {
		own := desc[c.Path].distance(desc[c.Original])
		rank := 1
		for _, o := range originals {
			if o.Path != c.Original && desc[c.Path].distance(desc[o.Path]) < own {
				rank++
			}
		}
		limit := 1
		if c.Kind == zoo.KindCrop {
			limit = len(originals) / 20
		}
		if rank > limit {
			t.Errorf("%s copy %s (%s): its original ranks %d among %d originals, want at most %d",
				c.Kind, c.Path, c.Detail, rank, len(originals), limit)
		}
	}
	for i, a := range originals {
		for _, b := range originals[i+1:] {
			if d := desc[a.Path].distance(desc[b.Path]); d < 0.02 {
				t.Errorf("originals %s and %s are near-identical (distance %.4f)", a.Path, b.Path, d)
			}
		}
	}
}

func TestGenerateSyntheticOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts zoo.SyntheticOptions
	}{
		{"negative N", zoo.SyntheticOptions{N: -1}},
		{"N too large", zoo.SyntheticOptions{N: zoo.MaxSyntheticN + 1}},
		{"copy fraction too large", zoo.SyntheticOptions{N: 10, CopyFraction: 0.6}},
		{"copy fraction NaN", zoo.SyntheticOptions{N: 10, CopyFraction: math.NaN()}},
		{"width too small", zoo.SyntheticOptions{N: 10, Width: 8}},
		{"height too large", zoo.SyntheticOptions{N: 10, Height: zoo.MaxSyntheticSize + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "set")
			_, err := zoo.GenerateSynthetic(context.Background(), dir, tt.opts)
			if !errors.Is(err, zoo.ErrInvalidOptions) {
				t.Errorf("got %v, want ErrInvalidOptions", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("directory created despite invalid options (stat: %v)", err)
			}
		})
	}

	t.Run("directory not empty", func(t *testing.T) {
		dir := t.TempDir()
		keep := filepath.Join(dir, "mine.txt")
		if err := os.WriteFile(keep, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := zoo.GenerateSynthetic(context.Background(), dir, zoo.SyntheticOptions{N: 10})
		if !errors.Is(err, zoo.ErrDirNotEmpty) {
			t.Errorf("got %v, want ErrDirNotEmpty", err)
		}
		if data, err := os.ReadFile(keep); err != nil || string(data) != "keep me" {
			t.Errorf("existing file touched: %q, %v", data, err)
		}
	})
}

func TestGenerateSyntheticProgress(t *testing.T) {
	var calls []int
	set := generate(t, zoo.SyntheticOptions{N: 60, Seed: 3, CopyFraction: 0.1, Progress: func(done, total int) {
		if total != 60 {
			t.Errorf("total = %d, want 60", total)
		}
		calls = append(calls, done)
	}})
	if len(set.Images) != 60 || len(calls) != 60 {
		t.Fatalf("%d images, %d progress calls; want 60 each", len(set.Images), len(calls))
	}
	for i, done := range calls {
		if done != i+1 {
			t.Fatalf("progress call %d reports %d done, want %d", i, done, i+1)
		}
	}
}

func TestGenerateSyntheticCancel(t *testing.T) {
	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dir := filepath.Join(t.TempDir(), "set")
		if _, err := zoo.GenerateSynthetic(ctx, dir, zoo.SyntheticOptions{N: 50}); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("directory created although cancelled (stat: %v)", err)
		}
	})
	t.Run("midway", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dir := t.TempDir()
		_, err := zoo.GenerateSynthetic(ctx, dir, zoo.SyntheticOptions{N: 200, Progress: func(done, _ int) {
			if done == 20 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if left := hashTree(t, dir); len(left) != 0 {
			t.Errorf("%d files left behind after cancellation", len(left))
		}
		if _, err := zoo.LoadSyntheticSet(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadSyntheticSet after cancellation: %v, want fs.ErrNotExist", err)
		}
	})
}

func ExampleGenerateSynthetic() {
	dir, err := os.MkdirTemp("", "synthetic")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	set, err := zoo.GenerateSynthetic(context.Background(), filepath.Join(dir, "set"),
		zoo.SyntheticOptions{N: 150, Seed: 1})
	if err != nil {
		panic(err)
	}
	kinds := map[string]int{}
	for _, c := range set.Copies() {
		kinds[c.Kind]++
	}
	fmt.Println(len(set.Images), "images,", len(set.Copies()), "planted copies")
	for _, k := range zoo.CopyKinds() {
		fmt.Printf("%s:%d ", k, kinds[k])
	}
	fmt.Println()
	// Output:
	// 150 images, 6 planted copies
	// crop:1 jpeg:1 brightness:1 resize:1 rotate:1 mirror:1 exact:0
}

// BenchmarkGenerateSynthetic measures generating the 2,000-image set of the
// design's speed target (base size 128x128, 4% copies).
func BenchmarkGenerateSynthetic(b *testing.B) {
	const n = 2000
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "set")
		if _, err := zoo.GenerateSynthetic(context.Background(), dir, zoo.SyntheticOptions{N: n, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
