package brain

import "encoding/binary"

// jpegOrientation returns the EXIF orientation (1–8) stored in a JPEG's APP1
// segment, or 1 when the data is not a JPEG, has no Exif segment, or the tag
// is missing or malformed. Only the markers before the first scan are read.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	orientation := 1
	jpegHeaderSegments(data, func(m byte, seg []byte) bool {
		if m == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				orientation = o
				return false
			}
		}
		return true
	})
	return orientation
}

// tiffOrientation reads tag 0x0112 (Orientation) from IFD0 of a TIFF
// structure; 0 when absent or invalid.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// orientedSource maps a pixel (x, y) of the displayed image, of size w x h,
// to the pixel of the stored image that EXIF orientation o shows there. For
// orientations 5–8 the stored image is h x w.
func orientedSource(o, x, y, w, h int) (sx, sy int) {
	switch o {
	case 2: // mirrored horizontally
		return w - 1 - x, y
	case 3: // rotated 180°
		return w - 1 - x, h - 1 - y
	case 4: // mirrored vertically
		return x, h - 1 - y
	case 5: // transposed
		return y, x
	case 6: // stored rotated 90° counter-clockwise: display turns it clockwise
		return y, w - 1 - x
	case 7: // transverse
		return h - 1 - y, w - 1 - x
	case 8: // stored rotated 90° clockwise
		return h - 1 - y, x
	default:
		return x, y
	}
}

// swapsAxes reports whether orientation o exchanges width and height.
func swapsAxes(o int) bool { return o >= 5 && o <= 8 }

// jpegHeaderSegments calls each with the marker and payload of every
// segment of a JPEG's header, in order, up to its first scan, while each
// returns true. It stops at the first sign of a damaged header.
func jpegHeaderSegments(data []byte, each func(marker byte, payload []byte) bool) {
	i := 2
	for i+4 <= len(data) && data[i] == 0xFF {
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // markers without a length
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // start of scan, end of image
			return
		}
		length := int(binary.BigEndian.Uint16(data[i+2:]))
		if length < 2 || i+2+length > len(data) || !each(m, data[i+4:i+2+length]) {
			return
		}
		i += 2 + length
	}
}
