package zoo

import (
	"image"
	"math"
	"math/rand/v2"
	"sync"
)

// This file draws the originals of a synthetic set. Pictures are painted in
// floating point on a canvas, shapes with one pixel of anti-aliasing taken
// from their signed distance, and converted to 8-bit RGBA at the end.

// rgb is a colour with components in [0, 1].
type rgb [3]float64

// hsv converts hue (degrees), saturation and value to rgb.
func hsv(h, s, v float64) rgb {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	c := v * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch int(hp) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := v - c
	return rgb{r + m, g + m, b + m}
}

// lerp mixes a and b: t = 0 gives a, t = 1 gives b.
func lerp(a, b, t float64) float64 { return a + (b-a)*t }

func mixRGB(a, b rgb, t float64) rgb {
	return rgb{lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)}
}

func clamp01(v float64) float64 { return min(1, max(0, v)) }

// smooth is the smoothstep curve on [0, 1].
func smooth(t float64) float64 { return t * t * (3 - 2*t) }

// palette is a family of colours: hues around a centre, with an occasional
// complementary accent, and ranges of saturation and value. Originals that
// share a palette look related without being the same picture.
type palette struct {
	hue, spread  float64
	satLo, satHi float64
	valLo, valHi float64
	accent       float64 // probability of a complementary hue
}

func newPalette(r *rand.Rand) palette {
	p := palette{
		hue:    360 * r.Float64(),
		spread: 8 + 32*r.Float64(),
		valLo:  0.08 + 0.3*r.Float64(),
		valHi:  0.7 + 0.3*r.Float64(),
		accent: 0.1 + 0.25*r.Float64(),
	}
	if r.IntN(6) == 0 { // muted, nearly grey
		p.satLo, p.satHi = 0, 0.2+0.1*r.Float64()
	} else {
		p.satLo = 0.25 + 0.35*r.Float64()
		p.satHi = min(1, p.satLo+0.2+0.4*r.Float64())
	}
	return p
}

// color draws one colour of the family.
func (p palette) color(r *rand.Rand) rgb {
	h := p.hue + (2*r.Float64()-1)*p.spread
	if r.Float64() < p.accent {
		h += 180
	}
	return hsv(h, lerp(p.satLo, p.satHi, r.Float64()), lerp(p.valLo, p.valHi, r.Float64()))
}

// colors draws n colours of the family, making sure neighbours are far
// enough apart to be told apart.
func (p palette) colors(r *rand.Rand, n int) []rgb {
	out := make([]rgb, n)
	for i := range out {
		c := p.color(r)
		for try := 0; i > 0 && try < 8 && colourDistance(c, out[i-1]) < 0.3; try++ {
			c = p.color(r)
		}
		out[i] = c
	}
	return out
}

// colourDistance is the Euclidean distance of a and b in RGB.
func colourDistance(a, b rgb) float64 {
	d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return math.Sqrt(d0*d0 + d1*d1 + d2*d2)
}

// canvas is a floating-point RGB picture.
type canvas struct {
	w, h int
	pix  []float64 // 3 per pixel, row-major
}

// canvases recycles canvas buffers between pictures.
var canvases sync.Pool

// newCanvas returns a w x h canvas from the pool; its pixels are not
// cleared, so the first drawing step must fill it. Give it back with free.
func newCanvas(w, h int) *canvas {
	c, _ := canvases.Get().(*canvas)
	if c == nil {
		c = &canvas{}
	}
	c.w, c.h = w, h
	if n := 3 * w * h; cap(c.pix) >= n {
		c.pix = c.pix[:n]
	} else {
		c.pix = make([]float64, n)
	}
	return c
}

// free returns c to the pool.
func (c *canvas) free() { canvases.Put(c) }

// paint gives the colour at a point; field gives a value in [0, 1].
type (
	paint func(x, y float64) rgb
	field func(x, y float64) float64
)

func solid(c rgb) paint { return func(float64, float64) rgb { return c } }

// fill paints every pixel (sampled at its centre).
func (c *canvas) fill(p paint) {
	i := 0
	for y := 0; y < c.h; y++ {
		fy := float64(y) + 0.5
		for x := 0; x < c.w; x++ {
			col := p(float64(x)+0.5, fy)
			c.pix[i], c.pix[i+1], c.pix[i+2] = col[0], col[1], col[2]
			i += 3
		}
	}
}

