package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fosql/fosql/cmd/fosql/dashboard"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

// TestDashboardTagSQLRoundTrip: the SQL the dashboard shows for a tag
// change, run through the shell, gives the very tag the change gave,
// whatever characters it holds.
func TestDashboardTagSQLRoundTrip(t *testing.T) {
	d, err := query.Open(":memory:", &query.Options{NoProviders: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(context.Background(), "CREATE DATASET w FROM IMAGES ?", writePNGs(t, 3)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	dash, err := dashboard.New(d, srv.Listener.Addr(), "127.0.0.1:0", &dashboard.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = dash
	srv.Start()
	defer srv.Close()
	ds, err := d.Store().Dataset("w")
	if err != nil {
		t.Fatal(err)
	}
	first, err := d.Query(context.Background(), "SELECT id FROM w LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	id := first.Rows[0][0].AsString()
	dbID, err := db.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	// JSON bodies, some written by hand for what json.Marshal would not
	// write: invalid UTF-8 and a lone surrogate (both read as U+FFFD).
	bodies := map[string]string{}
	for _, tag := range []string{`a\`, `\`, `\\`, `it's`, `'`, `''`, `\'`, `"`, "`", `%`, `_`, `a%_b`, "line\nbreak",
		"tab\tcr\r", "ünïcödé ☃ 🎉", "; DROP DATASET w; --", "-- not a comment", "/* not a comment */", "# not a comment",
		"x\x00y", "?", ":name", " padded ", `\n`, `\%`} {
		b, _ := json.Marshal(tag)
		bodies[tag] = string(b)
	}
	bodies["invalid UTF-8"] = "\"a\xffb\""
	bodies["lone surrogate"] = `"a\udc80b"`
	for name, tagJSON := range bodies {
		body := fmt.Sprintf(`{"dataset": "w", "ids": [%q], "tag": %s, "remove": false}`, id, tagJSON)
		req, _ := http.NewRequest("POST", srv.URL+"/api/tags", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(dashboard.TokenHeader, dash.Token())
		r, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := io.ReadAll(r.Body)
		r.Body.Close()
		code := r.StatusCode
		var res struct {
			SQL   string `json:"sql"`
			Error string `json:"error"`
		}
		json.Unmarshal(resp, &res)
		if code != 200 {
			t.Errorf("tag %q: %d %s", name, code, res.Error)
			continue
		}
		s, err := ds.Get(dbID)
		if err != nil {
			t.Fatal(err)
		}
		stored := s.Tags()
		if len(stored) != 1 {
			t.Fatalf("tag %q: the sample has tags %q", name, stored)
		}
		if _, err := ds.RemoveTags(context.Background(), []db.ID{dbID}, stored...); err != nil {
			t.Fatal(err)
		}
		// The SQL as the user would paste it into the shell.
		var stdout, stderr bytes.Buffer
		w := &resultWriter{out: &stdout, errw: &stderr, format: query.FormatTSV, prog: newProgressPrinter(&stderr, false)}
		if err := w.runScript(context.Background(), d, newStatementReader(strings.NewReader(res.SQL+";\n"), maxStatementBytes)); err != nil {
			t.Errorf("tag %q: the SQL shown, %s, fails: %v", name, res.SQL, err)
			continue
		}
		s, _ = ds.Get(dbID)
		if again := s.Tags(); len(again) != 1 || again[0] != stored[0] {
			t.Errorf("tag %q: the dashboard gave %q, its SQL %s gives %q", name, stored, res.SQL, again)
		}
		ds.RemoveTags(context.Background(), []db.ID{dbID}, s.Tags()...)
	}
}
