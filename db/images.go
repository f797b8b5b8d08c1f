package db

// This file inspects one image file for ingest: it recognises the format by
// content, reads the declared size and colour model without decoding pixels,
// hashes the bytes and checks that the file is complete. scan.go walks a
// folder and runs InspectImage on every candidate file in parallel.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"sync"
	"syscall"

	// Importing these packages also registers the BMP, TIFF and WebP
	// decoders with package image, so image.Decode anywhere in the program
	// accepts every format that ingest accepts.
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest declared width*height that ingest accepts
// when no limit is given. It is the threshold at which Pillow refuses an image
// as a decompression bomb (twice its warning level of 89,478,485 pixels):
// about 13,377 x 13,377, or 716 MB once decoded as 8-bit RGBA.
const DefaultMaxPixels int64 = 178_956_970

// Sentinel errors returned (wrapped, with detail) by InspectImage and carried
// in SkippedFile.Err by ScanImages. Test for them with errors.Is. A file that
// cannot be opened or read returns the operating system's error instead (for
// example one matching fs.ErrPermission or fs.ErrNotExist); SkipReason maps
// that to ReasonUnreadable.
var (
	// ErrEmptyFile reports a file of zero bytes.
	ErrEmptyFile = errors.New("empty file")
	// ErrNotImage reports content that is not a supported image format, or a
	// supported format whose header or structure is corrupt.
	ErrNotImage = errors.New("not an image")
	// ErrTruncated reports an image whose data ends before the format's end
	// marker or before the extent its header declares.
	ErrTruncated = errors.New("truncated image")
	// ErrImageTooLarge reports an image whose declared width*height exceeds
	// the pixel limit (a likely decompression bomb); it is refused before
	// any pixel is decoded.
	ErrImageTooLarge = errors.New("image too large")
	// ErrSymlinkLoop reports a symbolic link that cannot be resolved because
	// it leads back to itself, or a directory link that points to a
	// directory the scan has already entered or will reach by its own path.
	ErrSymlinkLoop = errors.New("symlink loop")
)

// Reasons given in SkippedFile.Reason. Each corresponds to one sentinel error
// (ReasonUnreadable to any other error); SkipReason converts.
const (
	// ReasonEmpty is the reason for ErrEmptyFile.
	ReasonEmpty = "empty"
	// ReasonTruncated is the reason for ErrTruncated.
	ReasonTruncated = "truncated"
	// ReasonNotImage is the reason for ErrNotImage.
	ReasonNotImage = "not an image"
	// ReasonUnreadable is the reason for an error opening or reading a file
	// (permission denied, dangling symlink, not a regular file, I/O error).
	ReasonUnreadable = "unreadable"
	// ReasonTooLarge is the reason for ErrImageTooLarge.
	ReasonTooLarge = "too large"
	// ReasonSymlinkLoop is the reason for ErrSymlinkLoop.
	ReasonSymlinkLoop = "symlink loop"
)

// SkipReason returns the short reason ("empty", "truncated", "not an image",
// "unreadable", "too large", "symlink loop") that ScanImages reports for an
// error returned by InspectImage. It returns "" for a nil error.
func SkipReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrSymlinkLoop):
		return ReasonSymlinkLoop
	case errors.Is(err, ErrEmptyFile):
		return ReasonEmpty
	case errors.Is(err, ErrImageTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrTruncated):
		return ReasonTruncated
	case errors.Is(err, ErrNotImage):
		return ReasonNotImage
	default:
		return ReasonUnreadable
	}
}

// ImageMetadata is what ingest records about one image file.
type ImageMetadata struct {
	// SizeBytes is the number of bytes read from the file (and hashed).
	SizeBytes int64
	// MimeType is one of "image/jpeg", "image/png", "image/gif", "image/bmp",
	// "image/webp" or "image/tiff", chosen by content, never by extension.
	MimeType string
	// Width and Height are the declared dimensions in pixels.
	Width, Height int
	// NumChannels is 1 for gray, 2 for gray+alpha, 3 for RGB or YCbCr
	// (and for palettes without transparency), 4 for RGBA or CMYK (and for
	// palettes with transparency). It comes from the colour model that
	// DecodeConfig reports, refined from the header where Go's colour model
	// loses the distinction: the PNG colour type, the BMP bit depth, the
	// TIFF SamplesPerPixel and the lossless WebP alpha flag.
	NumChannels int
	// SHA256 is the lowercase hex SHA-256 of the file's bytes.
	SHA256 string
}