// blend mixes col into pixel (x, y) with opacity a.
func (c *canvas) blend(x, y int, col rgb, a float64) {
	i := 3 * (y*c.w + x)
	c.pix[i] += (col[0] - c.pix[i]) * a
	c.pix[i+1] += (col[1] - c.pix[i+1]) * a
	c.pix[i+2] += (col[2] - c.pix[i+2]) * a
}

// shape is a region given by a signed distance in pixels (negative inside)
// and a bounding box that contains it.
type shape struct {
	x0, y0, x1, y1 float64
	sdf            func(x, y float64) float64
}

// draw paints s with p at opacity alpha, anti-aliased over one pixel.
func (c *canvas) draw(s shape, p paint, alpha float64) {
	x0, y0 := max(0, int(math.Floor(s.x0))-1), max(0, int(math.Floor(s.y0))-1)
	x1, y1 := min(c.w, int(math.Ceil(s.x1))+1), min(c.h, int(math.Ceil(s.y1))+1)
	for y := y0; y < y1; y++ {
		fy := float64(y) + 0.5
		for x := x0; x < x1; x++ {
			fx := float64(x) + 0.5
			cover := clamp01(0.5 - s.sdf(fx, fy))
			if cover > 0 {
				c.blend(x, y, p(fx, fy), cover*alpha)
			}
		}
	}
}

// blob adds a soft round spot of colour col with peak opacity peak.
func (c *canvas) blob(cx, cy, sigma float64, col rgb, peak float64) {
	reach := 3 * sigma
	x0, y0 := max(0, int(cx-reach)), max(0, int(cy-reach))
	x1, y1 := min(c.w, int(cx+reach)+1), min(c.h, int(cy+reach)+1)
	k := -1 / (2 * sigma * sigma)
	for y := y0; y < y1; y++ {
		dy := float64(y) + 0.5 - cy
		for x := x0; x < x1; x++ {
			dx := float64(x) + 0.5 - cx
			c.blend(x, y, col, peak*math.Exp(k*(dx*dx+dy*dy)))
		}
	}
}

// image converts the canvas to 8-bit opaque RGBA.
func (c *canvas) image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	for i, j := 0, 0; i < len(c.pix); i, j = i+3, j+4 {
		img.Pix[j] = to8(c.pix[i])
		img.Pix[j+1] = to8(c.pix[i+1])
		img.Pix[j+2] = to8(c.pix[i+2])
		img.Pix[j+3] = 0xff
	}
	return img
}

func to8(v float64) uint8 { return uint8(clamp01(v)*255 + 0.5) }

// Scene kinds of originals.
const (
	sceneGradient = iota // multi-stop gradient with soft spots
	sceneShapes          // overlapping shapes on a plain or graded ground
	sceneTexture         // stripes, checkers, rings or value noise, maybe two blended
	sceneMixed           // a texture ground with solid and textured shapes
	numScenes
)

// renderScene draws one original of the given scene kind and palette.
func renderScene(r *rand.Rand, w, h, scene int, pal palette) *image.RGBA {
	c := newCanvas(w, h)
	switch scene {
	case sceneGradient:
		drawGradientScene(r, c, pal)
	case sceneShapes:
		drawShapesScene(r, c, pal)
	case sceneTexture:
		drawTextureScene(r, c, pal)
	default:
		drawMixedScene(r, c, pal)
	}
	img := c.image()
	c.free()
	return img
}

func drawGradientScene(r *rand.Rand, c *canvas, pal palette) {
	c.fill(randomGradient(r, c.w, c.h, pal.colors(r, 3+r.IntN(2))))
	size := float64(min(c.w, c.h))
	spots := pal.colors(r, 3+r.IntN(4))
	for _, col := range spots {
		cx := lerp(0, 1, r.Float64()) * float64(c.w)
		cy := lerp(0, 1, r.Float64()) * float64(c.h)
		c.blob(cx, cy, size*lerp(0.06, 0.2, r.Float64()), col, lerp(0.6, 1, r.Float64()))
	}
}

func drawShapesScene(r *rand.Rand, c *canvas, pal palette) {
	ground := pal.colors(r, 2)
	if r.IntN(2) == 0 {
		c.fill(solid(ground[0]))
	} else {
		c.fill(linearGradient(r, c.w, c.h, ground))
	}
	n := 4 + r.IntN(11)
	for i := range n {
		s := randomShape(r, c.w, c.h, shapeScale(r, i, n))
		c.draw(s, solid(pal.color(r)), lerp(0.65, 1, r.Float64()))
	}
}

