package query

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/fosql/fosql/db"
)

// pqField is one field of a Parquet schema, ready to turn the values of
// its leaf columns in one row into a fosql value.
type pqField struct {
	name     string
	optional bool
	repeated bool
	leaf     parquet.Type // nil for groups
	list     bool         // a group of the LIST logical type
	mapped   bool         // a group of the MAP logical type
	children []*pqField
	col      int // its first leaf column
	ncols    int // how many leaf columns it spans
}

// newPQField describes node (named name), whose first leaf column is col.
func newPQField(name string, node parquet.Node, col int) *pqField {
	f := &pqField{name: name, optional: node.Optional(), repeated: node.Repeated(), col: col}
	if node.Leaf() {
		f.leaf, f.ncols = node.Type(), 1
		return f
	}
	if lt := node.Type().LogicalType(); lt != nil {
		switch lt.Value.(type) {
		case *format.ListType:
			f.list = true
		case *format.MapType:
			f.mapped = true
		}
	}
	for _, c := range node.Fields() {
		cf := newPQField(c.Name(), c, col+f.ncols)
		f.children = append(f.children, cf)
		f.ncols += cf.ncols
	}
	f.list = f.list && len(f.children) == 1 && f.children[0].repeated
	f.mapped = f.mapped && len(f.children) == 1 && f.children[0].repeated && len(f.children[0].children) == 2
	return f
}

// value assembles the field's value from its leaf columns' values in one
// row (cols[0] is its first column's), below the given definition and
// repetition levels. A null is db.Null(); an empty repeated field an
// empty list.
func (f *pqField) value(cols [][]parquet.Value, def, rep int) (db.Value, error) {
	if len(cols) == 0 || len(cols[0]) == 0 {
		return db.Value{}, fmt.Errorf("column %s has no value in the row", f.name)
	}
	if f.optional {
		def++
		if cols[0][0].DefinitionLevel() < def {
			return db.Null(), nil
		}
	}
	if !f.repeated {
		return f.required(cols, def, rep)
	}
	def++
	rep++
	if cols[0][0].DefinitionLevel() < def {
		return db.List(), nil
	}
	// Element i of every column starts where its repetition level is rep.
	n := 0
	for i, v := range cols[0] {
		if i == 0 || v.RepetitionLevel() == rep {
			n++
		}
	}
	items := make([]db.Value, 0, n)
	rest := append([][]parquet.Value(nil), cols...)
	elem := make([][]parquet.Value, len(cols))
	for range n {
		for j, c := range rest {
			k := 1
			for k < len(c) && c[k].RepetitionLevel() > rep {
				k++
			}
			if len(c) == 0 {
				return db.Value{}, fmt.Errorf("column %s: the repeated values do not line up", f.name)
			}
			elem[j], rest[j] = c[:k], c[k:]
		}
		v, err := f.required(elem, def, rep)
		if err != nil {
			return db.Value{}, err
		}
		items = append(items, v)
	}
	return db.List(items...), nil
}

// required assembles a field known to be present.
func (f *pqField) required(cols [][]parquet.Value, def, rep int) (db.Value, error) {
	if f.leaf != nil {
		return pqLeafValue(f.leaf, cols[0][0])
	}
	if f.list || f.mapped {
		inner := f.children[0]
		if f.list && inner.leaf == nil && len(inner.children) == 1 && inner.children[0].leaf != nil {
			return pqLeafList(inner.children[0], cols[0], def+1)
		}
		v, err := inner.value(cols, def, rep)
		if err != nil {
			return db.Value{}, err
		}
		items := v.Items()
		if f.mapped {
			fields := make([]db.Field, 0, len(items))
			for _, kv := range items {
				key, val := kv.Field(inner.children[0].name), kv.Field(inner.children[1].name)
				name := CellText(key)
				if key.Kind() == db.KindString {
					name = key.AsString()
				}
				if val.Kind() != db.KindMissing && val.Kind() != db.KindNull {
					fields = append(fields, db.Field{Name: name, Value: val})
				}
			}
			return db.Doc(fields...), nil
		}
		if inner.leaf == nil && len(inner.children) == 1 {
			// The standard three-level list: each element is a group of
			// one field, the item.
			for i, it := range items {
				items[i] = it.Field(inner.children[0].name)
				if items[i].Kind() == db.KindMissing {
					items[i] = db.Null()
				}
			}
		}
		return db.List(items...), nil
	}
	fields := make([]db.Field, 0, len(f.children))
	for _, c := range f.children {
		v, err := c.value(cols[c.col-f.col:c.col-f.col+c.ncols], def, rep)
		if err != nil {
			return db.Value{}, err
		}
		if v.Kind() != db.KindNull {
			fields = append(fields, db.Field{Name: c.name, Value: v})
		}
	}
	return db.Doc(fields...), nil
}

