package query

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
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
	// FormatLine is one "column = value" line per value, names aligned,
	// a blank line between rows (sqlite3's .mode line).
	FormatLine
	// FormatMarkdown is a GitHub-flavoured markdown table; a | in a
	// value is written \|.
	FormatMarkdown
	// FormatBox is an aligned table drawn with box-drawing characters.
	FormatBox
)

var formatNames = [...]string{"table", "tsv", "csv", "json", "jsonl", "line", "markdown", "box"}

// FormatNames lists the output format names, in the order of the Format
// constants.
func FormatNames() []string { return formatNames[:] }

// String names the format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat reads a format name: table, tsv, csv, json, jsonl, line,
// markdown or box (ndjson is jsonl, md is markdown).
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "ndjson":
		s = "jsonl"
	case "md":
		s = "markdown"
	}
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("%w: output format %q (want %s)", ErrUnsupported, s, strings.Join(formatNames[:], ", "))
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
	return 0, fmt.Errorf("%w: INTO OUTFILE %s: name the file .csv, .json, .jsonl, .tsv, .npy or .parquet", ErrUnsupported, QuoteString(name))
}

// CellText is how a value shows in a table or TSV cell: NULL for missing
// and null, strings as they are, floats in plain decimal (no exponent),
// lists and documents as JSON without HTML escapes (["<img src=q>"]).
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

// appendJSONString appends s as a JSON string, with the characters
// written as they are except where JSON needs an escape (quote, backslash,
// control characters; U+2028 and U+2029 too, for JavaScript's sake): no
// HTML escaping, so a tag <img> reads <img>. Bytes that are not valid
// UTF-8 (a file name can hold any bytes) are kept reversibly, as Python's
// "surrogateescape" keeps them: byte 0xXX (0x80 to 0xFF) is written
// \udcXX, a lone low surrogate that valid UTF-8 text never holds.
// Python's json.loads(t) then s.encode("utf-8", "surrogateescape") gives
// the bytes back; in Go, DecodeJSONString does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\udc`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
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

// WriteOptions change how a result set is written. The zero value is
// each format's default.
type WriteOptions struct {
	// NoHeader leaves out the header line of table, tsv, csv and box
	// output (a markdown table cannot be without one).
	NoHeader bool
	// Null, when set, is the text of a missing or null value in the text
	// formats (table, tsv, csv, line, markdown, box); JSON keeps null.
	Null *string
}

// Write renders the result set in format f. A result without rows writes
// nothing.
func (r *Result) Write(w io.Writer, f Format) error {
	return r.WriteWith(w, f, WriteOptions{})
}

