package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/db/s3test"
	"github.com/fosql/fosql/query"
)

// s3Storage is S3-compatible storage the end-to-end test puts its images
// into: the in-process fake or a real SeaweedFS server.
type s3Storage struct {
	endpoint    string
	id, secret  string
	put, delete func(t *testing.T, key string, data []byte)
	// gets counts the GET requests for object bytes so far; nil when the
	// storage cannot tell.
	gets func() int
}

// s3Bucket is the bucket the end-to-end test uses.
const s3Bucket = "photos"

// TestS3EndToEnd runs the S3 media path against a real SeaweedFS server:
// ingest from a bucket, uniqueness equal to the same images on disk, a
// thumbnail and a full image through the dashboard's handlers, INSERT,
// and the errors of a missing bucket, wrong credentials, a bad endpoint
// and an object gone at embed time. It skips without a weed binary (make
// setup-seaweedfs).
func TestS3EndToEnd(t *testing.T) {
	w := s3test.StartWeed(t)
	w.MakeBucket(t, s3Bucket)
	runS3EndToEnd(t, s3Storage{
		endpoint: w.URL, id: s3test.WeedAccessKey, secret: s3test.WeedSecretKey,
		put:    func(t *testing.T, key string, data []byte) { w.Put(t, s3Bucket, key, data) },
		delete: func(t *testing.T, key string, _ []byte) { w.Delete(t, s3Bucket, key) },
	})
}

// TestMediaFakeS3EndToEnd is TestS3EndToEnd against the in-process fake,
// so the path is tested on every machine.
func TestMediaFakeS3EndToEnd(t *testing.T) {
	f := s3test.NewFake(t, s3Bucket)
	f.AccessKey = "fake-key"
	runS3EndToEnd(t, s3Storage{
		endpoint: f.URL, id: "fake-key", secret: "fake-secret",
		put:    func(_ *testing.T, key string, data []byte) { f.Put(s3Bucket, key, data) },
		delete: func(_ *testing.T, key string, _ []byte) { f.Delete(s3Bucket, key) },
		gets:   func() int { return f.Gets("set/img03.png") },
	})
}

