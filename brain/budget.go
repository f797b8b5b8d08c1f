package brain

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
)

// Decode memory bounds. The image package decodes a whole image at its
// full size before it is resized to the model input, so what decoding
// costs follows from the declared size and pixel format, which are read
// (image.DecodeConfig) before anything is decoded.
const (
	// MaxDecodeBytes bounds the memory one image may take to decode, as
	// estimated by decodeBytes: 256 MiB, a 64-megapixel 8-bit RGBA PNG.
	// A 16-bit RGBA PNG may have 33 megapixels (22 when interlaced), a
	// baseline 4:2:0 JPEG any size within DefaultMaxPixels, a progressive
	// one 35. A larger PNG is decoded reduced (decodeShrunk); a larger
	// image of another format is skipped with ErrImageTooLarge before it
	// is decoded.
	MaxDecodeBytes = 256 << 20
	// DecodeBudget bounds the memory all decoding in the process takes at
	// once, whatever the number of cores or of runs: 384 MiB of encoded
	// files being decoded plus their estimated decode memory. A worker
	// waits for its share before it decodes.
	DecodeBudget = 384 << 20
)

// decodeBudget is the process-wide DecodeBudget that every Embed draws on.
var decodeBudget = newByteBudget(DecodeBudget)

// byteBudget is a weighted semaphore over bytes, granted in arrival order.
type byteBudget struct {
	mu      sync.Mutex
	total   int64
	free    int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newByteBudget(total int64) *byteBudget {
	return &byteBudget{total: total, free: total}
}

// acquire takes n bytes of the budget (at most its total), waiting until
// they are free or ctx is done. It returns the amount taken, to release.
func (b *byteBudget) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(max(n, 0), b.total)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return n, nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.free += n
			b.grant()
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.grant() // the waiters behind may fit now
		}
		return 0, ctx.Err()
	}
}

// release returns n bytes taken by acquire.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
	b.grant()
}

// grant wakes the waiters at the head of the queue that fit. Called with
// b.mu held.
func (b *byteBudget) grant() {
	for len(b.waiters) > 0 && b.waiters[0].n <= b.free {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.free -= w.n
		close(w.ready)
	}
}

// decodeBytes estimates the memory the image package allocates to decode
// an image of format with configuration cfg (data is the encoded file):
// the decoded image, plus a PNG's largest interlace pass and a progressive
// JPEG's coefficients (four bytes per sample). Unknown colour models count
// eight bytes a pixel.
func decodeBytes(format string, cfg image.Config, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "jpeg":
		samples, progressive := jpegFrame(data)
		cost := float64(px) * samples
		if progressive {
			cost *= 5 // the samples, and a 4-byte coefficient for each
		}
		return int64(cost)
	case "png":
		cost := px * bytesPerPixel(cfg.ColorModel)
		if len(data) > 28 && data[28] == 1 { // IHDR interlace method: Adam7
			cost += cost / 2 // the last pass, half the image, is decoded apart
		}
		return cost
	case "gif":
		return 2 * px // the frame, and the canvas it is drawn on
	}
	return px * bytesPerPixel(cfg.ColorModel)
}

// bytesPerPixel is the size of one pixel of an image in colour model m.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// jpegFrame reads a JPEG's frame header: the number of samples per pixel
// (1 for gray, 1.5 for 4:2:0 colour, 3 for 4:4:4, 4 for CMYK) and whether
// the image is progressive. Without a readable header it assumes the
// worst: three samples, progressive.
func jpegFrame(data []byte) (samples float64, progressive bool) {
	samples, progressive = 3, true
	jpegHeaderSegments(data, func(m byte, seg []byte) bool {
		if m < 0xC0 || m > 0xCF || m == 0xC4 || m == 0xC8 || m == 0xCC || len(seg) < 6 {
			return true // not a start-of-frame segment
		}
		n := int(seg[5])
		if n == 0 || len(seg) < 6+3*n {
			return false
		}
		hmax, vmax, blocks := 1, 1, 0
		for c := 0; c < n; c++ {
			h, v := int(seg[6+3*c+1]>>4), int(seg[6+3*c+1]&15)
			hmax, vmax = max(hmax, h), max(vmax, v)
			blocks += max(h, 1) * max(v, 1)
		}
		samples = float64(blocks) / float64(hmax*vmax)
		progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
		return false
	})
	return samples, progressive
}

// jpegSubsampledRestarts reports whether a JPEG is progressive, has
// subsampled chroma and defines a restart interval before its first scan:
// the kind of valid file that Go's image/jpeg cannot decode, since in a
// scan of one component it expects a restart marker after every interval
// of whole MCUs instead of every interval of blocks.
func jpegSubsampledRestarts(data []byte) bool {
	samples, progressive := jpegFrame(data)
	if !progressive || samples == 1 || samples == 3 || samples == 4 {
		return false
	}
	restarts := false
	jpegHeaderSegments(data, func(m byte, seg []byte) bool {
		if m == 0xDD { // define restart interval
			restarts = len(seg) >= 2 && binary.BigEndian.Uint16(seg) > 0
			return false
		}
		return true
	})
	return restarts
}

// errDecodeTooLarge is wrapped, beside ErrImageTooLarge, by the errors of
// checkDecodeBytes: the image is within the pixel limit, but the image
// package would need too much memory to decode it whole.
var errDecodeTooLarge = errors.New("too large to decode whole")

// checkDecodeBytes refuses an image whose decoding would take more than
// max bytes.
func checkDecodeBytes(format string, cfg image.Config, cost, max int64) error {
	if cost > max {
		return fmt.Errorf("%w: %s of %dx%d pixels needs about %d MiB to decode, limit %d MiB%w",
			ErrImageTooLarge, format, cfg.Width, cfg.Height, cost>>20, max>>20, quietError{errDecodeTooLarge})
	}
	return nil
}

// quietError wraps an error without adding to the message.
type quietError struct{ err error }

func (q quietError) Error() string { return "" }
func (q quietError) Unwrap() error { return q.err }