// imgFormat describes one recognised image format.
type imgFormat struct {
	name string // short name, as package image spells it
	mime string
}

var (
	imgFmtJPEG = &imgFormat{"jpeg", "image/jpeg"}
	imgFmtPNG  = &imgFormat{"png", "image/png"}
	imgFmtGIF  = &imgFormat{"gif", "image/gif"}
	imgFmtBMP  = &imgFormat{"bmp", "image/bmp"}
	imgFmtWebP = &imgFormat{"webp", "image/webp"}
	imgFmtTIFF = &imgFormat{"tiff", "image/tiff"}
)

// imgHeadLen is how many leading bytes are kept for sniffing and for the
// header fields read directly (PNG colour type, BMP and WebP headers).
const imgHeadLen = 64

// imgSniff recognises a format from the first bytes of a file, or returns nil.
func imgSniff(head []byte) *imgFormat {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return imgFmtJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return imgFmtPNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return imgFmtGIF
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return imgFmtWebP
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return imgFmtTIFF
	case len(head) >= 14 && string(head[0:2]) == "BM" && string(head[6:10]) == "\x00\x00\x00\x00":
		// "BM", file size, two reserved zero words: the same test that
		// x/image/bmp registers, stricter than "BM" alone so that text that
		// happens to start with "BM" is not taken for a bitmap.
		return imgFmtBMP
	}
	return nil
}

// imgReaderPool recycles the read buffers, which are large enough that a scan
// of many small files would otherwise spend its time allocating them.
var imgReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// imgHashPool recycles SHA-256 states.
var imgHashPool = sync.Pool{New: func() any { return sha256.New() }}

// InspectImage reads one file and returns its metadata. It recognises the
// format by content (JPEG, PNG, GIF, BMP, WebP or TIFF, whatever the file is
// named), reads the dimensions and colour model with the format's
// DecodeConfig (no pixel is decoded), hashes every byte with SHA-256, and
// checks that the file is complete:
//
//   - PNG: the chunk sequence must reach an IEND chunk;
//   - JPEG: the marker sequence must reach the EOI marker (FF D9) outside
//     any segment, so an EXIF thumbnail's own EOI does not count;
//   - GIF: the block sequence must reach the trailer (0x3B);
//   - WebP: the RIFF size must fit in the file;
//   - BMP: the pixel array its header declares must fit in the file;
//   - TIFF: the first IFD and every strip or tile it lists must fit in the
//     file.
//
// Bytes after a complete image (trailing padding, appended data) are
// accepted and hashed. The file is read once, front to back, through a
// bounded buffer, so large files are never held in memory; only for TIFF is
// the directory read in place as well. The file is read up to the size it
// had when opened: bytes appended during the read are not seen.
//
// Declared width*height above maxPixels is refused with ErrImageTooLarge
// before the rest of the file is read; maxPixels <= 0 means DefaultMaxPixels.
//
// Errors wrap ErrEmptyFile, ErrNotImage, ErrTruncated, ErrImageTooLarge or
// ErrSymlinkLoop, or the operating system's error when the file cannot be
// opened or read (a directory, a FIFO or another non-regular file is refused
// as unreadable without blocking). Every error names the path.
func InspectImage(path string, maxPixels int64) (ImageMetadata, error) {
	return inspectImage(context.Background(), path, maxPixels)
}

// imgErr wraps a sentinel with the path and a detail message.
func imgErr(path string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("inspect image %s: %w: %s", path, sentinel, fmt.Sprintf(format, args...))
}

// inspectImage is InspectImage with a context that aborts the read of a
// large file when a scan is cancelled.
func inspectImage(ctx context.Context, path string, maxPixels int64) (ImageMetadata, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	// O_NONBLOCK keeps a FIFO from blocking the open; it has no effect on
	// regular files, and anything else is refused right after.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return ImageMetadata{}, fmt.Errorf("inspect image %s: %w: %w", path, ErrSymlinkLoop, err)
		}
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, err)
	}
	switch {
	case st.IsDir():
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, syscall.EISDIR)
	case !st.Mode().IsRegular():
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w (%s)", path, ErrNotRegular, fileModeName(st.Mode()))
	}
	return inspectStream(ctx, path, f, st.Size(), maxPixels)
}