// pqLeafList is a standard three-level list of scalars (a vector, tags)
// read straight from its one column: def is the repeated group's
// definition level, at which the list has elements.
func pqLeafList(elem *pqField, col []parquet.Value, def int) (db.Value, error) {
	if col[0].DefinitionLevel() < def {
		return db.List(), nil
	}
	if elem.optional {
		def++
	}
	items := make([]db.Value, len(col))
	for i, v := range col {
		if v.DefinitionLevel() < def {
			items[i] = db.Null()
			continue
		}
		x, err := pqLeafValue(elem.leaf, v)
		if err != nil {
			return db.Value{}, err
		}
		items[i] = x
	}
	return db.List(items...), nil
}

// pqLeafValue converts one Parquet value of type t: strings, ints,
// floats and booleans as they are, JSON text parsed, timestamps and dates
// as RFC 3339 text (UTC), decimals as floats, UUIDs as text.
func pqLeafValue(t parquet.Type, v parquet.Value) (db.Value, error) {
	if v.IsNull() {
		return db.Null(), nil
	}
	var logical format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch lt := logical.(type) {
	case *format.JsonType:
		x, err := parseJSONValue(v.ByteArray())
		if err != nil {
			return db.Value{}, fmt.Errorf("JSON text: %w", err)
		}
		return x, nil
	case *format.TimestampType:
		var tm time.Time
		switch lt.Unit.Value.(type) {
		case *format.MilliSeconds:
			tm = time.UnixMilli(v.Int64())
		case *format.MicroSeconds:
			tm = time.UnixMicro(v.Int64())
		default:
			tm = time.Unix(0, v.Int64())
		}
		return db.String(tm.UTC().Format(time.RFC3339Nano)), nil
	case *format.DateType:
		return db.String(time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly)), nil
	case *format.DecimalType:
		return pqDecimal(t, v, int(lt.Scale)), nil
	case *format.UUIDType:
		b := v.ByteArray()
		if len(b) == 16 {
			h := hex.EncodeToString(b)
			return db.String(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]), nil
		}
	case *format.IntType:
		if !lt.IsSigned {
			if t.Kind() == parquet.Int32 {
				return db.Int(int64(v.Uint32())), nil
			}
			if v.Uint64() > math.MaxInt64 {
				return db.Value{}, fmt.Errorf("the unsigned integer %d is beyond a 64-bit signed integer", v.Uint64())
			}
		}
	case *format.BsonType, *format.Float16Type, *format.GeometryType, *format.GeographyType, *format.VariantType, *format.TimeType:
		return db.Value{}, fmt.Errorf("values of the Parquet type %s are not imported", t)
	}
	switch t.Kind() {
	case parquet.Boolean:
		return db.Bool(v.Boolean()), nil
	case parquet.Int32:
		return db.Int(int64(v.Int32())), nil
	case parquet.Int64:
		return db.Int(v.Int64()), nil
	case parquet.Int96:
		// Spark's and Impala's timestamps: nanoseconds of the day, then
		// the Julian day.
		i := v.Int96()
		nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
		days := int64(i[2]) - 2440588
		return db.String(time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano)), nil
	case parquet.Float, parquet.Double:
		f := v.Double()
		if t.Kind() == parquet.Float {
			f = float64(v.Float())
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return db.Value{}, fmt.Errorf("the value %v is not a finite number", f)
		}
		return db.Float(f), nil
	case parquet.ByteArray:
		return db.String(string(v.ByteArray())), nil
	}
	return db.Value{}, fmt.Errorf("values of the Parquet type %s are not imported", t)
}

