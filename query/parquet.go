package query

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/fosql/fosql/db"
)

// Parquet files (INTO OUTFILE 'x.parquet' and IMPORT … FROM 'x.parquet').
//
// A result column becomes one optional column of the file, typed from the
// result column's type and, for lists and columns of mixed kinds, from
// the values of the first parquetTypeRows rows:
//
//	string                 BYTE_ARRAY (STRING)
//	int                    INT64
//	float                  DOUBLE (ints in the column are widened)
//	bool                   BOOLEAN
//	list of strings        LIST<STRING> (tags always)
//	list of ints           LIST<INT64>
//	list of numbers        LIST<FLOAT> when every value is exactly a
//	                       float32 (vectors), else LIST<DOUBLE>
//	list of bools          LIST<BOOLEAN>
//	document, mixed kinds,
//	lists of lists or of
//	documents, unknown     BYTE_ARRAY (JSON): each value as JSON text
//
// Missing and null values are nulls. Rows are written in the result's
// order, parquetRowGroupRows to a row group.

const (
	// parquetRowGroupRows is how many rows one row group holds, and so
	// how many the writer buffers (a 128-float vector is 512 bytes: a
	// group of them is about 8 MiB).
	parquetRowGroupRows = 16384
	// parquetTypeRows is how many rows the writer looks at before it
	// fixes the types of lists and of columns of mixed kinds.
	parquetTypeRows = 1024
	// parquetBatchRows is how many rows pass to the writer, or come
	// from the reader, at a time.
	parquetBatchRows = 256
)

// pqKind is the type of one column of a Parquet file fosql writes.
type pqKind uint8

const (
	pqString pqKind = iota
	pqInt
	pqFloat
	pqBool
	pqJSON
	pqStrings
	pqInts
	pqFloat32s
	pqFloat64s
	pqBools
)

var pqKindNames = [...]string{"string", "int64", "double", "boolean", "JSON text", "list<string>", "list<int64>", "list<float32>", "list<double>", "list<boolean>"}

// isList reports whether the kind is a LIST column.
func (k pqKind) isList() bool { return k >= pqStrings }

// node is the column's schema node (optional).
func (k pqKind) node() parquet.Node {
	var n parquet.Node
	switch k {
	case pqString, pqStrings:
		n = parquet.String()
	case pqInt, pqInts:
		n = parquet.Int(64)
	case pqFloat, pqFloat64s:
		n = parquet.Leaf(parquet.DoubleType)
	case pqFloat32s:
		n = parquet.Leaf(parquet.FloatType)
	case pqBool, pqBools:
		n = parquet.Leaf(parquet.BooleanType)
	default:
		n = parquet.JSON()
	}
	if k.isList() {
		n = parquet.List(n)
	}
	return parquet.Optional(n)
}

// scalarKind is the kind of a column of values of one kind, with ok false
// for lists and documents.
func scalarKind(k db.Kind) (pqKind, bool) {
	switch k {
	case db.KindString:
		return pqString, true
	case db.KindInt:
		return pqInt, true
	case db.KindFloat:
		return pqFloat, true
	case db.KindBool:
		return pqBool, true
	}
	return 0, false
}

// chooseParquetKind picks the type of a result column from its type and
// the values of the first rows.
func chooseParquetKind(c Column, rows [][]db.Value, col int) pqKind {
	switch c.Type {
	case TypeString:
		return pqString
	case TypeInt:
		return pqInt
	case TypeFloat:
		return pqFloat
	case TypeBool:
		return pqBool
	case TypeJSON:
		return pqJSON
	}
	// A list, or a column whose type was not known ahead: the values say.
	var kinds, items [db.KindDoc + 1]bool
	exact32, nullItem := true, false
	for _, row := range rows {
		v := row[col]
		kinds[v.Kind()] = true
		if v.Kind() != db.KindList {
			continue
		}
		for _, x := range v.Items() {
			items[x.Kind()] = true
			switch x.Kind() {
			case db.KindMissing, db.KindNull:
				nullItem = true
			case db.KindFloat:
				f := x.AsFloat()
				exact32 = exact32 && float64(float32(f)) == f
			}
		}
	}
	one := func(seen [db.KindDoc + 1]bool) (db.Kind, int) {
		var k db.Kind
		n := 0
		for i := db.KindBool; i <= db.KindDoc; i++ {
			if seen[i] {
				k, n = i, n+1
			}
		}
		return k, n
	}
	k, n := one(kinds)
	switch {
	case n == 0:
		if c.Type == TypeList && c.Name == db.FieldTags {
			return pqStrings
		}
		return pqJSON
	case n == 2 && kinds[db.KindInt] && kinds[db.KindFloat]:
		return pqFloat
	case n > 1:
		return pqJSON
	case k != db.KindList:
		if s, ok := scalarKind(k); ok && c.Type != TypeList {
			return s
		}
		return pqJSON
	}
	if nullItem {
		return pqJSON
	}
	ik, in := one(items)
	switch {
	case in == 0:
		if c.Name == db.FieldTags {
			return pqStrings
		}
		return pqJSON
	case in == 2 && items[db.KindInt] && items[db.KindFloat], in == 1 && ik == db.KindFloat:
		if exact32 {
			return pqFloat32s
		}
		return pqFloat64s
	case in > 1:
		return pqJSON
	}
	switch ik {
	case db.KindString:
		return pqStrings
	case db.KindInt:
		return pqInts
	case db.KindBool:
		return pqBools
	}
	return pqJSON
}