// inspectStream is inspectImage's work on opened media of size bytes,
// named path in errors: f is read once from its current position (the
// start) to size, and read in place (ReadAt) only for a TIFF directory.
func inspectStream(ctx context.Context, path string, f interface {
	io.Reader
	io.ReaderAt
}, size, maxPixels int64) (ImageMetadata, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	br := imgReaderPool.Get().(*bufio.Reader)
	br.Reset(&imgCtxReader{ctx: ctx, r: f, remain: size})
	defer func() {
		br.Reset(nil)
		imgReaderPool.Put(br)
	}()

	peek, err := br.Peek(imgHeadLen)
	if len(peek) == 0 {
		if err == io.EOF {
			return ImageMetadata{}, imgErr(path, ErrEmptyFile, "0 bytes")
		}
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, err)
	}
	if err != nil && err != io.EOF {
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, err)
	}
	var headBuf [imgHeadLen]byte
	head := headBuf[:copy(headBuf[:], peek)]
	format := imgSniff(head)
	if format == nil {
		n := min(len(head), 8)
		return ImageMetadata{}, imgErr(path, ErrNotImage, "content is not JPEG, PNG, GIF, BMP, WebP or TIFF (starts with %q)", head[:n])
	}

	h := imgHashPool.Get().(hash.Hash)
	h.Reset()
	defer imgHashPool.Put(h)
	sink := &imgSink{h: h, end: imgNewEndCheck(format)}

	// The decoder reads through a tee, so every byte it consumes is hashed
	// (and seen by the end check) exactly once and in order; the rest of the
	// file follows through the same sink below.
	cfg, decErr := imgDecodeConfig(format, io.TeeReader(br, sink), f, size)
	if decErr == nil {
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return ImageMetadata{}, imgErr(path, ErrNotImage, "%s: zero-size image (%dx%d)", format.name, cfg.Width, cfg.Height)
		}
		if int64(cfg.Width) > maxPixels/int64(cfg.Height) {
			return ImageMetadata{}, imgErr(path, ErrImageTooLarge, "%s declares %dx%d = %d pixels, limit %d",
				format.name, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), maxPixels)
		}
	}

	if _, err := br.WriteTo(sink); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, ctxErr)
		}
		return ImageMetadata{}, fmt.Errorf("inspect image %s: %w", path, err)
	}
	size = sink.n

	var tail imgTail
	switch format {
	case imgFmtWebP:
		tail = imgCheckWebP(head, size)
	case imgFmtBMP:
		tail = imgCheckBMP(head, size)
	case imgFmtTIFF:
		tail = imgCheckTIFF(f, head, size)
	default:
		tail = sink.end.result()
	}
	if decErr != nil {
		if tail.truncated != "" || errors.Is(decErr, io.ErrUnexpectedEOF) || errors.Is(decErr, io.EOF) {
			detail := tail.truncated
			if detail == "" {
				detail = "header ends early"
			}
			return ImageMetadata{}, imgErr(path, ErrTruncated, "%s: %s (%v)", format.name, detail, decErr)
		}
		return ImageMetadata{}, imgErr(path, ErrNotImage, "%v", decErr)
	}
	if tail.truncated != "" {
		return ImageMetadata{}, imgErr(path, ErrTruncated, "%s: %s", format.name, tail.truncated)
	}
	if tail.corrupt != "" {
		return ImageMetadata{}, imgErr(path, ErrNotImage, "%s: %s", format.name, tail.corrupt)
	}

	channels := imgChannelsOf(cfg.ColorModel)
	switch format {
	case imgFmtPNG:
		channels = imgChannelsPNG(head, cfg.ColorModel, channels)
	case imgFmtBMP:
		channels = imgChannelsBMP(head, channels)
	case imgFmtWebP:
		channels = imgChannelsWebP(head, channels)
	case imgFmtTIFF:
		if tail.channels > 0 {
			channels = tail.channels
		}
	}
	var sum [sha256.Size]byte
	return ImageMetadata{
		SizeBytes:   size,
		MimeType:    format.mime,
		Width:       cfg.Width,
		Height:      cfg.Height,
		NumChannels: channels,
		SHA256:      hex.EncodeToString(h.Sum(sum[:0])),
	}, nil
}

