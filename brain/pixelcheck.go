package brain

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
)

// The pixel check compares a candidate pair of near-duplicates on small
// luma thumbnails: the row's picture is aligned onto the candidate's in
// their own proportions (mirrored or not, turned, scaled and shifted,
// within the bounds below), the sharper thumbnail is softened to the
// other's detail, and the pair scores the mean squared difference of the
// two standardised thumbnails over the best-matching pixelTrim share of
// the pixels they then share (more when few pixels stand out). A copy
// scores near 0 against its original; two distinct pictures that an
// embedding puts close score higher, since their pixels differ where the
// copy's do not. Keeping the proportions keeps apart pictures of one
// outline but another shape (a letter's capital and small forms);
// softening keeps a small copy, enlarged to the thumbnail, as near its
// original as a full-size one.
const (
	pixelSide     = 32                 // a thumbnail's side
	pixelTrim     = 0.95               // share of shared pixels scored
	pixelOverlap  = 0.6                // least share of the row's pixels the candidate must cover
	pixelMaxTurn  = 12 * math.Pi / 180 // largest turn tried
	pixelMinScale = 0.7                // scale bounds
	pixelMaxScale = 1.3
	pixelMaxSkew  = 1.05 // how much more one axis may be scaled than the other
	pixelFlat     = 1.0  // a thumbnail whose levels spread less than this (sd, of 255) is flat
	pixelNoMatch  = 9.0  // the score of a pair that cannot be aligned
	// pixelCacheRows is how many thumbnails (about 1.1 KiB each) a check
	// keeps; a larger collection has some of its pictures read again.
	pixelCacheRows = 1 << 18
)

// pixelThumb is one picture's thumbnail: pixelSide x pixelSide luma
// levels, row-major, stretched over the whole picture, with the
// picture's shape and the centroid and spread of its gradient energy
// (the alignment's first guess). Shape coordinates keep the picture's
// proportions: its longer side spans -1 to 1 and the other side -ax to
// ax or -ay to ay.
type pixelThumb struct {
	v              [pixelSide * pixelSide]uint8
	ax, ay         float64
	cx, cy, sx, sy float64
	// rx and ry are how many pixels of detail the thumbnail holds
	// across and down: fewer than pixelSide for a picture enlarged.
	rx, ry int
}

// newPixelThumb keeps levels (rounded to 8 bits: a thumbnail is 1 KiB)
// of a picture width x height pixels, and measures their gradient
// energy.
func newPixelThumb(levels []float32, width, height int) *pixelThumb {
	t := &pixelThumb{ax: 1, ay: 1, rx: pixelSide, ry: pixelSide}
	if width > 0 && height > 0 {
		aspect := float64(width) / float64(height)
		t.ax, t.ay = min(1, aspect), min(1, 1/aspect)
		t.rx, t.ry = min(width, pixelSide), min(height, pixelSide)
	}
	t.sx, t.sy = t.ax, t.ay
	for i, l := range levels {
		t.v[i] = uint8(math.Round(math.Max(0, math.Min(255, float64(l)))))
	}
	v := t.v[:]
	at := func(x, y int) float64 {
		x = max(0, min(pixelSide-1, x))
		y = max(0, min(pixelSide-1, y))
		return float64(v[y*pixelSide+x])
	}
	var w, mx, my, mxx, myy float64
	for y := range pixelSide {
		for x := range pixelSide {
			gx, gy := at(x+1, y)-at(x-1, y), at(x, y+1)-at(x, y-1)
			g := math.Sqrt(gx*gx + gy*gy)
			u, q := unitCoord(x), unitCoord(y)
			w += g
			mx += g * u
			my += g * q
			mxx += g * u * u
			myy += g * q * q
		}
	}
	if w > 0 {
		cx, cy := mx/w, my/w
		t.cx, t.cy = cx*t.ax, cy*t.ay
		t.sx = t.ax * math.Sqrt(math.Max(mxx/w-cx*cx, 1e-4))
		t.sy = t.ay * math.Sqrt(math.Max(myy/w-cy*cy, 1e-4))
	}
	return t
}

// unitCoord is the centre of pixel i of a thumbnail in coordinates from
// -1 to 1.
func unitCoord(i int) float64 { return (float64(i)+0.5)*2/pixelSide - 1 }

// alignment maps a row's shape coordinates p, mirrored first when mirror
// is set, to the candidate's: turn·(scale·skew·px, scale/skew·py) +
// (tx, ty).
type alignment struct {
	mirror                    bool
	turn, scale, skew, tx, ty float64
}

// pixelScorer scores pairs; its buffers make it one goroutine's.
type pixelScorer struct {
	a, b, r []float64
	soft    pixelThumb // a thumbnail softened for the pair at hand
}

