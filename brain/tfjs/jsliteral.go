package tfjs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsLiteralToJSON rewrites the JavaScript literal at the start of src (an
// object, array, string, number, true/false/!0/!1, null or void 0, with
// unquoted or quoted keys) as JSON. It returns the JSON and the number of
// bytes of src the literal took.
func jsLiteralToJSON(src []byte) ([]byte, int, error) {
	p := &jsParser{src: src}
	var out bytes.Buffer
	if err := p.value(&out, 0); err != nil {
		return nil, p.pos, err
	}
	return out.Bytes(), p.pos, nil
}

// maxLiteralDepth bounds the nesting of a literal.
const maxLiteralDepth = 64

type jsParser struct {
	src []byte
	pos int
}

func (p *jsParser) errorf(format string, args ...any) error {
	return fmt.Errorf("tfjs: JavaScript literal at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func (p *jsParser) value(out *bytes.Buffer, depth int) error {
	if depth > maxLiteralDepth {
		return p.errorf("nested more than %d deep", maxLiteralDepth)
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(out, depth)
	case c == '[':
		return p.array(out, depth)
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return err
		}
		js, _ := json.Marshal(s) // a string: cannot fail
		out.Write(js)
		return nil
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number(out)
	case c == '!':
		p.pos++
		switch p.peek() {
		case '0':
			out.WriteString("true")
		case '1':
			out.WriteString("false")
		default:
			return p.errorf("unexpected %q after '!'", p.peek())
		}
		p.pos++
		return nil
	default:
		word := p.ident()
		switch word {
		case "true", "false", "null":
			out.WriteString(word)
		case "void":
			p.skipSpace()
			if p.ident() == "" {
				if err := p.number(&bytes.Buffer{}); err != nil {
					return err
				}
			}
			out.WriteString("null")
		case "":
			if c == 0 {
				return p.errorf("unexpected end of input")
			}
			return p.errorf("unexpected %q", c)
		default:
			return p.errorf("unexpected identifier %q (only literals are read)", word)
		}
		return nil
	}
}

func (p *jsParser) object(out *bytes.Buffer, depth int) error {
	p.pos++ // {
	out.WriteByte('{')
	for first := true; ; first = false {
		c := p.peek()
		if c == '}' {
			p.pos++
			out.WriteByte('}')
			return nil
		}
		if !first {
			if c != ',' {
				return p.errorf("want ',' or '}' in an object, got %q", c)
			}
			p.pos++
			if p.peek() == '}' { // trailing comma
				p.pos++
				out.WriteByte('}')
				return nil
			}
			out.WriteByte(',')
		}
		var key string
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			s, err := p.str()
			if err != nil {
				return err
			}
			key = s
		case c >= '0' && c <= '9':
			start := p.pos
			for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
				p.pos++
			}
			key = string(p.src[start:p.pos])
		default:
			key = p.ident()
			if key == "" {
				return p.errorf("want a key in an object, got %q", c)
			}
		}
		js, _ := json.Marshal(key) // a string: cannot fail
		out.Write(js)
		if p.peek() != ':' {
			return p.errorf("want ':' after key %q", key)
		}
		p.pos++
		out.WriteByte(':')
		if err := p.value(out, depth+1); err != nil {
			return err
		}
	}
}

func (p *jsParser) array(out *bytes.Buffer, depth int) error {
	p.pos++ // [
	out.WriteByte('[')
	for first := true; ; first = false {
		c := p.peek()
		if c == ']' {
			p.pos++
			out.WriteByte(']')
			return nil
		}
		if !first {
			if c != ',' {
				return p.errorf("want ',' or ']' in an array, got %q", c)
			}
			p.pos++
			if p.peek() == ']' {
				p.pos++
				out.WriteByte(']')
				return nil
			}
			out.WriteByte(',')
		}
		if err := p.value(out, depth+1); err != nil {
			return err
		}
	}
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func (p *jsParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && isIdentByte(p.src[p.pos], p.pos == start) {
		p.pos++
	}
	return string(p.src[start:p.pos])
}

// number copies a JavaScript number as a JSON number: a leading '.' or '+'
// and a trailing '.' are JSON-ised; hex is converted.
func (p *jsParser) number(out *bytes.Buffer) error {
	start := p.pos
	for p.pos < len(p.src) && strings.IndexByte("+-.0123456789eExXabcdefABCDEF", p.src[p.pos]) >= 0 {
		if (p.src[p.pos] == '+' || p.src[p.pos] == '-') && p.pos > start && p.src[p.pos-1] != 'e' && p.src[p.pos-1] != 'E' {
			break
		}
		p.pos++
	}
	text := string(p.src[start:p.pos])
	if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
		v, err := strconv.ParseInt(text[2:], 16, 64)
		if err != nil {
			return p.errorf("bad number %q", text)
		}
		out.WriteString(strconv.FormatInt(v, 10))
		return nil
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return p.errorf("bad number %q", text)
	}
	out.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	return nil
}

// str reads a quoted JavaScript string and returns its value.
func (p *jsParser) str() (string, error) {
	quote := p.src[p.pos]
	p.pos++
	var sb strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == quote:
			p.pos++
			return sb.String(), nil
		case c == '\n':
			return "", p.errorf("newline in a string")
		case c != '\\':
			sb.WriteByte(c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'v':
			sb.WriteByte('\v')
		case '0':
			sb.WriteByte(0)
		case 'x', 'u':
			n := 2
			if e == 'u' {
				n = 4
			}
			if p.pos+n > len(p.src) {
				return "", p.errorf("short \\%c escape", e)
			}
			v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
			if err != nil {
				return "", p.errorf("bad \\%c escape", e)
			}
			p.pos += n
			r := rune(v)
			if utf8.ValidRune(r) {
				sb.WriteRune(r)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		case '\n':
			// a line continuation adds nothing
		default:
			sb.WriteByte(e)
		}
	}
}

// exportedLiteral finds the first `exports=` in a bundled script that is
// followed by a literal object or string, and returns that literal as JSON.
func exportedLiteral(script []byte, what string) ([]byte, error) {
	const marker = "exports="
	rest := script
	for {
		i := bytes.Index(rest, []byte(marker))
		if i < 0 {
			return nil, fmt.Errorf("tfjs: %s: no `exports=` followed by a literal", what)
		}
		rest = rest[i+len(marker):]
		if len(rest) > 0 && (rest[0] == '{' || rest[0] == '"' || rest[0] == '\'') {
			js, _, err := jsLiteralToJSON(rest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			return js, nil
		}
	}
}