// imgDecodeConfig runs the format's DecodeConfig on r, or for TIFF on the
// file itself: a TIFF directory may sit anywhere, often after the pixel
// data, and is read in place rather than by buffering the stream up to it.
// A panic in a decoder is returned as an error, so that one hostile file
// cannot stop an ingest.
func imgDecodeConfig(format *imgFormat, r io.Reader, f io.ReaderAt, size int64) (cfg image.Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = image.Config{}, fmt.Errorf("%s: decoder failed: %v", format.name, p)
		}
	}()
	switch format {
	case imgFmtJPEG:
		return jpeg.DecodeConfig(r)
	case imgFmtPNG:
		return png.DecodeConfig(r)
	case imgFmtGIF:
		return gif.DecodeConfig(r)
	case imgFmtBMP:
		return bmp.DecodeConfig(r)
	case imgFmtWebP:
		return webp.DecodeConfig(r)
	case imgFmtTIFF:
		return tiff.DecodeConfig(io.NewSectionReader(f, 0, size))
	}
	return image.Config{}, fmt.Errorf("%s: no decoder", format.name)
}

// imgCtxReader reads a file up to the size it had when opened (so that the
// end is known without one more read call) and stops when its context is
// done.
type imgCtxReader struct {
	ctx    context.Context
	r      io.Reader
	remain int64
}

func (c *imgCtxReader) Read(p []byte) (int, error) {
	if c.remain <= 0 {
		return 0, io.EOF
	}
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.r.Read(p)
	c.remain -= int64(n)
	return n, err
}

// imgSink receives every byte of the file once, in order: it hashes them,
// counts them and feeds the format's end check.
type imgSink struct {
	h   hash.Hash
	end imgEndCheck // nil for formats checked from the header and size
	n   int64
}

func (s *imgSink) Write(p []byte) (int, error) {
	s.h.Write(p)
	if s.end != nil {
		s.end.Write(p)
	}
	s.n += int64(len(p))
	return len(p), nil
}

// imgTail is the verdict of a completeness check. At most one of truncated
// and corrupt is set; channels is filled by checks that learn it (TIFF).
type imgTail struct {
	truncated string
	corrupt   string
	channels  int
}

// imgEndCheck follows a format's block structure as the bytes stream past and
// tells whether the end marker was reached. Write never fails.
type imgEndCheck interface {
	io.Writer
	result() imgTail
}

// imgNewEndCheck returns the streaming check for formats that have an end
// marker, or nil.
func imgNewEndCheck(f *imgFormat) imgEndCheck {
	switch f {
	case imgFmtPNG:
		return &imgPNGEnd{skip: 8}
	case imgFmtJPEG:
		return &imgJPEGEnd{}
	case imgFmtGIF:
		return &imgGIFEnd{}
	}
	return nil
}

// imgPNGEnd walks PNG chunks (length, type, data, CRC) until IEND.
type imgPNGEnd struct {
	off     int64
	skip    int64   // bytes of the current chunk (or signature) still to pass
	hdr     [8]byte // length and type of the next chunk
	nhdr    int
	lastHdr bool // the chunk being skipped is IEND
	done    bool
	bad     string
}

func (c *imgPNGEnd) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !c.done && c.bad == "" {
		if c.skip > 0 {
			k := int(min(c.skip, int64(len(p))))
			c.skip -= int64(k)
			c.off += int64(k)
			p = p[k:]
			if c.skip == 0 && c.lastHdr {
				c.done = true
			}
			continue
		}
		k := copy(c.hdr[c.nhdr:], p)
		c.nhdr += k
		c.off += int64(k)
		p = p[k:]
		if c.nhdr < len(c.hdr) {
			continue
		}
		c.nhdr = 0
		length := binary.BigEndian.Uint32(c.hdr[0:4])
		if length > 1<<31-1 {
			c.bad = fmt.Sprintf("chunk length %d at offset %d is out of range", length, c.off-8)
			break
		}
		c.skip = int64(length) + 4 // data and CRC
		c.lastHdr = string(c.hdr[4:8]) == "IEND"
	}
	return n, nil
}

func (c *imgPNGEnd) result() imgTail {
	switch {
	case c.done:
		return imgTail{}
	case c.bad != "":
		return imgTail{corrupt: c.bad}
	case c.lastHdr:
		return imgTail{truncated: "IEND chunk incomplete"}
	}
	return imgTail{truncated: fmt.Sprintf("no IEND chunk in %d bytes", c.off)}
}

