package main

import (
	"bufio"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// writeBigImages writes n noisy JPEG pictures of size x size pixels into
// dir: large enough that decoding and embedding them takes a while, so
// a test can interrupt a uniqueness run in the middle.
func writeBigImages(t *testing.T, dir string, n, size int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range n {
		for p := 0; p < len(img.Pix); p += 4 {
			x, y := (p/4)%size, (p/4)/size
			r := rng.Uint32()
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = uint8(x*(i+1))+uint8(r&63), uint8(y)+uint8(r>>8&63), uint8(r>>16), 255
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("big%03d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
