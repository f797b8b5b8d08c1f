package quality

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// fashionNNFloor is the least share of planted copies whose nearest
// neighbour must be their original in TestFashionMNISTQuality: the
// default model, descriptor-v2, measured 99% on these 100 originals
// (seed 1; 91% with the rotation wedges left unpainted; descriptor-v1
// 89%), and the floor leaves room for three copies.
const fashionNNFloor = 96

// TestFashionMNISTQuality is the short version of make quality: 100
// Fashion-MNIST originals with a planted copy each, embedded by the
// default model and ranked by the brain.
func TestFashionMNISTQuality(t *testing.T) {
	ctx := context.Background()
	c, err := LoadFashion(ctx, t.TempDir(), 300)
	if errors.Is(err, ErrAbsent) {
		t.Skipf("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	set, err := Build(ctx, c, t.TempDir(), BuildOptions{Max: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(brain.DefaultModelName)
	if err != nil {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	defer m.Close()
	paths := make([]string, len(set.Samples))
	for i, s := range set.Samples {
		paths[i] = s.Path
	}
	s, err := m.Embed(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	f, err := EvaluateRounds(ctx, m.Name(), set, s)
	if err != nil {
		t.Fatal(err)
	}
	nn := pct(f.Total.NN, f.Total.Copies)
	t.Logf("%d copies: nn %.1f%%, low %.1f%%, duplicates precision %.1f%% recall %.1f%%", f.Total.Copies, nn,
		pct(f.Total.Low, f.Total.Copies), pct(f.Right, f.Found), pct(f.Recalled, f.Copies))
	if f.Total.Copies != 100 {
		t.Errorf("%d copies scored, want 100", f.Total.Copies)
	}
	if nn < fashionNNFloor {
		t.Errorf("nn %.1f%% is below the floor of %d%%", nn, fashionNNFloor)
	}
}

// TestEvaluate checks the figures on a hand-made set of hashes: two
// originals far apart, a copy of each; one copy lands on the other
// original.
func TestEvaluate(t *testing.T) {
	set := &Set{Copies: 2, Samples: []Sample{
		{Path: "a", Original: -1, Kind: "original"},
		{Path: "b", Original: -1, Kind: "original"},
		{Path: "a2", Original: 0, Kind: "crop"},
		{Path: "b2", Original: 1, Kind: "mirror"},
	}}
	const a, b = uint64(0), ^uint64(0)
	cases := []struct {
		name           string
		hashes         []uint64
		nn, found, rec int
		right          int
	}{
		{"both copies near their originals", []uint64{a, b, a ^ 1, b ^ 3}, 2, 2, 2, 2},
		{"the mirror copy nearer the other original", []uint64{a, b, a ^ 1, a ^ 7}, 1, 2, 1, 1},
		{"the mirror copy far from everything", []uint64{a, b, a ^ 1, 0xffffffff}, 1, 1, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Rank(context.Background(), &Space{N: 4, Hashes: tc.hashes})
			if err != nil {
				t.Skipf("the brain's k-NN needs ONNX Runtime (run `make setup`): %v", err)
			}
			f := Evaluate("test", set, r)
			if f.Total.NN != tc.nn || f.Found != tc.found || f.Right != tc.right || f.Recalled != tc.rec {
				t.Errorf("nn %d, found %d, right %d, recalled %d; want %d, %d, %d, %d",
					f.Total.NN, f.Found, f.Right, f.Recalled, tc.nn, tc.found, tc.right, tc.rec)
			}
			if f.PerKind["crop"].NN != 1 {
				t.Errorf("crop copy: nn %d, want 1", f.PerKind["crop"].NN)
			}
		})
	}
}

// TestHammingNeighbors checks the hash k-NN against hand-counted bits.
func TestHammingNeighbors(t *testing.T) {
	nb := hammingNeighbors([]uint64{0, 1, 3, 0xff}, 2)
	want := [][2]int{{1, 2}, {0, 2}, {1, 0}, {2, 1}}
	wantD := [][2]float64{{1, 2}, {1, 1}, {1, 2}, {6, 7}}
	for i := range 4 {
		idx, d := nb.Row(i)
		if idx[0] != want[i][0] || idx[1] != want[i][1] || d[0] != wantD[i][0] || d[1] != wantD[i][1] {
			t.Errorf("row %d: %v at %v, want %v at %v", i, idx, d, want[i], wantD[i])
		}
	}
}

// TestRound checks that every copy is ranked in exactly one round, beside
// every original.
func TestRound(t *testing.T) {
	set := &Set{}
	for i := range 10 {
		set.Samples = append(set.Samples, Sample{Path: string(rune('a' + i)), Original: -1})
	}
	for i := range 10 {
		set.Samples = append(set.Samples, Sample{Path: string(rune('A' + i)), Original: i, Kind: "crop"})
		set.Copies++
	}
	seen := map[int]int{}
	for r := range Rounds {
		part, rows := set.Round(r, Rounds)
		if len(rows) != len(part.Samples) || part.Copies != len(rows)-10 {
			t.Fatalf("round %d: %d rows, %d samples, %d copies", r, len(rows), len(part.Samples), part.Copies)
		}
		for j, s := range part.Samples {
			if s.Original >= 0 {
				seen[rows[j]]++
				if part.Samples[s.Original].Path != set.Samples[set.Samples[rows[j]].Original].Path {
					t.Errorf("round %d: copy %s points at %s", r, s.Path, part.Samples[s.Original].Path)
				}
			}
		}
	}
	for i := 10; i < 20; i++ {
		if seen[i] != 1 {
			t.Errorf("copy row %d ranked in %d rounds", i, seen[i])
		}
	}
}

// TestRarePools checks the pools' make-up and that a pool whose odd one
// stands out ranks it first.
func TestRarePools(t *testing.T) {
	var cands []Original
	for i := range 30 {
		cands = append(cands, Original{Path: string(rune('a' + i)), Label: []string{"x", "y", "z"}[i/10]})
	}
	pools, err := RarePools(cands, 8, 6, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		if len(p.Rows) != 9 || p.Rows[8] != p.Odd {
			t.Fatalf("pool %s: %d rows, odd %d", p.Name, len(p.Rows), p.Odd)
		}
		for _, r := range p.Rows[:8] {
			if cands[r].Label == cands[p.Odd].Label || cands[r].Label != cands[p.Rows[0]].Label {
				t.Fatalf("pool %s mixes classes", p.Name)
			}
		}
	}
	if _, err := RarePools(cands, 11, 6, 1, nil); err == nil {
		t.Error("pools of 11 from classes of 10 were drawn")
	}
	// Hashes: class x, y, z far apart; within a class a few bits differ.
	hashes := make([]uint64, 30)
	for i := range hashes {
		hashes[i] = []uint64{0, 0xffff0000, 0xffff00000000ffff}[i/10] ^ uint64(i%10)
	}
	f, err := EvaluateRare(context.Background(), "test", &Space{N: 30, Hashes: hashes}, pools)
	if err != nil {
		t.Skipf("the brain's k-NN needs ONNX Runtime (run `make setup`): %v", err)
	}
	if f.Top5 != len(pools) || f.RankSum != len(pools) {
		t.Errorf("odd ones in the top 5: %d of %d, rank sum %d", f.Top5, len(pools), f.RankSum)
	}
}

// TestConcat checks that each part is normalised and weighted.
func TestConcat(t *testing.T) {
	a := &Space{N: 1, Dim: 2, Vectors: []float32{3, 4}}
	b := &Space{N: 1, Dim: 1, Vectors: []float32{-2}}
	s, err := Concat(a, b, 0.4, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.24, 0.32, -0.6}
	for i, v := range s.Vectors {
		if d := v - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("joined %v, want %v", s.Vectors, want)
		}
	}
	if _, err := Concat(a, &Space{N: 1, Hashes: []uint64{1}}, 0.5, 0.5); err == nil {
		t.Error("a hash space was joined")
	}
}

// TestLoadWallpapers checks that a KDE wallpaper folder counts once, by
// its largest size, and that byte copies and links are left out and
// counted.
func TestLoadWallpapers(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, w, h int, shade uint8) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = shade
		}
		writePNG(t, p, img)
	}
	write("Kite/contents/images/640x480.png", 64, 48, 10)
	write("Kite/contents/images/1920x1080.png", 192, 108, 10)
	write("Kite/contents/images_dark/1920x1080.png", 192, 108, 200)
	write("Kite/contents/screenshot.png", 40, 30, 11) // the preview
	write("mate/Elephants.png", 30, 20, 40)
	write("mate/Elephants_3840x2160.png", 60, 40, 41)
	write("mate/Elephants_640x480.png", 20, 15, 42)
	write("sway/Blue_768x1024_Portrait.png", 15, 20, 60)
	write("sway/Blue_1536x2048_Portrait.png", 30, 40, 61)
	write("sway/Blue_1920x1080.png", 40, 22, 62) // another picture
	write("gnome/blobs.png", 50, 50, 90)
	write("other/blobs-again.png", 50, 50, 90) // the same bytes
	write("notes.txt.png", 10, 10, 1)
	if err := os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("1920x1080.png", filepath.Join(dir, "Kite/contents/images/1280x720.png")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadWallpapers([]string{dir, filepath.Join(dir, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range c.Originals {
		rel, _ := filepath.Rel(dir, o.Path)
		got = append(got, rel)
	}
	want := []string{"Kite/contents/images/1920x1080.png", "Kite/contents/images_dark/1920x1080.png", "gnome/blobs.png", "mate/Elephants_3840x2160.png", "notes.txt.png", "sway/Blue_1536x2048_Portrait.png", "sway/Blue_1920x1080.png"}
	if len(got) != len(want) || c.Natural != 7 {
		t.Fatalf("originals %v (natural %d), want %v (natural 7)", got, c.Natural, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("original %d: %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := LoadWallpapers([]string{filepath.Join(dir, "missing")}); !errors.Is(err, ErrAbsent) {
		t.Errorf("no wallpapers: %v, want ErrAbsent", err)
	}
}

// TestLoadTuxpaint checks that a stamp's mirror copy (name_mirror.png
// beside name.png, which Tux Paint draws a flipped stamp from) is left
// out and counted, and that a lone _mirror stamp is kept.
func TestLoadTuxpaint(t *testing.T) {
	dir := t.TempDir()
	for i, rel := range []string{"animals/cat.png", "animals/cat_mirror.png", "town/sign_mirror.png", "vehicles/bus.png"} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		img.SetGray(i, i, color.Gray{Y: 255}) // four different pictures
		writePNG(t, p, img)
	}
	c, err := LoadTuxpaint(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range c.Originals {
		rel, _ := filepath.Rel(dir, o.Path)
		got = append(got, o.Label+":"+rel)
	}
	want := []string{"animals:animals/cat.png", "town:town/sign_mirror.png", "vehicles:vehicles/bus.png"}
	if !slices.Equal(got, want) || c.Natural != 1 {
		t.Fatalf("originals %v (natural %d), want %v (natural 1)", got, c.Natural, want)
	}
}

// TestLeaveOutTwins checks that a picture that is another's mirror image,
// or the same picture at another size, is left out and counted, while its
// upside-down image (not one of the benchmark's transforms) is kept.
func TestLeaveOutTwins(t *testing.T) {
	dir := t.TempDir()
	// A "b": a bar down the left side and a ring at the bottom right.
	glyph := func(w, h int, mirror, flip bool) image.Image {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		for y := range h {
			for x := range w {
				u, v := (float64(x)+0.5)/float64(w), (float64(y)+0.5)/float64(h)
				if mirror {
					u = 1 - u
				}
				if flip {
					v = 1 - v
				}
				dx, dy := u-0.55, v-0.72
				r := dx*dx + dy*dy
				if (u > 0.1 && u < 0.25) || (r < 0.09 && r > 0.03) {
					img.SetGray(x, y, color.Gray{})
				}
			}
		}
		return img
	}
	for name, img := range map[string]image.Image{
		"b.png": glyph(40, 52, false, false), "d.png": glyph(40, 52, true, false),
		"p.png": glyph(40, 52, false, true), "zz_big_b.png": glyph(80, 104, false, false),
	} {
		writePNG(t, filepath.Join(dir, name), img)
	}
	c, err := LoadTuxpaint(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range c.Originals {
		got = append(got, filepath.Base(o.Path))
	}
	if want := []string{"b.png", "p.png"}; !slices.Equal(got, want) || c.Natural != 2 {
		t.Fatalf("originals %v (natural %d), want %v (natural 2)", got, c.Natural, want)
	}
}

// TestBuild checks a built set against its originals: seeded, transforms
// dealt out in turn, ground truth written, exact copies byte for byte.
func TestBuild(t *testing.T) {
	src := t.TempDir()
	c := &Collection{Name: "test"}
	for i := range 14 {
		p := filepath.Join(src, fmt.Sprintf("%02d.png", i))
		img := image.NewRGBA(image.Rect(0, 0, 40+i, 30))
		for j := range img.Pix {
			img.Pix[j] = uint8(j*(i+1)) | 3
		}
		writePNG(t, p, img)
		c.Originals = append(c.Originals, Original{Path: p, Label: "x"})
	}
	out := t.TempDir()
	set, err := Build(context.Background(), c, out, BuildOptions{Max: 12, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(context.Background(), c, t.TempDir(), BuildOptions{Max: 12, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	kinds := zoo.PlantKinds()
	if len(set.Samples) != 24 || set.Copies != 12 {
		t.Fatalf("%d samples, %d copies; want 24, 12", len(set.Samples), set.Copies)
	}
	for i := range 12 {
		orig, cp := set.Samples[i], set.Samples[12+i]
		if orig.Original != -1 || cp.Original != i || cp.Kind != kinds[i%len(kinds)] {
			t.Errorf("copy %d: original %d, kind %s; want %d, %s", i, cp.Original, cp.Kind, i, kinds[i%len(kinds)])
		}
		if orig.Path != again.Samples[i].Path || cp.Detail != again.Samples[12+i].Detail {
			t.Errorf("sample %d differs between two builds with one seed", i)
		}
		if cp.Kind == zoo.KindExact {
			a, _ := os.ReadFile(orig.Path)
			b, _ := os.ReadFile(cp.Path)
			if !bytes.Equal(a, b) {
				t.Errorf("exact copy %s differs from %s", cp.Path, orig.Path)
			}
		}
	}
	truth, err := os.ReadFile(filepath.Join(out, TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(truth)), "\n"); len(lines) != 12 || !strings.HasPrefix(lines[1], set.Samples[13].Path+"\t"+set.Samples[1].Path+"\t") {
		t.Errorf("ground truth:\n%s", truth)
	}
}

// TestOpen checks which names resolve to a method.
func TestOpen(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{PHash, true},
		{DHash, true},
		{"ahash", false},
		{"phash+dhash", false},
		{"phash+dhash@1.5", false},
		{"nosuch+dhash@0.5", false},
		{"phash+dhash@0.6", true}, // opens; embedding refuses to join hashes
		{"phash+dhash@160@0.6", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("Open(%q): %v", tc.name, err)
			}
			if err != nil {
				return
			}
			defer m.Close()
			if m.Name() != tc.name {
				t.Errorf("name %q", m.Name())
			}
		})
	}
	m, err := Open("phash+dhash@0.6")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := t.TempDir()
	p := filepath.Join(dir, "a.png")
	writePNG(t, p, image.NewGray(image.Rect(0, 0, 16, 16)))
	if _, err := m.Embed(context.Background(), []string{p}); err == nil {
		t.Error("two hashes were joined")
	}
}

func TestSizedModel(t *testing.T) {
	cases := []struct {
		name string
		base string
		size int
	}{
		{"mobilenet-v2@160", "mobilenet-v2", 160},
		{"MobileNet-V2@128", "mobilenet-v2", 128},
		{"mobilenet-v2@0.6", "", 0},
		{"mobilenet-v2@8", "", 0},
		{"mobilenet-v2", "", 0},
		{brain.DescriptorName + "@160", "", 0},
		{brain.DescriptorName + "+mobilenet-v2@0.6", "", 0},
		{"nosuch@160", "", 0},
	}
	for _, tc := range cases {
		base, size, ok := sizedModel(tc.name)
		if ok != (tc.base != "") || base != tc.base || size != tc.size {
			t.Errorf("sizedModel(%q) = %q, %d, %v; want %q, %d", tc.name, base, size, ok, tc.base, tc.size)
		}
	}
}

// countingMethod embeds every file as one value, counting its calls.
type countingMethod struct {
	name  string
	calls int
}

func (m *countingMethod) Name() string { return m.name }
func (m *countingMethod) Close()       {}
func (m *countingMethod) Embed(ctx context.Context, paths []string) (*Space, error) {
	m.calls++
	s := &Space{N: len(paths), Dim: 1, Vectors: make([]float32, len(paths))}
	for i := range s.Vectors {
		s.Vectors[i] = float32(i + 1)
	}
	return s, nil
}

// TestEmbedderSharesModels: the models of combinations are embedded once
// per list of files, whichever row asks first.
func TestEmbedderSharesModels(t *testing.T) {
	a, b := &countingMethod{name: "a"}, &countingMethod{name: "b"}
	c1 := &combined{name: "a+b@0.3", aName: "a", bName: "b", a: a, b: b, weight: 0.3}
	c2 := &combined{name: "a+b@0.6", aName: "a", bName: "b", a: a, b: b, weight: 0.6}
	e := newEmbedder([]string{"x", "y"})
	for _, m := range []Method{c1, a, c2, b, c1} {
		s, err := e.space(context.Background(), m.Name(), m)
		if err != nil {
			t.Fatal(err)
		}
		if _, joined := m.(*combined); joined && s.Dim != 2 {
			t.Errorf("%s: %d values per file, want 2", m.Name(), s.Dim)
		}
	}
	if a.calls != 1 || b.calls != 1 {
		t.Errorf("a embedded %d times, b %d times; want once each", a.calls, b.calls)
	}
}

// writePNG writes img to path as a PNG.
func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadOpenclipartLeavesOutTooLarge checks that a drawing declaring
// more pixels than the brain reads is left out and counted, so that a
// run does not stop on it.
func TestLoadOpenclipartLeavesOutTooLarge(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "food"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 20, 10))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	writePNG(t, filepath.Join(dir, "food", "pepper.png"), img)
	// A PNG whose header declares 10000 x 10000 pixels: the header is all
	// that is read of it.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	huge := buf.Bytes()
	binary.BigEndian.PutUint32(huge[16:], 10000)
	binary.BigEndian.PutUint32(huge[20:], 10000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if err := os.WriteFile(filepath.Join(dir, "food", "poster.png"), huge, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadOpenclipart(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Originals) != 1 || filepath.Base(c.Originals[0].Path) != "pepper.png" || c.Originals[0].Label != "food" || c.TooLarge != 1 {
		t.Fatalf("originals %+v, %d too large; want pepper.png (food) and 1", c.Originals, c.TooLarge)
	}
}

// TestRunRefusesUnknownCollection checks that a collection name Run does
// not know fails the run with the names it does know.
func TestRunRefusesUnknownCollection(t *testing.T) {
	_, err := Run(context.Background(), Options{Dir: t.TempDir(), Collections: []string{"clipart"}})
	if err == nil || !strings.Contains(err.Error(), `"clipart"`) || !strings.Contains(err.Error(), Openclipart) {
		t.Fatalf("Run with an unknown collection: %v", err)
	}
}