// JPEG scanner states.
const (
	imgJPEGMarker    = iota // between segments: expect 0xFF (other bytes are skipped, as libjpeg does)
	imgJPEGCode             // after 0xFF: the marker code
	imgJPEGLen1             // first byte of a segment length
	imgJPEGLen2             // second byte of a segment length
	imgJPEGSkip             // inside a segment's payload
	imgJPEGEntropy          // entropy-coded data after SOS
	imgJPEGEntropyFF        // 0xFF inside entropy-coded data
	imgJPEGDone             // EOI seen
)

// imgJPEGEnd follows JPEG markers and segment lengths until the EOI marker.
// Segment payloads (including an APP1 segment that holds a whole thumbnail
// JPEG) are skipped by length; in entropy-coded data, FF 00 (stuffing), FF
// D0-D7 (restart) and FF FF (fill) are data and any other FF xx is a marker.
type imgJPEGEnd struct {
	state  int
	sos    bool // the segment being read is SOS, so entropy data follows
	seglen int
	skip   int
	off    int64
}

func (c *imgJPEGEnd) Write(p []byte) (int, error) {
	n := len(p)
	c.off += int64(n)
	for len(p) > 0 && c.state != imgJPEGDone {
		switch c.state {
		case imgJPEGMarker:
			i := bytes.IndexByte(p, 0xFF)
			if i < 0 {
				p = nil
				continue
			}
			p = p[i+1:]
			c.state = imgJPEGCode
		case imgJPEGCode:
			b := p[0]
			p = p[1:]
			c.marker(b)
		case imgJPEGLen1:
			c.seglen = int(p[0]) << 8
			p = p[1:]
			c.state = imgJPEGLen2
		case imgJPEGLen2:
			c.seglen |= int(p[0])
			p = p[1:]
			switch {
			case c.seglen < 2:
				c.state = imgJPEGMarker // bad length: resynchronise on the next 0xFF
			case c.seglen == 2:
				c.endSegment()
			default:
				c.skip = c.seglen - 2
				c.state = imgJPEGSkip
			}
		case imgJPEGSkip:
			k := min(c.skip, len(p))
			c.skip -= k
			p = p[k:]
			if c.skip == 0 {
				c.endSegment()
			}
		case imgJPEGEntropy:
			i := bytes.IndexByte(p, 0xFF)
			if i < 0 {
				p = nil
				continue
			}
			p = p[i+1:]
			c.state = imgJPEGEntropyFF
		case imgJPEGEntropyFF:
			b := p[0]
			switch {
			case b == 0x00 || (b >= 0xD0 && b <= 0xD7):
				p = p[1:]
				c.state = imgJPEGEntropy
			case b == 0xFF:
				p = p[1:]
			default:
				p = p[1:]
				c.marker(b)
			}
		}
	}
	return n, nil
}

// marker acts on a marker code read after 0xFF.
func (c *imgJPEGEnd) marker(b byte) {
	switch {
	case b == 0xD9: // EOI
		c.state = imgJPEGDone
	case b == 0xFF: // fill byte before a marker
		c.state = imgJPEGCode
	case b == 0xD8, b == 0x01, b == 0x00, b >= 0xD0 && b <= 0xD7:
		// SOI, TEM, RSTn: no payload. 0x00 outside entropy data is noise.
		c.state = imgJPEGMarker
	default:
		c.sos = b == 0xDA
		c.state = imgJPEGLen1
	}
}

func (c *imgJPEGEnd) endSegment() {
	if c.sos {
		c.state = imgJPEGEntropy
	} else {
		c.state = imgJPEGMarker
	}
}

func (c *imgJPEGEnd) result() imgTail {
	if c.state == imgJPEGDone {
		return imgTail{}
	}
	return imgTail{truncated: fmt.Sprintf("no EOI marker in %d bytes", c.off)}
}

// GIF scanner states.
const (
	imgGIFHeader    = iota // collecting the 13-byte header and screen descriptor
	imgGIFSkip             // skipping bytes, then going to gifNext
	imgGIFBlock            // expecting a block introducer
	imgGIFExtLabel         // expecting an extension label
	imgGIFImageDesc        // collecting the 9 bytes after the image separator
	imgGIFSubLen           // expecting a sub-block size (0 ends the sequence)
	imgGIFDone             // trailer seen
	imgGIFBad              // unknown block introducer
)

