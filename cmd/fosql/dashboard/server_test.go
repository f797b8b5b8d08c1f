package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
	"github.com/fosql/fosql/query"
)

// testDashboard is a dashboard served over a database holding dataset w,
// ingested from three images and a bad file. ensures counts the
// computations of insights that queries asked for.
type testDashboard struct {
	srv     *httptest.Server
	d       *query.DB
	dash    *Server
	imgs    string
	ensures atomic.Int64
}

func newTestDashboard(t *testing.T) *testDashboard {
	t.Helper()
	td := &testDashboard{imgs: writePNGs(t, 3)}
	ensure := func(context.Context, *db.Dataset, []string, bool, func(insights.Progress)) error {
		td.ensures.Add(1)
		return nil
	}
	d, err := query.Open(":memory:", &query.Options{NoProviders: true, Ensure: ensure})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Exec(context.Background(), "CREATE DATASET w FROM IMAGES ?", td.imgs); err != nil {
		t.Fatal(err)
	}
	td.d = d
	td.srv = httptest.NewUnstartedServer(nil)
	if td.dash, err = New(d, td.srv.Listener.Addr(), "127.0.0.1:0", &Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	td.srv.Config.Handler = td.dash
	td.srv.Start()
	t.Cleanup(td.srv.Close)
	return td
}

// port is the port the test server listens on.
func (td *testDashboard) port() string {
	return td.srv.URL[strings.LastIndex(td.srv.URL, ":")+1:]
}

// request is one request to the test server: Host "" sends the server's
// own address, token "" sends no token.
type request struct {
	method, path, host, token string
	body                      []byte
}

// do sends req and returns the status and the body.
func (td *testDashboard) do(t *testing.T, req request) (int, []byte) {
	t.Helper()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, td.srv.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.host != "" {
		r.Host = req.host
		r.Header.Set("Origin", "http://"+req.host)
	}
	if req.token != "" {
		r.Header.Set(TokenHeader, req.token)
	}
	resp, err := td.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// post sends body as JSON with the page's token and decodes the answer.
func (td *testDashboard) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	code, resp := td.do(t, request{method: "POST", path: path, token: td.dash.token, body: b})
	var out map[string]any
	json.Unmarshal(resp, &out)
	return code, out
}

// firstSample is the id and file of the widest sample of w.
func (td *testDashboard) firstSample(t *testing.T) (id, path string) {
	t.Helper()
	code, res := td.post(t, "/api/query", map[string]string{"sql": "SELECT id, filepath FROM w ORDER BY metadata.width DESC LIMIT 1"})
	if code != 200 {
		t.Fatalf("query: %d %v", code, res)
	}
	row := res["rows"].([]any)[0].([]any)
	return row[0].(string), row[1].(string)
}

func TestDashboardQueryMediaAndTags(t *testing.T) {
	td := newTestDashboard(t)

	code, page := td.do(t, request{method: "GET", path: "/"})
	if code != 200 || !strings.Contains(string(page), `<script src="/app.js">`) {
		t.Fatalf("page: %d", code)
	}
	if code, js := td.do(t, request{method: "GET", path: "/app.js"}); code != 200 || !strings.Contains(string(js), "/api/query") {
		t.Fatalf("app.js: %d", code)
	}

	code, res := td.post(t, "/api/query", map[string]string{"sql": "SELECT id, filepath, metadata.width FROM w ORDER BY metadata.width DESC"})
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
	resp, err := td.srv.Client().Get(td.srv.URL + "/media/w/" + id)
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
		"/media/w/..%2f..%2fetc%2fpasswd", "/media/" + filepath.Base(td.imgs) + "/" + id} {
		if code, _ := td.do(t, request{method: "GET", path: bad}); code != 404 {
			t.Errorf("%s: status %d, want 404", bad, code)
		}
	}

	// Only SELECT, one at a time.
	out := filepath.Join(t.TempDir(), "out.csv")
	for _, sql := range []string{"DELETE FROM w", "SELECT id FROM w; SELECT id FROM w", "SELEC id FROM w",
		"SELECT id FROM w INTO OUTFILE '" + out + "'"} {
		if code, res := td.post(t, "/api/query", map[string]string{"sql": sql}); code != 400 || res["error"] == "" {
			t.Errorf("%q: %d %v", sql, code, res)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a dashboard query wrote a file")
	}

	// Tags, and the SQL of what was done.
	code, res = td.post(t, "/api/tags", map[string]any{"dataset": "w", "ids": []string{id}, "tag": "dup"})
	if code != 200 || res["changed"].(float64) != 1 || res["sql"] != "UPDATE `w` ADD TAG 'dup' WHERE id IN ('"+id+"')" {
		t.Fatalf("tag: %d %v", code, res)
	}
	n, err := td.d.Query(context.Background(), "SELECT count(*) FROM w WHERE 'dup' IN tags")
	if err != nil || n.Rows[0][0].AsInt() != 1 {
		t.Fatalf("tagged count: %v %v", n, err)
	}
	if code, _ := td.post(t, "/api/tags", map[string]any{"dataset": "w", "ids": []string{"zz"}, "tag": "dup"}); code != 400 {
		t.Errorf("bad id: %d", code)
	}
	code, res = td.post(t, "/api/selection", map[string]any{"dataset": "w", "ids": []string{id}})
	if code != 200 || res["sql"] != "SELECT * FROM `w` WHERE id IN SELECTION" || res["count"].(float64) != 1 {
		t.Errorf("selection: %d %v", code, res)
	}
	code, res = td.post(t, "/api/datasets", nil)
	if code != 405 {
		t.Errorf("POST /api/datasets: %d %v", code, res)
	}
}

// TestDashboardRefusesForeignHost: a request whose Host is not the
// server's own address (DNS rebinding) is refused on every path before
// anything runs, even with the right token; the server's own names are
// answered.
func TestDashboardRefusesForeignHost(t *testing.T) {
	td := newTestDashboard(t)
	id, _ := td.firstSample(t)
	port := td.port()
	tag, _ := json.Marshal(map[string]any{"dataset": "w", "ids": []string{id}, "tag": "evil"})
	insightsQuery := []byte(`{"sql": "SELECT id, insights.uniqueness.scalar FROM w"}`)
	paths := []request{
		{method: "GET", path: "/"},
		{method: "GET", path: "/api/datasets"},
		{method: "GET", path: "/media/w/" + id},
		{method: "GET", path: "/no/such/page"},
		{method: "POST", path: "/api/query", body: insightsQuery, token: td.dash.token},
		{method: "POST", path: "/api/tags", body: tag, token: td.dash.token},
		{method: "POST", path: "/api/selection", body: tag, token: td.dash.token},
	}
	ensuresBefore := td.ensures.Load()
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1", "localhost", "[::1]",
		"localhost:1", "127.0.0.1.evil.example:" + port, "localhost.:" + port, "0.0.0.0:" + port, "127.0.0.2:" + port} {
		for _, req := range paths {
			req.host = host
			code, body := td.do(t, req)
			if code != 421 || !strings.Contains(string(body), "not the address of this dashboard") {
				t.Errorf("%s %s with Host %s: %d %s, want 421", req.method, req.path, host, code, body)
			}
		}
	}
	if n := td.ensures.Load() - ensuresBefore; n != 0 {
		t.Errorf("a refused query asked for insights %d times", n)
	}
	if n, _ := td.d.Query(context.Background(), "SELECT count(*) FROM w WHERE 'evil' IN tags"); n.Rows[0][0].AsInt() != 0 {
		t.Error("a refused tag change was made")
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port} {
		if code, body := td.do(t, request{method: "GET", path: "/", host: host}); code != 200 {
			t.Errorf("GET / with Host %s: %d %s", host, code, body)
		}
		if code, body := td.do(t, request{method: "POST", path: "/api/query", host: host, body: []byte(`{"sql": "SELECT id FROM w"}`), token: td.dash.token}); code != 200 {
			t.Errorf("POST /api/query with Host %s: %d %s", host, code, body)
		}
	}
	// The counter does count: the same query from the server's own Host
	// asks for the insights.
	td.do(t, request{method: "POST", path: "/api/query", host: "localhost:" + port, body: insightsQuery, token: td.dash.token})
	if td.ensures.Load() == ensuresBefore {
		t.Error("a query naming insights never asks for them: the check above proves nothing")
	}
	if td.dash.hostAllowed("") {
		t.Error("an empty Host is accepted")
	}
}

