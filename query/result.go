package query

import (
	"github.com/fosql/fosql/db"
)

// ColumnType is the type of a result column. A column whose values have
// more than one kind is TypeAny: each value then shows its own kind.
type ColumnType uint8

// Column types.
const (
	TypeAny    ColumnType = iota // mixed kinds
	TypeString                   // text, e.g. id and filepath
	TypeInt                      // 64-bit integer
	TypeFloat                    // 64-bit float
	TypeBool                     // true or false
	TypeList                     // a list (tags, vectors), shown as JSON
	TypeJSON                     // a nested document, shown as JSON
)

var typeNames = [...]string{"any", "string", "int", "float", "bool", "list", "json"}

// String names the type: any, string, int, float, bool, list or json.
func (t ColumnType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "any"
}

// DatabaseTypeName is the name database/sql reports: TEXT, INTEGER, REAL,
// BOOLEAN, LIST, JSON or ANY.
func (t ColumnType) DatabaseTypeName() string {
	switch t {
	case TypeString:
		return "TEXT"
	case TypeInt:
		return "INTEGER"
	case TypeFloat:
		return "REAL"
	case TypeBool:
		return "BOOLEAN"
	case TypeList:
		return "LIST"
	case TypeJSON:
		return "JSON"
	}
	return "ANY"
}

// typeOfKinds is the column type for a field that holds the given kinds
// (missing and null ignored; ints mixed with floats are floats).
func typeOfKinds(kinds []db.Kind) ColumnType {
	var seen [db.KindDoc + 1]bool
	n := 0
	for _, k := range kinds {
		if k > db.KindNull && k <= db.KindDoc && !seen[k] {
			seen[k] = true
			n++
		}
	}
	switch {
	case n == 0:
		return TypeAny
	case n == 2 && seen[db.KindInt] && seen[db.KindFloat]:
		return TypeFloat
	case n > 1:
		return TypeAny
	}
	switch {
	case seen[db.KindString]:
		return TypeString
	case seen[db.KindInt]:
		return TypeInt
	case seen[db.KindFloat]:
		return TypeFloat
	case seen[db.KindBool]:
		return TypeBool
	case seen[db.KindList]:
		return TypeList
	}
	return TypeJSON
}

// Column describes one column of a result set.
type Column struct {
	Name string
	Type ColumnType
}

// Result is what a statement returns: a result set (Columns and Rows) for
// statements that return rows, and a count and message for the others.
// Every renderer (table, TSV, CSV, JSON lines) works from a Result.
type Result struct {
	// Columns is nil for statements that return no rows.
	Columns []Column
	// Rows holds one value per column; missing and null values are
	// db.Missing() and db.Null().
	Rows [][]db.Value
	// RowsAffected counts the samples a write changed (INSERT, UPDATE,
	// DELETE) or the images a CREATE DATASET … FROM IMAGES added.
	RowsAffected int64
	// InsertedIDs are the ids of the samples an INSERT or CREATE DATASET
	// … FROM IMAGES added, in order.
	InsertedIDs []db.ID
	// Message is a one-line summary of what a statement did, for a shell
	// to show (e.g. "2 rows affected"); empty for queries.
	Message string
	// Warnings are things the user should know that did not stop the
	// statement, e.g. the files an ingest skipped and why.
	Warnings []string
	// Failed means the statement ran and found something wrong (CHECK
	// DATABASE found problems): a shell prints the rows, then exits with
	// status 1.
	Failed bool

	// stream, when set, produces the rows instead of Rows (see
	// Session.Stream); it can be read once.
	stream func(yield func([]db.Value) bool) error
}

// Each calls fn with every row in order, stopping at fn's first error. On
// a streamed result (Session.Stream) it reads the rows as it goes, and only
// once; the row slices are not reused, so fn may keep them.
func (r *Result) Each(fn func(row []db.Value) error) error {
	if r.stream == nil {
		for _, row := range r.Rows {
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	}
	stream := r.stream
	r.stream = nil
	var ferr error
	err := stream(func(row []db.Value) bool {
		ferr = fn(row)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// collect reads a streamed result's rows into Rows.
func (r *Result) collect() error {
	if r.stream == nil {
		return nil
	}
	rows := [][]db.Value{}
	err := r.Each(func(row []db.Value) error {
		rows = append(rows, row)
		return nil
	})
	r.Rows = rows
	return err
}

// Streamed reports whether the rows come from Each, not Rows.
func (r *Result) Streamed() bool { return r != nil && r.stream != nil }

// HasRows reports whether the result is a result set (it may be empty).
func (r *Result) HasRows() bool { return r != nil && r.Columns != nil }

// ColumnNames returns the column names.
func (r *Result) ColumnNames() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}
