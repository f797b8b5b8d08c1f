package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fosql/fosql/query"
)

//go:embed assets
var assets embed.FS

// TokenHeader is the request header that carries the page's token on
// every request that is not a GET or HEAD.
const TokenHeader = "X-Fosql-Token"

// tokenPlaceholder is replaced by the server's token in index.html.
const tokenPlaceholder = "{{FOSQL_TOKEN}}"

// Bounds on what one request may ask for.
const (
	// maxRequestBytes is the largest request body: one statement of the
	// largest size the SQL layer reads, with room for its JSON quoting.
	maxRequestBytes = query.MaxStatementBytes + 64<<10
	// maxChangeIDs is the most samples one request names by id; larger
	// sets are changed through the stored selection.
	maxChangeIDs = 10000
	// maxPageRows is the most rows one page of a result holds.
	maxPageRows = 500
	// queryTimeout is the time budget of one query from the page.
	queryTimeout = 15 * time.Second
)

// Options configure a Server.
type Options struct {
	// CacheDir holds the thumbnails made on demand. "" means
	// $XDG_CACHE_HOME/fosql/thumbs (else ~/.cache/fosql/thumbs).
	CacheDir string
}

// Server is the dashboard's HTTP handler over one database. Every request
// must name the server by an address it listens on (a page on another site
// that resolves its own name to 127.0.0.1, DNS rebinding, is refused), and
// every request that may change something must carry the token that only
// the dashboard's own page holds.
type Server struct {
	d     *query.DB
	sess  *query.Session // the page's queries: auto_compute off
	hosts map[string]bool
	home  string
	token string
	page  []byte
	mux   *http.ServeMux
	thumb thumbCache
	// budget is the time one page query may take (queryTimeout).
	budget time.Duration

	mu      sync.Mutex
	viewSQL string // what .view asked the page to show; "" for the default
	viewSeq int64  // counts .view calls, so the page notices each
	maps    map[string]*embeddingMap
}

// New returns the dashboard over d for a server listening on ln; flagAddr
// is the address the user asked for (its host name is accepted too). It
// reads a fresh random token.
func New(d *query.DB, ln net.Addr, flagAddr string, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("the dashboard's token: %w", err)
	}
	dir := opts.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("the dashboard's thumbnail cache: %w (set XDG_CACHE_HOME)", err)
		}
		dir = filepath.Join(base, "fosql", "thumbs")
	}
	html, err := assets.ReadFile("assets/index.html")
	if err != nil {
		return nil, err
	}
	sess := d.NewSession()
	sess.SetAutoCompute(false)
	s := &Server{d: d, sess: sess, hosts: allowedHosts(ln, flagAddr), home: homeAddr(ln),
		token: hex.EncodeToString(tok), thumb: thumbCache{dir: dir}, budget: queryTimeout, maps: map[string]*embeddingMap{}}
	s.page = bytes.ReplaceAll(html, []byte(tokenPlaceholder), []byte(s.token))
	s.mux = s.routes()
	return s, nil
}

// Token is the server's token, which its page sends on every change.
func (s *Server) Token() string { return s.token }

// SetView makes the page show the result of sql, a SELECT; an open page
// follows within two seconds. An empty sql goes back to the default (the
// first dataset, least unique first).
func (s *Server) SetView(sql string) error {
	if strings.TrimSpace(sql) != "" {
		if _, err := checkSelect(sql); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewSQL = strings.TrimSpace(sql)
	s.viewSeq++
	return nil
}

// View returns what .view set (or "").
func (s *Server) View() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.viewSQL
}

// allowedHosts is the set of Host header values that name the server:
// its listen address, the address as given, and the loopback names
// localhost, 127.0.0.1 and [::1], each with the listen port.
func allowedHosts(ln net.Addr, flagAddr string) map[string]bool {
	hosts := map[string]bool{}
	_, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return hosts
	}
	hosts[strings.ToLower(ln.String())] = true
	if h, p, err := net.SplitHostPort(flagAddr); err == nil && h != "" && (p == port || p == "0") {
		hosts[strings.ToLower(net.JoinHostPort(h, port))] = true
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		hosts[net.JoinHostPort(h, port)] = true
	}
	return hosts
}

// hostAllowed reports whether a request's Host names this server. A
// Host without a port means port 80.
func (s *Server) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
	}
	return s.hosts[host]
}

// homeAddr is the address a browser should open for a server listening
// on ln: ln itself, or localhost when ln is every interface.
func homeAddr(ln net.Addr) string {
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return ln.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("localhost", port)
	}
	return ln.String()
}

// ServeHTTP checks the Host of every request, then the token of every
// request that is not a GET or HEAD, before any route runs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r.Host) {
		http.Error(w, fmt.Sprintf("fosql serve: Host %q is not the address of this dashboard; open http://%s/", r.Host, s.home), http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(TokenHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			writeError(w, http.StatusForbidden, errors.New("changes are accepted only from the dashboard's own page (the "+TokenHeader+" header is missing or wrong; reload the page)"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// routes are the page, its assets, and the calls it makes.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(s.page)
	})
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	for _, name := range []string{"app.js", "app.css"} {
		mux.Handle("GET /"+name, files)
	}
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /api/datasets":              s.handleDatasets,
		"GET /api/state":                 s.handleState,
		"POST /api/query":                s.handleQuery,
		"GET /api/sample/{dataset}/{id}": s.handleSample,
		"GET /media/{dataset}/{id}":      s.handleMedia,
		"GET /thumb/{dataset}/{id}":      s.handleThumb,
		"POST /api/tags":                 s.handleTags,
		"GET /api/selection":             s.handleGetSelection,
		"POST /api/selection":            s.handleSetSelection,
		"GET /api/histogram":             s.handleHistogram,
		"GET /api/map":                   s.handleMap,
		"POST /api/map/select":           s.handleMapSelect,
	} {
		mux.HandleFunc(pattern, h)
	}
	return mux
}

// Running is a dashboard serving in the background (the shell's .serve).
type Running struct {
	// Server is the handler, for SetView.
	Server *Server
	// URL is the page's address.
	URL  string
	srv  *http.Server
	done chan error
}

// Start listens on addr and serves the dashboard over d in the
// background until Close.
func Start(d *query.DB, addr string, opts *Options) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := New(d, ln.Addr(), addr, opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	run := &Running{Server: s, URL: "http://" + s.home + "/", srv: srv, done: make(chan error, 1)}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		run.done <- err
	}()
	return run, nil
}

// Wait blocks until the server stops, returning why it did (nil after
// Close), or until ctx ends, when it closes the server gracefully.
func (r *Running) Wait(ctx context.Context) error {
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		r.Close()
		return <-r.done
	}
}

// Close stops the server, giving requests in flight five seconds.
func (r *Running) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}
