package query

import (
	"context"
	"path/filepath"
	"testing"
)

func TestCheckBackupRepairStatements(t *testing.T) {
	bg := context.Background()
	dir := t.TempDir()
	d, err := Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	writePNGs(t, filepath.Join(dir, "img"), 20)
	if _, err := d.Exec(bg, "CREATE DATASET ds FROM IMAGES ?; UPDATE ds ADD TAG 'a' WHERE filepath LIKE '%p000%'", filepath.Join(dir, "img")); err != nil {
		t.Fatal(err)
	}
	r, err := d.Query(bg, "CHECK DATABASE")
	if err != nil {
		t.Fatal(err)
	}
	if last := r.Rows[len(r.Rows)-1][0].AsString(); last != "ok" || len(r.Rows) != 1 || r.Failed {
		t.Fatalf("CHECK DATABASE on a sound database: %v (failed %v)", r.Rows, r.Failed)
	}
	backup := filepath.Join(dir, "backup")
	if _, err := d.Exec(bg, "BACKUP DATABASE TO ?", backup); err != nil {
		t.Fatal(err)
	}
	b, err := Open(backup, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := count(t, b, "SELECT count(*) FROM ds WHERE 'a' IN tags"); n != 10 {
		t.Fatalf("the backup has %d tagged samples, want 10", n)
	}
	if r, err := b.Query(bg, "REPAIR DATABASE"); err != nil || len(r.Rows) != 1 {
		t.Fatalf("REPAIR DATABASE: %v %v", r, err)
	}
	for _, bad := range []string{"BACKUP DATABASE", "BACKUP DATABASE TO", "CHECK DATABASE now", "BACKUP DATABASE TO 3"} {
		if _, err := d.Exec(bg, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := d.Exec(bg, "BACKUP DATABASE TO ?", backup); err == nil {
		t.Fatal("a backup over an existing one succeeded")
	}
	mem := openMemory(t)
	if _, err := mem.Exec(bg, "BACKUP DATABASE TO ?", filepath.Join(dir, "m")); err == nil {
		t.Fatal("a backup of an in-memory database succeeded")
	}
}