func runS3EndToEnd(t *testing.T, st s3Storage) {
	ctx := context.Background()
	t.Setenv("AWS_ACCESS_KEY_ID", st.id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", st.secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(db.EnvS3Endpoint, "")

	// The same pictures in the bucket and in a local folder.
	local := t.TempDir()
	const n = 20
	for i := range n {
		name := fmt.Sprintf("img%02d.png", i)
		sub := ""
		if i >= n-4 {
			sub = "more/"
		}
		path := filepath.Join(local, sub, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		writePicture(t, path, i, 40+i, 32)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st.put(t, "set/"+sub+name, data)
	}
	st.put(t, "set/broken.png", []byte("not a picture"))

	var mu sync.Mutex
	var skips []string
	d, err := query.Open(":memory:", &query.Options{Progress: func(p query.Progress) {
		if p.Phase == "skip" {
			mu.Lock()
			skips = append(skips, p.Detail)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	create := fmt.Sprintf("CREATE DATASET s3 FROM IMAGES 's3://%s/set/' RECURSIVE WITH (endpoint = '%s')", s3Bucket, st.endpoint)
	res, err := d.Exec(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsAffected != n || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "s3://photos/set/broken.png") {
		t.Fatalf("ingest: %d added, warnings %v", res.RowsAffected, res.Warnings)
	}
	desc, err := d.Query(ctx, "DESCRIBE s3")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(desc.Rows, func(r []db.Value) bool {
		return r[1].AsString() == "media endpoint" && r[2].AsString() == st.endpoint
	}) {
		t.Errorf("DESCRIBE does not show the media endpoint: %v", desc.Rows)
	}
	if _, err := d.Exec(ctx, "CREATE DATASET disk FROM IMAGES ? RECURSIVE", local); err != nil {
		t.Fatal(err)
	}
	r, err := d.Query(ctx, "SELECT filepath, metadata.width, metadata.sha256 FROM s3 ORDER BY filepath")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range r.Rows {
		fp := row[0].AsString()
		rel := strings.TrimPrefix(fp, "s3://photos/set/")
		data, err := os.ReadFile(filepath.Join(local, rel))
		if !strings.HasPrefix(fp, "s3://photos/set/") || err != nil {
			t.Fatalf("filepath %s: %v", fp, err)
		}
		if got := row[2].AsString(); got != sha(data) {
			t.Errorf("%s: sha256 %s, want %s", fp, got, sha(data))
		}
	}

	// Uniqueness over S3 media equals uniqueness over the same files on disk.
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON s3; COMPUTE UNIQUENESS ON disk"); err != nil {
		t.Fatal(err)
	}
	scores := func(ds, prefix string) map[string]float64 {
		r, err := d.Query(ctx, "SELECT filepath, insights.uniqueness.scalar FROM "+ds)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, row := range r.Rows {
			out[strings.TrimPrefix(row[0].AsString(), prefix)] = row[1].AsFloat()
		}
		return out
	}
	s3Scores, diskScores := scores("s3", "s3://photos/set/"), scores("disk", local+"/")
	if len(s3Scores) != n || len(diskScores) != n {
		t.Fatalf("%d and %d scores, want %d", len(s3Scores), len(diskScores), n)
	}
	for k, v := range diskScores {
		if d := s3Scores[k] - v; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s: S3 score %v, disk score %v", k, s3Scores[k], v)
		}
	}

	// The dashboard shows S3 media: a thumbnail and the full image.
	srv := httptest.NewUnstartedServer(nil)
	dash, err := New(d, srv.Listener.Addr(), "127.0.0.1:0", &Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = dash
	srv.Start()
	defer srv.Close()
	r, err = d.Query(ctx, "SELECT id, filepath FROM s3 WHERE filepath = 's3://photos/set/img03.png'")
	if err != nil || len(r.Rows) != 1 {
		t.Fatalf("sample img03: %v %v", r, err)
	}
	id := r.Rows[0][0].AsString()
	get := func(path string) (int, []byte) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, thumb := get("/thumb/s3/" + id)
	if code != 200 {
		t.Fatalf("thumbnail: %d %s", code, thumb)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != 43 || cfg.Height != 32 {
		t.Errorf("thumbnail: %v %+v, want a 43x32 JPEG", err, cfg)
	}
	// A second request is served from the thumbnail cache: the object is
	// looked at (HEAD), not read.
	gets := 0
	if st.gets != nil {
		gets = st.gets()
	}
	if code, again := get("/thumb/s3/" + id); code != 200 || !bytes.Equal(again, thumb) {
		t.Errorf("cached thumbnail: %d, same bytes %v", code, bytes.Equal(again, thumb))
	}
	if st.gets != nil && st.gets() != gets {
		t.Errorf("a cached thumbnail read the object again (%d GETs, was %d)", st.gets(), gets)
	}
	want, _ := os.ReadFile(filepath.Join(local, "img03.png"))
	if code, full := get("/media/s3/" + id); code != 200 || !bytes.Equal(full, want) {
		t.Errorf("full image: %d, %d bytes, want the object's %d", code, len(full), len(want))
	}

	// INSERT reads an object's metadata from the dataset's endpoint.
	extra, _ := os.ReadFile(filepath.Join(local, "more", "img19.png"))
	st.put(t, "extra/new.png", extra)
	if _, err := d.Exec(ctx, "INSERT INTO s3 (filepath, tags) VALUES ('s3://photos/extra/new.png', 'inserted')"); err != nil {
		t.Fatal(err)
	}
	r, err = d.Query(ctx, "SELECT metadata.width, metadata.sha256 FROM s3 WHERE 'inserted' IN tags")
	if err != nil || len(r.Rows) != 1 || r.Rows[0][0].AsInt() != 59 || r.Rows[0][1].AsString() != sha(extra) {
		t.Fatalf("inserted sample: %v %v", r, err)
	}
	count := func(ds string) int64 {
		r, err := d.Query(ctx, "SELECT count(*) FROM "+ds)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rows[0][0].AsInt()
	}
	if _, err := d.Exec(ctx, "INSERT INTO s3 (filepath) VALUES ('s3://photos/extra/none.png')"); err == nil ||
		!strings.Contains(err.Error(), "s3://photos/extra/none.png") || count("s3") != n+1 {
		t.Errorf("INSERT of a missing object: %v; %d samples", err, count("s3"))
	}

	// An object gone at embed time is reported by URL and the run goes on
	// without it, as a missing local file is.
	st.delete(t, "extra/new.png", nil)
	if _, err := d.Exec(ctx, "COMPUTE UNIQUENESS ON s3"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	gone := strings.Join(skips, "\n")
	mu.Unlock()
	if !strings.Contains(gone, "s3://photos/extra/new.png") {
		t.Errorf("the missing object was not reported by URL; skips: %q", gone)
	}

	// Wrong credentials at embed time fail the run by URL, and the scores
	// stay as they were.
	st.put(t, "extra/new.png", extra)
	if _, err := d.Exec(ctx, "DELETE FROM s3 WHERE 'inserted' IN tags; INSERT INTO s3 (filepath) VALUES ('s3://photos/extra/new.png')"); err != nil {
		t.Fatal(err)
	}
	// Read from storage: a query naming the scores would run the job.
	stored := func() map[string]float64 {
		ds, err := d.Store().Dataset("s3")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for s, err := range ds.SamplesAfter(ctx, db.ID{}, true) {
			if err != nil {
				t.Fatal(err)
			}
			out[s.Filepath()] = s.Get("insights.uniqueness.scalar").AsFloat()
		}
		return out
	}
	before := stored()
	t.Setenv("AWS_ACCESS_KEY_ID", "wrong-key")
	_, err = d.Exec(ctx, "COMPUTE UNIQUENESS ON s3")
	t.Logf("COMPUTE with wrong credentials: %v", err)
	if !errors.Is(err, db.ErrMediaStore) || !strings.Contains(err.Error(), "s3://photos/") || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("COMPUTE with wrong credentials: %v", err)
	}
	if code, body := get("/thumb/s3/" + id); code != http.StatusBadGateway {
		t.Errorf("thumbnail with wrong credentials: %d %s", code, body)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", st.id)
	after := stored()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: a failed run changed the score from %v to %v", k, v, after[k])
		}
	}

	// A missing bucket, refused credentials and a bad endpoint fail
	// CREATE DATASET by URL and leave no dataset.
	for _, tc := range []struct{ name, sql, says string }{
		{"missing bucket", fmt.Sprintf("CREATE DATASET bad FROM IMAGES 's3://nobucket/x/' WITH (endpoint = '%s')", st.endpoint), `no bucket "nobucket"`},
		{"bad endpoint", "CREATE DATASET bad FROM IMAGES 's3://photos/set/' WITH (endpoint = 'photos.example:8333')", "http:// or https://"},
		{"closed endpoint", "CREATE DATASET bad FROM IMAGES 's3://photos/set/' WITH (endpoint = 'http://127.0.0.1:1')", "cannot reach"},
		{"option on a folder", fmt.Sprintf("CREATE DATASET bad FROM IMAGES '%s' WITH (endpoint = '%s')", local, st.endpoint), "not a local folder"},
		{"unknown option", fmt.Sprintf("CREATE DATASET bad FROM IMAGES 's3://photos/set/' WITH (endpont = '%s')", st.endpoint), "known: endpoint"},
	} {
		_, err := d.Exec(ctx, tc.sql)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.says)
		}
		if _, err := d.Store().Dataset("bad"); err == nil {
			t.Fatalf("%s: a failed CREATE DATASET left dataset bad", tc.name)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "wrong-key")
	if _, err := d.Exec(ctx, fmt.Sprintf("CREATE DATASET bad FROM IMAGES 's3://photos/set/' WITH (endpoint = '%s')", st.endpoint)); err == nil ||
		!strings.Contains(err.Error(), "credentials") {
		t.Errorf("CREATE DATASET with wrong credentials: %v", err)
	}
	if _, err := d.Store().Dataset("bad"); err == nil {
		t.Fatal("a refused CREATE DATASET left dataset bad")
	}
}

// sha is the lowercase hex SHA-256 of data, as metadata.sha256 holds it.
func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