func drawTextureScene(r *rand.Rand, c *canvas, pal palette) {
	p := textured(r, c.w, c.h, pal)
	if r.IntN(2) == 0 {
		q := textured(r, c.w, c.h, pal)
		var mask field
		if r.IntN(2) == 0 {
			mask = halfPlane(r, c.w, c.h, lerp(1, 12, r.Float64()))
		} else {
			mask = threshold(noiseField(r, c.w, c.h), 0.5, 0.08)
		}
		p = mixPaint(p, q, mask)
	}
	c.fill(p)
}

func drawMixedScene(r *rand.Rand, c *canvas, pal palette) {
	c.fill(textured(r, c.w, c.h, pal))
	n := 2 + r.IntN(6)
	for i := range n {
		s := randomShape(r, c.w, c.h, shapeScale(r, i, n))
		p := solid(pal.color(r))
		if r.IntN(5) < 2 {
			p = textured(r, c.w, c.h, pal)
		}
		c.draw(s, p, lerp(0.75, 1, r.Float64()))
	}
}

// shapeScale is the size of shape i of n as a share of the shorter side:
// large shapes first, smaller ones on top.
func shapeScale(r *rand.Rand, i, n int) float64 {
	return lerp(0.42, 0.1, float64(i)/float64(n)) * lerp(0.6, 1.4, r.Float64())
}

// randomShape returns a rectangle, ellipse, triangle, thick line or ring of
// roughly scale times the shorter side, centred anywhere in the picture.
func randomShape(r *rand.Rand, w, h int, scale float64) shape {
	size := scale * float64(min(w, h))
	cx, cy := float64(w)*r.Float64(), float64(h)*r.Float64()
	theta := math.Pi * r.Float64()
	cos, sin := math.Cos(theta), math.Sin(theta)
	local := func(x, y float64) (float64, float64) {
		dx, dy := x-cx, y-cy
		return dx*cos + dy*sin, -dx*sin + dy*cos
	}
	switch r.IntN(5) {
	case 0: // rectangle
		hx, hy := size*lerp(0.3, 1, r.Float64()), size*lerp(0.3, 1, r.Float64())
		reach := math.Hypot(hx, hy)
		return shape{cx - reach, cy - reach, cx + reach, cy + reach, func(x, y float64) float64 {
			u, v := local(x, y)
			qx, qy := math.Abs(u)-hx, math.Abs(v)-hy
			return math.Hypot(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0)
		}}
	case 1: // ellipse
		a, b := size*lerp(0.3, 1, r.Float64()), size*lerp(0.3, 1, r.Float64())
		reach := max(a, b)
		return shape{cx - reach, cy - reach, cx + reach, cy + reach, func(x, y float64) float64 {
			u, v := local(x, y)
			return ellipseDistance(u, v, a, b)
		}}
	case 2: // triangle
		var px, py [3]float64
		for k := range 3 {
			ang := 2*math.Pi*float64(k)/3 + lerp(-0.5, 0.5, r.Float64())
			rad := size * lerp(0.5, 1.2, r.Float64())
			px[k], py[k] = cx+rad*math.Cos(theta+ang), cy+rad*math.Sin(theta+ang)
		}
		return triangle(px, py)
	case 3: // thick line
		length := size * lerp(1, 2.5, r.Float64())
		half := lerp(1, 0.12*size+1.5, r.Float64())
		ax, ay := cx-cos*length/2, cy-sin*length/2
		bx, by := cx+cos*length/2, cy+sin*length/2
		return shape{min(ax, bx) - half, min(ay, by) - half, max(ax, bx) + half, max(ay, by) + half,
			func(x, y float64) float64 { return segmentDistance(x, y, ax, ay, bx, by) - half }}
	default: // ring
		a, b := size*lerp(0.4, 1, r.Float64()), size*lerp(0.4, 1, r.Float64())
		half := max(1, min(a, b)*lerp(0.08, 0.3, r.Float64()))
		reach := max(a, b) + half
		return shape{cx - reach, cy - reach, cx + reach, cy + reach, func(x, y float64) float64 {
			u, v := local(x, y)
			return math.Abs(ellipseDistance(u, v, a, b)) - half
		}}
	}
}

// ellipseDistance approximates the signed distance from (u, v) to the
// axis-aligned ellipse with semi-axes a and b.
func ellipseDistance(u, v, a, b float64) float64 {
	k0 := math.Hypot(u/a, v/b)
	k1 := math.Hypot(u/(a*a), v/(b*b))
	if k1 == 0 {
		return -min(a, b)
	}
	return k0 * (k0 - 1) / k1
}

