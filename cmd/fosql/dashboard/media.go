package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for the thumbnails
	"image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/zoo"
)

const (
	// maxMediaBytes is the largest media file served or read for a
	// thumbnail: the largest the brain reads.
	maxMediaBytes = brain.DefaultMaxBytes
	// maxMediaPixels is the largest image a thumbnail is made of: the
	// largest the brain decodes.
	maxMediaPixels = brain.DefaultMaxPixels
	// ThumbSize is the longest side of a thumbnail in pixels; smaller
	// images keep their size.
	ThumbSize = 192
)

// handleMedia serves a sample's file. The file is the one the sample
// names (a local path, or an s3:// object read from its dataset's
// endpoint); the request only chooses the sample. A local file is opened
// without blocking, and either is served only if it is of bounded size.
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.openMedia(w, r)
	if !ok {
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "private, max-age=60")
	http.ServeContent(w, r, "", f.ModTime(), f)
}

// openMedia opens the media of the sample a request names through
// db.OpenMedia, answering the error itself when there is none or it cannot
// be served.
func (s *Server) openMedia(w http.ResponseWriter, r *http.Request) (*db.Sample, db.Media, bool) {
	smp, endpoint, ok := s.mediaOf(w, r)
	if !ok {
		return nil, nil, false
	}
	f, ok := openMediaOf(w, r, smp, endpoint)
	return smp, f, ok
}

// openMediaOf opens a sample's media, read from endpoint when it is an
// s3:// URL, answering the error itself when it cannot be served.
func openMediaOf(w http.ResponseWriter, r *http.Request, smp *db.Sample, endpoint string) (db.Media, bool) {
	f, err := db.OpenMedia(r.Context(), smp.Filepath(), endpoint, maxMediaBytes)
	if err != nil {
		status, reason := mediaError(err)
		http.Error(w, reason, status)
		return nil, false
	}
	return f, true
}

// mediaOf finds the sample a request names and its dataset's media
// endpoint, answering the error itself when there is none.
func (s *Server) mediaOf(w http.ResponseWriter, r *http.Request) (*db.Sample, string, bool) {
	ds, smp, ok := s.sampleOf(w, r)
	if !ok {
		return nil, "", false
	}
	endpoint, err := ds.MediaEndpoint()
	if err != nil {
		status, reason := mediaError(err)
		http.Error(w, reason, status)
		return nil, "", false
	}
	return smp, endpoint, true
}

// mediaError turns the error of opening a sample's file into a status and
// a short reason.
func mediaError(err error) (int, string) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, "the sample's file is gone"
	case errors.Is(err, db.ErrNotRegular), errors.Is(err, syscall.EISDIR):
		return http.StatusUnsupportedMediaType, "the sample's file is not a regular file"
	case errors.Is(err, db.ErrFileTooLarge):
		return http.StatusUnsupportedMediaType, fmt.Sprintf("the sample's file is larger than %d MiB", maxMediaBytes>>20)
	case errors.Is(err, db.ErrMediaStore):
		return http.StatusBadGateway, "the sample's object storage cannot serve it: " + err.Error()
	}
	return http.StatusNotFound, "the sample's file cannot be read"
}

// thumbCache keeps thumbnails as JPEG files in dir, named by a hash of
// the source file's path, size and modification time: a changed file
// gets a new thumbnail, and nothing in a request names a cache file.
type thumbCache struct{ dir string }

// key names the thumbnail of the media at path as it is now: size bytes,
// modified at mod.
func (c thumbCache) key(path string, size int64, mod time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d", path, size, mod.UnixNano(), ThumbSize)
	return hex.EncodeToString(h.Sum(nil))[:40] + ".jpg"
}

// handleThumb serves a sample's thumbnail, making it on the first request.
func (s *Server) handleThumb(w http.ResponseWriter, r *http.Request) {
	// The cache key needs only the media's size and time (for an S3
	// object a HEAD request); the bytes are read only on a miss.
	smp, endpoint, ok := s.mediaOf(w, r)
	if !ok {
		return
	}
	size, mod, err := db.StatMedia(r.Context(), smp.Filepath(), endpoint, maxMediaBytes)
	if err != nil {
		status, reason := mediaError(err)
		http.Error(w, reason, status)
		return
	}
	cached := filepath.Join(s.thumb.dir, s.thumb.key(smp.Filepath(), size, mod))
	b, err := os.ReadFile(cached)
	if err != nil {
		f, ok := openMediaOf(w, r, smp, endpoint)
		if !ok {
			return
		}
		defer f.Close()
		if f.Size() != size || !f.ModTime().Equal(mod) {
			// Changed between the two requests: key the thumbnail by
			// what is read.
			cached = filepath.Join(s.thumb.dir, s.thumb.key(smp.Filepath(), f.Size(), f.ModTime()))
		}
		data := make([]byte, f.Size())
		if _, err := io.ReadFull(f, data); err != nil {
			http.Error(w, "the sample's file cannot be read", http.StatusNotFound)
			return
		}
		if b, err = makeThumb(data); err != nil {
			http.Error(w, "the sample's file is not an image the dashboard can show: "+err.Error(), http.StatusUnsupportedMediaType)
			return
		}
		// A cache that cannot be written costs speed, not the answer.
		_ = writeAtomic(cached, b)
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// makeThumb decodes an image (refusing one that declares more than
// maxMediaPixels before decoding it) and encodes it as a JPEG whose
// longest side is at most ThumbSize, transparent parts composited as the
// brain sees them (zoo.Opaque: over white, or over black for white ink).
func makeThumb(data []byte) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxMediaPixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%dx%d pixels: at most %d", cfg.Width, cfg.Height, int64(maxMediaPixels))
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	tw, th := b.Dx(), b.Dy()
	if tw > ThumbSize || th > ThumbSize {
		if tw >= th {
			tw, th = ThumbSize, max(1, th*ThumbSize/tw)
		} else {
			tw, th = max(1, tw*ThumbSize/th), ThumbSize
		}
	}
	scaled := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.BiLinear.Scale(scaled, scaled.Bounds(), src, b, draw.Src, nil)
	dst := zoo.Opaque(scaled)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeAtomic writes b to path through a temporary file and a rename, so
// a reader never sees half a file.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".thumb-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