// score is the pixel check's score of row c against candidate o: the
// best alignment's cost, found by a coordinate search, coarse on every
// other pixel first, from the best of these starts, as they are and
// mirrored: the identity, a scale of 0.9 or 1.1 (a border added or
// cropped away), and the guess the gradient moments make.
func (s *pixelScorer) score(c, o *pixelThumb) float64 {
	c, o = s.matchDetail(c, o)
	var starts []alignment
	for _, mirror := range []bool{false, true} {
		starts = append(starts, alignment{mirror: mirror, scale: 1, skew: 1})
		for _, k := range []float64{0.9, 1.1} {
			starts = append(starts, alignment{mirror: mirror, scale: k, skew: 1})
		}
		kx, ky := o.sx/c.sx, o.sy/c.sy
		a := alignment{mirror: mirror, scale: math.Sqrt(kx * ky), skew: math.Sqrt(kx / ky)}
		if a.valid() {
			ux := c.cx
			if mirror {
				ux = -ux
			}
			a.tx, a.ty = o.cx-kx*ux, o.cy-ky*c.cy
			starts = append(starts, a)
		}
	}
	best, bestCost := starts[0], pixelNoMatch
	for _, a := range starts {
		if cst := s.cost(c, o, a, 2); cst < bestCost {
			best, bestCost = a, cst
		}
	}
	// The coarse search keeps the proportions; the fine one may skew them.
	step := alignment{turn: 3 * math.Pi / 180, scale: 0.03, tx: 0.04, ty: 0.04}
	best, coarse := s.refine(c, o, best, step, 2, 2, 8)
	if coarse > pixelHopeless {
		return coarse // no copy: the fine search would not change that
	}
	step = step.scaled(0.25)
	step.skew = 0.01
	_, cst := s.refine(c, o, best, step, 1, 1, 2)
	return cst
}

// matchDetail returns c and o with the one that holds more detail
// softened to the other's: a picture enlarged to the thumbnail is
// blurred by it, and its copy at full size would differ from it by that
// blur alone.
func (s *pixelScorer) matchDetail(c, o *pixelThumb) (*pixelThumb, *pixelThumb) {
	lc, lo := min(c.rx, c.ry), min(o.rx, o.ry)
	switch {
	case 5*lc < 4*lo:
		s.soft = *o
		s.soft.soften(float64(lc) / float64(lo))
		return c, &s.soft
	case 5*lo < 4*lc:
		s.soft = *c
		s.soft.soften(float64(lo) / float64(lc))
		return &s.soft, o
	}
	return c, o
}

// soften resamples t's levels down to f of their detail along each axis
// and back up, as a picture that much smaller would be enlarged.
func (t *pixelThumb) soften(f float64) {
	nx, ny := max(2, int(math.Round(f*float64(t.rx)))), max(2, int(math.Round(f*float64(t.ry))))
	var small [pixelSide * pixelSide]float64
	// Down: each small pixel averages the thumbnail pixels it covers.
	for y := range ny {
		y0, y1 := y*pixelSide/ny, (y+1)*pixelSide/ny
		for x := range nx {
			x0, x1 := x*pixelSide/nx, (x+1)*pixelSide/nx
			var sum float64
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					sum += float64(t.v[yy*pixelSide+xx])
				}
			}
			small[y*nx+x] = sum / float64((y1-y0)*(x1-x0))
		}
	}
	// Up: bilinear, pixel centres aligned.
	for y := range pixelSide {
		fy := min(max((float64(y)+0.5)*float64(ny)/pixelSide-0.5, 0), float64(ny-1))
		y0 := int(fy)
		y1, wy := min(y0+1, ny-1), fy-float64(y0)
		for x := range pixelSide {
			fx := min(max((float64(x)+0.5)*float64(nx)/pixelSide-0.5, 0), float64(nx-1))
			x0 := int(fx)
			x1, wx := min(x0+1, nx-1), fx-float64(x0)
			top := small[y0*nx+x0]*(1-wx) + small[y0*nx+x1]*wx
			bottom := small[y1*nx+x0]*(1-wx) + small[y1*nx+x1]*wx
			t.v[y*pixelSide+x] = uint8(math.Round(top*(1-wy) + bottom*wy))
		}
	}
}

// valid reports whether a lies within the search's bounds.
func (a alignment) valid() bool {
	return math.Abs(a.turn) <= pixelMaxTurn && a.scale >= pixelMinScale && a.scale <= pixelMaxScale &&
		a.skew >= 1/pixelMaxSkew-1e-9 && a.skew <= pixelMaxSkew+1e-9
}