// segmentDistance is the distance from (x, y) to the segment a-b.
func segmentDistance(x, y, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = clamp01(((x-ax)*dx + (y-ay)*dy) / l2)
	}
	return math.Hypot(x-ax-t*dx, y-ay-t*dy)
}

// triangle returns the triangle with the given corners; its distance is the
// largest signed distance to the three edge lines, exact along the edges.
func triangle(px, py [3]float64) shape {
	// Order the corners so that (p1-p0) x (p2-p0) is positive.
	if (px[1]-px[0])*(py[2]-py[0])-(py[1]-py[0])*(px[2]-px[0]) < 0 {
		px[1], px[2] = px[2], px[1]
		py[1], py[2] = py[2], py[1]
	}
	var nx, ny, off [3]float64
	for k := range 3 {
		j := (k + 1) % 3
		ex, ey := px[j]-px[k], py[j]-py[k]
		l := math.Hypot(ex, ey)
		if l == 0 {
			l = 1
		}
		// Outward normal of edge k for that ordering.
		nx[k], ny[k] = ey/l, -ex/l
		off[k] = nx[k]*px[k] + ny[k]*py[k]
	}
	return shape{
		min(px[0], px[1], px[2]), min(py[0], py[1], py[2]),
		max(px[0], px[1], px[2]), max(py[0], py[1], py[2]),
		func(x, y float64) float64 {
			d := math.Inf(-1)
			for k := range 3 {
				d = max(d, nx[k]*x+ny[k]*y-off[k])
			}
			return d
		},
	}
}

// randomGradient is a linear or radial gradient through stops.
func randomGradient(r *rand.Rand, w, h int, stops []rgb) paint {
	if r.IntN(3) == 0 {
		return radialGradient(r, w, h, stops)
	}
	return linearGradient(r, w, h, stops)
}

// linearGradient runs through stops along a random direction.
func linearGradient(r *rand.Rand, w, h int, stops []rgb) paint {
	theta := 2 * math.Pi * r.Float64()
	cos, sin := math.Cos(theta), math.Sin(theta)
	cx, cy := float64(w)/2, float64(h)/2
	extent := math.Abs(float64(w)*cos) + math.Abs(float64(h)*sin)
	ramp := colourRamp(r, stops)
	return func(x, y float64) rgb {
		return ramp(((x-cx)*cos+(y-cy)*sin)/extent + 0.5)
	}
}

// radialGradient runs through stops outwards from a random centre.
func radialGradient(r *rand.Rand, w, h int, stops []rgb) paint {
	cx, cy := float64(w)*r.Float64(), float64(h)*r.Float64()
	radius := float64(max(w, h)) * lerp(0.5, 1.2, r.Float64())
	ramp := colourRamp(r, stops)
	return func(x, y float64) rgb {
		return ramp(math.Hypot(x-cx, y-cy) / radius)
	}
}

// colourRamp maps [0, 1] through stops placed at sorted random positions.
func colourRamp(r *rand.Rand, stops []rgb) func(t float64) rgb {
	pos := make([]float64, len(stops))
	for i := 1; i < len(pos); i++ {
		pos[i] = float64(i) / float64(len(pos)-1)
		if i < len(pos)-1 {
			pos[i] += lerp(-0.15, 0.15, r.Float64()) / float64(len(pos)-1)
		}
	}
	return func(t float64) rgb {
		t = clamp01(t)
		for i := 1; i < len(pos); i++ {
			if t <= pos[i] {
				return mixRGB(stops[i-1], stops[i], smooth((t-pos[i-1])/(pos[i]-pos[i-1])))
			}
		}
		return stops[len(stops)-1]
	}
}

// textured is a random field coloured with colours of pal. The colours
// themselves drift across the picture along a random direction, so that
// even a fine, regular texture has large-scale structure of its own.
func textured(r *rand.Rand, w, h int, pal palette) paint {
	f := randomField(r, w, h)
	n := 2 + r.IntN(2)
	near, far := colourRamp(r, pal.colors(r, n)), colourRamp(r, pal.colors(r, n))
	drift := halfPlane(r, w, h, lerp(0.25, 0.6, r.Float64())*float64(max(w, h)))
	return func(x, y float64) rgb {
		v := f(x, y)
		return mixRGB(near(v), far(v), drift(x, y))
	}
}

// mixPaint shows a where mask is 0 and b where it is 1.
func mixPaint(a, b paint, mask field) paint {
	return func(x, y float64) rgb { return mixRGB(a(x, y), b(x, y), mask(x, y)) }
}