// WriteWith renders the result set in format f with options o. A result
// without rows writes nothing.
func (r *Result) WriteWith(w io.Writer, f Format, o WriteOptions) error {
	if !r.HasRows() {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatTable, FormatMarkdown, FormatBox:
		err = r.writeGrid(bw, gridStyles[f], o)
	case FormatTSV:
		err = r.writeTSV(bw, o)
	case FormatCSV:
		err = r.writeCSV(bw, o)
	case FormatJSON:
		err = r.writeJSON(bw, true)
	case FormatJSONL:
		err = r.writeJSON(bw, false)
	case FormatLine:
		err = r.writeLines(bw, o)
	default:
		err = fmt.Errorf("%w: format %s", ErrUnsupported, f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// cellText is CellText with the null text of o.
func (o WriteOptions) cellText(v db.Value) string {
	if o.Null != nil && v.Kind() <= db.KindNull {
		return *o.Null
	}
	return CellText(v)
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

func (r *Result) writeTSV(w *bufio.Writer, o WriteOptions) error {
	if !o.NoHeader {
		for i, c := range r.Columns {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(tsvEscaper.Replace(c.Name))
		}
		w.WriteByte('\n')
	}
	return r.Each(func(row []db.Value) error {
		for i, v := range row {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(tsvEscaper.Replace(o.cellText(v)))
		}
		return w.WriteByte('\n')
	})
}

func (r *Result) writeCSV(w *bufio.Writer, o WriteOptions) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		rec[i] = c.Name
	}
	if !o.NoHeader {
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	null := ""
	if o.Null != nil {
		null = *o.Null
	}
	err := r.Each(func(row []db.Value) error {
		for i, v := range row {
			if v.Kind() <= db.KindNull {
				rec[i] = null
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

// gridStyle draws an aligned table: the text around cells on the header,
// rule and row lines, and the box lines above and below.
type gridStyle struct {
	left, sep, right        string // around and between cells of a row
	ruleLeft, ruleSep, rule string // the line under the header
	ruleRight, ruleFill     string
	top, bottom             [4]string // left, separator, right, fill; empty: none
	count                   bool      // a (N rows) line at the end
	cut                     bool      // long cells are cut at maxCell
	markdown                bool      // | in cells escaped, header alignment marks
}

var gridStyles = map[Format]*gridStyle{
	FormatTable: {left: " ", sep: " | ", ruleSep: "+", ruleFill: "-", count: true, cut: true},
	FormatMarkdown: {left: "| ", sep: " | ", right: " |", ruleLeft: "|", ruleSep: "|", ruleRight: "|",
		ruleFill: "-", markdown: true},
	FormatBox: {left: "│ ", sep: " │ ", right: " │", ruleLeft: "├", ruleSep: "┼", ruleRight: "┤", ruleFill: "─",
		top: [4]string{"┌", "┬", "┐", "─"}, bottom: [4]string{"└", "┴", "┘", "─"}, cut: true},
}

var (
	cellEscaper     = strings.NewReplacer("\n", `\n`, "\t", " ", "\r", `\r`)
	markdownEscaper = strings.NewReplacer("\n", `\n`, "\t", " ", "\r", `\r`, "|", `\|`)
)

// writeGrid writes an aligned table in style g. It needs every row for
// the column widths.
func (r *Result) writeGrid(w *bufio.Writer, g *gridStyle, o WriteOptions) error {
	if err := r.collect(); err != nil {
		return err
	}
	n := len(r.Columns)
	widths := make([]int, n)
	cells := make([][]string, len(r.Rows))
	right := make([]bool, n)
	esc := cellEscaper
	if g.markdown {
		esc = markdownEscaper
	}
	header := !o.NoHeader || g.markdown
	names := make([]string, n)
	for i, c := range r.Columns {
		names[i] = esc.Replace(c.Name)
		if header {
			widths[i] = utf8.RuneCountInString(names[i])
		}
		right[i] = c.Type == TypeInt || c.Type == TypeFloat
		if g.markdown {
			widths[i] = max(widths[i], 3) // the rule needs ---
		}
	}
	for j, row := range r.Rows {
		cells[j] = make([]string, n)
		for i, v := range row {
			s := esc.Replace(o.cellText(v))
			if g.cut && utf8.RuneCountInString(s) > maxCell {
				rs := []rune(s)
				s = string(rs[:maxCell-1]) + "…"
			}
			cells[j][i] = s
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, header bool) {
		w.WriteString(g.left)
		for i, s := range vals {
			if i > 0 {
				w.WriteString(g.sep)
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			switch {
			case right[i] && !header:
				w.WriteString(pad + s)
			case i == len(vals)-1 && g.right == "":
				w.WriteString(s)
			default:
				w.WriteString(s + pad)
			}
		}
		w.WriteString(g.right)
		w.WriteByte('\n')
	}
	// rule writes a horizontal line: its ends, the separator at each
	// column boundary and the fill across each column and its padding.
	rule := func(left, sep, end, fill string, markAlign bool) {
		w.WriteString(left)
		for i := range widths {
			if i > 0 {
				w.WriteString(sep)
			}
			cell := strings.Repeat(fill, widths[i]+2)
			if markAlign && right[i] {
				cell = strings.Repeat(fill, widths[i]+1) + ":"
			}
			w.WriteString(cell)
		}
		w.WriteString(end)
		w.WriteByte('\n')
	}
	if g.top[3] != "" {
		rule(g.top[0], g.top[1], g.top[2], g.top[3], false)
	}
	if header {
		line(names, true)
		rule(g.ruleLeft, g.ruleSep, g.ruleRight, g.ruleFill, g.markdown)
	}
	for _, row := range cells {
		line(row, false)
	}
	if g.bottom[3] != "" {
		rule(g.bottom[0], g.bottom[1], g.bottom[2], g.bottom[3], false)
	}
	if !g.count {
		return nil
	}
	_, err := fmt.Fprintf(w, "(%s)\n", plural(len(r.Rows), "row"))
	return err
}

// writeLines writes each value on a line of its own, "name = value",
// the names right-aligned, with a blank line between rows.
func (r *Result) writeLines(w *bufio.Writer, o WriteOptions) error {
	width := 0
	for _, c := range r.Columns {
		width = max(width, utf8.RuneCountInString(c.Name))
	}
	names := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		names[i] = strings.Repeat(" ", width-utf8.RuneCountInString(c.Name)) + c.Name + " = "
	}
	n := 0
	return r.Each(func(row []db.Value) error {
		if n > 0 {
			w.WriteByte('\n')
		}
		n++
		for i, v := range row {
			w.WriteString(names[i])
			w.WriteString(cellEscaper.Replace(o.cellText(v)))
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeOutfile writes a result set to a new file, in the format its
// extension names, and returns a one-row summary. An existing file is
// never overwritten.
func writeOutfile(name string, res *Result) (*Result, error) {
	if isNpyFile(name) {
		return writeNpyOutfile(name, res)
	}
	if isParquetFile(name) {
		return writeParquetOutfile(name, res)
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
	if err := counted.Write(file, f); err != nil {
		file.discard()
		return nil, fmt.Errorf("INTO OUTFILE %s: %w", name, err)
	}
	if err := file.place(); err != nil {
		return nil, err
	}
	return outfileSummary(name, f.String(), rows, func(abs string) string {
		return fmt.Sprintf("wrote %s to %s", plural(rows, "row"), abs)
	}), nil
}

// Blocked reports whether the format prints a result set as a block that
// a blank line should part from the one before: table, line, markdown
// and box.
func (f Format) Blocked() bool {
	return f == FormatTable || f == FormatLine || f == FormatMarkdown || f == FormatBox
}
