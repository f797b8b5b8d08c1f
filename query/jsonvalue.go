package query

import (
	"fmt"
	"strconv"

	"github.com/fosql/fosql/db"
)

// maxJSONDepth bounds the nesting of a JSON value read from a file, so a
// hostile line cannot exhaust the stack.
const maxJSONDepth = 64

// parseJSONValue reads one JSON value that fills b (surrounding white
// space allowed) as a db.Value: objects become documents (field order
// kept), arrays lists, integers that fit int64 ints, other numbers
// floats. Strings are read as DecodeJSONString reads them, so a \udcXX
// escape that fosql's own JSON output wrote gives back its byte.
func parseJSONValue(b []byte) (db.Value, error) {
	p := jsonParser{b: b}
	v, err := p.value(0)
	if err != nil {
		return db.Value{}, err
	}
	p.space()
	if p.i < len(p.b) {
		return db.Value{}, p.fail("unexpected %q after the value", p.b[p.i])
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) fail(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (db.Value, error) {
	p.space()
	if p.i >= len(p.b) {
		return db.Value{}, p.fail("unexpected end")
	}
	if depth > maxJSONDepth {
		return db.Value{}, p.fail("nested deeper than %d levels", maxJSONDepth)
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return db.String(s), err
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	for _, w := range [...]struct {
		word string
		v    db.Value
	}{{"true", db.Bool(true)}, {"false", db.Bool(false)}, {"null", db.Null()}} {
		if len(p.b)-p.i >= len(w.word) && string(p.b[p.i:p.i+len(w.word)]) == w.word {
			p.i += len(w.word)
			return w.v, nil
		}
	}
	return db.Value{}, p.fail("unexpected %q", p.b[p.i])
}

func (p *jsonParser) object(depth int) (db.Value, error) {
	p.i++ // {
	var fields []db.Field
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return db.Doc(), nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return db.Value{}, p.fail("expected a field name")
		}
		name, err := p.str()
		if err != nil {
			return db.Value{}, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return db.Value{}, p.fail("expected : after field %q", name)
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return db.Value{}, err
		}
		fields = append(fields, db.Field{Name: name, Value: v})
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return db.Doc(fields...), nil
		}
		return db.Value{}, p.fail("expected , or } in an object")
	}
}

func (p *jsonParser) array(depth int) (db.Value, error) {
	p.i++ // [
	var items []db.Value
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return db.List(), nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return db.Value{}, err
		}
		items = append(items, v)
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return db.List(items...), nil
		}
		return db.Value{}, p.fail("expected , or ] in a list")
	}
}

// str reads a string literal; one without escapes is taken as it is.
func (p *jsonParser) str() (string, error) {
	start := p.i
	escaped := false
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i++
		case c == '"':
			p.i++
			lit := p.b[start:p.i]
			if !escaped {
				return string(lit[1 : len(lit)-1]), nil
			}
			return DecodeJSONString(string(lit))
		case c < 0x20:
			return "", p.fail("a control character inside a string")
		}
	}
	p.i = start
	return "", p.fail("a string that does not end")
}

func (p *jsonParser) number() (db.Value, error) {
	start := p.i
	isFloat := false
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
		} else if !(c == '-' || c == '+' || ('0' <= c && c <= '9')) {
			break
		}
	}
	s := string(p.b[start:p.i])
	if !isFloat {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return db.Int(n), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.i = start
		return db.Value{}, p.fail("bad number %q", s)
	}
	return db.Float(f), nil
}
