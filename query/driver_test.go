package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// openSQL opens a sql.DB on a directory database holding walkthrough.
func openSQL(t *testing.T, dsn string, root string) *sql.DB {
	t.Helper()
	sdb, err := sql.Open(DriverName, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	if root != "" {
		if _, err := sdb.Exec("CREATE DATASET walkthrough FROM IMAGES ? RECURSIVE", filepath.Join(root, "data")); err != nil {
			t.Fatal(err)
		}
	}
	return sdb
}

// A pool of connections shares the connector's one handle: no lock fights.
func TestDriverPool(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "pool.db")
	sdb := openSQL(t, dir, root)
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				var n int64
				if err := sdb.QueryRow("SELECT count(*) FROM walkthrough WHERE metadata.width >= ?", g%3*16).Scan(&n); err != nil {
					errs <- err
					return
				}
				if n < 1 || n > 9 {
					errs <- fmt.Errorf("count %d", n)
				}
				if _, err := sdb.Exec("UPDATE walkthrough ADD TAG ? WHERE metadata.width = 32", fmt.Sprintf("g%d", g)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var tags int
	if err := sdb.QueryRow("SELECT count(*) FROM (SELECT 1) x").Scan(&tags); err == nil {
		t.Error("subquery in FROM accepted")
	}
	rows, err := sdb.Query("SELECT tag, count(*) FROM walkthrough GROUP BY tag")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var tag string
		var c int64
		if err := rows.Scan(&tag, &c); err != nil {
			t.Fatal(err)
		}
		if c != 4 {
			t.Errorf("tag %s on %d samples, want 4", tag, c)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 16 {
		t.Errorf("%d tags, want 16", n)
	}
	// A second sql.DB on the same directory is a second process's view:
	// it gets the lock error, clearly.
	other, err := sql.Open(DriverName, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Ping(); !errors.Is(err, db.ErrLocked) {
		t.Errorf("second sql.DB on the same directory: %v, want db.ErrLocked", err)
	}
}

// ":memory:" is one private database per sql.DB, shared by its pool.
func TestDriverMemory(t *testing.T) {
	a := openSQL(t, ":memory:", "")
	b := openSQL(t, ":memory:", "")
	a.SetMaxOpenConns(4)
	if _, err := a.Exec("CREATE DATASET only_in_a"); err != nil {
		t.Fatal(err)
	}
	// Hold several connections of a at once: all see the dataset.
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := a.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var name string
		var n int64
		if err := c.QueryRowContext(ctx, "SHOW DATASETS").Scan(&name, &n); err != nil || name != "only_in_a" {
			t.Errorf("conn %d: %q %v", i, name, err)
		}
		c.Close()
	}
	rows, err := b.Query("SHOW DATASETS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("a :memory: dataset of one sql.DB is visible from another")
	}
}

func TestDriverPlaceholdersAndTypes(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	sdb := openSQL(t, ":memory:", root)
	res, err := sdb.Exec("INSERT INTO walkthrough (filepath, tags, ground_truth.label, score, flag) VALUES (?, ?, ?, ?, ?)",
		filepath.Join(root, "new/extra.png"), []string{"dup", "new"}, "cat", 0.25, true)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); n != 1 || err != nil {
		t.Errorf("RowsAffected = %d, %v", n, err)
	}
	if _, err := res.LastInsertId(); err == nil {
		t.Error("LastInsertId should explain that ids are strings")
	}
	rows, err := sdb.Query("SELECT id, filepath, metadata.width, score, flag, tags, metadata FROM walkthrough WHERE :lab = ground_truth.label AND ? IN tags",
		sql.Named("lab", "cat"), "new")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	wantDB := []string{"TEXT", "TEXT", "INTEGER", "REAL", "BOOLEAN", "LIST", "JSON"}
	wantScan := []reflect.Type{typeString, typeString, typeInt64, typeFloat64, typeBool, typeString, typeString}
	for i, ct := range cts {
		if ct.DatabaseTypeName() != wantDB[i] || ct.ScanType() != wantScan[i] {
			t.Errorf("column %s: %s %v, want %s %v", ct.Name(), ct.DatabaseTypeName(), ct.ScanType(), wantDB[i], wantScan[i])
		}
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var (
		id, fp, tags, md string
		w                int64
		score            float64
		flag             bool
	)
	if err := rows.Scan(&id, &fp, &w, &score, &flag, &tags, &md); err != nil {
		t.Fatal(err)
	}
	if len(id) != 24 || w != 24 || score != 0.25 || !flag || tags != `["dup","new"]` || md == "" {
		t.Errorf("row: %s %s %d %v %v %s %s", id, fp, w, score, flag, tags, md)
	}
	if rows.Next() {
		t.Error("more than one row")
	}
	// A placeholder is a value, never SQL text.
	var n int64
	if err := sdb.QueryRow("SELECT count(*) FROM walkthrough WHERE filepath = ?", "x' OR '1' = '1").Scan(&n); err != nil || n != 0 {
		t.Errorf("injection through a placeholder: %d %v", n, err)
	}
	// NULLs scan into sql.Null types.
	var label sql.NullString
	if err := sdb.QueryRow("SELECT ground_truth.label FROM walkthrough WHERE filepath LIKE '%bird%'").Scan(&label); err != nil || label.Valid {
		t.Errorf("NULL label: %v %v", label, err)
	}
	// Prepared statements: syntax errors at Prepare, arguments counted.
	if _, err := sdb.Prepare("SELEC 1"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Prepare(bad) = %v", err)
	}
	st, err := sdb.Prepare("SELECT count(*) FROM walkthrough WHERE metadata.width = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for w, want := range map[int]int64{32: 4, 64: 2, 7: 0} {
		if err := st.QueryRow(w).Scan(&n); err != nil || n != want {
			t.Errorf("width %d: %d %v, want %d", w, n, err, want)
		}
	}
	if err := st.QueryRow().Scan(&n); err == nil {
		t.Error("missing argument accepted")
	}
	// Transactions are refused clearly.
	if _, err := sdb.Begin(); !errors.Is(err, ErrTxNotSupported) {
		t.Errorf("Begin = %v", err)
	}
}

func TestDriverDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, path string
		auto      *bool
		bad       bool
	}{
		{":memory:", ":memory:", nil, false},
		{"", "", nil, true},
		{"?auto_compute=off", "", nil, true},
		{"/tmp/x.db?auto_compute=off", "/tmp/x.db", new(false), false},
		{"x.db?auto_compute=on", "x.db", new(true), false},
		{"x.db?auto_compute=maybe", "", nil, true},
		{"x.db?cache=1", "", nil, true},
	} {
		path, o, err := parseDSN(tt.dsn)
		if (err != nil) != tt.bad {
			t.Errorf("%q: %v", tt.dsn, err)
			continue
		}
		if tt.bad {
			continue
		}
		if path != tt.path || (tt.auto == nil) != (o.AutoCompute == nil) || (tt.auto != nil && *tt.auto != *o.AutoCompute) {
			t.Errorf("%q: %q %v", tt.dsn, path, o.AutoCompute)
		}
	}
}