// imgGIFEnd follows GIF blocks (extensions, images with their colour tables
// and data sub-blocks) until the trailer byte 0x3B.
type imgGIFEnd struct {
	state int
	next  int // state after a skip
	skip  int
	buf   [13]byte
	nbuf  int
	off   int64
	bad   string
}

func (c *imgGIFEnd) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.state != imgGIFDone && c.state != imgGIFBad {
		switch c.state {
		case imgGIFHeader, imgGIFImageDesc:
			want := 13
			if c.state == imgGIFImageDesc {
				want = 9
			}
			k := copy(c.buf[c.nbuf:want], p)
			c.nbuf += k
			c.off += int64(k)
			p = p[k:]
			if c.nbuf < want {
				continue
			}
			c.nbuf = 0
			flags := c.buf[10] // screen descriptor's packed fields
			if c.state == imgGIFImageDesc {
				flags = c.buf[8] // image descriptor's packed fields
			}
			table := 0
			if flags&0x80 != 0 {
				table = 3 << ((flags & 7) + 1)
			}
			if c.state == imgGIFHeader {
				c.skipThen(table, imgGIFBlock)
			} else {
				c.skipThen(table+1, imgGIFSubLen) // colour table, then LZW minimum code size
			}
		case imgGIFSkip:
			k := min(c.skip, len(p))
			c.skip -= k
			c.off += int64(k)
			p = p[k:]
			if c.skip == 0 {
				c.state = c.next
			}
		case imgGIFBlock:
			b := p[0]
			p = p[1:]
			c.off++
			switch b {
			case 0x21:
				c.state = imgGIFExtLabel
			case 0x2C:
				c.state = imgGIFImageDesc
			case 0x3B:
				c.state = imgGIFDone
			default:
				c.state = imgGIFBad
				c.bad = fmt.Sprintf("unknown block type 0x%02x at offset %d", b, c.off-1)
			}
		case imgGIFExtLabel:
			p = p[1:]
			c.off++
			c.state = imgGIFSubLen
		case imgGIFSubLen:
			b := int(p[0])
			p = p[1:]
			c.off++
			if b == 0 {
				c.state = imgGIFBlock
			} else {
				c.skipThen(b, imgGIFSubLen)
			}
		}
	}
	return n, nil
}

func (c *imgGIFEnd) skipThen(n, next int) {
	if n == 0 {
		c.state = next
		return
	}
	c.skip, c.next, c.state = n, next, imgGIFSkip
}

func (c *imgGIFEnd) result() imgTail {
	switch c.state {
	case imgGIFDone:
		return imgTail{}
	case imgGIFBad:
		return imgTail{corrupt: c.bad}
	}
	return imgTail{truncated: fmt.Sprintf("no trailer in %d bytes", c.off)}
}

// imgCheckWebP checks that the RIFF container's declared size fits the file.
func imgCheckWebP(head []byte, size int64) imgTail {
	if len(head) < 12 {
		return imgTail{truncated: fmt.Sprintf("RIFF header incomplete (%d bytes)", size)}
	}
	declared := int64(binary.LittleEndian.Uint32(head[4:8]))
	if declared+8 > size {
		return imgTail{truncated: fmt.Sprintf("RIFF declares %d bytes, file has %d", declared+8, size)}
	}
	return imgTail{}
}

// imgCheckBMP checks that the pixel array declared by a BMP header fits the
// file: for uncompressed bitmaps the rows (padded to 4 bytes) after the
// pixel data offset, otherwise the declared image size, or else the declared
// file size.
func imgCheckBMP(head []byte, size int64) imgTail {
	if len(head) < 38 {
		return imgTail{truncated: fmt.Sprintf("header incomplete (%d bytes)", size)}
	}
	le := binary.LittleEndian
	fileSize := int64(le.Uint32(head[2:6]))
	offset := int64(le.Uint32(head[10:14]))
	width := int64(int32(le.Uint32(head[18:22])))
	height := int64(int32(le.Uint32(head[22:26])))
	bpp := int64(le.Uint16(head[28:30]))
	compression := le.Uint32(head[30:34])
	imageSize := int64(le.Uint32(head[34:38]))
	if height < 0 {
		height = -height
	}
	var need int64
	switch {
	case (compression == 0 || compression == 3 || compression == 6) && width >= 0 && bpp > 0:
		row := (width*bpp + 31) / 32 * 4
		if row > 0 && height > (1<<62)/row {
			need = 1 << 62
		} else {
			need = offset + row*height
		}
	case imageSize > 0:
		need = offset + imageSize
	default:
		need = fileSize
	}
	if need > size {
		return imgTail{truncated: fmt.Sprintf("pixel data ends at byte %d, file has %d", need, size)}
	}
	return imgTail{}
}

