package query

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// snapshot is what one reader saw in one statement.
type snapshot struct {
	count, lo, hi int64
	sum           float64
}

// Readers and writers share one database through database/sql's pool. The
// dataset starts with 100 samples, all with v = 0, in groups g = 0 … 9.
// Two writers, a and b, each set v on every sample to a value of their
// own and then add a tag of their own to every sample, in turn; a third
// deletes one group at a time. Every statement is smaller than one
// transaction, so each is one atomic step, and the states that exist are
// exactly: one writer's v on every sample, every tag added so far on
// every sample (each writer's tags in the order it added them), and n
// minus some whole groups. Each reader statement must see one of those
// states, a reader never sees the count go up or a tag go away, and at
// the end no tag is missing from any sample: concurrent ADD TAGs
// serialise rather than lose each other's writes.
func TestConcurrentReadersAndWritersSeeSnapshots(t *testing.T) {
	// Sizes keep every statement well inside one Badger transaction even
	// with every tag on every sample (about 4,500 of the 6,553 keys a
	// batch takes before a statement spans batches).
	const (
		n       = 100
		groups  = 10
		rounds  = 8 // statements of each kind per writer
		readers = 4
	)
	dir := t.TempDir()
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "{\"filepath\": \"s%03d.png\", \"v\": 0, \"g\": %d}\n", i, i%groups)
	}
	jsonl := filepath.Join(dir, "samples.jsonl")
	if err := os.WriteFile(jsonl, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sdb := openSQL(t, filepath.Join(dir, "db"), "")
	sdb.SetMaxOpenConns(readers + 3)
	if _, err := sdb.Exec("IMPORT INTO ds FROM ? WITH (check_files = false)", jsonl); err != nil {
		t.Fatal(err)
	}
	countOK := func(c int64) bool { return c > 0 && c <= n && c%(n/groups) == 0 }

	// readValues checks the fields of one snapshot.
	readValues := func(last *snapshot) error {
		var s snapshot
		var lo, hi, sum sql.NullFloat64
		if err := sdb.QueryRow("SELECT count(*), min(v), max(v), sum(v) FROM ds").Scan(&s.count, &lo, &hi, &sum); err != nil {
			return err
		}
		s.lo, s.hi, s.sum = int64(lo.Float64), int64(hi.Float64), sum.Float64
		k := s.lo % 1000
		switch {
		case !countOK(s.count):
			return fmt.Errorf("saw %+v: the count is not n less whole groups", s)
		case s.lo != s.hi:
			return fmt.Errorf("saw %+v: v differs between samples (an UPDATE seen half done, or two interleaved)", s)
		case s.lo != 0 && (s.lo/1000 < 1 || s.lo/1000 > 2 || k >= rounds):
			return fmt.Errorf("saw %+v: v is no writer's value", s)
		case s.sum != float64(s.count*s.lo):
			return fmt.Errorf("saw %+v: the sum disagrees with the count and v", s)
		case last.count != 0 && s.count > last.count:
			return fmt.Errorf("saw %+v after %+v: the count went up", s, *last)
		}
		*last = s
		return nil
	}
	// readTags checks the tags of one snapshot; have counts each writer's
	// tags seen last time.
	readTags := func(have map[byte]int) error {
		rows, err := sdb.Query("SELECT tag, count(*) FROM ds GROUP BY tag")
		if err != nil {
			return err
		}
		defer rows.Close()
		tagged := map[byte]int{}
		var on int64
		var tags []string
		for rows.Next() {
			var tag string
			var c int64
			if err := rows.Scan(&tag, &c); err != nil {
				return err
			}
			tags = append(tags, tag)
			if on == 0 {
				on = c
			}
			var w byte
			var k int
			if _, err := fmt.Sscanf(tag, "%c%02d", &w, &k); err != nil || (w != 'a' && w != 'b') {
				return fmt.Errorf("unexpected tag %q", tag)
			}
			tagged[w]++
			if c != on || !countOK(c) {
				return fmt.Errorf("tags %v: tag %s on %d samples, another on %d (an ADD TAG seen half done or lost)", tags, tag, c, on)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, w := range []byte("ab") {
			for k := range tagged[w] {
				if !slices.Contains(tags, fmt.Sprintf("%c%02d", w, k)) {
					return fmt.Errorf("tags %v: %c's tags are not the first %d it added", tags, w, tagged[w])
				}
			}
			if tagged[w] < have[w] {
				return fmt.Errorf("tags %v: %d of %c's tags, %d before", tags, tagged[w], w, have[w])
			}
			have[w] = tagged[w]
		}
		return nil
	}

	var writers, all sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 64)
	for w, base := range map[byte]int{'a': 1000, 'b': 2000} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for k := range rounds {
				if _, err := sdb.Exec("UPDATE ds SET v = ?", base+k); err != nil {
					errs <- fmt.Errorf("writer %c: %w", w, err)
					return
				}
				if _, err := sdb.Exec("UPDATE ds ADD TAG ?", fmt.Sprintf("%c%02d", w, k)); err != nil {
					errs <- fmt.Errorf("writer %c: %w", w, err)
					return
				}
			}
		}()
	}
	writers.Add(1)
	go func() {
		defer writers.Done()
		for g := range groups / 2 {
			res, err := sdb.Exec("DELETE FROM ds WHERE g = ?", g)
			if err != nil {
				errs <- fmt.Errorf("delete: %w", err)
				return
			}
			if k, _ := res.RowsAffected(); k != n/groups {
				errs <- fmt.Errorf("DELETE of group %d removed %d samples, want %d", g, k, n/groups)
			}
		}
	}()
	reads := make([]int, readers)
	for r := range readers {
		all.Add(1)
		go func() {
			defer all.Done()
			var last snapshot
			have := map[byte]int{}
			for {
				err := readValues(&last)
				if err == nil {
					err = readTags(have)
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				reads[r]++
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}
	writers.Wait()
	close(done)
	all.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var last snapshot
	have := map[byte]int{}
	if err := readValues(&last); err != nil {
		t.Fatal(err)
	}
	if err := readTags(have); err != nil {
		t.Fatal(err)
	}
	if last.count != n/2 || last.lo%1000 != rounds-1 || have['a'] != rounds || have['b'] != rounds {
		t.Errorf("final state %+v with tags %v: want %d samples, each writer's last v and all %d of its tags", last, have, n/2, rounds)
	}
	t.Logf("reads per reader: %v", reads)
}