// parquetLeaf is one scalar as a Parquet value of a column of kind k
// (its list kind's element, for lists), or ok false when it does not fit.
func parquetLeaf(k pqKind, v db.Value) (parquet.Value, bool) {
	switch k {
	case pqString, pqStrings:
		if v.Kind() == db.KindString {
			return parquet.ByteArrayValue([]byte(v.AsString())), true
		}
	case pqInt, pqInts:
		if v.Kind() == db.KindInt {
			return parquet.Int64Value(v.AsInt()), true
		}
	case pqFloat, pqFloat64s:
		if v.IsNumber() {
			return parquet.DoubleValue(v.AsFloat()), true
		}
	case pqFloat32s:
		if v.IsNumber() {
			f := v.AsFloat()
			if float64(float32(f)) == f || v.Kind() == db.KindInt && math.Abs(f) < 1<<24 {
				return parquet.FloatValue(float32(f)), true
			}
		}
	case pqBool, pqBools:
		if v.Kind() == db.KindBool {
			return parquet.BooleanValue(v.AsBool()), true
		}
	case pqJSON:
		return parquet.ByteArrayValue(AppendJSON(nil, v)), true
	}
	return parquet.Value{}, false
}

// appendParquetCell appends one result value to a Parquet row as column
// col of kind k, with its repetition and definition levels.
func appendParquetCell(row parquet.Row, k pqKind, col int, v db.Value) (parquet.Row, error) {
	if v.Kind() == db.KindMissing || v.Kind() == db.KindNull {
		return append(row, parquet.NullValue().Level(0, 0, col)), nil
	}
	if !k.isList() {
		x, ok := parquetLeaf(k, v)
		if !ok {
			return row, fmt.Errorf("is %s", kindAndValue(v))
		}
		return append(row, x.Level(0, 1, col)), nil
	}
	if v.Kind() != db.KindList {
		return row, fmt.Errorf("is %s", kindAndValue(v))
	}
	items := v.Items()
	if len(items) == 0 {
		return append(row, parquet.NullValue().Level(0, 1, col)), nil
	}
	for i, it := range items {
		x, ok := parquetLeaf(k, it)
		if !ok {
			return row, fmt.Errorf("item %d is %s", i, kindAndValue(it))
		}
		rep := 1
		if i == 0 {
			rep = 0
		}
		row = append(row, x.Level(rep, 2, col))
	}
	return row, nil
}

// kindAndValue names a value's kind, and shows the value when it is
// short.
func kindAndValue(v db.Value) string {
	s := describeValue(v)
	if len(s) > 40 {
		return "a " + v.Kind().String()
	}
	return fmt.Sprintf("the %s %s", v.Kind(), s)
}

// orderedGroup is a Parquet group whose fields keep the order given (the
// library's Group sorts them by name): the file's columns are the result's
// columns, in order.
type orderedGroup []parquet.Field

// ID is zero: the root has no field id.
func (g orderedGroup) ID() int { return 0 }

// String prints the group as the library prints one.
func (g orderedGroup) String() string { return parquet.Group{}.String() }

// Type is the type of groups.
func (g orderedGroup) Type() parquet.Type { return parquet.Group{}.Type() }

// Optional is false: the root is required.
func (g orderedGroup) Optional() bool { return false }

// Repeated is false: the root is required.
func (g orderedGroup) Repeated() bool { return false }

// Required is true.
func (g orderedGroup) Required() bool { return true }

// Leaf is false: a group.
func (g orderedGroup) Leaf() bool { return false }

// Fields are the columns, in order.
func (g orderedGroup) Fields() []parquet.Field { return g }

// Encoding is nil: each column's default.
func (g orderedGroup) Encoding() encoding.Encoding { return nil }

// Compression is nil: the writer's codec.
func (g orderedGroup) Compression() compress.Codec { return nil }

