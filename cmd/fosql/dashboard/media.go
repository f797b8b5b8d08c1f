package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders for the thumbnails
	"image/jpeg"
	_ "image/png"
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
// names; the request only chooses the sample. It is opened without
// blocking and served only if it is a regular file of bounded size.
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	_, f, fi, ok := s.openMedia(w, r)
	if !ok {
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "private, max-age=60")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// openMedia opens the file of the sample a request names, answering the
// error itself when there is none or it cannot be served.
func (s *Server) openMedia(w http.ResponseWriter, r *http.Request) (*db.Sample, *os.File, fs.FileInfo, bool) {
	_, smp, ok := s.sampleOf(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	f, fi, err := db.OpenUserFile(smp.Filepath(), maxMediaBytes)
	if err != nil {
		status, reason := mediaError(err)
		http.Error(w, reason, status)
		return nil, nil, nil, false
	}
	return smp, f, fi, true
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
	}
	return http.StatusNotFound, "the sample's file cannot be read"
}

// thumbCache keeps thumbnails as JPEG files in dir, named by a hash of
// the source file's path, size and modification time: a changed file
// gets a new thumbnail, and nothing in a request names a cache file.
type thumbCache struct{ dir string }

// key names the thumbnail of the file at path as it is now.
func (c thumbCache) key(path string, fi fs.FileInfo) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano(), ThumbSize)
	return hex.EncodeToString(h.Sum(nil))[:40] + ".jpg"
}

// handleThumb serves a sample's thumbnail, making it on the first request.
func (s *Server) handleThumb(w http.ResponseWriter, r *http.Request) {
	smp, f, fi, ok := s.openMedia(w, r)
	if !ok {
		return
	}
	defer f.Close()
	cached := filepath.Join(s.thumb.dir, s.thumb.key(smp.Filepath(), fi))
	b, err := os.ReadFile(cached)
	if err != nil {
		data := make([]byte, fi.Size())
		if _, err := f.ReadAt(data, 0); err != nil {
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
// longest side is at most ThumbSize, transparent parts over white.
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
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
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
