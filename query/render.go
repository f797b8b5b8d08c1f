package query

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fosql/fosql/db"
)

// Format is an output format for result sets. The shell and INTO OUTFILE
// share these renderers.
type Format uint8

// Output formats.
const (
	// FormatTable is an aligned table for terminals; long cells are cut.
	FormatTable Format = iota
	// FormatTSV is tab-separated values with a header line, nothing cut,
	// floats in plain decimal; tabs, newlines and backslashes in values
	// are escaped as \t, \n and \\, and NULL is written NULL.
	FormatTSV
	// FormatCSV is RFC 4180 CSV with a header line; NULL is empty.
	FormatCSV
	// FormatJSON is one JSON array of objects, one object per row.
	FormatJSON
	// FormatJSONL is JSON lines: one object per row.
	FormatJSONL
)

var formatNames = [...]string{"table", "tsv", "csv", "json", "jsonl"}

// String names the format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat reads a format name: table, tsv, csv, json or jsonl
// (ndjson is jsonl).
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "ndjson" {
		s = "jsonl"
	}
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("%w: output format %q (want table, tsv, csv, json or jsonl)", ErrUnsupported, s)
}

// formatForFile picks the format INTO OUTFILE writes from the file name's
// extension.
func formatForFile(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV, nil
	case ".json":
		return FormatJSON, nil
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	case ".tsv", ".tab":
		return FormatTSV, nil
	}
	return 0, fmt.Errorf("%w: INTO OUTFILE %s: name the file .csv, .json, .jsonl, .tsv or .npy", ErrUnsupported, QuoteString(name))
}

// CellText is how a value shows in a table or TSV cell: NULL for missing
// and null, floats in plain decimal (no exponent), lists and documents as
// JSON.
func CellText(v db.Value) string {
	switch v.Kind() {
	case db.KindMissing, db.KindNull:
		return "NULL"
	case db.KindString:
		return v.AsString()
	case db.KindBool:
		return strconv.FormatBool(v.AsBool())
	case db.KindInt:
		return strconv.FormatInt(v.AsInt(), 10)
	case db.KindFloat:
		return formatFloat(v.AsFloat())
	}
	return string(AppendJSON(nil, v))
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// AppendJSON appends v as JSON: missing and null are null, floats are in
// plain decimal (NaN and infinities, which JSON lacks, are null).
func AppendJSON(b []byte, v db.Value) []byte {
	switch v.Kind() {
	case db.KindMissing, db.KindNull:
		return append(b, "null"...)
	case db.KindBool:
		return strconv.AppendBool(b, v.AsBool())
	case db.KindInt:
		return strconv.AppendInt(b, v.AsInt(), 10)
	case db.KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	case db.KindString:
		return appendJSONString(b, v.AsString())
	case db.KindList:
		b = append(b, '[')
		for i, x := range v.Items() {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, x)
		}
		return append(b, ']')
	case db.KindDoc:
		b = append(b, '{')
		for i, f := range v.Fields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, f.Name), ':')
			b = AppendJSON(b, f.Value)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// appendJSONString appends s as a JSON string. Bytes that are not valid
// UTF-8 (a file name can hold any bytes) are kept reversibly, as Python's
// "surrogateescape" keeps them: byte 0xXX (0x80 to 0xFF) is written
// \udcXX, a lone low surrogate that valid UTF-8 text never holds.
// Python's json.loads(t) then s.encode("utf-8", "surrogateescape") gives
// the bytes back; in Go, DecodeJSONString does.
func appendJSONString(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	b = append(b, '"')
	for len(s) > 0 {
		valid := 0
		for valid < len(s) {
			r, size := utf8.DecodeRuneInString(s[valid:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			valid += size
		}
		if valid > 0 {
			q, _ := json.Marshal(s[:valid])
			b = append(b, q[1:len(q)-1]...)
			s = s[valid:]
			continue
		}
		b = append(b, `\udc`...)
		b = append(b, hexDigits[s[0]>>4], hexDigits[s[0]&0xf])
		s = s[1:]
	}
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// DecodeJSONString decodes a JSON string literal (with its quotes) as
// AppendJSON writes it: a lone \udc80 … \udcff escape stands for the
// byte 0x80 … 0xff that was not valid UTF-8 in the value, so a string
// read back from fosql's JSON output is byte for byte the one stored.
// Other escapes mean what JSON says.
func DecodeJSONString(lit string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: JSON string %.40q: %s", ErrInput, lit, why)
	}
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return bad("not a quoted string")
	}
	body := lit[1 : len(lit)-1]
	out := make([]byte, 0, len(body))
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(body[i+2:i+6], 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '"' || c < 0x20:
			return bad("unescaped quote or control character")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return bad("a backslash at the end")
		}
		if e := strings.IndexByte(`"\/bfnrt`, body[i+1]); e >= 0 {
			out = append(out, "\"\\/\b\f\n\r\t"[e])
			i += 2
			continue
		}
		r, ok := hex4(i)
		if !ok {
			return bad("a bad escape")
		}
		i += 6
		switch {
		case 0xdc80 <= r && r <= 0xdcff:
			out = append(out, byte(r-0xdc00)) // a byte that was not UTF-8
			continue
		case utf16.IsSurrogate(r):
			if r2, ok := hex4(i); ok {
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					out = utf8.AppendRune(out, pair)
					i += 6
					continue
				}
			}
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out), nil
}

