package db

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"strings"
	"testing"

	"github.com/fosql/fosql/db/s3test"
)

// s3Env points the AWS_* variables at a test's credentials.
func s3Env(t *testing.T, id, secret string) {
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(EnvS3Endpoint, "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
}

// closedEndpoint is an http:// endpoint on which nothing listens.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestOpenMediaS3(t *testing.T) {
	s3Env(t, "AKTEST", "secret")
	f := s3test.NewFake(t, "media")
	f.AccessKey = "AKTEST"
	img := scanfxEncode(t, "png", scanfxNoise(64, 48, 1))
	f.Put("media", "a/b.png", img)

	m, err := OpenMedia(ctx, "s3://media/a/b.png", f.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size() != int64(len(img)) || m.ModTime().IsZero() {
		t.Errorf("size %d mod %v, want %d and a time", m.Size(), m.ModTime(), len(img))
	}
	got, err := io.ReadAll(m)
	if err != nil || !bytes.Equal(got, img) {
		t.Fatalf("read %d bytes (%v), want the object's %d", len(got), err, len(img))
	}
	part := make([]byte, 10)
	if _, err := m.ReadAt(part, 100); err != nil || !bytes.Equal(part, img[100:110]) {
		t.Errorf("ReadAt(100) = %x, %v; want %x", part, err, img[100:110])
	}
	if _, err := m.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(m, part); err != nil || !bytes.Equal(part, img[5:15]) {
		t.Errorf("after Seek(5) read %x, %v; want %x", part, err, img[5:15])
	}
	m.Close()

	if size, mod, err := StatMedia(ctx, "s3://media/a/b.png", f.URL, 0); err != nil || size != int64(len(img)) || !mod.Equal(m.ModTime()) {
		t.Errorf("StatMedia = %d, %v, %v; want %d and the GET's time %v", size, mod, err, len(img), m.ModTime())
	}
	if _, err := OpenMedia(ctx, "s3://media/a/b.png", f.URL, 100); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("100-byte limit: %v, want ErrFileTooLarge", err)
	}

	// A local path goes through OpenUserFile's rules.
	local := scanfxWrite(t, t.TempDir(), "x.png", img)
	lm, err := OpenMedia(ctx, local, "ignored for files", 0)
	if err != nil {
		t.Fatal(err)
	}
	if lm.Size() != int64(len(img)) {
		t.Errorf("local size %d, want %d", lm.Size(), len(img))
	}
	lm.Close()
	if _, err := OpenMedia(ctx, t.TempDir(), "", 0); err == nil {
		t.Error("a directory opened as media")
	}
}

func TestOpenMediaS3Errors(t *testing.T) {
	s3Env(t, "AKTEST", "secret")
	f := s3test.NewFake(t, "media")
	f.AccessKey = "AKTEST"
	f.Put("media", "k.png", []byte("x"))
	for _, tc := range []struct {
		name, ref, endpoint string
		is                  error
		says                string
	}{
		{"missing object", "s3://media/gone.png", f.URL, fs.ErrNotExist, "no such object"},
		{"unknown bucket", "s3://nobucket/k.png", f.URL, ErrMediaStore, `no bucket "nobucket"`},
		{"closed port", "s3://media/k.png", closedEndpoint(t), ErrMediaStore, "cannot reach"},
		{"no scheme", "s3://media/k.png", "127.0.0.1:8333", ErrMediaStore, "http:// or https://"},
		{"path in endpoint", "s3://media/k.png", f.URL + "/media", ErrMediaStore, "only scheme, host and port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenMedia(ctx, tc.ref, tc.endpoint, 0)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v; want %v saying %q", err, tc.is, tc.says)
			}
			if !strings.Contains(err.Error(), tc.ref) && !strings.Contains(err.Error(), tc.endpoint) {
				t.Errorf("error %q names neither the URL nor the endpoint", err)
			}
			if _, _, err := StatMedia(ctx, tc.ref, tc.endpoint, 0); !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("StatMedia: err = %v; want %v saying %q", err, tc.is, tc.says)
			}
		})
	}
	for _, bad := range []string{"s3://", "s3:///k", "s3://Bad_Bucket/k", "s3://media"} {
		if _, err := OpenMedia(ctx, bad, f.URL, 0); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("OpenMedia(%q) = %v, want an error naming it", bad, err)
		}
	}
	s3Env(t, "WRONG", "secret")
	_, err := OpenMedia(ctx, "s3://media/k.png", f.URL, 0)
	if !errors.Is(err, ErrMediaStore) || !strings.Contains(err.Error(), "credentials") || !strings.Contains(err.Error(), "s3://media/k.png") {
		t.Errorf("wrong access key: %v", err)
	}
}