// pixelHopeless is the coarse score above which a pair is scored no
// further: twice the largest score that can still matter to the rule
// (DefaultPixelBound / DefaultPixelShare, a rival's score that can make
// a candidate fail).
const pixelHopeless = 2 * DefaultPixelBound / DefaultPixelShare

// scaled returns a's parameters times f (a step of the search).
func (a alignment) scaled(f float64) alignment {
	return alignment{turn: a.turn * f, scale: a.scale * f, skew: a.skew * f, tx: a.tx * f, ty: a.ty * f}
}

// refine improves a by moving one parameter at a time by its step while
// the cost falls, in at most rounds passes over the parameters per step
// size, halving the steps halvings-1 times; the cost is taken over every
// stride-th pixel.
func (s *pixelScorer) refine(c, o *pixelThumb, a, step alignment, halvings, stride, rounds int) (alignment, float64) {
	cur := s.cost(c, o, a, stride)
	for range halvings {
		for moved, round := true, 0; moved && round < rounds; round++ {
			moved = false
			for k := range 5 {
				for _, sign := range [2]float64{-1, 1} {
					b := a
					switch k {
					case 0:
						b.turn += sign * step.turn
					case 1:
						b.scale += sign * step.scale
					case 2:
						if step.skew == 0 {
							continue
						}
						b.skew += sign * step.skew
					case 3:
						b.tx += sign * step.tx
					default:
						b.ty += sign * step.ty
					}
					if !b.valid() {
						continue
					}
					if cst := s.cost(c, o, b, stride); cst < cur {
						a, cur, moved = b, cst, true
						break
					}
				}
			}
		}
		step = step.scaled(0.5)
	}
	return a, cur
}

// cost is the trimmed mean squared difference of the standardised
// thumbnails under a, over every stride-th pixel of the row;
// pixelNoMatch when the candidate covers too little of the row or one
// side is flat and the other is not.
func (s *pixelScorer) cost(c, o *pixelThumb, a alignment, stride int) float64 {
	cs, sn := math.Cos(a.turn), math.Sin(a.turn)
	mu := 1.0
	if a.mirror {
		mu = -1
	}
	// The candidate's pixel coordinates of the row's pixel at unit
	// coordinates (u, v): (fu·u + fv·v + f0, gu·u + gv·v + g0).
	px, py := a.scale*a.skew*mu*c.ax, a.scale/a.skew*c.ay
	hx, hy := pixelSide/2/o.ax, pixelSide/2/o.ay
	fu, fv, f0 := hx*cs*px, -hx*sn*py, hx*a.tx+pixelSide/2-0.5
	gu, gv, g0 := hy*sn*px, hy*cs*py, hy*a.ty+pixelSide/2-0.5
	as, bs := s.a[:0], s.b[:0]
	var ma, mb, qa, qb float64 // sums of the levels and of their squares
	const edge = pixelSide - 1
	for j := stride / 2; j < pixelSide; j += stride {
		v := unitCoord(j)
		for i := stride / 2; i < pixelSide; i += stride {
			u := unitCoord(i)
			fx := fu*u + fv*v + f0
			fy := gu*u + gv*v + g0
			if fx < -0.5 || fy < -0.5 || fx > edge+0.5 || fy > edge+0.5 {
				continue
			}
			fx, fy = min(max(fx, 0), edge), min(max(fy, 0), edge)
			x0, y0 := int(fx), int(fy)
			x1, y1 := min(x0+1, edge), min(y0+1, edge)
			wx, wy := fx-float64(x0), fy-float64(y0)
			top := float64(o.v[y0*pixelSide+x0])*(1-wx) + float64(o.v[y0*pixelSide+x1])*wx
			bottom := float64(o.v[y1*pixelSide+x0])*(1-wx) + float64(o.v[y1*pixelSide+x1])*wx
			a, b := float64(c.v[j*pixelSide+i]), top*(1-wy)+bottom*wy
			as, bs = append(as, a), append(bs, b)
			ma, mb, qa, qb = ma+a, mb+b, qa+a*a, qb+b*b
		}
	}
	s.a, s.b = as, bs
	n := len(as)
	side := (pixelSide + stride - 1) / stride
	if float64(n) < pixelOverlap*float64(side*side) || n == 0 {
		return pixelNoMatch
	}
	ma /= float64(n)
	mb /= float64(n)
	sa := math.Sqrt(max(qa/float64(n)-ma*ma, 0))
	sb := math.Sqrt(max(qb/float64(n)-mb*mb, 0))
	if sa < pixelFlat || sb < pixelFlat {
		if sa < pixelFlat && sb < pixelFlat {
			return 0
		}
		return pixelNoMatch
	}
	// The sum of the squared residuals less the largest, set aside: up to
	// 1-pixelTrim of them, and at most half as many as the pixels that
	// stand out in either picture (by half a standard deviation from its
	// mean), so that a small drawing on a blank page is not set aside
	// whole. s.r keeps the largest.
	drop := n - max(1, int(pixelTrim*float64(n)))
	top := largest(s.r[:0])
	var sum float64
	stand := 0
	for k := range as {
		za, zb := (as[k]-ma)/sa, (bs[k]-mb)/sb
		if math.Abs(za) > 0.5 || math.Abs(zb) > 0.5 {
			stand++
		}
		e := (za - zb) * (za - zb)
		sum += e
		top = top.push(e, drop)
	}
	drop = min(drop, stand/2, len(top))
	for len(top) > drop {
		top = top.pop()
	}
	s.r = top
	for _, e := range top {
		sum -= e
	}
	return max(sum, 0) / float64(n-drop)
}