// Write renders the result set in format f. A result without rows writes
// nothing.
func (r *Result) Write(w io.Writer, f Format) error {
	if !r.HasRows() {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatTable:
		err = r.writeTable(bw)
	case FormatTSV:
		err = r.writeTSV(bw)
	case FormatCSV:
		err = r.writeCSV(bw)
	case FormatJSON:
		err = r.writeJSON(bw, true)
	case FormatJSONL:
		err = r.writeJSON(bw, false)
	default:
		err = fmt.Errorf("%w: format %s", ErrUnsupported, f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

func (r *Result) writeTSV(w *bufio.Writer) error {
	for i, c := range r.Columns {
		if i > 0 {
			w.WriteByte('\t')
		}
		w.WriteString(tsvEscaper.Replace(c.Name))
	}
	w.WriteByte('\n')
	return r.Each(func(row []db.Value) error {
		for i, v := range row {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(tsvEscaper.Replace(CellText(v)))
		}
		return w.WriteByte('\n')
	})
}

func (r *Result) writeCSV(w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	err := r.Each(func(row []db.Value) error {
		for i, v := range row {
			if v.Kind() <= db.KindNull {
				rec[i] = ""
			} else {
				rec[i] = CellText(v)
			}
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (r *Result) writeJSON(w *bufio.Writer, array bool) error {
	keys := make([][]byte, len(r.Columns))
	for i, c := range r.Columns {
		keys[i] = appendJSONString(nil, c.Name)
	}
	if array {
		w.WriteString("[")
	}
	var b []byte
	n := 0
	err := r.Each(func(row []db.Value) error {
		b = b[:0]
		if array {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n  "...)
		}
		b = append(b, '{')
		for i, v := range row {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(b, keys[i]...), ':')
			b = AppendJSON(b, v)
		}
		b = append(b, '}')
		if !array {
			b = append(b, '\n')
		}
		n++
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if array {
		if n > 0 {
			w.WriteString("\n")
		}
		w.WriteString("]\n")
	}
	return nil
}

// maxCell is the widest a table cell gets before it is cut.
const maxCell = 60

func (r *Result) writeTable(w *bufio.Writer) error {
	// A table needs every row for its column widths.
	if err := r.collect(); err != nil {
		return err
	}
	n := len(r.Columns)
	widths := make([]int, n)
	cells := make([][]string, len(r.Rows))
	right := make([]bool, n)
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
		right[i] = c.Type == TypeInt || c.Type == TypeFloat
	}
	for j, row := range r.Rows {
		cells[j] = make([]string, n)
		for i, v := range row {
			s := strings.NewReplacer("\n", `\n`, "\t", " ", "\r", `\r`).Replace(CellText(v))
			if utf8.RuneCountInString(s) > maxCell {
				rs := []rune(s)
				s = string(rs[:maxCell-1]) + "…"
			}
			cells[j][i] = s
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, header bool) {
		for i, s := range vals {
			if i > 0 {
				w.WriteString(" | ")
			} else {
				w.WriteString(" ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			if right[i] && !header {
				w.WriteString(pad + s)
			} else if i == len(vals)-1 {
				w.WriteString(s)
			} else {
				w.WriteString(s + pad)
			}
		}
		w.WriteByte('\n')
	}
	names := make([]string, n)
	for i, c := range r.Columns {
		names[i] = c.Name
	}
	line(names, true)
	for i := range widths {
		if i > 0 {
			w.WriteString("+")
		}
		w.WriteString(strings.Repeat("-", widths[i]+2))
	}
	w.WriteByte('\n')
	for _, row := range cells {
		line(row, false)
	}
	_, err := fmt.Fprintf(w, "(%s)\n", plural(len(r.Rows), "row"))
	return err
}

// writeOutfile writes a result set to a new file, in the format its
// extension names, and returns a one-row summary. An existing file is
// never overwritten.
func writeOutfile(name string, res *Result) (*Result, error) {
	if isNpyFile(name) {
		return writeNpyOutfile(name, res)
	}
	f, err := formatForFile(name)
	if err != nil {
		return nil, err
	}
	file, err := createOutfile(name)
	if err != nil {
		return nil, err
	}
	rows := 0
	counted := *res
	if res.stream != nil {
		stream := res.stream
		counted.stream = func(yield func([]db.Value) bool) error {
			return stream(func(row []db.Value) bool { rows++; return yield(row) })
		}
		res.stream = nil
	} else {
		rows = len(res.Rows)
	}
	err = counted.Write(file, f)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, fmt.Errorf("INTO OUTFILE %s: %w", name, err)
	}
	abs, _ := filepath.Abs(name)
	return &Result{
		Columns:      []Column{{Name: "file", Type: TypeString}, {Name: "format", Type: TypeString}, {Name: "rows", Type: TypeInt}},
		Rows:         [][]db.Value{{db.String(abs), db.String(f.String()), db.Int(int64(rows))}},
		RowsAffected: int64(rows),
		Message:      fmt.Sprintf("wrote %s to %s", plural(rows, "row"), abs),
	}, nil
}
