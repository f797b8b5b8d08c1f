package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

// writePNGs writes n pictures 8 pixels high and 8, 16, … wide, and one
// file that is not an image, into a new folder.
func writePNGs(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		writePicture(t, filepath.Join(dir, "img"+string(rune('a'+i))+".png"), i, 8*(i+1), 8)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.png"), []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writePicture writes picture number i, a w x h checkerboard of two
// colours that depend on i, as a PNG file.
func writePicture(t *testing.T, path string, i, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c := color.RGBA{uint8(30 + 3*i), uint8(200 - 2*i), uint8(90 + (i%7)*20), 255}
	for y := range h {
		for x := range w {
			if (x/8+y/8+i)%2 == 0 {
				img.Set(x, y, c)
			} else {
				img.Set(x, y, color.RGBA{255 - c.R, c.G / 2, 255 - c.B, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scriptName is a file name that is also HTML: the page must show it as
// text.
const scriptName = "<script>document.title='pwned'<img src=x onerror=alert(1)>.png"

// walkthrough is a served dataset of generated pictures with planted
// embeddings in two clusters and uniqueness insights, the way a
// uniqueness run leaves them, without running a model.
type walkthrough struct {
	d       *query.DB
	dash    *Server
	srv     *httptest.Server
	ids     []string // in id order
	cluster [2][]string
}

// walkthroughSamples is the number of pictures; the first half forms
// cluster 0 of the embeddings, the rest cluster 1.
const walkthroughSamples = 70

func newWalkthrough(t *testing.T) *walkthrough {
	t.Helper()
	return newWalkthroughWith(t, &query.Options{NoProviders: true})
}

// newWalkthroughWith is newWalkthrough over a database opened with opts.
func newWalkthroughWith(t *testing.T, opts *query.Options) *walkthrough {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for i := range walkthroughSamples {
		name := fmt.Sprintf("img%03d.png", i)
		if i == 0 {
			name = scriptName
		}
		writePicture(t, filepath.Join(dir, name), i, 48, 40)
	}
	d, err := query.Open(":memory:", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Exec(ctx, "CREATE DATASET walkthrough FROM IMAGES ?", dir); err != nil {
		t.Fatal(err)
	}
	ds, err := d.Store().Dataset("walkthrough")
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT id FROM walkthrough ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	w := &walkthrough{d: d}
	var ids []db.ID
	for _, r := range res.Rows {
		id, _ := db.ParseID(r[0].AsString())
		ids = append(ids, id)
		w.ids = append(w.ids, id.String())
	}
	// Two clusters, far apart along different axes; within each, pairs
	// (2k, 2k+1) are near-duplicates of each other.
	const dim = 6
	vecs := make([]float32, 0, len(ids)*dim)
	scalar, nearest, dist := map[db.ID]db.Value{}, map[db.ID]db.Value{}, map[db.ID]db.Value{}
	for i, id := range ids {
		c := 0
		if i >= len(ids)/2 {
			c = 1
		}
		w.cluster[c] = append(w.cluster[c], id.String())
		v := make([]float32, dim)
		v[c] = 20
		v[2+(i/2)%4] = float32((i/2)%5) * 0.8
		v[dim-1] = float32(i%2) * 0.01
		vecs = append(vecs, v...)
		scalar[id] = db.Float(float64(i/2+1) / float64(len(ids)/2+1))
		nearest[id] = db.String(ids[i^1].String())
		dist[id] = db.Float(0.01)
	}
	if err := ds.PutEmbeddings(ctx, "test-space", ids, vecs, dim); err != nil {
		t.Fatal(err)
	}
	for key, vals := range map[string]map[db.ID]db.Value{"scalar": scalar, "nearest_id": nearest, "nearest_dist": dist} {
		if err := ds.SetInsights(ctx, uniquenessGroup, key, vals); err != nil {
			t.Fatal(err)
		}
	}
	v, err := ds.Version()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := ds.PutRun(db.RunRecord{Key: uniquenessGroup, Type: "uniqueness", Model: "test-space", DatasetVersion: v,
		SampleCount: int64(len(ids)), Started: now, Ended: now, Status: db.RunComplete}); err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewUnstartedServer(nil)
	if w.dash, err = New(d, w.srv.Listener.Addr(), "127.0.0.1:0", &Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	w.srv.Config.Handler = w.dash
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	return w
}

// bigPNG encodes a w x h picture.
func bigPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parseIDs parses sample ids.
func parseIDs(ss []string) ([]db.ID, error) {
	ids := make([]db.ID, len(ss))
	for i, s := range ss {
		var err error
		if ids[i], err = db.ParseID(s); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
