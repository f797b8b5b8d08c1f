package query

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/fosql/fosql/db"
)

// NumPy's .npy format (numpy.lib.format, versions 1.0 to 3.0): the magic
// "\x93NUMPY", a version, a little-endian header length (2 bytes in 1.0,
// 4 in 2.0 and 3.0), a Python dict literal with descr, fortran_order and
// shape padded with spaces and ended by a newline so that the data starts
// at a multiple of 64 bytes, then the data in C order.

const npyMagic = "\x93NUMPY"

// npyHeader is what fosql reads of an .npy header: a 2-D float array.
type npyHeader struct {
	rows, cols int
	width      int // bytes per value: 4 (float32) or 8 (float64)
}

// npyHeaderRes are the patterns of an .npy header's three keys, compiled
// on first use rather than at every process's start.
var npyHeaderRes = sync.OnceValue(func() [3]*regexp.Regexp {
	return [3]*regexp.Regexp{
		regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`),
		regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`),
		regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`),
	}
})

// readNpyHeader reads the header of an .npy file of N × D little-endian
// float32 or float64 values in C order; anything else is refused with the
// reason, as is a row (D values) longer than maxRecordBytes, the bound on
// one record of a .jsonl file.
func readNpyHeader(r io.Reader) (npyHeader, error) {
	var h npyHeader
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil || string(pre[:6]) != npyMagic {
		return h, fmt.Errorf("%w: not an .npy file (no \\x93NUMPY magic)", ErrInput)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, fmt.Errorf("%w: .npy header: %v", ErrInput, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, fmt.Errorf("%w: .npy header: %v", ErrInput, err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return h, fmt.Errorf("%w: .npy version %d.%d is not one fosql reads (1.0 to 3.0)", ErrInput, pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return h, fmt.Errorf("%w: .npy header of %d bytes", ErrInput, hlen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, fmt.Errorf("%w: .npy header: %v", ErrInput, err)
	}
	dict := string(buf)
	res := npyHeaderRes()
	descr := res[0].FindStringSubmatch(dict)
	fortran := res[1].FindStringSubmatch(dict)
	shape := res[2].FindStringSubmatch(dict)
	if descr == nil || fortran == nil || shape == nil {
		return h, fmt.Errorf("%w: .npy header %q lacks descr, fortran_order or shape", ErrInput, strings.TrimSpace(dict))
	}
	switch descr[1] {
	case "<f4":
		h.width = 4
	case "<f8":
		h.width = 8
	default:
		return h, fmt.Errorf("%w: .npy values are %q; fosql reads little-endian float32 ('<f4') or float64 ('<f8')", ErrInput, descr[1])
	}
	if fortran[1] == "True" {
		return h, fmt.Errorf("%w: the .npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)", ErrInput)
	}
	var dims []int
	for _, part := range strings.Split(shape[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return h, fmt.Errorf("%w: .npy shape (%s)", ErrInput, shape[1])
		}
		dims = append(dims, n)
	}
	if len(dims) != 2 || dims[1] == 0 {
		return h, fmt.Errorf("%w: the .npy array has shape (%s); fosql imports N x D vectors (2 dimensions, D > 0)", ErrInput, shape[1])
	}
	if dims[1] > maxRecordBytes/h.width {
		return h, fmt.Errorf("%w: the .npy array has shape (%s); a row of %d values is over the %d-byte limit of one record", ErrInput, shape[1], dims[1], maxRecordBytes)
	}
	h.rows, h.cols = dims[0], dims[1]
	return h, nil
}

// npyRows reads the rows of an .npy body one at a time as float64 (exact
// for float32 data), refusing values that are not finite.
type npyRows struct {
	h   npyHeader
	r   *bufio.Reader
	raw []byte
	row []float64
	n   int // rows read
}

func newNpyRows(h npyHeader, r io.Reader) *npyRows {
	return &npyRows{h: h, r: bufio.NewReaderSize(r, 1<<20), raw: make([]byte, h.cols*h.width), row: make([]float64, h.cols)}
}

// next returns the next row (valid until the following call).
func (n *npyRows) next() ([]float64, error) {
	if _, err := io.ReadFull(n.r, n.raw); err != nil {
		return nil, fmt.Errorf("%w: the .npy file ends at row %d of %d", ErrInput, n.n, n.h.rows)
	}
	for j := range n.row {
		var f float64
		if n.h.width == 4 {
			f = float64(math.Float32frombits(binary.LittleEndian.Uint32(n.raw[4*j:])))
		} else {
			f = math.Float64frombits(binary.LittleEndian.Uint64(n.raw[8*j:]))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: .npy row %d, column %d is %v; vectors must be finite", ErrInput, n.n, j, f)
		}
		n.row[j] = f
	}
	n.n++
	return n.row, nil
}

// writeNpyHeader writes a version 1.0 header of npyHeaderBytes bytes for
// rows × cols float32 values in C order.
func writeNpyHeader(w io.Writer, rows, cols int) error {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	dict += strings.Repeat(" ", npyHeaderBytes-len(npyMagic)-2-2-len(dict)-1) + "\n"
	b := append([]byte(npyMagic), 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	_, err := w.Write(append(b, dict...))
	return err
}

// npyHeaderBytes is the fixed size of the headers fosql writes, so that
// a streamed export can write its row count last, in place.
const npyHeaderBytes = 128

// isNpyFile reports whether INTO OUTFILE name asks for an .npy file.
func isNpyFile(name string) bool { return strings.EqualFold(filepath.Ext(name), ".npy") }

// npyIDsFile is the file beside an exported name.npy that holds its ids,
// one per line in row order: name.ids.txt.
func npyIDsFile(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) + ".ids.txt" }

// writeNpyOutfile writes a result of an id column and one vector column
// as name.npy (N × D float32, C order, rows in the result's order) and
// name.ids.txt. Nothing is left behind on an error.
func writeNpyOutfile(name string, res *Result) (*Result, error) {
	idCol, vecCol := -1, -1
	for i, c := range res.Columns {
		if c.Name == db.FieldID && idCol < 0 {
			idCol = i
		} else if vecCol < 0 {
			vecCol = i
		} else {
			vecCol = -2
		}
	}
	if idCol < 0 || vecCol < 0 {
		return nil, fmt.Errorf("%w: INTO OUTFILE %s writes an id column and one vector column: SELECT id, emb FROM ds INTO OUTFILE %s",
			ErrUnsupported, QuoteString(name), QuoteString(name))
	}
	idsName := npyIDsFile(name)
	f, err := createOutfile(name)
	if err != nil {
		return nil, err
	}
	idf, err := createOutfile(idsName)
	if err != nil {
		f.discard()
		return nil, err
	}
	fail := func(err error) (*Result, error) {
		f.discard()
		idf.discard()
		return nil, fmt.Errorf("INTO OUTFILE %s: %w", name, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	iw := bufio.NewWriterSize(idf, 64<<10)
	if _, err := w.Write(make([]byte, npyHeaderBytes)); err != nil {
		return fail(err)
	}
	rows, dim := 0, -1
	var raw []byte
	err = res.Each(func(row []db.Value) error {
		v := row[vecCol]
		if v.Kind() != db.KindList {
			return fmt.Errorf("%w: row %d: column %s is %s, not a vector", ErrTypeMismatch, rows+1, res.Columns[vecCol].Name, v.Kind())
		}
		items := v.Items()
		if dim < 0 {
			dim = len(items)
		}
		if len(items) != dim || dim == 0 {
			return fmt.Errorf("%w: row %d: column %s has %d values, the first row %d", ErrTypeMismatch, rows+1, res.Columns[vecCol].Name, len(items), dim)
		}
		raw = raw[:0]
		for j, x := range items {
			if !x.IsNumber() {
				return fmt.Errorf("%w: row %d: column %s item %d is %s, not a number", ErrTypeMismatch, rows+1, res.Columns[vecCol].Name, j, x.Kind())
			}
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(x.AsFloat())))
		}
		w.Write(raw)
		iw.WriteString(CellText(row[idCol]))
		iw.WriteByte('\n')
		rows++
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if dim < 0 {
		return fail(fmt.Errorf("%w: the query returned no rows, so the vectors' length is unknown", ErrInput))
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := iw.Flush(); err != nil {
		return fail(err)
	}
	var hdr bytes.Buffer
	if err := writeNpyHeader(&hdr, rows, dim); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(hdr.Bytes(), 0); err != nil {
		return fail(err)
	}
	if err := f.place(); err != nil {
		idf.discard()
		return nil, err
	}
	if err := idf.place(); err != nil {
		os.Remove(name)
		return nil, err
	}
	return outfileSummary(name, "npy", rows, func(abs string) string {
		return fmt.Sprintf("wrote %s of %d float32 values to %s (ids in %s)", plural(rows, "row"), dim, abs, npyIDsFile(abs))
	}), nil
}