// Each connection is a session: SET auto_compute on one does not change
// another, and the Ensure hook sees the setting.
func TestDriverSessionSettings(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	var mu sync.Mutex
	var seen []bool
	d, err := Open(":memory:", &Options{Ensure: func(ctx context.Context, ds *db.Dataset, groups []string, auto bool, _ func(insights.Progress)) error {
		mu.Lock()
		seen = append(seen, auto)
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(context.Background(), "CREATE DATASET walkthrough FROM IMAGES ?", filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	ds, _ := d.Store().Dataset("walkthrough")
	if err := fillInsight(context.Background(), ds, "uniqueness", db.Float(0.5)); err != nil {
		t.Fatal(err)
	}
	sdb := sql.OpenDB(NewConnector(d))
	defer sdb.Close()
	ctx := context.Background()
	c1, _ := sdb.Conn(ctx)
	c2, _ := sdb.Conn(ctx)
	defer c1.Close()
	defer c2.Close()
	if _, err := c1.ExecContext(ctx, "SET auto_compute = off"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT id FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 1"
	for _, c := range []*sql.Conn{c1, c2} {
		rows, err := c.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if !reflect.DeepEqual(seen, []bool{false, true}) {
		t.Errorf("Ensure saw auto = %v, want [false true]", seen)
	}
	// Closing the sql.DB of NewConnector leaves d open.
	sdb.Close()
	if _, err := d.Exec(ctx, "SHOW DATASETS"); err != nil {
		t.Errorf("d closed with the sql.DB: %v", err)
	}
}

// TestDriverStreamsRows reads a plain query's rows as database/sql asks
// for them: all of them, or a few and Close, after which the connection
// serves writes and queries as usual.
func TestDriverStreamsRows(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	sdb := openSQL(t, ":memory:", root)
	sdb.SetMaxOpenConns(1) // one connection: a leaked scan would block the next statement
	paths := func(q string, limit int) []string {
		t.Helper()
		rows, err := sdb.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() && len(out) != limit {
			var id, p string
			if err := rows.Scan(&id, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := paths("SELECT id, filepath FROM walkthrough", -1)
	if len(all) < 8 {
		t.Fatalf("%d rows", len(all))
	}
	if few := paths("SELECT id, filepath FROM walkthrough", 2); !reflect.DeepEqual(few, all[:2]) {
		t.Fatalf("first two %v, want %v", few, all[:2])
	}
	if _, err := sdb.Exec("UPDATE walkthrough ADD TAG 'seen' WHERE metadata.width >= 0"); err != nil {
		t.Fatal(err)
	}
	if again := paths("SELECT id, filepath FROM walkthrough WHERE 'seen' IN tags", -1); !reflect.DeepEqual(again, all) {
		t.Fatalf("after a write: %v, want %v", again, all)
	}
}