// TIFF tags read by imgCheckTIFF.
const (
	imgTIFFTagPhotometric     = 262
	imgTIFFTagStripOffsets    = 273
	imgTIFFTagSamplesPerPixel = 277
	imgTIFFTagStripByteCounts = 279
	imgTIFFTagTileOffsets     = 324
	imgTIFFTagTileByteCounts  = 325
)

// imgCheckTIFF reads the first IFD in place and checks that it, and every
// strip or tile it lists, lies within the file. It also reports the number of
// samples per pixel (a palette image counts as 3).
func imgCheckTIFF(ra io.ReaderAt, head []byte, size int64) imgTail {
	if len(head) < 8 {
		return imgTail{truncated: fmt.Sprintf("header incomplete (%d bytes)", size)}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[0] == 'M' {
		bo = binary.BigEndian
	}
	ifd := int64(bo.Uint32(head[4:8]))
	if ifd+2 > size {
		return imgTail{truncated: fmt.Sprintf("first IFD at offset %d, file has %d bytes", ifd, size)}
	}
	var cnt [2]byte
	if _, err := ra.ReadAt(cnt[:], ifd); err != nil {
		return imgTail{truncated: fmt.Sprintf("reading IFD at offset %d: %v", ifd, err)}
	}
	entries := int64(bo.Uint16(cnt[:]))
	if ifd+2+entries*12 > size {
		return imgTail{truncated: fmt.Sprintf("IFD at offset %d with %d entries runs past %d bytes", ifd, entries, size)}
	}
	dir := make([]byte, entries*12)
	if _, err := ra.ReadAt(dir, ifd+2); err != nil {
		return imgTail{truncated: fmt.Sprintf("reading IFD at offset %d: %v", ifd, err)}
	}
	samples, photometric := int64(1), int64(-1)
	var offsets, counts []int64
	for i := 0; i+12 <= len(dir); i += 12 {
		e := dir[i : i+12]
		tag := bo.Uint16(e[0:2])
		if bad := imgTIFFEntryFits(bo, e, size); bad != "" {
			return imgTail{truncated: bad}
		}
		switch tag {
		case imgTIFFTagPhotometric, imgTIFFTagSamplesPerPixel, imgTIFFTagStripOffsets,
			imgTIFFTagStripByteCounts, imgTIFFTagTileOffsets, imgTIFFTagTileByteCounts:
		default:
			continue
		}
		vals, bad := imgTIFFValues(ra, bo, e, size)
		if bad != "" {
			return imgTail{truncated: bad}
		}
		switch tag {
		case imgTIFFTagPhotometric:
			if len(vals) > 0 {
				photometric = vals[0]
			}
		case imgTIFFTagSamplesPerPixel:
			if len(vals) > 0 {
				samples = vals[0]
			}
		case imgTIFFTagStripOffsets, imgTIFFTagTileOffsets:
			offsets = vals
		case imgTIFFTagStripByteCounts, imgTIFFTagTileByteCounts:
			counts = vals
		}
	}
	for i := range min(len(offsets), len(counts)) {
		if end := offsets[i] + counts[i]; end > size {
			return imgTail{truncated: fmt.Sprintf("image data block %d ends at byte %d, file has %d", i, end, size)}
		}
	}
	channels := int(min(max(samples, 1), 4))
	if photometric == 3 { // palette
		channels = 3
	}
	return imgTail{channels: channels}
}

// imgTIFFTypeSize gives the size in bytes of one value of each TIFF field
// type, indexed by type number.
var imgTIFFTypeSize = [...]int64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// imgTIFFEntryFits checks that the values of an IFD entry that do not fit
// inline lie within the file; a non-empty string says where they do not.
func imgTIFFEntryFits(bo binary.ByteOrder, e []byte, size int64) string {
	typ := int(bo.Uint16(e[2:4]))
	if typ >= len(imgTIFFTypeSize) || imgTIFFTypeSize[typ] == 0 {
		return "" // unknown type: the decoder's business
	}
	n := int64(bo.Uint32(e[4:8])) * imgTIFFTypeSize[typ]
	if n <= 4 {
		return ""
	}
	off := int64(bo.Uint32(e[8:12]))
	if off+n > size {
		return fmt.Sprintf("values of tag %d at offset %d run past %d bytes", bo.Uint16(e[0:2]), off, size)
	}
	return ""
}

// imgTIFFMaxValues bounds the strip or tile table read from one IFD entry.
const imgTIFFMaxValues = 1 << 20

// imgTIFFValues returns the unsigned values of a SHORT or LONG IFD entry,
// reading them from their offset when they do not fit inline. A non-empty
// string reports values that lie beyond the file.
func imgTIFFValues(ra io.ReaderAt, bo binary.ByteOrder, e []byte, size int64) ([]int64, string) {
	typ := bo.Uint16(e[2:4])
	count := int64(bo.Uint32(e[4:8]))
	var width int64
	switch typ {
	case 3: // SHORT
		width = 2
	case 4: // LONG
		width = 4
	default:
		return nil, "" // other types are the decoder's business
	}
	if count > imgTIFFMaxValues {
		return nil, ""
	}
	data := e[8:12]
	if count*width > 4 {
		off := int64(bo.Uint32(e[8:12]))
		if off+count*width > size {
			return nil, fmt.Sprintf("IFD entry data at offset %d runs past %d bytes", off, size)
		}
		data = make([]byte, count*width)
		if _, err := ra.ReadAt(data, off); err != nil {
			return nil, fmt.Sprintf("reading IFD entry at offset %d: %v", off, err)
		}
	}
	vals := make([]int64, count)
	for i := range vals {
		if width == 2 {
			vals[i] = int64(bo.Uint16(data[2*i:]))
		} else {
			vals[i] = int64(bo.Uint32(data[4*i:]))
		}
	}
	return vals, ""
}

// imgChannelsOf maps a colour model to a channel count.
func imgChannelsOf(m color.Model) int {
	switch m {
	case color.GrayModel, color.Gray16Model, color.AlphaModel, color.Alpha16Model:
		return 1
	case color.YCbCrModel:
		return 3
	case color.NYCbCrAModel, color.RGBAModel, color.RGBA64Model,
		color.NRGBAModel, color.NRGBA64Model, color.CMYKModel:
		return 4
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return 4
			}
		}
	}
	return 3
}

