package query

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
)

// childEnv makes the test binary, started again by a test, run one
// program of a user of the database/sql driver instead of the tests (see
// runChild): a panic in any goroutine of a statement would end that
// process, which a test in the same process could not observe.
const childEnv = "FOSQL_TEST_CHILD"

func TestMain(m *testing.M) {
	if prog := os.Getenv(childEnv); prog != "" {
		os.Exit(runChild(prog, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runChild runs the child program prog with args and returns its exit
// status. Programs:
//
//	nonfinite DIR nan|inf|big UNIQUENESS|DUPLICATES euclidean|cosine
//
// sets u.vec on every sample of dataset w through database/sql, one of
// them with a non-finite or float32-overflowing element, then computes
// the run from u.vec, and prints "ERROR: …" or "NO ERROR".
func runChild(prog string, args []string) int {
	if prog != "nonfinite" || len(args) != 4 {
		fmt.Println("unknown child program", prog, args)
		return 3
	}
	sdb, err := sql.Open(DriverName, args[0])
	if err != nil {
		fmt.Println("SETUP:", err)
		return 3
	}
	defer sdb.Close()
	bad := map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "big": 1e308}[args[1]]
	var ids []string
	rows, err := sdb.Query("SELECT id FROM w")
	if err != nil {
		fmt.Println("SETUP:", err)
		return 3
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			fmt.Println("SETUP:", err)
			return 3
		}
		ids = append(ids, id)
	}
	rows.Close()
	for i, id := range ids {
		v := []float64{float64(i), 1}
		if i == len(ids)/2 {
			v[0] = bad
		}
		if _, err := sdb.Exec("UPDATE w SET u.vec = ? WHERE id = ?", v, id); err != nil {
			fmt.Println("ERROR:", err)
			return 0
		}
	}
	opts := fmt.Sprintf("embeddings = 'u.vec', metric = '%s'", args[3])
	if args[2] == "DUPLICATES" && args[3] == "euclidean" {
		opts += ", threshold = 0.5" // the default threshold is a cosine distance
	}
	_, err = sdb.Exec(fmt.Sprintf("COMPUTE %s ON w WITH (%s)", args[2], opts))
	if err == nil {
		fmt.Println("NO ERROR")
		return 0
	}
	fmt.Println("ERROR:", err)
	return 0
}

// A non-finite or float32-overflowing value in a user's vectors is an
// error that names the field, in every kind of run and metric, and never
// takes the program down.
func TestProcessNonFiniteVectorsAreAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := d.Store().CreateDataset("w")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := ds.Add(context.Background(), []db.NewSample{{Filepath: fmt.Sprintf("/w%d.png", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"nan", "inf", "big"} {
		for _, run := range []string{"UNIQUENESS", "DUPLICATES"} {
			for _, metric := range []string{"euclidean", "cosine"} {
				name := strings.Join([]string{bad, run, metric}, "/")
				t.Run(name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, os.Args[0], dir, bad, run, metric)
					cmd.Env = append(os.Environ(), childEnv+"=nonfinite")
					var out bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &out
					err := cmd.Run()
					var exit *exec.ExitError
					if errors.As(err, &exit) || err != nil {
						t.Fatalf("the program died (%v):\n%s", err, out.String())
					}
					got := out.String()
					if !strings.HasPrefix(got, "ERROR:") {
						t.Fatalf("want an error, got %q", got)
					}
					if !strings.Contains(got, "u.vec") {
						t.Errorf("the error does not name the field u.vec: %q", got)
					}
				})
			}
		}
	}
}
