package db

import (
	"errors"
	"slices"
	"testing"
)

func TestSelectionSurvivesReopenAndFollowsDeletes(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "walkthrough")
	other := mustDataset(t, d, "other")
	ids := addN(t, ds, 5, nil)
	foreign := addN(t, other, 1, nil)
	if got, err := ds.Selection(); err != nil || len(got) != 0 {
		t.Fatalf("fresh selection = %v, %v; want empty", got, err)
	}
	if err := ds.SetSelection([]ID{ids[3], ids[1], ids[3]}); err != nil {
		t.Fatal(err)
	}
	if err := ds.AddToSelection([]ID{ids[4]}); err != nil {
		t.Fatal(err)
	}
	if err := ds.RemoveFromSelection([]ID{ids[3]}); err != nil {
		t.Fatal(err)
	}
	// A sample of another dataset is refused and changes nothing.
	if err := ds.AddToSelection([]ID{foreign[0]}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("selecting another dataset's sample: %v, want ErrNotFound", err)
	}
	d.Close()
	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ds2, err := d2.Dataset("walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ds2.Selection()
	if err != nil || !slices.Equal(got, []ID{ids[1], ids[4]}) {
		t.Fatalf("selection after reopen = %v, %v; want %v", got, err, []ID{ids[1], ids[4]})
	}
	if _, err := ds2.Delete(ctx, []ID{ids[1]}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ds2.Selection(); !slices.Equal(got, []ID{ids[4]}) {
		t.Fatalf("selection after deleting a selected sample = %v, want %v", got, []ID{ids[4]})
	}
	if err := ds2.SetSelection(nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := ds2.Selection(); len(got) != 0 {
		t.Fatalf("cleared selection = %v", got)
	}
}

func TestSavedViews(t *testing.T) {
	d, _ := openTemp(t)
	ds := mustDataset(t, d, "walkthrough")
	if err := ds.SaveView("Dups", "SELECT id FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	if err := ds.SaveView("all", "SELECT id FROM walkthrough"); err != nil {
		t.Fatal(err)
	}
	if err := ds.SaveView("dups", "SELECT id, filepath FROM walkthrough WHERE 'dup' IN tags"); err != nil {
		t.Fatal(err)
	}
	if err := ds.SaveView("bad name", "SELECT 1"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad view name: %v, want ErrInvalid", err)
	}
	vs, err := ds.Views()
	want := []SavedView{{"all", "SELECT id FROM walkthrough"}, {"dups", "SELECT id, filepath FROM walkthrough WHERE 'dup' IN tags"}}
	if err != nil || !slices.Equal(vs, want) {
		t.Fatalf("views = %v, %v; want %v", vs, err, want)
	}
	if found, err := ds.DropView("DUPS"); err != nil || !found {
		t.Fatalf("drop: %v %v", found, err)
	}
	if found, err := ds.DropView("dups"); err != nil || found {
		t.Fatalf("second drop: %v %v", found, err)
	}
	if err := d.DeleteDataset("walkthrough"); err != nil {
		t.Fatal(err)
	}
	ds = mustDataset(t, d, "walkthrough")
	if vs, err := ds.Views(); err != nil || len(vs) != 0 {
		t.Fatalf("views of a new dataset of the same name = %v, %v", vs, err)
	}
}
