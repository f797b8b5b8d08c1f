package brain

// Rotation wedges. A picture turned by a few degrees and kept at its size
// shows, at each corner, a thin triangle that the turn uncovered, filled
// with one colour (white or black, as editors and libraries fill it). On
// a dark or plain picture those four bright or dark wedges outweigh the
// picture itself, and turned copies of different pictures end up nearer
// each other than their originals. A model whose spec asks for it
// (ModelSpec.FillRotationCorners) sees each wedge painted over by the
// picture's own pixels just beyond it.
//
// A wedge is recognised by its shape, one per corner, the four turning the
// same way (a pinwheel): from the corner, along one edge, every line across
// that edge starts with a run of the corner's colour no longer than the
// first one, the runs end before three quarters of the edge, and the
// wedge is several times longer than deep. A plain background (runs
// across the whole picture), a border (runs along the whole edge), a
// rounded corner (as long as deep) and a picture touching its corners (no
// run) are not wedges. Turns of about 2 to 15 degrees either way are
// found; a larger turn leaves wedges too deep to tell from a picture's
// own corners.

// How wedges are recognised and painted.
const (
	// wedgeLevels is how far, in 8-bit levels, a wedge's pixels may lie
	// from its corner's colour in every channel.
	wedgeLevels = 20
	// wedgeMinCorners is how many of the four corners must hold a wedge.
	wedgeMinCorners = 3
	// wedgeLength is how many times longer than deep a wedge is at
	// least: tan(90° − θ) for a turn by θ, 3 up to about 18 degrees.
	wedgeLength = 3
	// wedgeBlur is how many pixels beyond a wedge's run are painted over
	// too, and where the paint is taken from: the run's edge is blended
	// with the fill by the turn's interpolation (more pixels in a small
	// picture enlarged to the input).
	wedgeBlur = 2
)

// wedge is one corner's wedge: runs[i] is the length of the run of the
// corner's colour on the i-th line across the edge it lies along.
type wedge struct {
	corner, orient int
	runs           []int
}

// tensorAt returns the index of channel c of pixel (x, y) in a tensor of
// the preprocessor's layout.
func (p *preprocessor) tensorAt(c, x, y int) int {
	if p.layout == NHWC {
		return (y*p.width+x)*p.channels() + c
	}
	return c*p.width*p.height + y*p.width + x
}

// cornerPixel maps step i along the edge and step j inward from it, at
// corner (bit 0: right, bit 1: bottom) with the wedge along the vertical
// edge (orient 0) or the horizontal one (orient 1), to a pixel.
func (p *preprocessor) cornerPixel(corner, orient, i, j int) (x, y int) {
	if orient == 0 {
		x, y = j, i
	} else {
		x, y = i, j
	}
	if corner&1 == 1 {
		x = p.width - 1 - x
	}
	if corner&2 == 2 {
		y = p.height - 1 - y
	}
	return x, y
}

// edges returns the length of the edge a wedge of orient lies along and
// the picture's extent inward from it.
func (p *preprocessor) edges(orient int) (along, inward int) {
	if orient == 0 {
		return p.height, p.width
	}
	return p.width, p.height
}

// fillWedges paints over the rotation wedges of tensor t, when at least
// wedgeMinCorners corners hold one of a pinwheel, and reports whether it
// did. blur is how wide, in pixels of t, an edge blended with the fill
// may be: wedgeBlur, or more for a small picture enlarged to the input.
func (p *preprocessor) fillWedges(t []float32, blur int) bool {
	var tol [3]float32
	for c := range p.channels() {
		tol[c] = p.levels(c, wedgeLevels)
	}
	var found []wedge
	for turn := range 2 {
		var ws []wedge
		for corner := range 4 {
			// Turned one way, the wedges lie along the left edge at the top
			// left, the top edge at the top right, and so round.
			orient := (corner & 1) ^ (corner >> 1) ^ turn
			if w, ok := p.findWedge(t, corner, orient, &tol, blur); ok {
				ws = append(ws, w)
			}
		}
		if len(ws) > len(found) {
			found = ws
		}
	}
	if len(found) < wedgeMinCorners {
		return false
	}
	for _, w := range found {
		p.paintWedge(t, w, blur)
	}
	return true
}

// findWedge looks for a wedge at corner along the edge orient names.
func (p *preprocessor) findWedge(t []float32, corner, orient int, tol *[3]float32, blur int) (wedge, bool) {
	along, inward := p.edges(orient)
	ch := p.channels()
	maxRun := inward / 5
	x0, y0 := p.cornerPixel(corner, orient, 0, 0)
	var fill, beyond [3]float32
	for c := range ch {
		fill[c] = t[p.tensorAt(c, x0, y0)]
	}
	// like: the pixel is within tol of the fill (near), or nearer the fill
	// than the line's pixel beyond any wedge (an edge blended with the
	// fill).
	like := func(i, j int) (yes, near bool) {
		x, y := p.cornerPixel(corner, orient, i, j)
		near = true
		var toFill, toBeyond float32
		for c := range ch {
			v := t[p.tensorAt(c, x, y)]
			d := v - fill[c]
			near = near && d <= tol[c] && d >= -tol[c]
			toFill += d * d
			toBeyond += (v - beyond[c]) * (v - beyond[c])
		}
		return near || toFill < toBeyond, near
	}
	var runs []int
	for i := range along {
		bx, by := p.cornerPixel(corner, orient, i, min(maxRun+1, inward-1))
		contrast := false
		for c := range ch {
			beyond[c] = t[p.tensorAt(c, bx, by)]
			d := beyond[c] - fill[c]
			contrast = contrast || d > 2*tol[c] || d < -2*tol[c]
		}
		if !contrast {
			beyond = fill // no blend to find: only the tolerance counts
		}
		r, blended := 0, 0
		for r <= maxRun+1 && r < inward {
			yes, near := like(i, r)
			if !yes {
				break
			}
			if !near {
				blended++
			}
			r++
		}
		// A blended edge is a pixel or two wide; a longer ramp is a
		// gradient of the picture.
		if blended > blur+1 {
			return wedge{}, false
		}
		if r == 0 {
			break
		}
		// Runs may not grow away from the corner (by more than a pixel of
		// rounding) nor reach deep into the picture.
		if r > maxRun || (i > 0 && r > runs[i-1]+1) || (i > 0 && r > runs[0]+1) {
			return wedge{}, false
		}
		runs = append(runs, r)
	}
	// A turn of a few degrees leaves a wedge several times longer than
	// deep; a rounded corner is as long as it is deep.
	if len(runs) == 0 || len(runs) < along/8 || len(runs) > along*3/4 || len(runs) < wedgeLength*runs[0] {
		return wedge{}, false
	}
	return wedge{corner: corner, orient: orient, runs: runs}, true
}

// paintWedge paints each line of w, its run and the blended pixels after
// it, with the first pixel beyond them.
func (p *preprocessor) paintWedge(t []float32, w wedge, blur int) {
	_, inward := p.edges(w.orient)
	ch := p.channels()
	for i, r := range w.runs {
		src := min(r+blur, inward-1)
		sx, sy := p.cornerPixel(w.corner, w.orient, i, src)
		for j := range src {
			x, y := p.cornerPixel(w.corner, w.orient, i, j)
			for c := range ch {
				t[p.tensorAt(c, x, y)] = t[p.tensorAt(c, sx, sy)]
			}
		}
	}
}