// halfPlane is 0 on one side of a random line through the middle part of
// the picture and 1 on the other, changing over a band of width soft.
func halfPlane(r *rand.Rand, w, h int, soft float64) field {
	theta := 2 * math.Pi * r.Float64()
	cos, sin := math.Cos(theta), math.Sin(theta)
	cx, cy := float64(w)*lerp(0.25, 0.75, r.Float64()), float64(h)*lerp(0.25, 0.75, r.Float64())
	return func(x, y float64) float64 { return smooth(clamp01(0.5 + ((x-cx)*cos+(y-cy)*sin)/soft)) }
}

// threshold turns f into a mask: 0 below at, 1 above, over a band of width.
func threshold(f field, at, width float64) field {
	return func(x, y float64) float64 { return smooth(clamp01((f(x, y)-at)/width + 0.5)) }
}

// randomField is stripes, checkers, rings or value noise.
func randomField(r *rand.Rand, w, h int) field {
	switch r.IntN(5) {
	case 0:
		return stripesField(r)
	case 1:
		return checkersField(r)
	case 2:
		return ringsField(r, w, h)
	default:
		return noiseField(r, w, h)
	}
}

// wave turns a phase (in cycles) into a sinusoid or, with sharp, a square
// wave whose edges are about one pixel wide given perPixel cycles per pixel.
func wave(t, perPixel float64, sharp bool) float64 {
	s := math.Sin(2 * math.Pi * t)
	if !sharp {
		return 0.5 + 0.5*s
	}
	return clamp01(0.5 + s/(2*math.Pi*perPixel))
}

func stripesField(r *rand.Rand) field {
	freq := 1 / lerp(5, 40, r.Float64()) // cycles per pixel
	theta := math.Pi * r.Float64()
	cos, sin := math.Cos(theta), math.Sin(theta)
	phase := r.Float64()
	sharp := r.IntN(5) < 3
	return func(x, y float64) float64 { return wave((x*cos+y*sin)*freq+phase, freq, sharp) }
}

func checkersField(r *rand.Rand) field {
	cell := lerp(5, 24, r.Float64())
	theta := math.Pi / 2 * r.Float64()
	cos, sin := math.Cos(theta), math.Sin(theta)
	ox, oy := cell*r.Float64(), cell*r.Float64()
	slope := math.Pi / cell
	return func(x, y float64) float64 {
		u, v := x*cos+y*sin+ox, -x*sin+y*cos+oy
		return clamp01(0.5 + math.Sin(slope*u)*math.Sin(slope*v)/slope)
	}
}

func ringsField(r *rand.Rand, w, h int) field {
	cx, cy := float64(w)*lerp(-0.2, 1.2, r.Float64()), float64(h)*lerp(-0.2, 1.2, r.Float64())
	freq := 1 / lerp(6, 30, r.Float64())
	phase := r.Float64()
	sharp := r.IntN(2) == 0
	return func(x, y float64) float64 { return wave(math.Hypot(x-cx, y-cy)*freq+phase, freq, sharp) }
}

// noiseField is fractal value noise: octaves of random values on ever finer
// lattices, smoothly interpolated, stretched to fill [0, 1].
func noiseField(r *rand.Rand, w, h int) field {
	type octave struct {
		cell, amp float64
		gw        int
		vals      []float64
	}
	cell := lerp(8, 48, r.Float64())
	n := 1 + r.IntN(4)
	octs := make([]octave, 0, n)
	amp, total := 1.0, 0.0
	for range n {
		gw, gh := int(float64(w)/cell)+2, int(float64(h)/cell)+2
		vals := make([]float64, gw*gh)
		for i := range vals {
			vals[i] = r.Float64()
		}
		octs = append(octs, octave{cell: cell, amp: amp, gw: gw, vals: vals})
		total += amp
		cell = max(2, cell/2)
		amp *= 0.5
	}
	stretch := lerp(1.4, 2.2, r.Float64())
	return func(x, y float64) float64 {
		sum := 0.0
		for _, o := range octs {
			gx, gy := x/o.cell, y/o.cell
			ix, iy := int(gx), int(gy)
			tx, ty := smooth(gx-float64(ix)), smooth(gy-float64(iy))
			i := iy*o.gw + ix
			top := lerp(o.vals[i], o.vals[i+1], tx)
			bottom := lerp(o.vals[i+o.gw], o.vals[i+o.gw+1], tx)
			sum += o.amp * lerp(top, bottom, ty)
		}
		return clamp01((sum/total-0.5)*stretch + 0.5)
	}
}
