package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// scanFixture makes n samples with a field k = i, and insights.g.scalar
// = i on every third sample; it cuts scans into parts at the ids the
// positions in cuts name.
func scanFixture(t *testing.T, n int, cuts ...int) (*Dataset, []ID) {
	t.Helper()
	d, err := Open(MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ds := mustDataset(t, d, "scan")
	ids := addN(t, ds, n, func(i int) Value { return Doc(Field{"k", Int(int64(i))}) })
	vals := map[ID]Value{}
	for i := 0; i < n; i += 3 {
		vals[ids[i]] = Float(float64(i))
	}
	if err := ds.SetInsights(ctx, "g", "scalar", vals); err != nil {
		t.Fatal(err)
	}
	if len(cuts) > 0 {
		scanPartsHook = func(*Dataset) []ID {
			out := make([]ID, len(cuts))
			for i, c := range cuts {
				out[i] = ids[c]
			}
			return out
		}
		t.Cleanup(func() { scanPartsHook = nil })
	}
	return ds, ids
}

func TestVisitSamplesCoversEverySampleOnce(t *testing.T) {
	ds, ids := scanFixture(t, 500, 37, 100, 101, 250, 499, 5)
	for _, opts := range []SampleScan{{Workers: 1}, {Workers: 3}, {Workers: 3, NoInsights: true}, {Workers: 2, IDsOnly: true}, {After: ids[99]}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			var mu sync.Mutex
			got := map[ID]*Sample{}
			workers := map[int]bool{}
			err := ds.VisitSamples(ctx, opts, func(w int, s *Sample) error {
				c := s.Clone()
				mu.Lock()
				defer mu.Unlock()
				if got[c.ID] != nil {
					return fmt.Errorf("sample %s visited twice", c.ID)
				}
				got[c.ID] = c
				workers[w] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := ids
			if !opts.After.IsZero() {
				want = ids[100:]
			}
			if len(got) != len(want) {
				t.Fatalf("visited %d samples, want %d", len(got), len(want))
			}
			for i, id := range want {
				s := got[id]
				if s == nil {
					t.Fatalf("sample %d not visited", i)
				}
				stored, _ := ds.Get(id)
				switch {
				case opts.IDsOnly:
					if s.Filepath() != "" || s.insights != nil {
						t.Fatalf("ids-only sample carries data: %v", s.Doc())
					}
				case opts.NoInsights:
					if !bytes.Equal(s.rec, stored.rec) || s.insights != nil {
						t.Fatalf("sample %d: %v, want %v without insights", i, s.Doc(), stored.Doc())
					}
				default:
					if !Equal(s.Doc(), stored.Doc()) {
						t.Fatalf("sample %d: %v, want %v", i, s.Doc(), stored.Doc())
					}
				}
			}
			for w := range workers {
				if w < 0 || w >= scanWorkers(opts.Workers, 1<<20) {
					t.Errorf("worker number %d out of range", w)
				}
			}
		})
	}
}

func TestScanSamplesKeepsIDOrder(t *testing.T) {
	ds, ids := scanFixture(t, 700, 10, 200, 201, 350, 600)
	keep := func(s *Sample) bool { return s.Get("k").AsInt()%7 == 0 || s.Get("insights.g.scalar").AsFloat() > 600 }
	var want []ID
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if keep(s) {
			want = append(want, s.ID)
		}
	}
	for _, workers := range []int{1, 2, 4} {
		var got []ID
		for s, err := range ds.ScanSamples(ctx, SampleScan{Workers: workers}, keep) {
			if err != nil {
				t.Fatal(err)
			}
			if !keep(s) {
				t.Fatalf("sample %s does not pass the filter", s.ID)
			}
			got = append(got, s.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("workers=%d: %d samples, want %d in id order", workers, len(got), len(want))
		}
	}
	var got []ID
	for s, err := range ds.ScanSamples(ctx, SampleScan{Workers: 2, After: ids[349]}, nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.ID)
	}
	if !slices.Equal(got, ids[350:]) {
		t.Fatalf("after: %d samples, want %d", len(got), len(ids[350:]))
	}
	// Stopping early leaves no goroutine blocked and the database usable.
	for range 20 {
		n := 0
		for _, err := range ds.ScanSamples(ctx, SampleScan{Workers: 3}, nil) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 5 {
				break
			}
		}
	}
	if _, err := ds.Get(ids[0]); err != nil {
		t.Fatal(err)
	}
}

