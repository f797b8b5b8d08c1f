package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fosql/fosql/query"
)

// newTestDashboard serves a database holding dataset w, ingested from
// three images and a bad file.
func newTestDashboard(t *testing.T) (*httptest.Server, *query.DB, string) {
	t.Helper()
	imgs := writePNGs(t, 3)
	d, err := query.Open(":memory:", &query.Options{NoProviders: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Exec(context.Background(), "CREATE DATASET w FROM IMAGES ?", imgs); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newDashboard(d))
	t.Cleanup(srv.Close)
	return srv, d, imgs
}

// post sends a JSON body; origin "" sends no Origin header.
func post(t *testing.T, srv *httptest.Server, path, origin string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestDashboardQueryMediaAndTags(t *testing.T) {
	srv, d, imgs := newTestDashboard(t)

	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "/api/query") {
		t.Fatalf("page: %d", resp.StatusCode)
	}

	code, res := post(t, srv, "/api/query", "", map[string]string{"sql": "SELECT id, filepath, metadata.width FROM w ORDER BY metadata.width DESC"})
	if code != 200 {
		t.Fatalf("query: %d %v", code, res)
	}
	rows := res["rows"].([]any)
	if len(rows) != 3 || res["columns"].([]any)[0] != "id" {
		t.Fatalf("query rows %v", res)
	}
	first := rows[0].([]any)
	id, path := first[0].(string), first[1].(string)

	// Media by sample id: the sample's own file, nothing else.
	resp, err = srv.Client().Get(srv.URL + "/media/w/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(path)
	if resp.StatusCode != 200 || !bytes.Equal(got, want) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("media: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	for _, bad := range []string{"/media/w/nope", "/media/nope/" + id, "/media/w/" + strings.Repeat("0", 24),
		"/media/w/..%2f..%2fetc%2fpasswd", "/media/" + filepath.Base(imgs) + "/" + id} {
		resp, err := srv.Client().Get(srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", bad, resp.StatusCode)
		}
	}

	// Only SELECT, one at a time.
	out := filepath.Join(t.TempDir(), "out.csv")
	for _, sql := range []string{"DELETE FROM w", "SELECT id FROM w; SELECT id FROM w", "SELEC id FROM w",
		"SELECT id FROM w INTO OUTFILE '" + out + "'"} {
		if code, res := post(t, srv, "/api/query", "", map[string]string{"sql": sql}); code != 400 || res["error"] == "" {
			t.Errorf("%q: %d %v", sql, code, res)
		}
	}

	if _, err := os.Stat(out); err == nil {
		t.Error("a dashboard query wrote a file")
	}

	// Tags: from the page's origin only.
	body := map[string]any{"dataset": "w", "ids": []string{id}, "tag": "dup"}
	if code, _ := post(t, srv, "/api/tags", "", body); code != 403 {
		t.Errorf("tag without an Origin: %d, want 403", code)
	}
	if code, _ := post(t, srv, "/api/tags", "http://evil.example", body); code != 403 {
		t.Errorf("tag from another origin: %d, want 403", code)
	}
	code, res = post(t, srv, "/api/tags", srv.URL, body)
	if code != 200 || res["changed"].(float64) != 1 || res["sql"] != "UPDATE w ADD TAG 'dup' WHERE id IN ('"+id+"')" {
		t.Fatalf("tag: %d %v", code, res)
	}
	n, err := d.Query(context.Background(), "SELECT count(*) FROM w WHERE 'dup' IN tags")
	if err != nil || n.Rows[0][0].AsInt() != 1 {
		t.Fatalf("tagged count: %v %v", n, err)
	}
	if code, _ := post(t, srv, "/api/tags", srv.URL, map[string]any{"dataset": "w", "ids": []string{"zz"}, "tag": "dup"}); code != 400 {
		t.Errorf("bad id: %d", code)
	}
}