// GoType is a map: rows are never Go structs here.
func (g orderedGroup) GoType() reflect.Type { return reflect.TypeOf(map[string]any{}) }

// Name is the column's name.
func (f namedField) Name() string { return f.name }

// Value is unused: rows are built as Parquet values, not from Go values.
func (f namedField) Value(reflect.Value) (v reflect.Value) { return v }

// newNamedField names a column's node.
func newNamedField(name string, n parquet.Node) parquet.Field { return namedField{Node: n, name: name} }

// namedField is a field of an orderedGroup.
type namedField struct {
	parquet.Node
	name string
}

// parquetOut writes a result set to a Parquet file, fixing the schema
// once it has seen the first rows.
type parquetOut struct {
	res   *Result
	file  *os.File
	buf   *bufio.Writer
	w     *parquet.Writer
	kinds []pqKind
	batch []parquet.Row
	rows  int
}

// start fixes the schema from the first rows and opens the writer.
func (p *parquetOut) start(first [][]db.Value) {
	fields := make(orderedGroup, len(p.res.Columns))
	p.kinds = make([]pqKind, len(p.res.Columns))
	for i, c := range p.res.Columns {
		p.kinds[i] = chooseParquetKind(c, first, i)
		fields[i] = newNamedField(c.Name, p.kinds[i].node())
	}
	schema := parquet.NewSchema("fosql", fields)
	p.w = parquet.NewWriter(p.buf, schema, parquet.Compression(&snappy.Codec{}),
		parquet.MaxRowsPerRowGroup(parquetRowGroupRows), parquet.CreatedBy("fosql", "", ""))
}

// add writes one result row. The rows handed to the writer are reused
// once it has copied their values into its column buffers.
func (p *parquetOut) add(vals []db.Value) error {
	p.rows++
	var row parquet.Row
	if n := len(p.batch); n < cap(p.batch) {
		row = p.batch[:n+1][n][:0]
	}
	for i, v := range vals {
		var err error
		if row, err = appendParquetCell(row, p.kinds[i], i, v); err != nil {
			return fmt.Errorf("%w: row %d: column %s %s, but the file's column is %s (chosen from the first %d rows)",
				ErrTypeMismatch, p.rows, p.res.Columns[i].Name, err, pqKindNames[p.kinds[i]], parquetTypeRows)
		}
	}
	p.batch = append(p.batch, row)
	if len(p.batch) == parquetBatchRows {
		return p.flushRows()
	}
	return nil
}

// flushRows hands the buffered rows to the writer.
func (p *parquetOut) flushRows() error {
	_, err := p.w.WriteRows(p.batch)
	p.batch = p.batch[:0]
	return err
}

// writeParquetOutfile writes a result set as a new Parquet file: written
// under a temporary name beside it and moved into place when complete,
// so the file appears whole or not at all, and never over an existing
// file.
func writeParquetOutfile(name string, res *Result) (*Result, error) {
	seen := map[string]bool{}
	for _, c := range res.Columns {
		if seen[c.Name] {
			return nil, fmt.Errorf("%w: INTO OUTFILE %s: the column name %s comes twice; a Parquet file's column names are unique (rename one with AS)",
				ErrUnsupported, QuoteString(name), c.Name)
		}
		seen[c.Name] = true
	}
	tmp, err := createOutfile(name)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Result, error) {
		tmp.discard()
		return nil, fmt.Errorf("INTO OUTFILE %s: %w", name, err)
	}
	p := &parquetOut{res: res, file: tmp.File, buf: bufio.NewWriterSize(tmp, 1<<20), batch: make([]parquet.Row, 0, parquetBatchRows)}
	var first [][]db.Value
	err = res.Each(func(row []db.Value) error {
		if p.w == nil {
			first = append(first, row)
			if len(first) < parquetTypeRows {
				return nil
			}
			p.start(first)
			for _, r := range first {
				if err := p.add(r); err != nil {
					return err
				}
			}
			first = nil
			return nil
		}
		return p.add(row)
	})
	if err == nil && p.w == nil {
		p.start(first)
		for _, r := range first {
			if err = p.add(r); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = p.flushRows()
	}
	if err == nil {
		err = p.w.Close()
	}
	if err == nil {
		err = p.buf.Flush()
	}
	if err != nil {
		return fail(err)
	}
	if err := tmp.place(); err != nil {
		return nil, err
	}
	return outfileSummary(name, "parquet", p.rows, func(abs string) string {
		return fmt.Sprintf("wrote %s to %s", plural(p.rows, "row"), abs)
	}), nil
}

// isParquetFile reports whether a file name asks for Parquet.
func isParquetFile(name string) bool { return strings.EqualFold(filepath.Ext(name), ".parquet") }