func TestScanErrors(t *testing.T) {
	ds, _ := scanFixture(t, 300, 50, 100, 150)
	boom := errors.New("boom")
	calls := 0
	var mu sync.Mutex
	err := ds.VisitSamples(ctx, SampleScan{Workers: 2}, func(int, *Sample) error {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 40 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("visit error: %v, want boom", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ds.VisitSamples(cancelled, SampleScan{}, func(int, *Sample) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled visit: %v", err)
	}
	var last error
	for _, err := range ds.ScanSamples(cancelled, SampleScan{Workers: 2}, nil) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("cancelled scan: %v", last)
	}
}

// A panic in a callback that runs on a scan's goroutines fails the scan
// with ErrInternal; it does not end the process, and the consumer of an
// ordered scan is not left waiting.
func TestScanPanicsBecomeErrors(t *testing.T) {
	ds, _ := scanFixture(t, 300, 50, 100, 150)
	var calls atomic.Int64
	err := ds.VisitSamples(ctx, SampleScan{Workers: 2}, func(int, *Sample) error {
		if calls.Add(1) == 40 {
			panic("visit broke")
		}
		return nil
	})
	if !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "visit broke") {
		t.Errorf("VisitSamples with a panicking visit: %v, want ErrInternal", err)
	}
	calls.Store(0)
	var last error
	n := 0
	for s, err := range ds.ScanSamples(ctx, SampleScan{Workers: 2}, func(*Sample) bool {
		if calls.Add(1) == 120 {
			panic("keep broke")
		}
		return true
	}) {
		if err != nil {
			last = err
			break
		}
		_ = s
		n++
	}
	if !errors.Is(last, ErrInternal) || !strings.Contains(last.Error(), "keep broke") {
		t.Errorf("ScanSamples with a panicking keep: %v after %d samples, want ErrInternal", last, n)
	}
}

func TestCounterSplits(t *testing.T) {
	ds, ids := scanFixture(t, 1000)
	var splits []ID
	err := ds.db.view(func(txn *badger.Txn) error {
		splits = ds.counterSplits(txn, ID{}, 8)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 7 {
		t.Fatalf("%d cuts, want 7", len(splits))
	}
	for i, c := range splits {
		// Every cut falls between the first and the last sample, in order,
		// and near its share of the samples.
		pos, _ := slices.BinarySearchFunc(ids, c, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
		if want := (i + 1) * 1000 / 8; pos < want-20 || pos > want+20 {
			t.Errorf("cut %d falls at sample %d, want about %d", i, pos, want)
		}
		if i > 0 && bytes.Compare(splits[i-1][:], c[:]) >= 0 {
			t.Errorf("cuts out of order")
		}
	}
}

func TestGetSamples(t *testing.T) {
	ds, ids := scanFixture(t, 10)
	missing := ID{11: 0xEE}
	for _, noInsights := range []bool{false, true} {
		got, err := ds.GetSamples([]ID{ids[3], missing, ids[0]}, noInsights)
		if err != nil || len(got) != 3 || got[1] != nil || got[0].ID != ids[3] || got[2].ID != ids[0] {
			t.Fatalf("GetSamples = %v, %v", got, err)
		}
		if has := !got[0].Get("insights.g.scalar").IsMissing(); has == noInsights {
			t.Errorf("noInsights=%v: insights present = %v", noInsights, has)
		}
	}
}

// TestScansSeeLatestVersions rewrites samples several times (Badger keeps
// their older versions until it compacts) and deletes some, on a store
// on disk and in memory: every scan, whole or after an id, split into
// parts or not, sees each live sample once with its latest record.
func TestScansSeeLatestVersions(t *testing.T) {
	for _, path := range []string{MemoryPath, t.TempDir()} {
		d, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds := mustDataset(t, d, "versions")
		ids := addN(t, ds, 300, func(i int) Value { return Doc(Field{"k", Int(int64(i))}) })
		for round := range 3 {
			var some []ID
			for i := round; i < len(ids); i += 4 {
				some = append(some, ids[i])
			}
			if _, err := ds.SetField(ctx, some, "k", Int(int64(1000+round))); err != nil {
				t.Fatal(err)
			}
		}
		var gone []ID
		for i := 5; i < len(ids); i += 10 {
			gone = append(gone, ids[i])
		}
		if _, err := ds.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
		want := map[ID]int64{}
		for s, err := range ds.Samples(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			want[s.ID] = s.Get("k").AsInt()
		}
		if len(want) != 300-len(gone) || want[ids[2]] != 1002 || want[ids[4]] != 1000 || want[ids[3]] != 3 {
			t.Fatalf("reference read: %d samples, k = %d %d %d", len(want), want[ids[2]], want[ids[4]], want[ids[3]])
		}
		scanPartsHook = func(*Dataset) []ID { return []ID{ids[8], ids[9], ids[100], ids[205]} }
		for _, opts := range []SampleScan{{Workers: 1}, {Workers: 2}, {Workers: 2, After: ids[8]}, {Workers: 1, After: ids[2]}, {IDsOnly: true}} {
			var mu sync.Mutex
			got := map[ID]int64{}
			err := ds.VisitSamples(ctx, opts, func(_ int, s *Sample) error {
				mu.Lock()
				defer mu.Unlock()
				if _, dup := got[s.ID]; dup {
					return fmt.Errorf("sample %s seen twice", s.ID)
				}
				got[s.ID] = s.Get("k").AsInt()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for id, k := range want {
				if !opts.After.IsZero() && bytes.Compare(id[:], opts.After[:]) <= 0 {
					continue
				}
				n++
				if g, ok := got[id]; !ok || (!opts.IDsOnly && g != k) {
					t.Fatalf("%s %+v: sample %s k = %d (seen %v), want %d", path, opts, id, g, ok, k)
				}
			}
			if len(got) != n {
				t.Fatalf("%s %+v: %d samples, want %d", path, opts, len(got), n)
			}
		}
		scanPartsHook = nil
		d.Close()
	}
}
