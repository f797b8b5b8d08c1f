package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fosql/fosql/db"
)

// TestDashboardDotCommands: .serve starts the dashboard in the background,
// .view sets what its page shows, .selected prints the page's selection,
// .serve stop ends it.
func TestDashboardDotCommands(t *testing.T) {
	sh, out, errs := newTestShell(t)
	ctx := context.Background()
	if _, err := sh.d.Exec(ctx, "CREATE DATASET w FROM IMAGES ?", writePNGs(t, 3)); err != nil {
		t.Fatal(err)
	}
	sh.loop(ctx, newReaderSource(strings.NewReader(".serve 127.0.0.1:0\n"), nil))
	m := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(errs.String())
	if m == "" {
		t.Fatalf(".serve printed no address: %s", errs)
	}
	t.Cleanup(func() { sh.loop(ctx, newReaderSource(strings.NewReader(".serve stop\n"), nil)) })

	sh.loop(ctx, newReaderSource(strings.NewReader(".view SELECT id FROM w WHERE 'x' IN tags;\n.view DELETE FROM w\n"), nil))
	resp, err := http.Get(m + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		SQL string `json:"view_sql"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.SQL != "SELECT id FROM w WHERE 'x' IN tags" {
		t.Errorf("the page is told to show %q", st.SQL)
	}
	if !strings.Contains(errs.String(), "the dashboard runs SELECT statements") {
		t.Errorf(".view DELETE was not refused: %s", errs)
	}

	ds, _ := sh.d.Store().Dataset("w")
	res, err := sh.d.Query(ctx, "SELECT id FROM w ORDER BY id LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := db.ParseID(res.Rows[0][0].AsString())
	if err := ds.SetSelection([]db.ID{id}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	sh.loop(ctx, newReaderSource(strings.NewReader(".selected\n"), nil))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != "id\tfilepath" || !strings.HasPrefix(lines[1], id.String()+"\t") {
		t.Errorf(".selected printed %q", out.String())
	}
	sh.loop(ctx, newReaderSource(strings.NewReader(".serve stop\n"), nil))
	if _, err := http.Get(m); err == nil {
		t.Error("the dashboard still answers after .serve stop")
	}
}
