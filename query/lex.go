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
	lx := lexer{src: src, stmtStart: -1}
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			return toks, err
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

// utf8BOM is the byte-order mark that editors on some systems put at the
// start of a UTF-8 file; between tokens it is read as a blank.
const utf8BOM = "\xef\xbb\xbf"

// lexer reads the tokens of src one at a time, so that a caller can stop
// at a limit before the rest of a long text is tokenised.
type lexer struct {
	src string
	i   int
	// With maxStatement positive, a string or quoted identifier that
	// would make its statement longer than maxStatement bytes is not
	// decoded: next returns a *tooLongError. stmtStart is the offset of
	// the statement's first token, or -1 when the next token is the
	// first.
	maxStatement int
	stmtStart    int
}

// tooLongError reports a quoted token that takes its statement over
// lexer.maxStatement bytes.
type tooLongError struct{ start, end int }

func (e *tooLongError) Error() string { return "quoted text too long" }

// next returns the next token; after the tokEOF at len(src) it returns
// tokEOF again.
func (lx *lexer) next() (token, error) {
	src, i, n := lx.src, lx.i, len(lx.src)
	// Blanks and comments.
	for i < n {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == utf8BOM[0] && strings.HasPrefix(src[i:], utf8BOM):
			i += len(utf8BOM)
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
				lx.i = n
				return token{}, &lexError{i, "unterminated comment"}
			}
			i += 2 + j + 2
			continue
		}
		break
	}
	if i >= n {
		lx.i = n
		return token{kind: tokEOF, start: n, end: n}, nil
	}
	start := i
	c := src[i]
	var t token
	switch {
	case (c == 'x' || c == 'X' || c == 'b' || c == 'B') && i+1 < n && src[i+1] == '\'':
		j := strings.IndexByte(src[i+2:], '\'')
		if j < 0 {
			return token{}, &lexError{start, "unterminated string"}
		}
		i += 2 + j + 1
		t = token{kind: tokHexString, start: start, end: i, val: src[start:i]}
	case isIdentStart(c):
		i++
		for i < n && isIdentPart(src[i]) {
			i++
		}
		t = token{kind: tokIdent, start: start, end: i, val: src[start:i]}
	case isDigit(c) || (c == '.' && i+1 < n && isDigit(src[i+1])):
		i = scanNumber(src, i)
		t = token{kind: tokNumber, start: start, end: i, val: src[start:i]}
	case c == '\'' || c == '"' || c == '`':
		escapes := c != '`'
		end, ok := quotedEnd(src, i, c, escapes)
		if !ok {
			if c == '`' {
				return token{}, &lexError{start, "unterminated back-quoted identifier"}
			}
			return token{}, &lexError{start, "unterminated string"}
		}
		first := lx.stmtStart
		if first < 0 {
			first = start
		}
		if lx.maxStatement > 0 && end-first > lx.maxStatement {
			lx.i = end
			return token{}, &tooLongError{start, end}
		}
		val := unquote(src[i:end], c, escapes)
		i = end
		if c == '`' {
			if val == "" {
				return token{}, &lexError{start, "empty back-quoted identifier"}
			}
			t = token{kind: tokQuotedIdent, start: start, end: i, val: val}
		} else {
			t = token{kind: tokString, start: start, end: i, val: val}
		}
	case c == '?':
		i++
		t = token{kind: tokParam, start: start, end: i, val: "?"}
	case c == ':' && i+1 < n && isIdentStart(src[i+1]):
		i++
		for i < n && (isIdentPart(src[i]) || src[i] == '.') {
			i++
		}
		t = token{kind: tokBindVar, start: start, end: i, val: src[start+1 : i]}
	default:
		op := scanOp(src[i:])
		i += len(op)
		t = token{kind: tokOp, start: start, end: i, val: op}
	}
	lx.i = i
	return t, nil
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

// quotedEnd finds the end of the quoted string or identifier starting at
// src[i] (the opening quote q), without decoding it: a doubled quote
// stands for one and, with escapes, a backslash escapes the next byte. It
// returns the offset after the closing quote.
func quotedEnd(src string, i int, q byte, escapes bool) (int, bool) {
	for i++; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\' && escapes:
			i++ // the escaped byte
		case c != q:
		case i+1 < len(src) && src[i+1] == q:
			i++ // a doubled quote
		default:
			return i + 1, true
		}
	}
	return 0, false
}

// unquote decodes a quoted token (its text with both quotes, as quotedEnd
// found it): a doubled quote stands for one; with escapes, a backslash
// escapes the next character as MySQL does.
func unquote(text string, q byte, escapes bool) string {
	body := text[1 : len(text)-1]
	if strings.IndexByte(body, q) < 0 && (!escapes || strings.IndexByte(body, '\\') < 0) {
		return body
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == q:
			b.WriteByte(q) // the first of a doubled quote
			i++
		case c == '\\' && escapes:
			b.WriteString(unescape(body[i+1]))
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
