package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// checkedDataset makes a dataset with tags, a field index and a computed
// group with an indexed scalar, as a real database has.
func checkedDataset(t *testing.T, d *DB) *Dataset {
	t.Helper()
	ds := mustDataset(t, d, "ds")
	if err := ds.CreateIndex(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	ids := addN(t, ds, 300, func(i int) Value { return Doc(Field{"n", Int(int64(i % 17))}) })
	if _, err := ds.AddTags(ctx, ids[:100], "dup", "x"); err != nil {
		t.Fatal(err)
	}
	st, err := ds.StageInsights("uniqueness")
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]InsightRow, len(ids))
	for i, id := range ids {
		rows[i] = InsightRow{ID: id, Values: Doc(Field{"scalar", Float(float64(i) / 300)})}
	}
	if err := st.Put(ctx, rows); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.Commit(ctx, &RunRecord{Key: "uniqueness", Status: RunComplete, Started: now, Ended: now}); err != nil {
		t.Fatal(err)
	}
	return ds
}

func mustCheck(t *testing.T, d *DB) []string {
	t.Helper()
	problems, err := d.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

func TestCheckFindsDamageAndRepairMendsIt(t *testing.T) {
	d, _ := openTemp(t)
	ds := checkedDataset(t, d)
	if p := mustCheck(t, d); len(p) != 0 {
		t.Fatalf("a sound database: %v", p)
	}
	var victim ID
	for id, err := range ds.IDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		victim = id
		break
	}
	rec, err := ds.Get(victim)
	if err != nil {
		t.Fatal(err)
	}
	stray := ID{9, 9, 9}
	// Damage each derived table behind the database's back.
	err = d.bdb.Update(func(txn *badger.Txn) error {
		return errors.Join(
			txn.Delete(tagKey(ds.id, "dup", victim)),
			txn.Delete(filepathKey(ds.id, rec.Filepath())),
			txn.Set(tagKey(ds.id, "ghost", stray), nil),
			txn.Set(indexKey(ds.id, ds.db.cachedMeta(ds.id).Indexes["n"], Int(99), victim), nil),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	m := d.cachedMeta(ds.id).clone()
	m.Count += 5
	if err := d.update(func(*badger.Txn) (*datasetMeta, error) { return m, nil }); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(mustCheck(t, d), "\n")
	for _, want := range []string{
		fmt.Sprintf(`sample %s: filepath %q is missing`, victim, rec.Filepath()),
		fmt.Sprintf(`sample %s: tag "dup" is missing`, victim),
		fmt.Sprintf("a tag index entry for sample %s", stray),
		fmt.Sprintf("an index entry for sample %s does not match", victim),
		"the count says 305 samples, the dataset holds 300",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Check did not report %q; it said:\n%s", want, got)
		}
	}
	lines, err := d.Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "300 samples") {
		t.Fatalf("Repair said %v", lines)
	}
	if p := mustCheck(t, d); len(p) != 0 {
		t.Fatalf("after Repair: %v", p)
	}
	if c, _ := ds.Count(); c != 300 {
		t.Fatalf("count after Repair %d", c)
	}
	hits, err := ds.Search(ctx, []string{"filepath"}, "img0007")
	if err != nil || len(hits) != 1 {
		t.Fatalf("full-text search after Repair: %v %v", hits, err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	d, dir := openTemp(t)
	ds := checkedDataset(t, d)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a writer that goes on during the backup
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ds.Add(ctx, []NewSample{{Filepath: fmt.Sprintf("/more/%d.png", i), Tags: []string{"late"}}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	backup := filepath.Join(t.TempDir(), "backup")
	size, err := d.Backup(ctx, backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if size == 0 {
		t.Fatal("the backup copied nothing")
	}
	b, err := Open(backup, nil)
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer b.Close()
	if p := mustCheck(t, b); len(p) != 0 {
		t.Fatalf("the backup is not sound: %v", p)
	}
	bds, err := b.Dataset("ds")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := bds.Count()
	if c < 300 {
		t.Fatalf("the backup holds %d samples, fewer than before it started", c)
	}
	hits, err := bds.Search(ctx, []string{"filepath"}, "img0042")
	if err != nil || len(hits) != 1 {
		t.Fatalf("full-text search in the backup: %v %v", hits, err)
	}
	// A backup never goes over another database or into its source.
	if _, err := d.Backup(ctx, backup); !errors.Is(err, ErrExists) {
		t.Fatalf("backup over a non-empty directory: %v", err)
	}
	if _, err := d.Backup(ctx, filepath.Join(dir, "inside")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("backup into the database: %v", err)
	}
}

func TestNewerFormatIsRefused(t *testing.T) {
	d, dir := openTemp(t)
	mustDataset(t, d, "ds")
	if err := d.bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyFormat), []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrNewerFormat) || !strings.Contains(err.Error(), "format version 99") {
		t.Fatalf("opening a store of format 99: %v", err)
	}
}

// A process killed between creating a memory-table log and sizing it
// leaves an empty .mem file; the database still opens.
func TestEmptyMemoryTableLogOpens(t *testing.T) {
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "ds")
	addN(t, ds, 5, nil)
	d.Close()
	if err := os.WriteFile(filepath.Join(dir, storeDirName, "00009.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("opening with an empty memory-table log: %v", err)
	}
	defer d2.Close()
	ds2, _ := d2.Dataset("ds")
	if c, _ := ds2.Count(); c != 5 {
		t.Fatalf("count %d", c)
	}
}
