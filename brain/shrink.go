package brain

import "image"

// shrinkFactor is the integer box-filter factor that brings a w x h image
// to no less than twice a tw x th target, or 1 when no shrinking is due.
func shrinkFactor(w, h, tw, th int) int {
	return max(1, min(w/(2*tw), h/(2*th)))
}

// boxShrink averages f x f blocks of img (f >= 2), the cheap anti-aliasing
// step before the final interpolation of a large image. YCbCr (JPEG), Gray
// and RGBA images take fast paths; other types are returned unchanged (the
// interpolator then filters them at full size). Partial blocks at the right
// and bottom edges are dropped.
func boxShrink(img image.Image, f int) image.Image {
	switch src := img.(type) {
	case *image.YCbCr:
		return shrinkYCbCr(src, f)
	case *image.Gray:
		b := src.Rect
		w, h := b.Dx()/f, b.Dy()/f
		out := image.NewGray(image.Rect(0, 0, w, h))
		boxPlane(out.Pix, out.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, w, h, f, f, 1)
		return out
	case *image.RGBA:
		b := src.Rect
		w, h := b.Dx()/f, b.Dy()/f
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		boxPlane(out.Pix, out.Stride, src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, w, h, f, f, 4)
		return out
	}
	return img
}

// boxPlane writes into dst (w x h samples of size ch bytes, ch 1 or 4) the
// averages of fx x fy blocks of src.
func boxPlane(dst []uint8, dstStride int, src []uint8, srcStride, w, h, fx, fy, ch int) {
	acc := make([]uint32, w*ch)
	n := uint32(fx * fy)
	for y := 0; y < h; y++ {
		clear(acc)
		for r := 0; r < fy; r++ {
			row := src[(y*fy+r)*srcStride:]
			if ch == 1 {
				row = row[:w*fx]
				for x := range acc {
					var s uint32
					for _, v := range row[x*fx : x*fx+fx] {
						s += uint32(v)
					}
					acc[x] += s
				}
				continue
			}
			row = row[:w*fx*4]
			for x := 0; x < w; x++ {
				var s0, s1, s2, s3 uint32
				blk := row[x*fx*4 : (x+1)*fx*4]
				for k := 0; k+3 < len(blk); k += 4 {
					s0 += uint32(blk[k])
					s1 += uint32(blk[k+1])
					s2 += uint32(blk[k+2])
					s3 += uint32(blk[k+3])
				}
				a := acc[4*x : 4*x+4]
				a[0] += s0
				a[1] += s1
				a[2] += s2
				a[3] += s3
			}
		}
		out := dst[y*dstStride : y*dstStride+w*ch]
		for i, v := range acc {
			out[i] = uint8((v + n/2) / n)
		}
	}
}

// shrinkYCbCr box-filters each plane at its own resolution and returns a
// 4:4:4 image (averaging commutes with the affine YCbCr -> RGB map).
func shrinkYCbCr(src *image.YCbCr, f int) *image.YCbCr {
	b := src.Rect
	w, h := b.Dx()/f, b.Dy()/f
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	boxPlane(out.Y, out.YStride, src.Y[src.YOffset(b.Min.X, b.Min.Y):], src.YStride, w, h, f, f, 1)
	sx, sy := 1, 1
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		sx = 2
	case image.YCbCrSubsampleRatio420:
		sx, sy = 2, 2
	case image.YCbCrSubsampleRatio440:
		sy = 2
	case image.YCbCrSubsampleRatio411:
		sx = 4
	case image.YCbCrSubsampleRatio410:
		sx, sy = 4, 2
	}
	if f%sx == 0 && f%sy == 0 && b.Min.X%sx == 0 && b.Min.Y%sy == 0 {
		off := src.COffset(b.Min.X, b.Min.Y)
		boxPlane(out.Cb, out.CStride, src.Cb[off:], src.CStride, w, h, f/sx, f/sy, 1)
		boxPlane(out.Cr, out.CStride, src.Cr[off:], src.CStride, w, h, f/sx, f/sy, 1)
		return out
	}
	// Blocks that do not align with the chroma grid: sample the chroma at
	// each block's centre.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := src.COffset(b.Min.X+x*f+f/2, b.Min.Y+y*f+f/2)
			out.Cb[y*out.CStride+x] = src.Cb[o]
			out.Cr[y*out.CStride+x] = src.Cr[o]
		}
	}
	return out
}