// imgChannelsPNG reads the colour type from the IHDR chunk (byte 25 of the
// file), which distinguishes RGB from RGBA and gray+alpha from RGBA where
// Go's colour models do not.
func imgChannelsPNG(head []byte, m color.Model, fallback int) int {
	if len(head) < 26 {
		return fallback
	}
	switch head[25] {
	case 0:
		return 1
	case 2:
		return 3
	case 3:
		return imgChannelsOf(m)
	case 4:
		return 2
	case 6:
		return 4
	}
	return fallback
}

// imgChannelsBMP derives channels from the bit depth: palettes and 24-bit
// pixels are RGB; 32-bit pixels carry alpha only with a V4 or V5 header,
// which is when x/image/bmp honours it.
func imgChannelsBMP(head []byte, fallback int) int {
	if len(head) < 30 {
		return fallback
	}
	infoLen := binary.LittleEndian.Uint32(head[14:18])
	switch bpp := binary.LittleEndian.Uint16(head[28:30]); {
	case bpp <= 24:
		return 3
	case bpp == 32 && infoLen > 40:
		return 4
	case bpp == 32:
		return 3
	}
	return fallback
}

// imgChannelsWebP reads the alpha flag of a lossless (VP8L) bitstream, which
// x/image/webp reports as NRGBA whether or not alpha is used.
func imgChannelsWebP(head []byte, fallback int) int {
	if len(head) < 25 || string(head[12:16]) != "VP8L" || head[20] != 0x2f {
		return fallback
	}
	if binary.LittleEndian.Uint32(head[21:25])>>28&1 == 1 {
		return 4
	}
	return 3
}