// TestDashboardToken: the page carries the server's token; a request
// that may change something is refused without it or with another one.
func TestDashboardToken(t *testing.T) {
	td := newTestDashboard(t)
	id, _ := td.firstSample(t)
	_, page := td.do(t, request{method: "GET", path: "/"})
	m := regexp.MustCompile(`<meta name="fosql-token" content="([0-9a-f]{64})">`).FindSubmatch(page)
	if m == nil || string(m[1]) != td.dash.token {
		t.Fatalf("the page does not carry the token %s", td.dash.token)
	}
	other := newTestDashboard(t)
	if other.dash.token == td.dash.token {
		t.Fatal("two servers have the same token")
	}
	tag, _ := json.Marshal(map[string]any{"dataset": "w", "ids": []string{id}, "tag": "dup", "remove": false})
	for _, token := range []string{"", "0", other.dash.token, td.dash.token[:63], td.dash.token + "0", strings.ToUpper(td.dash.token)} {
		for _, path := range []string{"/api/tags", "/api/query", "/api/selection"} {
			if code, body := td.do(t, request{method: "POST", path: path, body: tag, token: token}); code != 403 {
				t.Errorf("POST %s with token %q: %d %s, want 403", path, token, code, body)
			}
		}
	}
	if n, _ := td.d.Query(context.Background(), "SELECT count(*) FROM w WHERE 'dup' IN tags"); n.Rows[0][0].AsInt() != 0 {
		t.Fatal("a tag change without the token was made")
	}
	if code, body := td.do(t, request{method: "POST", path: "/api/tags", body: tag, token: td.dash.token}); code != 200 {
		t.Fatalf("POST /api/tags with the token: %d %s", code, body)
	}
	if n, _ := td.d.Query(context.Background(), "SELECT count(*) FROM w WHERE 'dup' IN tags"); n.Rows[0][0].AsInt() != 1 {
		t.Fatal("the tag change with the token was not made")
	}
}

