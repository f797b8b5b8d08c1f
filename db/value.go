package db

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of a Value. Kinds are declared in their sort order, as
// MongoDB orders BSON types: missing < null < bool < numbers < strings <
// lists < documents. Ints and floats are both numbers and compare
// numerically.
type Kind uint8

// The kinds a field value can have.
const (
	KindMissing Kind = iota // the field is absent
	KindNull                // an explicit null
	KindBool
	KindInt
	KindFloat
	KindString
	KindList
	KindDoc
)

var kindNames = [...]string{"missing", "null", "bool", "int", "float", "string", "list", "document"}

// String names the kind as schemas and error messages show it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// rank is the kind's position in the cross-type order; ints and floats
// share one rank so that they compare numerically.
func (k Kind) rank() int {
	switch k {
	case KindInt, KindFloat:
		return int(KindInt)
	case KindString, KindList, KindDoc:
		return int(k) - 1
	}
	return int(k)
}

// Value is one typed field value: missing, null, bool, int, float, string,
// list, or document. The zero Value is missing. Values are immutable.
type Value struct {
	kind Kind
	num  uint64 // bool 0/1, int64 bits, or float64 bits
	str  string
	list []Value
	doc  []Field // sorted by name, names unique
}

// Field is a named value inside a document.
type Field struct {
	Name  string
	Value Value
}

// Missing returns the value of an absent field.
func Missing() Value { return Value{} }

// Null returns an explicit null.
func Null() Value { return Value{kind: KindNull} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, num: 1}
	}
	return Value{kind: KindBool}
}

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: KindInt, num: uint64(i)} }

// Float returns a floating-point value. Negative zero is stored as zero.
func Float(f float64) Value {
	if f == 0 {
		f = 0
	}
	return Value{kind: KindFloat, num: math.Float64bits(f)}
}

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// List returns a list of values.
func List(items ...Value) Value { return Value{kind: KindList, list: items} }

// Strings returns a list of strings.
func Strings(items []string) Value {
	l := make([]Value, len(items))
	for i, s := range items {
		l[i] = String(s)
	}
	return List(l...)
}

// Floats returns a list of floats, for example an embedding vector.
func Floats(items []float64) Value {
	l := make([]Value, len(items))
	for i, f := range items {
		l[i] = Float(f)
	}
	return List(l...)
}

// Doc returns a document of the given fields. A later field of the same
// name replaces an earlier one; missing values are dropped.
func Doc(fields ...Field) Value {
	d := make([]Field, 0, len(fields))
	for _, f := range fields {
		if f.Value.kind == KindMissing {
			continue
		}
		d = append(d, f)
	}
	sort.SliceStable(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	out := d[:0]
	for i, f := range d {
		if i+1 < len(d) && d[i+1].Name == f.Name {
			continue
		}
		out = append(out, f)
	}
	return Value{kind: KindDoc, doc: out}
}

// Kind reports the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsMissing reports whether the value is absent.
func (v Value) IsMissing() bool { return v.kind == KindMissing }

// IsNumber reports whether the value is an int or a float.
func (v Value) IsNumber() bool { return v.kind == KindInt || v.kind == KindFloat }

// AsBool returns the boolean; false for other kinds.
func (v Value) AsBool() bool { return v.kind == KindBool && v.num == 1 }

// AsInt returns the value as an int64: floats are truncated, other kinds are 0.
func (v Value) AsInt() int64 {
	switch v.kind {
	case KindInt:
		return int64(v.num)
	case KindFloat:
		return int64(math.Float64frombits(v.num))
	}
	return 0
}

// AsFloat returns the value as a float64: ints are converted, other kinds are 0.
func (v Value) AsFloat() float64 {
	switch v.kind {
	case KindInt:
		return float64(int64(v.num))
	case KindFloat:
		return math.Float64frombits(v.num)
	}
	return 0
}

// AsString returns the string; empty for other kinds.
func (v Value) AsString() string { return v.str }

// Items returns a list's items; nil for other kinds.
func (v Value) Items() []Value { return v.list }

// Fields returns a document's fields sorted by name; nil for other kinds.
func (v Value) Fields() []Field { return v.doc }

// Field returns the named field of a document; missing if absent or if v
// is not a document.
func (v Value) Field(name string) Value {
	d := v.doc
	i := sort.Search(len(d), func(i int) bool { return d[i].Name >= name })
	if i < len(d) && d[i].Name == name {
		return d[i].Value
	}
	return Value{}
}

// Path follows a dotted path through nested documents.
func (v Value) Path(path string) Value {
	for {
		name, rest, more := strings.Cut(path, ".")
		v = v.Field(name)
		if !more {
			return v
		}
		if v.kind != KindDoc {
			return Value{}
		}
		path = rest
	}
}

// With returns a copy of document v with the dotted path set to x,
// creating intermediate documents. Setting a missing value removes the
// field. A non-document v is treated as an empty document.
func (v Value) With(path string, x Value) Value {
	name, rest, more := strings.Cut(path, ".")
	if more {
		inner := v.Field(name)
		if inner.kind != KindDoc {
			inner = Value{kind: KindDoc}
		}
		x = inner.With(rest, x)
		if len(x.doc) == 0 {
			x = Value{}
		}
	}
	d := make([]Field, 0, len(v.doc)+1)
	done := false
	for _, f := range v.doc {
		switch {
		case f.Name == name:
			done = true
			if x.kind != KindMissing {
				d = append(d, Field{name, x})
			}
			continue
		case f.Name > name && !done:
			done = true
			if x.kind != KindMissing {
				d = append(d, Field{name, x})
			}
		}
		d = append(d, f)
	}
	if !done && x.kind != KindMissing {
		d = append(d, Field{name, x})
	}
	return Value{kind: KindDoc, doc: d}
}

// Interface converts the value to plain Go: nil (missing and null), bool,
// int64, float64, string, []any, or map[string]any.
func (v Value) Interface() any {
	switch v.kind {
	case KindBool:
		return v.AsBool()
	case KindInt:
		return int64(v.num)
	case KindFloat:
		return math.Float64frombits(v.num)
	case KindString:
		return v.str
	case KindList:
		out := make([]any, len(v.list))
		for i, x := range v.list {
			out[i] = x.Interface()
		}
		return out
	case KindDoc:
		out := make(map[string]any, len(v.doc))
		for _, f := range v.doc {
			out[f.Name] = f.Value.Interface()
		}
		return out
	}
	return nil
}

// FromGo converts a plain Go value to a Value: nil, bool, all integer and
// float types, string, []string, []float64, []float32, []any, map[string]any
// and Value itself.
func FromGo(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Null(), nil
	case Value:
		return t, nil
	case bool:
		return Bool(t), nil
	case int:
		return Int(int64(t)), nil
	case int8:
		return Int(int64(t)), nil
	case int16:
		return Int(int64(t)), nil
	case int32:
		return Int(int64(t)), nil
	case int64:
		return Int(t), nil
	case uint8:
		return Int(int64(t)), nil
	case uint16:
		return Int(int64(t)), nil
	case uint32:
		return Int(int64(t)), nil
	case uint:
		if uint64(t) > math.MaxInt64 {
			return Value{}, fmt.Errorf("db: integer %d overflows int64", t)
		}
		return Int(int64(t)), nil
	case uint64:
		if t > math.MaxInt64 {
			return Value{}, fmt.Errorf("db: integer %d overflows int64", t)
		}
		return Int(int64(t)), nil
	case float32:
		return Float(float64(t)), nil
	case float64:
		return Float(t), nil
	case string:
		return String(t), nil
	case []string:
		return Strings(t), nil
	case []float64:
		return Floats(t), nil
	case []float32:
		l := make([]Value, len(t))
		for i, f := range t {
			l[i] = Float(float64(f))
		}
		return List(l...), nil
	case []any:
		l := make([]Value, len(t))
		for i, e := range t {
			v, err := FromGo(e)
			if err != nil {
				return Value{}, err
			}
			l[i] = v
		}
		return List(l...), nil
	case map[string]any:
		fs := make([]Field, 0, len(t))
		for k, e := range t {
			if k == "" || strings.Contains(k, ".") {
				return Value{}, fmt.Errorf("db: invalid field name %q", k)
			}
			v, err := FromGo(e)
			if err != nil {
				return Value{}, err
			}
			fs = append(fs, Field{k, v})
		}
		return Doc(fs...), nil
	}
	return Value{}, fmt.Errorf("db: unsupported value type %T", x)
}

