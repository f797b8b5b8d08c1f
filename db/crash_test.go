package db

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringWritesLosesNothingCommitted runs a writer in a child
// process, kills it with SIGKILL mid-stream, and checks that every batch
// the child reported as committed is there after reopening, that no batch
// is half there, and that a staged insights run is not visible.
func TestKillDuringWritesLosesNothingCommitted(t *testing.T) {
	if dir := os.Getenv("FOSQL_TEST_CRASH_WRITER"); dir != "" {
		crashWriter(dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWritesLosesNothingCommitted$")
	cmd.Env = append(os.Environ(), "FOSQL_TEST_CRASH_WRITER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed, _ = strconv.Atoi(n)
			if committed >= 30 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if committed == 0 {
		t.Fatal("child committed nothing")
	}
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer d.Close()
	ds, err := d.Dataset("crash")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := ds.Count()
	if n < int64(committed*100) || n%100 != 0 {
		t.Fatalf("after kill: %d samples, child had committed %d batches of 100", n, committed)
	}
	seen := 0
	for s, err := range ds.Samples(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if !s.Get("insights.uniqueness.scalar").IsMissing() {
			t.Fatal("a staged, uncommitted run is visible")
		}
		seen++
	}
	if int64(seen) != n {
		t.Fatalf("scan saw %d samples, count says %d", seen, n)
	}
}

// crashWriter adds batches of 100 samples forever, with a staged insights
// run open, printing each commit.
func crashWriter(dir string) {
	d, err := Open(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ds, err := d.CreateDataset("crash")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	st, _ := ds.StageInsights("uniqueness")
	for b := 0; ; b++ {
		batch := make([]NewSample, 100)
		for i := range batch {
			batch[i] = NewSample{Filepath: fmt.Sprintf("/crash/%d/%d.png", b, i), Tags: []string{"t"}}
		}
		ids, err := ds.Add(ctx, batch)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		rows := make([]InsightRow, len(ids))
		for i, id := range ids {
			rows[i] = InsightRow{ID: id, Values: Doc(Field{"scalar", Float(0.5)})}
		}
		st.Put(ctx, rows)
		fmt.Printf("committed %d\n", b+1)
	}
}
