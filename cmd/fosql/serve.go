package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

//go:embed dashboard.html
var dashboardHTML []byte

// maxDashboardRows is the most rows a dashboard query returns.
const maxDashboardRows = 2000

// runServe is `fosql serve`: the local web dashboard over a database.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolveDB := dbPathFlag(fs, "database directory (created when missing)")
	addr := fs.String("addr", "127.0.0.1:5151", "address to listen on (loopback by default: the dashboard has no login)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fosql serve [-db DIR] [-addr HOST:PORT]")
		fmt.Fprintln(stderr, "\nA web page over the database: run a SELECT, see its images, select some,")
		fmt.Fprintln(stderr, "tag them, and get the SQL of the selection back.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dbPath, err := resolveDB()
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	d, err := query.Open(dbPath, nil)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	defer d.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	srv := &http.Server{Handler: newDashboard(d), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(stderr, "fosql: the dashboard of %s is at http://%s/ (Ctrl-C stops it)\n", dbPath, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	return 0
}

// newDashboard returns the dashboard's handler: the page, read-only
// queries, media by sample id, and tag changes by same-origin POST.
func newDashboard(d *query.DB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
		w.Write(dashboardHTML)
	})
	mux.HandleFunc("GET /api/datasets", func(w http.ResponseWriter, r *http.Request) {
		res, err := d.Query(r.Context(), "SHOW DATASETS")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, resultJSON(res, len(res.Rows)))
	})
	mux.HandleFunc("POST /api/query", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SQL string `json:"sql"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		sts, err := query.Parse(req.SQL)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if len(sts) != 1 {
			writeError(w, http.StatusBadRequest, errors.New("one SELECT at a time"))
			return
		}
		if sel, ok := sts[0].(*query.Select); !ok || sel.Outfile != nil {
			writeError(w, http.StatusBadRequest, errors.New("the dashboard runs SELECT statements (without INTO OUTFILE); change data with the selection's buttons, export from the shell"))
			return
		}
		var out map[string]any
		err = d.Stream(r.Context(), req.SQL, nil, func(_ query.Statement, res *query.Result) error {
			out = resultJSON(res, maxDashboardRows)
			return nil
		})
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /media/{dataset}/{id}", func(w http.ResponseWriter, r *http.Request) {
		ds, err := d.Store().Dataset(r.PathValue("dataset"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		id, err := db.ParseID(r.PathValue("id"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		s, err := ds.Get(id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		// The file is the one the sample names; the request only chose
		// the sample.
		f, err := os.Open(s.Filepath())
		if err != nil {
			http.Error(w, "the sample's file cannot be read", http.StatusNotFound)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			http.Error(w, "the sample's file cannot be read", http.StatusNotFound)
			return
		}
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
	mux.HandleFunc("POST /api/tags", func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			writeError(w, http.StatusForbidden, errors.New("changes are accepted only from the dashboard's own page"))
			return
		}
		var req struct {
			Dataset string   `json:"dataset"`
			IDs     []string `json:"ids"`
			Tag     string   `json:"tag"`
			Remove  bool     `json:"remove"`
		}
		if !readJSON(w, r, &req) {
			return
		}
		ds, err := d.Store().Dataset(req.Dataset)
		if err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		ids := make([]db.ID, len(req.IDs))
		for i, s := range req.IDs {
			if ids[i], err = db.ParseID(s); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
		}
		var n int
		if req.Remove {
			n, err = ds.RemoveTags(r.Context(), ids, req.Tag)
		} else {
			n, err = ds.AddTags(r.Context(), ids, req.Tag)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, map[string]any{"changed": n, "sql": tagSQL(req.Dataset, req.IDs, req.Tag, req.Remove)})
	})
	return mux
}

// tagSQL is the SQL statement that does what a tag change from the
// dashboard did, for the user to keep or run again.
func tagSQL(dataset string, ids []string, tag string, remove bool) string {
	verb := "ADD"
	if remove {
		verb = "REMOVE"
	}
	return fmt.Sprintf("UPDATE %s %s TAG %s WHERE id IN (%s)", dataset, verb, sqlString(tag), sqlStrings(ids))
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlStrings quotes each of ss and joins them with commas.
func sqlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = sqlString(s)
	}
	return strings.Join(q, ", ")
}

// sameOrigin reports whether a request comes from the dashboard's own page:
// the browser says so (Sec-Fetch-Site), or its Origin is this host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	return origin != "" && (origin == "http://"+r.Host || origin == "https://"+r.Host)
}

// resultJSON turns a result set into {columns, types, rows, truncated},
// reading at most limit rows.
func resultJSON(res *query.Result, limit int) map[string]any {
	cols := res.ColumnNames()
	types := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		types[i] = c.Type.String()
	}
	rows := []json.RawMessage{}
	truncated := false
	stop := errors.New("enough rows")
	res.Each(func(row []db.Value) error {
		if len(rows) == limit {
			truncated = true
			return stop
		}
		b := []byte{'['}
		for i, v := range row {
			if i > 0 {
				b = append(b, ',')
			}
			b = query.AppendJSON(b, v)
		}
		rows = append(rows, append(b, ']'))
		return nil
	})
	return map[string]any{"columns": cols, "types": types, "rows": rows, "truncated": truncated}
}

// readJSON decodes a JSON request body into v, answering 400 on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, errors.New("send JSON (Content-Type: application/json)"))
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 8<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