// Compare orders two values: -1, 0 or +1. Kinds order as MongoDB orders
// BSON types; ints and floats compare numerically; NaN sorts below every
// other number and equals itself; strings compare bytewise; lists compare
// item by item, then by length; documents compare field by field (name,
// then value), then by length.
func Compare(a, b Value) int {
	ra, rb := a.kind.rank(), b.kind.rank()
	if ra != rb {
		return cmpInt(ra, rb)
	}
	switch a.kind {
	case KindMissing, KindNull:
		return 0
	case KindBool:
		return cmpInt(int(a.num), int(b.num))
	case KindInt, KindFloat:
		return compareNumbers(a, b)
	case KindString:
		return strings.Compare(a.str, b.str)
	case KindList:
		for i := 0; i < len(a.list) && i < len(b.list); i++ {
			if c := Compare(a.list[i], b.list[i]); c != 0 {
				return c
			}
		}
		return cmpInt(len(a.list), len(b.list))
	case KindDoc:
		for i := 0; i < len(a.doc) && i < len(b.doc); i++ {
			if c := strings.Compare(a.doc[i].Name, b.doc[i].Name); c != 0 {
				return c
			}
			if c := Compare(a.doc[i].Value, b.doc[i].Value); c != 0 {
				return c
			}
		}
		return cmpInt(len(a.doc), len(b.doc))
	}
	return 0
}

func compareNumbers(a, b Value) int {
	if a.kind == KindInt && b.kind == KindInt {
		return cmpInt64(int64(a.num), int64(b.num))
	}
	fa, fb := a.AsFloat(), b.AsFloat()
	na, nb := math.IsNaN(fa), math.IsNaN(fb)
	switch {
	case na && nb:
		return 0
	case na:
		return -1
	case nb:
		return 1
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	// Equal as float64: an int may still differ from the float by less
	// than float64 can show.
	return cmpInt64(intResidual(a), intResidual(b))
}

// intResidual is what an int keeps beyond its nearest float64; 0 for floats.
func intResidual(v Value) int64 {
	if v.kind != KindInt {
		return 0
	}
	i := int64(v.num)
	f := float64(i)
	if f >= 0x1p63 {
		return i - math.MaxInt64 - 1
	}
	return i - int64(f)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Equal reports whether two values compare equal.
func Equal(a, b Value) bool { return Compare(a, b) == 0 }

// String renders the value as JSON-like text, for messages and tests.
func (v Value) String() string {
	switch v.kind {
	case KindMissing:
		return "<missing>"
	case KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}
