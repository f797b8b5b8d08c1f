package brain_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/zoo"
)

// TestComputeDuplicatesOnImages groups a generated set's duplicates: exact
// copies are marked exact, each duplicate names a sample of its own
// family, the kept samples count their duplicates, and the run reuses the
// embeddings a uniqueness run stored.
func TestComputeDuplicatesOnImages(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds, set := ingestSynthetic(t, 200)
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := brain.ComputeDuplicates(ctx, ds, brain.DuplicatesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Embedded != 0 {
		t.Errorf("embedded %d images again; the uniqueness run stored them", res.Embedded)
	}
	family := map[string]string{}
	kind := map[string]string{}
	for _, im := range set.Images {
		family[im.Path], kind[im.Path] = im.Path, im.Kind
		if im.Original != "" {
			family[im.Path] = im.Original
		}
	}
	byID := map[string]*db.Sample{}
	samples := scores(t, ds)
	for _, s := range samples {
		byID[s.ID.String()] = s
	}
	dups, exact, counted := 0, 0, int64(0)
	for path, s := range samples {
		of := s.Get("insights.duplicates.of")
		if of.Kind() != db.KindString {
			counted += s.Get("insights.duplicates.count").AsInt()
			continue
		}
		dups++
		o := byID[of.AsString()]
		if o == nil || family[o.Filepath()] != family[path] {
			t.Errorf("%s (%s) duplicates %v, not a sample of its family", path, kind[path], of)
			continue
		}
		if s.Get("insights.duplicates.exact").AsBool() {
			exact++
			if kind[path] != zoo.KindExact && kind[o.Filepath()] != zoo.KindExact {
				t.Errorf("%s marked exact, but neither it nor %s is a byte copy", path, o.Filepath())
			}
		}
	}
	exactCopies := 0
	for _, c := range set.Copies() {
		if c.Kind == zoo.KindExact {
			exactCopies++
		}
	}
	if dups != res.Duplicates || int64(dups) != counted || exact != exactCopies || exact != res.Exact {
		t.Fatalf("%d duplicates (result %d), counts add to %d, %d exact (result %d) of %d exact copies",
			dups, res.Duplicates, counted, exact, res.Exact, exactCopies)
	}
	if dups < len(set.Copies())*8/10 {
		t.Fatalf("%d duplicates found for %d planted copies", dups, len(set.Copies()))
	}
	if runs, _ := ds.Runs(); runs[brain.DuplicatesGroup].SampleCount != 200 {
		t.Fatalf("run record %+v", runs[brain.DuplicatesGroup])
	}
}

func TestDuplicatesOptions(t *testing.T) {
	ctx := context.Background()
	ds := memDataset(t, "opts")
	for _, opts := range []brain.DuplicatesOptions{
		{ComputeOptions: brain.ComputeOptions{Metric: brain.Euclidean}}, // no threshold for euclidean
		{Threshold: -0.5},
		{Ratio: 1.5},
		{Ratio: -0.2},
	} {
		if _, err := brain.ComputeDuplicates(ctx, ds, opts); !errors.Is(err, brain.ErrOption) {
			t.Errorf("%+v: %v", opts, err)
		}
	}
}

// TestComputeDuplicatesPixelCheck: the pixel check is on by default and
// off with NoPixels or a ratio given, each a run of its own; a picture
// removed after it was embedded leaves the run to finish, its pairs
// unchecked.
func TestComputeDuplicatesPixelCheck(t *testing.T) {
	needRuntime(t)
	ctx := context.Background()
	ds, set := ingestSynthetic(t, 120)
	if _, err := brain.ComputeUniqueness(ctx, ds, brain.ComputeOptions{}); err != nil {
		t.Fatal(err)
	}
	copies := set.Copies()
	if len(copies) == 0 {
		t.Fatal("no planted copies")
	}
	if err := os.Remove(copies[0].Path); err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for name, o := range map[string]brain.DuplicatesOptions{
		"pixels":    {},
		"no pixels": {NoPixels: true},
		"ratio":     {Ratio: 0.4},
	} {
		res, err := brain.ComputeDuplicates(ctx, ds, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Embedded != 0 {
			t.Errorf("%s: embedded %d images again", name, res.Embedded)
		}
		found[name] = res.Duplicates
	}
	if found["pixels"] < len(copies)*7/10 {
		t.Errorf("with the pixel check, %d duplicates of %d planted copies", found["pixels"], len(copies))
	}
	if found["no pixels"] != found["ratio"] {
		t.Errorf("NoPixels found %d, ratio 0.4 found %d: both are the embedding rule", found["no pixels"], found["ratio"])
	}
}
