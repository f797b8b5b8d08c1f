package query

import (
	"strings"
	"unicode/utf8"
)

// tokKind classifies a token of the SQL text.
type tokKind uint8

const (
	tokEOF         tokKind = iota
	tokIdent               // a bare word: keyword or identifier
	tokQuotedIdent         // `back-quoted`
	tokString              // 'single' or "double" quoted
	tokNumber              // 12, 1.5, 1e3, .5, 0x1F
	tokHexString           // x'1F', b'101' (passed through untouched)
	tokParam               // ?
	tokBindVar             // :name
	tokOp                  // punctuation and operators
)

// token is one lexical token with its byte offsets in the text it came
// from. For strings and quoted identifiers, val is the decoded content;
// for identifiers and operators it is the text as written.
type token struct {
	kind       tokKind
	start, end int
	val        string
	n          int // for tokParam: the placeholder's 1-based number in the script
}

// is reports whether t is the bare word kw, ignoring case.
func (t token) is(kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.val, kw) }

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.kind == tokOp && t.val == op }

// isName reports whether t can name something: a bare word or a
// back-quoted identifier.
func (t token) isName() bool { return t.kind == tokIdent || t.kind == tokQuotedIdent }

// lexError is a lexical error at a byte offset.
type lexError struct {
	pos int
	msg string
}

func (e *lexError) Error() string { return e.msg }

// lex splits src into tokens, skipping blanks and comments, in the way
// MySQL (and xwb1989/sqlparser) reads them: '…' and "…" strings with
// backslash escapes and doubled quotes, `…` identifiers, -- # // and /* */
// comments. The last token is always tokEOF at len(src).
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	n := len(src)
	for {
		// Blanks and comments.
		for i < n {
			c := src[i]
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				i++
				continue
			case c == '#' || (c == '-' && i+1 < n && src[i+1] == '-') || (c == '/' && i+1 < n && src[i+1] == '/'):
				j := strings.IndexByte(src[i:], '\n')
				if j < 0 {
					i = n
				} else {
					i += j + 1
				}
				continue
			case c == '/' && i+1 < n && src[i+1] == '*':
				j := strings.Index(src[i+2:], "*/")
				if j < 0 {
					return toks, &lexError{i, "unterminated comment"}
				}
				i += 2 + j + 2
				continue
			}
			break
		}
		if i >= n {
			toks = append(toks, token{kind: tokEOF, start: n, end: n})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case (c == 'x' || c == 'X' || c == 'b' || c == 'B') && i+1 < n && src[i+1] == '\'':
			j := strings.IndexByte(src[i+2:], '\'')
			if j < 0 {
				return toks, &lexError{start, "unterminated string"}
			}
			i += 2 + j + 1
			toks = append(toks, token{kind: tokHexString, start: start, end: i, val: src[start:i]})
		case isIdentStart(c):
			i++
			for i < n && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tokIdent, start: start, end: i, val: src[start:i]})
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(src[i+1])):
			i = scanNumber(src, i)
			toks = append(toks, token{kind: tokNumber, start: start, end: i, val: src[start:i]})
		case c == '\'' || c == '"':
			val, end, ok := scanQuoted(src, i, c, true)
			if !ok {
				return toks, &lexError{start, "unterminated string"}
			}
			i = end
			toks = append(toks, token{kind: tokString, start: start, end: i, val: val})
		case c == '`':
			val, end, ok := scanQuoted(src, i, '`', false)
			if !ok {
				return toks, &lexError{start, "unterminated back-quoted identifier"}
			}
			if val == "" {
				return toks, &lexError{start, "empty back-quoted identifier"}
			}
			i = end
			toks = append(toks, token{kind: tokQuotedIdent, start: start, end: i, val: val})
		case c == '?':
			i++
			toks = append(toks, token{kind: tokParam, start: start, end: i, val: "?"})
		case c == ':' && i+1 < n && isIdentStart(src[i+1]):
			i++
			for i < n && (isIdentPart(src[i]) || src[i] == '.') {
				i++
			}
			toks = append(toks, token{kind: tokBindVar, start: start, end: i, val: src[start+1 : i]})
		default:
			op := scanOp(src[i:])
			i += len(op)
			toks = append(toks, token{kind: tokOp, start: start, end: i, val: op})
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '@' || c == '$' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// scanNumber returns the end of the number starting at i.
func scanNumber(src string, i int) int {
	n := len(src)
	if src[i] == '0' && i+1 < n && (src[i+1] == 'x' || src[i+1] == 'X') {
		i += 2
		for i < n && (isDigit(src[i]) || 'a' <= src[i]|0x20 && src[i]|0x20 <= 'f') {
			i++
		}
		return i
	}
	for i < n && isDigit(src[i]) {
		i++
	}
	if i < n && src[i] == '.' {
		i++
		for i < n && isDigit(src[i]) {
			i++
		}
	}
	if i < n && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < n && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < n && isDigit(src[j]) {
			i = j
			for i < n && isDigit(src[i]) {
				i++
			}
		}
	}
	return i
}

// scanQuoted reads a quoted string or identifier starting at src[i] (the
// opening quote q). A doubled quote stands for one; with escapes, a
// backslash escapes the next character as MySQL does. It returns the
// decoded value and the offset after the closing quote.
func scanQuoted(src string, i int, q byte, escapes bool) (string, int, bool) {
	var b strings.Builder
	i++
	for i < len(src) {
		c := src[i]
		switch {
		case c == q:
			if i+1 < len(src) && src[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			return b.String(), i + 1, true
		case c == '\\' && escapes:
			if i+1 >= len(src) {
				return "", 0, false
			}
			b.WriteString(unescape(src[i+1]))
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, false
}

// unescape decodes the character after a backslash in a string literal,
// as MySQL does; \% and \_ keep their backslash so that LIKE sees it.
func unescape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c)
	}
	return string(c)
}

var multiOps = []string{"<=>", "->>", "<=", ">=", "<>", "!=", "<<", ">>", "&&", "||", "->", ":="}

// scanOp returns the operator at the start of s (at least one byte, a
// whole UTF-8 character when s does not start with ASCII).
func scanOp(s string) string {
	for _, op := range multiOps {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	if s[0] >= 0x80 {
		_, size := utf8.DecodeRuneInString(s)
		return s[:size]
	}
	return s[:1]
}

// splitStatements cuts a script at the semicolons that lie outside
// strings, identifiers and comments. Each piece holds the tokens of one
// statement (without the semicolon and with a final tokEOF at the piece's
// end) and its byte range in src. Empty statements are dropped.
type piece struct {
	start, end int     // byte range of the statement in the script
	toks       []token // offsets relative to the script
}

func splitStatements(toks []token) []piece {
	var out []piece
	cur := piece{start: -1}
	flush := func(end int) {
		if len(cur.toks) > 0 {
			cur.end = end
			cur.toks = append(cur.toks, token{kind: tokEOF, start: end, end: end})
			out = append(out, cur)
		}
		cur = piece{start: -1}
	}
	for _, t := range toks {
		switch {
		case t.kind == tokEOF:
			last := t.start
			if len(cur.toks) > 0 {
				last = cur.toks[len(cur.toks)-1].end
			}
			flush(last)
			return out
		case t.isOp(";"):
			last := t.start
			if len(cur.toks) > 0 {
				last = cur.toks[len(cur.toks)-1].end
			}
			flush(last)
		default:
			if cur.start < 0 {
				cur.start = t.start
			}
			cur.toks = append(cur.toks, t)
		}
	}
	flush(0)
	return out
}
