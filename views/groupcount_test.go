package views

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// countText prints counts as value:count pairs.
func countText(cv []ValueCount) string {
	s := ""
	for _, c := range cv {
		s += fmt.Sprintf("%s:%d ", c.Value, c.Count)
	}
	return s
}

// collectCounts reads eachValueCount with a given spill limit.
func collectCounts(t *testing.T, v *View, path string, limit int) []ValueCount {
	t.Helper()
	var out []ValueCount
	if err := v.eachValueCount(ctx, path, limit, func(vc ValueCount) error {
		out = append(out, vc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTagCountsFromIndex checks that counting tags over a whole dataset,
// which reads the tag index, gives what a scan of the samples gives, also
// after tags are added and removed.
func TestTagCountsFromIndex(t *testing.T) {
	f := newFixture(t)
	check := func(want string) {
		t.Helper()
		got := countText(collectCounts(t, New(f.ds), "tags", SpillLimit))
		scan := countText(collectCounts(t, New(f.ds).withoutIndexes(), "tags", SpillLimit))
		if got != want || scan != want {
			t.Fatalf("tag counts: index %q, scan %q; want %q", got, scan, want)
		}
	}
	check(`"dup":3 "x":3 "y":2 `)
	if _, err := f.ds.AddTags(ctx, f.ids[:2], "a", "dup"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ds.RemoveTags(ctx, f.ids[6:], "y"); err != nil {
		t.Fatal(err)
	}
	check(`"a":2 "dup":4 "x":3 `)
}

// TestFilepathCountsFromIndex checks that counting filepaths over a
// whole dataset, which reads the filepath index, gives the scan's counts
// in the same order, also after a sample is deleted.
func TestFilepathCountsFromIndex(t *testing.T) {
	f := newFixture(t)
	check := func() {
		t.Helper()
		got := countText(collectCounts(t, New(f.ds), "filepath", SpillLimit))
		scan := countText(collectCounts(t, New(f.ds).withoutIndexes(), "filepath", 3))
		if got != scan || !strings.Contains(got, `"/data/bird/a5.jpg":1 "/data/cat/a0.jpg":1`) {
			t.Fatalf("filepath counts: index %q, scan %q", got, scan)
		}
	}
	check()
	if _, err := f.ds.Delete(ctx, f.ids[2:3]); err != nil {
		t.Fatal(err)
	}
	check()
}

// TestSpilledCountsEqualInMemory counts values of many distinct values
// with a spill limit far below their number: the runs merged from disk
// give exactly the in-memory counts, with ints shown before equal floats,
// and leave no file behind.
func TestSpilledCountsEqualInMemory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d, err := db.Open(db.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, err := d.CreateDataset("many")
	if err != nil {
		t.Fatal(err)
	}
	var samples []db.NewSample
	for i := range 400 {
		// k repeats every 170 samples, as an int or an equal float.
		var k db.Value = db.Int(int64(i % 170))
		if i%3 == 0 {
			k = db.Float(float64(i % 170))
		}
		fields := db.Doc(db.Field{Name: "k", Value: k}, db.Field{Name: "s", Value: db.String(fmt.Sprintf("v%03d", i%211))})
		if i%50 == 0 {
			fields = db.Doc()
		}
		samples = append(samples, db.NewSample{Filepath: fmt.Sprintf("/x/%04d.jpg", i), Fields: fields, Tags: []string{fmt.Sprintf("t%d", i%7)}})
	}
	if _, err := ds.Add(ctx, samples); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*View{New(ds), New(ds).Match(Cmp{Path: "k", Op: Gt, Value: db.Int(20)})} {
		for _, path := range []string{"k", "s", "filepath", "tags"} {
			want := countText(collectCounts(t, v.withoutIndexes(), path, 1<<30))
			for _, limit := range []int{10, 60} {
				if got := countText(collectCounts(t, v, path, limit)); got != want {
					t.Fatalf("%s: counts of %s spilled at %d:\n%s\nwant\n%s", v, path, limit, got, want)
				}
			}
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("spill files left behind: %v", left)
	}
	// A count that must spill where no file can be made fails clearly.
	t.Setenv("TMPDIR", tmp+"/missing")
	err = New(ds).eachValueCount(ctx, "s", 2, func(ValueCount) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "spilling counts") {
		t.Fatalf("spill into a missing directory: %v", err)
	}
	t.Setenv("TMPDIR", tmp)
	// The ints win over equal floats whatever run they came from.
	cv := collectCounts(t, New(ds), "k", 2)
	if cv[0].Value.Kind() != db.KindMissing || cv[0].Count != 8 || cv[1].Value.Kind() != db.KindInt {
		t.Fatalf("first counts %v", cv[:2])
	}
}

// TestDamagedRunIsAnError: a run file cut short or holding an unknown
// value form fails the merge with errRunCorrupt instead of giving wrong
// counts.
func TestDamagedRunIsAnError(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	m := map[string]*ValueCount{"a": {Value: db.String("a"), Count: 2}, "b": {Value: db.Int(3), Count: 1}}
	for name, damage := range map[string]func([]byte) []byte{
		"value cut short": func(b []byte) []byte { return b[:len(b)-2] },
		"entry cut after its count": func(b []byte) []byte {
			return append(b, appendEntry(nil, "c", ValueCount{Value: db.String("c"), Count: 1})[:3]...)
		},
		"unknown value form": func(b []byte) []byte {
			e := appendEntry(nil, "c", ValueCount{Value: db.String("c"), Count: 1})
			e[3] = 'x'
			return append(b, e...)
		},
	} {
		sp := &spiller{}
		if err := sp.write([]string{"a", "b"}, m); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(sp.files[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sp.files[0], damage(b), 0o600); err != nil {
			t.Fatal(err)
		}
		err = sp.merge(ctx, func(ValueCount) error { return nil })
		sp.remove()
		if !errors.Is(err, errRunCorrupt) {
			t.Errorf("%s: merge gave %v, want errRunCorrupt", name, err)
		}
	}
}
