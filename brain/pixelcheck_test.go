package brain

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"golang.org/x/image/draw"
)

// shapes draws a w x h picture of a dozen grey ellipses on a mid-grey
// ground, laid out by seed: pictures of different seeds differ.
func shapes(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{128, 128, 128, 255}), image.Point{}, draw.Src)
	for range 12 {
		cx, cy := r.Float64(), r.Float64()
		rx, ry := 0.05+0.15*r.Float64(), 0.05+0.15*r.Float64()
		g := uint8(r.IntN(256))
		ink := color.RGBA{g, uint8(255 - int(g)/2), uint8(r.IntN(256)), 255}
		for y := range h {
			for x := range w {
				dx := (float64(x)+0.5)/float64(w) - cx
				dy := (float64(y)+0.5)/float64(h) - cy
				if dx*dx/(rx*rx)+dy*dy/(ry*ry) <= 1 {
					img.SetRGBA(x, y, ink)
				}
			}
		}
	}
	return img
}

// scaledTo returns img resampled to w x h.
func scaledTo(img image.Image, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(out, out.Rect, img, img.Bounds(), draw.Src, nil)
	return out
}

// copiesOf returns the kinds of copy the pixel check is to recognise,
// made from img (w x h).
func copiesOf(img *image.RGBA) map[string]image.Image {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	mirrored := image.NewRGBA(img.Rect)
	darker := image.NewRGBA(img.Rect)
	overlaid := image.NewRGBA(img.Rect)
	for y := range h {
		for x := range w {
			mirrored.SetRGBA(w-1-x, y, img.RGBAAt(x, y))
			c := img.RGBAAt(x, y)
			down := func(v uint8) uint8 { return uint8(int(v) * 4 / 5) }
			darker.SetRGBA(x, y, color.RGBA{down(c.R), down(c.G), down(c.B), 255})
			// A caption: dashes in a bar along the bottom left.
			if x > w/20 && x < w/20+w/3 && y > h*17/20 && y < h*19/20 && (x/3)%2 == 0 {
				c = color.RGBA{255, 255, 255, 255}
			}
			overlaid.SetRGBA(x, y, c)
		}
	}
	bordered := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(bordered, bordered.Rect, image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(bordered, image.Rect(w/20, h/20, w-w/20, h-h/20), img, img.Rect, draw.Src, nil)
	return map[string]image.Image{
		"exact":   img,
		"crop":    scaledTo(img.SubImage(image.Rect(w/20, h/10, w-w/20, h)), w, h),
		"resize":  scaledTo(img, w/2, h/2),
		"mirror":  mirrored,
		"darker":  darker,
		"rotate":  turned(img, 6, inkWhite, false),
		"border":  bordered,
		"overlay": overlaid,
	}
}

// checkOf returns a pixel check over the given encoded pictures.
func checkOf(files [][]byte) *PixelCheck {
	return NewPixelCheck(func(ctx context.Context, row int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files[row])), nil
	})
}

// TestPixelScoreTellsCopiesFromOthers: every kind of copy of a picture
// scores within DefaultPixelBound against it, and other pictures of the
// same make score above it.
func TestPixelScoreTellsCopiesFromOthers(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		orig := shapes(120, 90, seed)
		files := [][]byte{pngOf(t, orig)}
		var names []string
		for name, c := range copiesOf(orig) {
			files = append(files, pngOf(t, c))
			names = append(names, name)
		}
		others := len(files)
		for s := range uint64(6) {
			files = append(files, pngOf(t, shapes(120, 90, 100+10*seed+s)))
		}
		pc := checkOf(files)
		worstCopy, bestOther := 0.0, pixelNoMatch
		for k := 1; k < len(files); k++ {
			score, err := pc.Score(context.Background(), k, 0)
			if err != nil {
				t.Fatal(err)
			}
			if k < others && score > DefaultPixelBound {
				t.Errorf("seed %d: the %s copy scores %.4f, above %v", seed, names[k-1], score, DefaultPixelBound)
			}
			if k >= others && score <= DefaultPixelBound {
				t.Errorf("seed %d: another picture (%d) scores %.4f, within %v", seed, k, score, DefaultPixelBound)
			}
			if k < others {
				worstCopy = max(worstCopy, score)
			} else {
				bestOther = min(bestOther, score)
			}
		}
		t.Logf("seed %d: copies score at most %.4f, other pictures at least %.4f", seed, worstCopy, bestOther)
	}
}