// pqDecimal is a DECIMAL value (an int32, int64 or big-endian two's
// complement bytes, over 10^scale) as a float.
func pqDecimal(t parquet.Type, v parquet.Value, scale int) db.Value {
	n := new(big.Int)
	switch t.Kind() {
	case parquet.Int32:
		n.SetInt64(int64(v.Int32()))
	case parquet.Int64:
		n.SetInt64(v.Int64())
	default:
		b := v.ByteArray()
		n.SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
	}
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(n), new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))).Float64()
	return db.Float(f)
}

// pqColumn is what an import does with one top-level column of a file.
// Columns of insights are "computed": fosql computes them, and does not
// import them.
type pqColumn struct {
	field *pqField
	role  string // "id", "filepath", "tags", "skip", "computed" or "field"
	// held says whether a row had a value in a "computed" column.
	held bool
	path string // the field path, for role "field"
}

// parquetColumns decides what each top-level column of a file becomes:
// id (kept with keepIDs, else ignored), filepath, tags, insights (always
// skipped: fosql computes them), metadata (read from the image with
// checkFiles, so skipped; else kept as a field) and user fields, a
// dotted name (ground_truth.label) naming a nested field.
func parquetColumns(schema *parquet.Schema, keepIDs, checkFiles bool) ([]pqColumn, error) {
	var cols []pqColumn
	col, hasFP := 0, false
	for _, fl := range schema.Fields() {
		f := newPQField(fl.Name(), fl, col)
		col += f.ncols
		c := pqColumn{field: f, role: "field", path: f.name}
		top, _, _ := strings.Cut(f.name, ".")
		switch {
		case f.name == db.FieldID:
			c.role = "skip"
			if keepIDs {
				c.role = "id"
			}
		case f.name == db.FieldFilepath:
			c.role, hasFP = "filepath", true
		case f.name == db.FieldTags:
			c.role = "tags"
		case top == db.FieldInsights:
			c.role = "computed"
		case top == db.FieldMetadata && checkFiles:
			c.role = "skip"
		case top == db.FieldID || top == db.FieldTags || top == db.FieldFilepath:
			return nil, fmt.Errorf("the column %s names a field inside %s, which is not a document", f.name, top)
		case f.name == "" || strings.HasPrefix(f.name, ".") || strings.HasSuffix(f.name, ".") || strings.Contains(f.name, ".."):
			return nil, fmt.Errorf("the column name %q is not a field path", f.name)
		}
		cols = append(cols, c)
	}
	if !hasFP {
		return nil, fmt.Errorf("the file has no filepath column")
	}
	if keepIDs && !slicesContainsRole(cols, "id") {
		return nil, fmt.Errorf("keep_ids = true needs an id column, and the file has none")
	}
	return cols, nil
}

func slicesContainsRole(cols []pqColumn, role string) bool {
	for _, c := range cols {
		if c.role == role {
			return true
		}
	}
	return false
}

// parquetSample makes the sample of one row, whose leaf columns' values
// are vals (its filepath as the file holds it).
func parquetSample(cols []pqColumn, vals [][]parquet.Value) (db.NewSample, error) {
	var ns db.NewSample
	doc := db.Doc()
	for i := range cols {
		c := &cols[i]
		if c.role == "skip" {
			continue
		}
		if c.role == "computed" {
			c.held = c.held || vals[c.field.col][0].DefinitionLevel() > 0
			continue
		}
		v, err := c.field.value(vals[c.field.col:c.field.col+c.field.ncols], 0, 0)
		if err != nil {
			return ns, fmt.Errorf("column %s: %w", c.field.name, err)
		}
		null := v.Kind() == db.KindNull
		switch c.role {
		case "id":
			if v.Kind() != db.KindString {
				return ns, fmt.Errorf("column id is %s, not a sample id (keep_ids = true keeps every row's id)", describeValue(v))
			}
			if ns.ID, err = db.ParseID(v.AsString()); err != nil {
				return ns, err
			}
		case "filepath":
			if v.Kind() != db.KindString || v.AsString() == "" {
				return ns, fmt.Errorf("filepath must be a non-empty string, not %s", describeValue(v))
			}
			ns.Filepath = v.AsString()
		case "tags":
			if ns.Tags, err = tagList(v); err != nil {
				return ns, err
			}
		default:
			if !null {
				doc = doc.With(c.path, v)
			}
		}
	}
	ns.Fields = doc
	return ns, nil
}

