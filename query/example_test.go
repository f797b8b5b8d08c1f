package query_test

import (
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

// writeImages makes a folder of n small PNG images for the examples.
func writeImages(n int) string {
	dir, err := os.MkdirTemp("", "fosql-example")
	if err != nil {
		log.Fatal(err)
	}
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 16+16*i, 16))
		img.Set(0, 0, color.RGBA{R: uint8(i), A: 255})
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("img_%d.png", i)))
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	return dir
}

func ExampleOpen() {
	dir := writeImages(3)
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// Auto-compute off: the insight values below are set by hand, and no
	// query should replace them by running the uniqueness job.
	off := false
	d, err := query.Open(":memory:", &query.Options{AutoCompute: &off})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	res, err := d.Exec(ctx, "CREATE DATASET walkthrough FROM IMAGES ?", dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.RowsAffected, "images added")

	// Insight values would come from COMPUTE UNIQUENESS; here they are set by hand.
	ds, _ := d.Store().Dataset("walkthrough")
	scores := map[db.ID]db.Value{}
	for i, id := range res.InsertedIDs {
		scores[id] = db.Float(float64(i+1) / 4)
	}
	if err := ds.SetInsights(ctx, "uniqueness", "scalar", scores); err != nil {
		log.Fatal(err)
	}

	if _, err := d.Exec(ctx, "UPDATE walkthrough ADD TAG 'dup' WHERE metadata.width = ?", 16); err != nil {
		log.Fatal(err)
	}
	rows, err := d.Query(ctx, `SELECT metadata.width, insights.uniqueness.scalar, tags
		FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 2`)
	if err != nil {
		log.Fatal(err)
	}
	if err := rows.Write(os.Stdout, query.FormatTSV); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 3 images added
	// metadata.width	insights.uniqueness.scalar	tags
	// 48	0.75	[]
	// 32	0.5	[]
}

func Example_databaseSQL() {
	dir := writeImages(2)
	defer os.RemoveAll(dir)

	// Importing the query package registers the driver "fosql"; one
	// sql.DB owns one database handle, shared by its connections.
	sdb, err := sql.Open("fosql", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer sdb.Close()

	if _, err := sdb.Exec("CREATE DATASET walkthrough FROM IMAGES ?", dir); err != nil {
		log.Fatal(err)
	}
	res, err := sdb.Exec("UPDATE walkthrough ADD TAG 'dup' WHERE filepath LIKE ?", "%img_1.png")
	if err != nil {
		log.Fatal(err)
	}
	n, _ := res.RowsAffected()
	fmt.Println("tagged", n)

	rows, err := sdb.Query("SELECT filepath, metadata.width FROM walkthrough WHERE 'dup' IN tags")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	types, _ := rows.ColumnTypes()
	for _, ct := range types {
		fmt.Println(ct.Name(), ct.DatabaseTypeName())
	}
	for rows.Next() {
		var path string
		var width int64
		if err := rows.Scan(&path, &width); err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(path), width)
	}
	// Output:
	// tagged 1
	// filepath TEXT
	// metadata.width INTEGER
	// img_1.png 32
}