// TestPixelScoreSmallCopies: a small picture's copy at half its size,
// blurred further when both are enlarged to the thumbnail, scores as a
// copy against it, not as another picture.
func TestPixelScoreSmallCopies(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		orig := shapes(28, 28, seed)
		files := [][]byte{pngOf(t, orig), pngOf(t, scaledTo(orig, 14, 14)), pngOf(t, shapes(28, 28, 50+seed))}
		pc := checkOf(files)
		copied, err := pc.Score(context.Background(), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		other, err := pc.Score(context.Background(), 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if copied > DefaultPixelBound || other <= DefaultPixelBound {
			t.Errorf("seed %d: the half-size copy scores %.4f, another picture %.4f; want within and above %v", seed, copied, other, DefaultPixelBound)
		}
		t.Logf("seed %d: copy %.4f, other %.4f", seed, copied, other)
	}
}

// TestPixelScoreKeepsProportions: a picture squeezed to three quarters
// of its height is another shape, as a letter's small form is beside its
// capital, and does not score as a copy.
func TestPixelScoreKeepsProportions(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		orig := shapes(100, 100, seed)
		pc := checkOf([][]byte{pngOf(t, orig), pngOf(t, scaledTo(orig, 100, 75))})
		score, err := pc.Score(context.Background(), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if score <= DefaultPixelBound {
			t.Errorf("seed %d: the squeezed picture scores %.4f, within %v", seed, score, DefaultPixelBound)
		}
	}
}

// markOnPage returns a white page with black rectangles on it, given
// as x0, y0, x1, y1 each.
func markOnPage(rects ...[4]int) *image.RGBA {
	page := image.NewRGBA(image.Rect(0, 0, 320, 320))
	draw.Draw(page, page.Rect, image.White, image.Point{}, draw.Src)
	for _, r := range rects {
		draw.Draw(page, image.Rect(r[0], r[1], r[2], r[3]), image.Black, image.Point{}, draw.Src)
	}
	return page
}

// TestPixelScoreSmallMarks: on pages where a small mark is all that
// stands out, a square and a cross do not match, though the marks
// together cover fewer pixels than the check may set aside; a page
// matches its resized copy.
func TestPixelScoreSmallMarks(t *testing.T) {
	square, cross := markOnPage([4]int{128, 128, 192, 192}), markOnPage([4]int{112, 152, 208, 168}, [4]int{152, 112, 168, 208})
	pc := checkOf([][]byte{pngOf(t, square), pngOf(t, cross), pngOf(t, scaledTo(square, 160, 160))})
	other, err := pc.Score(context.Background(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := pc.Score(context.Background(), 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if other <= DefaultPixelBound || copied > DefaultPixelBound {
		t.Fatalf("the cross scores %.4f against the square, the square's copy %.4f; want above and within %v", other, copied, DefaultPixelBound)
	}
}

// TestPixelScoreFlatPictures: two flat pictures match, and a flat one does
// not match a drawn one.
func TestPixelScoreFlatPictures(t *testing.T) {
	flat := image.NewRGBA(image.Rect(0, 0, 40, 40))
	draw.Draw(flat, flat.Rect, image.NewUniform(color.RGBA{200, 10, 10, 255}), image.Point{}, draw.Src)
	other := image.NewRGBA(image.Rect(0, 0, 50, 30))
	draw.Draw(other, other.Rect, image.NewUniform(color.RGBA{20, 200, 10, 255}), image.Point{}, draw.Src)
	pc := checkOf([][]byte{pngOf(t, flat), pngOf(t, other), pngOf(t, shapes(40, 40, 5))})
	if s, err := pc.Score(context.Background(), 1, 0); err != nil || s != 0 {
		t.Errorf("two flat pictures score %v (%v), want 0", s, err)
	}
	if s, err := pc.Score(context.Background(), 2, 0); err != nil || s <= DefaultPixelBound {
		t.Errorf("a drawn picture against a flat one scores %v (%v), want above %v", s, err, DefaultPixelBound)
	}
}

// TestPixelCheckErrors: a picture that cannot be opened or decoded fails
// the check with the cause.
func TestPixelCheckErrors(t *testing.T) {
	missing := NewPixelCheck(func(ctx context.Context, row int) (io.ReadCloser, error) {
		return nil, os.ErrNotExist
	})
	if _, err := missing.Score(context.Background(), 0, 1); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "pixel check") {
		t.Errorf("missing file: %v", err)
	}
	corrupt := checkOf([][]byte{[]byte("not a picture"), pngOf(t, shapes(20, 20, 1))})
	if _, err := corrupt.Score(context.Background(), 1, 0); err == nil {
		t.Error("a corrupt picture scored")
	}
}

// groupWithScores runs group over hand-made neighbour lists, every row's
// list holding every other row, with a pixel check that scores pairs from
// the table (symmetric; unlisted pairs score high).
func groupWithScores(t *testing.T, n int, dist map[[2]int]float64, scores map[[2]int]float64) []int {
	t.Helper()
	nb := &Neighbors{N: n, K: n - 1}
	for i := range n {
		type pair struct {
			j int
			d float64
		}
		var row []pair
		for j := range n {
			if j == i {
				continue
			}
			d, ok := dist[[2]int{min(i, j), max(i, j)}]
			if !ok {
				d = 0.9
			}
			row = append(row, pair{j, d})
		}
		for a := range row {
			for b := a + 1; b < len(row); b++ {
				if row[b].d < row[a].d {
					row[a], row[b] = row[b], row[a]
				}
			}
		}
		for _, p := range row {
			nb.Indices = append(nb.Indices, p.j)
			nb.Distances = append(nb.Distances, p.d)
		}
	}
	check := &pairCheck{bound: DefaultPixelBound, share: DefaultPixelShare, raw: func(i, j int) (float64, error) {
		if s, ok := scores[[2]int{min(i, j), max(i, j)}]; ok {
			return s, nil
		}
		return 1, nil
	}}
	out, err := group(nb, DefaultDuplicateRule(), nil, nil, check)
	if err != nil {
		t.Fatal(err)
	}
	return out.Of
}

// TestPixelRule: a copy joins its original; a look-alike its embedding
// puts as near does not; two copies of one picture both join it, each
// passing over the other; a copy whose pixels match two originals alike
// joins neither.
func TestPixelRule(t *testing.T) {
	// Rows: 0 original A, 1 look-alike B, 2 and 3 copies of A, 4 a copy
	// that matches A and B alike.
	dist := map[[2]int]float64{
		{0, 1}: 0.05, {0, 2}: 0.08, {0, 3}: 0.1, {2, 3}: 0.09, {1, 2}: 0.1,
		{0, 4}: 0.07, {1, 4}: 0.07,
	}
	scores := map[[2]int]float64{
		{0, 1}: 0.2, {0, 2}: 0.01, {0, 3}: 0.012, {2, 3}: 0.02, {1, 2}: 0.22,
		{0, 4}: 0.03, {1, 4}: 0.035,
	}
	of := groupWithScores(t, 5, dist, scores)
	want := []int{-1, -1, 0, 0, -1}
	for i := range want {
		if of[i] != want[i] {
			t.Errorf("row %d duplicates %d, want %d (all: %v)", i, of[i], want[i], of)
		}
	}
	// Row 2's rival, row 3 (0.02 > 0.01/0.4), is another copy of row 0:
	// it matches row 0 and nothing else. Were it a copy of something
	// else as well, it would be a rival, and row 2 would stay kept.
	dist[[2]int{3, 4}], scores[[2]int{3, 4}] = 0.1, 0.02
	if of := groupWithScores(t, 5, dist, scores); of[2] != -1 {
		t.Errorf("row 2 beside a rival: duplicates %d, want -1", of[2])
	}
}

// TestPixelRuleInACrowd: in a crowd of look-alikes that match each other
// (distinct garments of one cut), a picture that matches one of them best
// is still no copy of it.
func TestPixelRuleInACrowd(t *testing.T) {
	dist := map[[2]int]float64{}
	scores := map[[2]int]float64{}
	// Rows 0-3 are look-alikes, row 4 matches row 0 best.
	for a := range 4 {
		for b := a + 1; b < 4; b++ {
			dist[[2]int{a, b}], scores[[2]int{a, b}] = 0.06, 0.03
		}
		dist[[2]int{a, 4}], scores[[2]int{a, 4}] = 0.07, 0.035
	}
	scores[[2]int{0, 4}] = 0.02
	if of := groupWithScores(t, 5, dist, scores); of[4] != -1 {
		t.Errorf("a row in a crowd duplicates %d (all: %v)", of[4], of)
	}
	// Apart from the crowd, the same scores make it a copy.
	scores[[2]int{1, 4}], scores[[2]int{2, 4}], scores[[2]int{3, 4}] = 0.2, 0.2, 0.2
	if of := groupWithScores(t, 5, dist, scores); of[4] != 0 {
		t.Errorf("a row that matches row 0 alone duplicates %d, want 0", of[4])
	}
}