func TestResolveS3Endpoint(t *testing.T) {
	s3Env(t, "", "")
	if got := ResolveS3Endpoint(""); got != DefaultS3Endpoint {
		t.Errorf("nothing set: %q", got)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://aws-any:1")
	if got := ResolveS3Endpoint(""); got != "http://aws-any:1" {
		t.Errorf("AWS_ENDPOINT_URL: %q", got)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://aws-s3:1")
	if got := ResolveS3Endpoint(""); got != "http://aws-s3:1" {
		t.Errorf("AWS_ENDPOINT_URL_S3: %q", got)
	}
	if got := ResolveS3Endpoint("http://stored:1"); got != "http://stored:1" {
		t.Errorf("stored endpoint: %q", got)
	}
	t.Setenv(EnvS3Endpoint, "http://override:1")
	if got := ResolveS3Endpoint("http://stored:1"); got != "http://override:1" {
		t.Errorf("FOSQL_S3_ENDPOINT: %q", got)
	}
}

// s3Images puts a small tree of images and other files into a fake
// bucket: good images directly under the prefix and in a subfolder, a
// TIFF, a truncated PNG, a text file named like an image, a README, a
// hidden file, and an object beside the prefix that is never listed. It
// returns the objects' bytes by URL for the images ingest must find.
func s3Images(t *testing.T, f *s3test.Fake) map[string][]byte {
	good := map[string][]byte{}
	put := func(key string, data []byte, isImage bool) {
		f.Put("media", key, data)
		if isImage {
			good["s3://media/"+key] = data
		}
	}
	for i := range 5 {
		put("set/img"+string(rune('0'+i))+".png", scanfxEncode(t, "png", scanfxNoise(40+i, 30, uint64(i))), true)
	}
	put("set/photo.jpg", scanfxEncode(t, "jpeg", scanfxRGBA(33, 21, 4)), true)
	put("set/scan.tif", scanfxRawTIFF(12, 9), true)
	put("set/sub/deep.png", scanfxEncode(t, "png", scanfxGray(17, 19)), true)
	trunc := scanfxEncode(t, "png", scanfxNoise(50, 50, 9))
	put("set/cut.png", scanfxCut(trunc, len(trunc)/2), false)
	put("set/notes.png", []byte("hello, not an image"), false)
	put("set/README", []byte("about these images"), false)
	put("set/.hidden.png", scanfxEncode(t, "png", scanfxGray(4, 4)), false)
	put("settings/other.png", scanfxEncode(t, "png", scanfxGray(5, 5)), false)
	return good
}

func TestAddImagesFromS3(t *testing.T) {
	s3Env(t, "AKTEST", "secret")
	f := s3test.NewFake(t, "media")
	f.AccessKey = "AKTEST"
	f.PageSize = 3 // the listing takes several pages
	good := s3Images(t, f)
	d, dir := openTemp(t)
	ds := mustDataset(t, d, "s3")

	// Without RECURSIVE: the subfolder is not read.
	res, err := ds.AddImages(ctx, "s3://media/set", IngestOptions{Scan: ScanOptions{Endpoint: f.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != len(good)-1 {
		t.Fatalf("added %d, want %d (all but the subfolder's)", len(res.Added), len(good)-1)
	}
	if ep, _ := ds.MediaEndpoint(); ep != f.URL {
		t.Errorf("stored endpoint %q, want %q", ep, f.URL)
	}
	reasons := map[string]string{}
	for _, s := range res.Skipped {
		reasons[s.Path] = s.Reason
	}
	want := map[string]string{"s3://media/set/cut.png": ReasonTruncated, "s3://media/set/notes.png": ReasonNotImage}
	if len(reasons) != len(want) || reasons["s3://media/set/cut.png"] != want["s3://media/set/cut.png"] ||
		reasons["s3://media/set/notes.png"] != want["s3://media/set/notes.png"] {
		t.Errorf("skipped %v, want %v", reasons, want)
	}

	// RECURSIVE, and the endpoint taken from the dataset: only the new
	// image is added.
	res, err = ds.AddImages(ctx, "s3://media/set/", IngestOptions{Scan: ScanOptions{Recursive: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 1 || res.Existing != len(good)-1 {
		t.Fatalf("recursive: added %d, %d there; want 1 and %d", len(res.Added), res.Existing, len(good)-1)
	}
	prev := ""
	n := 0
	for s, err := range ds.SamplesAfter(ctx, ID{}, true) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		fp := s.Filepath()
		data, ok := good[fp]
		if !ok {
			t.Errorf("unexpected sample %s", fp)
			continue
		}
		if got := s.Get("metadata.sha256").AsString(); got != scanfxSHA(data) {
			t.Errorf("%s: sha256 %s, want %s", fp, got, scanfxSHA(data))
		}
		if got := s.Get("metadata.size_bytes").AsInt(); got != int64(len(data)) {
			t.Errorf("%s: size %d, want %d", fp, got, len(data))
		}
		if fp == "s3://media/set/photo.jpg" && (s.Get("metadata.width").AsInt() != 33 || s.Get("metadata.height").AsInt() != 21) {
			t.Errorf("photo.jpg: %v x %v, want 33 x 21", s.Get("metadata.width"), s.Get("metadata.height"))
		}
		if fp < prev && n <= len(good)-1 {
			t.Errorf("samples out of key order: %s after %s", fp, prev)
		}
		prev = fp
	}
	if n != len(good) {
		t.Errorf("%d samples, want %d", n, len(good))
	}
	// Streamed: a JPEG object is fetched by one GET per ingest (two
	// here), never in pieces.
	if g := f.Gets("set/photo.jpg"); g != 2 {
		t.Errorf("photo.jpg fetched %d times by two ingests, want 2 (one streaming GET each)", g)
	}
	if f.Lists() < 4 {
		t.Errorf("%d list requests: the listing was not paged", f.Lists())
	}

	// Another endpoint than the stored one is refused.
	if _, err := ds.AddImages(ctx, "s3://media/set/", IngestOptions{Scan: ScanOptions{Endpoint: "http://elsewhere:1"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("another endpoint: %v, want ErrInvalid", err)
	}

	// The endpoint is kept with the dataset across a reopen.
	_, ds2 := reopen(t, d, dir, "s3")
	if ep, err := ds2.MediaEndpoint(); err != nil || ep != f.URL {
		t.Errorf("after reopening: endpoint %q, %v; want %q", ep, err, f.URL)
	}
}

func TestAddImagesFromS3FailsWhole(t *testing.T) {
	s3Env(t, "AKTEST", "secret")
	f := s3test.NewFake(t, "media")
	f.AccessKey = "AKTEST"
	f.PageSize = 2
	s3Images(t, f)
	d, _ := openTemp(t)

	for _, tc := range []struct {
		name, root, endpoint string
		is                   error
	}{
		{"unknown bucket", "s3://nobucket/set", f.URL, ErrMediaStore},
		{"closed port", "s3://media/set", closedEndpoint(t), ErrMediaStore},
		{"bad endpoint", "s3://media/set", "ftp://host", ErrMediaStore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustDataset(t, d, strings.ReplaceAll(tc.name, " ", "_"))
			_, err := ds.AddImages(ctx, tc.root, IngestOptions{Scan: ScanOptions{Endpoint: tc.endpoint}})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), "s3://") {
				t.Fatalf("err = %v, want %v naming the URL", err, tc.is)
			}
			if n, _ := ds.Count(); n != 0 {
				t.Errorf("%d samples after a failed ingest", n)
			}
			if ep, _ := ds.MediaEndpoint(); ep != "" {
				t.Errorf("a failed ingest stored endpoint %q", ep)
			}
		})
	}

	t.Run("wrong credentials", func(t *testing.T) {
		s3Env(t, "WRONG", "secret")
		ds := mustDataset(t, d, "creds")
		_, err := ds.AddImages(ctx, "s3://media/set", IngestOptions{Scan: ScanOptions{Endpoint: f.URL}})
		if !errors.Is(err, ErrMediaStore) || !strings.Contains(err.Error(), "credentials") {
			t.Fatalf("err = %v", err)
		}
		if n, _ := ds.Count(); n != 0 {
			t.Errorf("%d samples after a refused ingest", n)
		}
	})

	t.Run("may list, may not read", func(t *testing.T) {
		f.DenyReads(true)
		defer f.DenyReads(false)
		ds := mustDataset(t, d, "denied")
		res, err := ds.AddImages(ctx, "s3://media/set", IngestOptions{Scan: ScanOptions{Endpoint: f.URL}})
		if !errors.Is(err, ErrMediaStore) || !strings.Contains(err.Error(), "s3://media/set/") {
			t.Fatalf("err = %v, want ErrMediaStore naming an object", err)
		}
		if n, _ := ds.Count(); n != 0 || len(res.Skipped) != 0 {
			t.Errorf("%d samples, %d skipped after a refused read", n, len(res.Skipped))
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ds := mustDataset(t, d, "cancelled")
		cctx, cancel := context.WithCancel(ctx)
		_, err := ds.AddImages(cctx, "s3://media/set", IngestOptions{
			Scan: ScanOptions{Endpoint: f.URL, Recursive: true, BatchSize: 1},
			Progress: func(p IngestProgress) {
				if p.Added >= 2 {
					cancel()
				}
			},
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n, _ := ds.Count(); n != 0 {
			t.Errorf("%d samples after a cancelled ingest", n)
		}
	})
}

func TestInspectMediaS3(t *testing.T) {
	s3Env(t, "AKTEST", "secret")
	f := s3test.NewFake(t, "media")
	img := scanfxEncode(t, "jpeg", scanfxRGBA(20, 10, 1))
	f.Put("media", "p.jpg", img)
	f.Put("media", "empty.png", nil)
	md, err := InspectMedia(ctx, "s3://media/p.jpg", f.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if md.Width != 20 || md.Height != 10 || md.MimeType != "image/jpeg" || md.SHA256 != scanfxSHA(img) {
		t.Errorf("metadata %+v", md)
	}
	if _, err := InspectMedia(ctx, "s3://media/empty.png", f.URL, 0); !errors.Is(err, ErrEmptyFile) || !strings.Contains(err.Error(), "s3://media/empty.png") {
		t.Errorf("empty object: %v", err)
	}
	if _, err := InspectMedia(ctx, "s3://media/p.jpg", f.URL, 100); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("100-pixel limit: %v", err)
	}
}

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		ref, bucket, key string
		prefix, ok       bool
	}{
		{"s3://media/a/b.png", "media", "a/b.png", false, true},
		{"s3://media/a/", "media", "a/", true, true},
		{"s3://media", "media", "", true, true},
		{"s3://media", "", "", false, false},
		{"s3://my.bucket-1/k", "my.bucket-1", "k", false, true},
		{"s3://ab/k", "", "", false, false},          // too short
		{"s3://Media/k", "", "", false, false},       // upper case
		{"s3://-media/k", "", "", false, false},      // leading '-'
		{"/local/media/k.png", "", "", false, false}, // not a URL
		{"S3://media/k", "", "", false, false},       // the scheme is lower case
		{"s3://media/dir/ with space.png", "media", "dir/ with space.png", false, true},
	} {
		b, k, err := ParseS3URL(tc.ref, tc.prefix)
		if (err == nil) != tc.ok || b != tc.bucket || k != tc.key {
			t.Errorf("ParseS3URL(%q, %v) = %q, %q, %v", tc.ref, tc.prefix, b, k, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.ref) {
			t.Errorf("ParseS3URL(%q): error %q does not name the URL", tc.ref, err)
		}
	}
}

func TestS3IgnoredNames(t *testing.T) {
	for ref, want := range map[string]bool{
		"s3://media/set/a.png":             false,
		"s3://media/set/sub/a":             false, // no extension: read and recognised by content
		"s3://media/set/.a.png":            true,
		"s3://media/set/.git/a.png":        true,
		"s3://media/set/README":            true,
		"s3://media/set/labels.json":       true,
		"s3://media/.set/a.png":            false, // the prefix itself is the user's choice
		"s3://media/set/sub/notes.md":      true,
		"s3://media/set/sub/photo.JPG":     false,
		"s3://media/set/sub/.hidden/x.png": true,
	} {
		prefix := "set"
		if strings.HasPrefix(ref, "s3://media/.set/") {
			prefix = ".set"
		}
		if got := s3Ignored(ref, prefix); got != want {
			t.Errorf("s3Ignored(%q, %q) = %v, want %v", ref, prefix, got, want)
		}
	}
}
