package quality

import (
	"image"
	"math"

	"golang.org/x/image/draw"

	"github.com/fosql/fosql/zoo"
)

// Twins: two pictures of one shape (aspect ratios within twinAspect of
// each other) whose twinSide x twinSide luma thumbnails, each standardised
// (zero mean, unit variance), differ by a mean squared difference under
// twinTolerance, as they are or with one mirrored, are one picture under
// the benchmark's own transforms: Tux Paint's b and d, p and q, < and >
// are each other's mirror image. Measured on the stamps: those pairs at
// 0.0007 and below, distinct stamps at 0.01 (l and I) and above.
const (
	twinSide      = 24
	twinAspect    = 0.03
	twinTolerance = 0.005
)

// twin is what the comparison keeps of a picture.
type twin struct {
	luma   []float64 // standardised thumbnail, row-major
	aspect float64
}

// newTwin makes a picture's thumbnail, composited as the brain sees it.
func newTwin(img image.Image) twin {
	o := zoo.Opaque(img)
	dst := image.NewRGBA(image.Rect(0, 0, twinSide, twinSide))
	draw.CatmullRom.Scale(dst, dst.Rect, o, o.Rect, draw.Src, nil)
	v := make([]float64, twinSide*twinSide)
	var mean float64
	for i := range v {
		p := dst.Pix[4*i : 4*i+3]
		v[i] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		mean += v[i]
	}
	mean /= float64(len(v))
	var ss float64
	for i := range v {
		v[i] -= mean
		ss += v[i] * v[i]
	}
	if sd := math.Sqrt(ss / float64(len(v))); sd > 0 {
		for i := range v {
			v[i] /= sd
		}
	}
	b := img.Bounds()
	return twin{luma: v, aspect: float64(b.Dx()) / float64(b.Dy())}
}

// of reports whether t and u are one picture, as they are or mirrored.
func (t twin) of(u twin) bool {
	if math.Abs(t.aspect-u.aspect) > twinAspect*max(t.aspect, u.aspect) {
		return false
	}
	var same, mirrored float64
	for y := range twinSide {
		row := t.luma[y*twinSide : (y+1)*twinSide]
		other := u.luma[y*twinSide : (y+1)*twinSide]
		for x, a := range row {
			e, f := a-other[x], a-other[twinSide-1-x]
			same += e * e
			mirrored += f * f
		}
	}
	n := float64(len(t.luma))
	return min(same, mirrored)/n < twinTolerance
}

// leaveOutTwins drops from c every original that is a twin of one before
// it, counting it among the natural duplicates.
func leaveOutTwins(c *Collection) error {
	var kept []Original
	var twins []twin
	for _, o := range c.Originals {
		img, err := decodeFile(o.Path)
		if err != nil {
			return err
		}
		t := newTwin(img)
		seen := false
		for _, u := range twins {
			if t.of(u) {
				seen = true
				break
			}
		}
		if seen {
			c.Natural++
			continue
		}
		kept = append(kept, o)
		twins = append(twins, t)
	}
	c.Originals = kept
	return nil
}
