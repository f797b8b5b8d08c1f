package views_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/views"
)

// The ten most unique samples, as in FiftyOne's
// dataset.sort_by("uniqueness", reverse=True).limit(10): every
// insights.<group>.scalar is indexed, so the plan is an index scan that
// stops after ten rows.
func Example() {
	ctx := context.Background()
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ds, err := d.CreateDataset("walkthrough")
	if err != nil {
		log.Fatal(err)
	}
	var samples []db.NewSample
	for i := range 5 {
		samples = append(samples, db.NewSample{Filepath: fmt.Sprintf("/data/img%d.jpg", i)})
	}
	ids, err := ds.Add(ctx, samples)
	if err != nil {
		log.Fatal(err)
	}
	scores := map[db.ID]db.Value{}
	for i, id := range ids {
		scores[id] = db.Float([]float64{0.2, 0.9, 0.5, 1.0, 0.1}[i])
	}
	if err := ds.SetInsights(ctx, "uniqueness", "scalar", scores); err != nil {
		log.Fatal(err)
	}

	v := views.New(ds).SortBy("insights.uniqueness.scalar", views.Desc).Limit(3)
	plan, err := v.Explain()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan)
	for s, err := range v.Iter(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Filepath(), s.Get("insights.uniqueness.scalar"))
	}
	n, err := views.New(ds).Match(views.Cmp{Path: "insights.uniqueness.scalar", Op: views.Lt, Value: db.Float(0.3)}).Count(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("below 0.3:", n)
	// Output:
	// limit 3
	//   index scan insights.uniqueness.scalar desc
	// /data/img3.jpg 1
	// /data/img1.jpg 0.9
	// /data/img2.jpg 0.5
	// below 0.3: 2
}