// largest keeps the largest values pushed into it, up to a count, as a
// min-heap: its first value is the smallest kept.
type largest []float64

// push adds x to h, which keeps at most k values, and returns it.
func (h largest) push(x float64, k int) largest {
	switch {
	case len(h) < k:
		h = append(h, x)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if h[p] <= h[i] {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
	case k > 0 && x > h[0]:
		h[0] = x
		h.down()
	}
	return h
}

// pop removes the smallest value kept.
func (h largest) pop() largest {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	h.down()
	return h
}

// down restores the heap after its first value grew.
func (h largest) down() {
	for i := 0; ; {
		m := 2*i + 1
		if m >= len(h) {
			return
		}
		if r := m + 1; r < len(h) && h[r] < h[m] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// PixelCheck scores candidate pairs of rows by their pictures' pixels
// for FindDuplicatesWithPixels. Its thumbnails are made from each row's
// media when first needed and kept; it may be used from several
// goroutines at once.
type PixelCheck struct {
	open    func(ctx context.Context, row int) (io.ReadCloser, error)
	pre     *preprocessor
	lim     limits
	mu      sync.Mutex
	thumbs  map[int]*pixelThumb
	failed  map[int]error // rows whose picture could not be made a thumbnail
	scratch sync.Pool     // *scratch
	scorers sync.Pool     // *pixelScorer
}

// NewPixelCheck returns a check whose row i's picture is read from
// open(ctx, i).
func NewPixelCheck(open func(ctx context.Context, row int) (io.ReadCloser, error)) *PixelCheck {
	spec := ModelSpec{Width: pixelSide, Height: pixelSide, Layout: NCHW, Channels: GRAY, Scale: 1}
	return &PixelCheck{open: open, pre: newPreprocessor(&spec), lim: limits{}.orDefault(),
		thumbs: map[int]*pixelThumb{}, failed: map[int]error{},
		scratch: sync.Pool{New: func() any { return new(scratch) }},
		scorers: sync.Pool{New: func() any { return new(pixelScorer) }}}
}

// thumb returns row's thumbnail, made on first use.
func (pc *PixelCheck) thumb(ctx context.Context, row int) (*pixelThumb, error) {
	pc.mu.Lock()
	t, ok := pc.thumbs[row]
	err := pc.failed[row]
	pc.mu.Unlock()
	if ok || err != nil {
		return t, err
	}
	v, w, h, err := pc.load(ctx, row)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("brain: pixel check: %w", err)
		if ctx.Err() == nil {
			pc.failed[row] = err
		}
		return nil, err
	}
	t = newPixelThumb(v, w, h)
	if len(pc.thumbs) >= pixelCacheRows {
		clear(pc.thumbs) // bounded memory: pictures beyond are read again
	}
	pc.thumbs[row] = t
	return t, nil
}

// load reads row's picture into thumbnail levels and its size.
func (pc *PixelCheck) load(ctx context.Context, row int) ([]float32, int, int, error) {
	rc, err := pc.open(ctx, row)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rc.Close()
	sc := pc.scratch.Get().(*scratch)
	defer pc.scratch.Put(sc)
	v := make([]float32, pixelSide*pixelSide)
	if err := pc.pre.loadTensor(ctx, rc, pc.lim, v, sc); err != nil {
		return nil, 0, 0, err
	}
	return v, sc.width, sc.height, nil
}

// Score is the pixel check's score of row i against candidate j: about 0
// for a copy, higher for distinct pictures.
func (pc *PixelCheck) Score(ctx context.Context, i, j int) (float64, error) {
	a, err := pc.thumb(ctx, i)
	if err != nil {
		return 0, err
	}
	b, err := pc.thumb(ctx, j)
	if err != nil {
		return 0, err
	}
	s := pc.scorers.Get().(*pixelScorer)
	defer pc.scorers.Put(s)
	return s.score(a, b), nil
}