// TestDashboardMediaNotRegular: a sample whose file is now a FIFO is
// answered at once, with a reason, and leaves nothing behind: no
// goroutine or descriptor is pinned per request.
func TestDashboardMediaNotRegular(t *testing.T) {
	td := newTestDashboard(t)
	id, path := td.firstSample(t)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	get := func() (int, string) {
		resp, err := client.Get(td.srv.URL + "/media/w/" + id)
		if err != nil {
			t.Fatalf("GET of a FIFO-backed sample: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get() // the client's connection and the server's goroutine for it
	before := runtime.NumGoroutine()
	start := time.Now()
	for range 200 {
		if code, body := get(); code != 415 || !strings.Contains(body, "not a regular file") {
			t.Fatalf("GET of a FIFO-backed sample: %d %q, want 415", code, body)
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("200 requests took %s", took)
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Errorf("%d goroutines before 200 requests, %d after", before, after)
	}

	// The same for a directory and a device; and a file that is gone.
	for _, p := range []string{t.TempDir(), "/dev/zero"} {
		os.Remove(path)
		if err := os.Symlink(p, path); err != nil {
			t.Fatal(err)
		}
		if code, body := get(); code != 415 {
			t.Errorf("sample file a link to %s: %d %q", p, code, body)
		}
	}
	os.Remove(path)
	if code, body := get(); code != 404 || !strings.Contains(body, "gone") {
		t.Errorf("sample file gone: %d %q", code, body)
	}
}

// TestDashboardBounds: a body, a statement or a list of samples beyond
// the limits is refused with a clear error, not read without end.
func TestDashboardBounds(t *testing.T) {
	td := newTestDashboard(t)
	long := `{"sql": "SELECT id FROM w WHERE filepath = '` + strings.Repeat("a", maxRequestBytes) + `'"}`
	code, body := td.do(t, request{method: "POST", path: "/api/query", body: []byte(long), token: td.dash.token})
	if code != 413 || !strings.Contains(string(body), fmt.Sprintf("request body larger than %d bytes", maxRequestBytes)) {
		t.Errorf("a body over the limit: %d %.200s", code, body)
	}
	stmt := "SELECT id FROM w WHERE filepath = '" + strings.Repeat("a", query.MaxStatementBytes) + "'"
	if code, res := td.post(t, "/api/query", map[string]string{"sql": stmt}); code != 413 || !strings.Contains(fmt.Sprint(res["error"]), "statement too long") {
		t.Errorf("a statement over the limit: %d %v", code, res)
	}
	ids := make([]string, maxChangeIDs+1)
	for i := range ids {
		ids[i] = strings.Repeat("0", 24)
	}
	if code, res := td.post(t, "/api/tags", map[string]any{"dataset": "w", "ids": ids, "tag": "x"}); code != 413 || !strings.Contains(fmt.Sprint(res["error"]), "at most") {
		t.Errorf("too many ids: %d %v", code, res)
	}
}

// TestDashboardHostForms: which Host values name a server, for each kind
// of listen address.
func TestDashboardHostForms(t *testing.T) {
	for _, c := range []struct {
		listen, flag string
		allowed      []string
		refused      []string
	}{
		{"127.0.0.1:5151", "127.0.0.1:5151",
			[]string{"127.0.0.1:5151", "localhost:5151", "LOCALHOST:5151", "[::1]:5151"},
			[]string{"", "evil.example:5151", "127.0.0.1", "localhost", "127.0.0.1:5152", "[::1]", "0.0.0.0:5151", "127.1:5151", "localhost:5151.evil.example"}},
		{"[::1]:5151", "[::1]:5151",
			[]string{"[::1]:5151", "localhost:5151", "127.0.0.1:5151"},
			[]string{"[::2]:5151", "evil.example:5151"}},
		{"192.168.1.5:5151", "my-host.lan:5151",
			[]string{"192.168.1.5:5151", "my-host.lan:5151", "localhost:5151"},
			[]string{"my-host.lan", "evil.example:5151"}},
		{"127.0.0.1:80", "127.0.0.1:80",
			[]string{"localhost", "127.0.0.1", "[::1]", "localhost:80"},
			[]string{"evil.example"}},
		{"[::]:5151", ":5151",
			[]string{"localhost:5151", "[::]:5151"},
			[]string{"192.168.1.5:5151", "evil.example:5151"}},
	} {
		ln, err := net.ResolveTCPAddr("tcp", c.listen)
		if err != nil {
			t.Fatal(err)
		}
		dash := &Server{hosts: allowedHosts(ln, c.flag)}
		for _, h := range c.allowed {
			if !dash.hostAllowed(h) {
				t.Errorf("listening on %s (-addr %s): Host %q refused", c.listen, c.flag, h)
			}
		}
		for _, h := range c.refused {
			if dash.hostAllowed(h) {
				t.Errorf("listening on %s (-addr %s): Host %q accepted", c.listen, c.flag, h)
			}
		}
	}
}
