package query

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// fixtureImage describes one generated test image.
type fixtureImage struct {
	path  string // relative to the fixture root
	w, h  int
	gray  bool
	jpeg  bool
	shade uint8
}

// The fixture: images under data/ (some in subfolders, one exact copy,
// two bad files) and new/ for INSERT, outside data/.
var fixtureImages = []fixtureImage{
	{path: "data/cat_01.png", w: 32, h: 32, shade: 10},
	{path: "data/cat_02.png", w: 32, h: 32, shade: 40},
	{path: "data/kitten_01.png", w: 64, h: 48, shade: 70},
	{path: "data/kitten_02.png", w: 16, h: 16, shade: 100},
	{path: "data/dog_01.png", w: 64, h: 64, gray: true, shade: 130},
	{path: "data/dog_02.jpg", w: 40, h: 30, jpeg: true, shade: 160},
	{path: "data/sub/kitten_03.png", w: 32, h: 32, shade: 190},
	{path: "data/sub/deep/bird_01.png", w: 8, h: 8, shade: 220},
	{path: "new/extra.png", w: 24, h: 24, shade: 250},
	{path: "new/extra2.png", w: 20, h: 10, shade: 5},
}

// writeFixture creates the fixture folder in dir and returns dir.
func writeFixture(t testing.TB, dir string) string {
	t.Helper()
	for _, f := range fixtureImages {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var img image.Image
		if f.gray {
			g := image.NewGray(image.Rect(0, 0, f.w, f.h))
			for y := 0; y < f.h; y++ {
				for x := 0; x < f.w; x++ {
					g.SetGray(x, y, color.Gray{Y: f.shade + uint8(x+y)})
				}
			}
			img = g
		} else {
			c := image.NewRGBA(image.Rect(0, 0, f.w, f.h))
			for y := 0; y < f.h; y++ {
				for x := 0; x < f.w; x++ {
					c.SetRGBA(x, y, color.RGBA{R: f.shade, G: uint8(x * 7), B: uint8(y * 5), A: 255})
				}
			}
			img = c
		}
		var buf bytes.Buffer
		var err error
		if f.jpeg {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		} else {
			err = png.Encode(&buf, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An exact copy, an empty file and a text file named .png.
	b, err := os.ReadFile(filepath.Join(dir, "data/cat_01.png"))
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string][]byte{
		"data/copy_of_cat_01.png": b,
		"data/bad/empty.png":      nil,
		"data/bad/notes.png":      []byte("not an image\n"),
		"new/broken.png":          b[:len(b)/2],
	}
	for name, data := range writes {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// openFixtureDB opens an in-memory database with the dataset walkthrough
// ingested (recursively) from a fresh fixture.
func openFixtureDB(t testing.TB) *DB {
	t.Helper()
	root := writeFixture(t, t.TempDir())
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Exec(context.Background(), "CREATE DATASET walkthrough FROM IMAGES ? RECURSIVE", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	return d
}