// parquetSource reads the samples of a Parquet file, a row group at a
// time.
type parquetSource struct {
	pf   *parquet.File
	cols []pqColumn
	row  int // the row read last, counted from 1
}

// openParquet reads a Parquet file's footer and decides what its columns
// become (parquetColumns).
func openParquet(r io.ReaderAt, size int64, keepIDs, checkFiles bool) (*parquetSource, error) {
	var pf *parquet.File
	err := pqGuard(func() error {
		var err error
		pf, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("not a Parquet file, or a damaged or cut short one: %w", err)
	}
	cols, err := parquetColumns(pf.Schema(), keepIDs, checkFiles)
	if err != nil {
		return nil, err
	}
	return &parquetSource{pf: pf, cols: cols}, nil
}

// each calls fn with the sample of every row in order (its filepath as
// the file holds it) until fn returns false or an error. An error is
// about row src.row.
func (src *parquetSource) each(fn func(db.NewSample) (bool, error)) error {
	buf := make([]parquet.Row, parquetBatchRows)
	var vals [][]parquet.Value
	for _, rg := range src.pf.RowGroups() {
		rows := rg.Rows()
		for {
			var n int
			err := pqGuard(func() error {
				var err error
				n, err = rows.ReadRows(buf)
				return err
			})
			for _, r := range buf[:n] {
				src.row++
				vals = vals[:0]
				r.Range(func(_ int, v []parquet.Value) bool { vals = append(vals, v); return true })
				var ns db.NewSample
				serr := pqGuard(func() error {
					var err error
					ns, err = parquetSample(src.cols, vals)
					return err
				})
				more := false
				if serr == nil {
					more, serr = fn(ns)
				}
				if serr != nil || !more {
					rows.Close()
					return serr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				src.row++
				return fmt.Errorf("the file is damaged or cut short: %w", err)
			}
		}
		rows.Close()
	}
	if total := src.pf.NumRows(); int64(src.row) != total {
		src.row++
		return fmt.Errorf("the file holds %d rows but says %d", src.row-1, total)
	}
	return nil
}

// importParquet adds one sample per row of a Parquet file, all or none.
func (s *Session) importParquet(ctx context.Context, t *Import, file string, checkFiles, keepIDs bool) (*Result, error) {
	f, st, err := db.OpenUserFile(file, 0)
	if err != nil {
		return nil, fmt.Errorf("IMPORT INTO %s: %w", t.Dataset, err)
	}
	defer f.Close()
	src, err := openParquet(f, st.Size(), keepIDs, checkFiles)
	if err != nil {
		return nil, fmt.Errorf("%w: IMPORT INTO %s: %s: %w; nothing was imported", ErrInput, t.Dataset, file, err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	records := func(yield func(db.NewSample, error) bool) {
		err := src.each(func(ns db.NewSample) (bool, error) {
			if err := placeSample(&ns, filepath.Dir(abs), checkFiles); err != nil {
				return false, err
			}
			return yield(ns, nil), nil
		})
		if err != nil {
			yield(db.NewSample{}, fmt.Errorf("%w: %s row %d: %w", ErrInput, file, src.row, err))
		}
	}
	total := src.pf.NumRows()
	ids, err := s.importRecords(ctx, t.Dataset, file, total, records, func() string { return fmt.Sprintf("row %d", src.row) })
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("imported %s into %s", plural(len(ids), "sample"), t.Dataset)
	var skipped []string
	for _, c := range src.cols {
		if c.held {
			skipped = append(skipped, c.field.name)
		}
	}
	if len(skipped) > 0 {
		msg += fmt.Sprintf(" (columns computed by fosql not imported: %s)", strings.Join(skipped, ", "))
	}
	return &Result{RowsAffected: int64(len(ids)), InsertedIDs: ids, Message: msg}, nil
}

// pqGuard runs fn, turning a panic of the Parquet library on a damaged
// file into an error.
func pqGuard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file is damaged: %v", r)
		}
	}()
	return fn()
}
