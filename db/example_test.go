package db_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/fosql/fosql/db"
)

// writePNG writes a small solid-colour PNG.
func writePNG(path string, w, h int, c color.Color) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
}

// Create a dataset from a folder of images, close the database, open it
// again and list the samples with their metadata and tags.
func Example() {
	ctx := context.Background()
	root, _ := os.MkdirTemp("", "fosql-example")
	defer os.RemoveAll(root)
	images := filepath.Join(root, "images")
	os.MkdirAll(filepath.Join(images, "more"), 0o755)
	writePNG(filepath.Join(images, "red.png"), 32, 24, color.RGBA{255, 0, 0, 255})
	writePNG(filepath.Join(images, "more", "blue.png"), 16, 16, color.RGBA{0, 0, 255, 255})
	os.WriteFile(filepath.Join(images, "notes.png"), []byte("not an image"), 0o644)

	d, err := db.Open(filepath.Join(root, "db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	ds, err := d.CreateDataset("walkthrough")
	if err != nil {
		log.Fatal(err)
	}
	res, err := ds.AddImages(ctx, images, db.IngestOptions{Scan: db.ScanOptions{Recursive: true}, Tags: []string{"new"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("added", len(res.Added))
	for _, s := range res.Skipped {
		fmt.Println("skipped", filepath.Base(s.Path)+":", s.Reason)
	}
	d.Close()

	// Later, in another process:
	d, err = db.Open(filepath.Join(root, "db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ds, err = d.Dataset("walkthrough")
	if err != nil {
		log.Fatal(err)
	}
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(s.Filepath()), s.Get("metadata.width"), s.Get("metadata.height"), s.Get("metadata.mime_type"), s.Tags())
	}
	// Output:
	// added 2
	// skipped notes.png: not an image
	// blue.png 16 16 "image/png" [new]
	// red.png 32 24 "image/png" [new]
}
