package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fosql/fosql/query"
)

// maxStatementBytes is the longest statement the shell reads from a script
// or the terminal, and (with some room for JSON) the largest request body
// the dashboard accepts: the query layer's own limit, so that nothing is
// read that the query layer would refuse, and reading input never takes
// memory without bound.
const maxStatementBytes = query.MaxStatementBytes

// utf8BOM is the byte order mark some editors write at the start of a
// UTF-8 file. It is not part of the SQL.
const utf8BOM = "\uFEFF"

// errStatementTooLong is wrapped by the error for a statement longer than
// maxStatementBytes.
var errStatementTooLong = errors.New("statement too long")

// sqlScanner follows SQL text byte by byte to tell where statements end:
// at a semicolon outside string literals, quoted names and comments. It
// knows the dialect's quoting: '…', "…" and `…`, a doubled quote inside,
// a backslash escape inside '…' and "…", -- and # line comments and
// /* */ block comments.
type sqlScanner struct {
	quote        byte // the open quote, 0 outside quotes
	escaped      bool // the previous byte in a quote was a backslash
	closing      bool // a quote byte was seen in a quote: it closes unless doubled
	lineComment  bool
	blockComment bool
	prev         byte // the previous byte outside quotes (or in a block comment)
	last         byte // the last significant byte outside quotes and comments
	lastBefore   byte // last before the latest significant byte, for -- and /*
}

// step takes the next byte and reports whether it ends a statement.
func (s *sqlScanner) step(c byte) bool {
	if s.closing {
		s.closing = false
		if c == s.quote {
			return false // a doubled quote stays inside
		}
		s.last, s.quote = s.quote, 0
	}
	switch {
	case s.lineComment:
		if c == '\n' {
			s.lineComment = false
		}
		return false
	case s.blockComment:
		if s.prev == '*' && c == '/' {
			s.blockComment = false
			c = 0 // the slash that ends a comment starts nothing
		}
		s.prev = c
		return false
	case s.quote != 0:
		switch {
		case s.escaped:
			s.escaped = false
		case c == '\\' && s.quote != '`':
			s.escaped = true
		case c == s.quote:
			s.closing = true
		}
		return false
	}
	if (s.prev == '-' && c == '-') || (s.prev == '/' && c == '*') {
		s.lineComment = c == '-'
		s.blockComment = c == '*'
		s.last = s.lastBefore
		s.prev = 0
		return false
	}
	s.prev = c
	switch c {
	case '\'', '"', '`':
		s.quote = c
	case '#':
		s.lineComment = true
	case ' ', '\t', '\n', '\r':
	default:
		s.lastBefore, s.last = s.last, c
	}
	return c == ';'
}

// complete reports whether the text scanned so far ends with a semicolon
// outside quotes and comments.
func (s *sqlScanner) complete() bool {
	return s.quote == 0 && !s.blockComment && s.last == ';'
}

// significant reports whether the text scanned so far holds more than
// blanks and comments.
func (s *sqlScanner) significant() bool {
	return s.last != 0 || s.quote != 0
}

// statementComplete reports whether text ends with a semicolon outside
// quotes and comments, so that what was typed so far can run.
func statementComplete(text string) bool {
	var s sqlScanner
	for i := 0; i < len(text); i++ {
		s.step(text[i])
	}
	return s.complete()
}

// statementReader reads a script one statement at a time, so that the
// memory it takes is that of one statement, at most maxBytes of it.
type statementReader struct {
	r        *bufio.Reader
	maxBytes int
	line     int  // the line of the script the reader is at, from 1
	started  bool // the first byte was read (and a BOM before it dropped)
}

func newStatementReader(r io.Reader, maxBytes int) *statementReader {
	return &statementReader{r: bufio.NewReaderSize(r, 64<<10), maxBytes: maxBytes, line: 1}
}

// next returns the next statement (through its semicolon, without the
// blanks before it) and the script line it starts on. A line that starts
// with a dot where a statement could start is a meta command: it is
// returned whole, without its line end (comments before it are dropped).
// It returns io.EOF
// when the script holds no more statements; text after the last
// semicolon that is only blanks and comments is not a statement. A
// statement longer than maxBytes is an error wrapping
// errStatementTooLong.
func (sr *statementReader) next() (text string, line int, err error) {
	if !sr.started {
		sr.started = true
		if b, err := sr.r.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
			sr.r.Discard(len(utf8BOM))
		}
	}
	var (
		s         sqlScanner
		buf       strings.Builder
		lineStart = true
	)
	for {
		c, err := sr.r.ReadByte()
		if err == nil && c == '.' && lineStart && !s.significant() && !s.lineComment && !s.blockComment {
			return sr.metaLine()
		}
		if err == io.EOF {
			if !s.significant() {
				return "", 0, io.EOF
			}
			return buf.String(), line, nil
		}
		if err != nil {
			return "", 0, fmt.Errorf("reading the script at line %d: %w", sr.line, err)
		}
		end := s.step(c)
		if buf.Len() == 0 {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				if c == '\n' {
					sr.line++
					lineStart = true
				}
				continue
			}
			line = sr.line
		}
		if c == '\n' {
			sr.line++
		}
		lineStart = c == '\n' || (lineStart && (c == ' ' || c == '\t' || c == '\r'))
		if buf.Len() >= sr.maxBytes {
			return "", line, fmt.Errorf("the statement at line %d of the script: %w: longer than %d bytes", line, errStatementTooLong, sr.maxBytes)
		}
		buf.WriteByte(c)
		if end {
			return buf.String(), line, nil
		}
	}
}

// metaLine reads the rest of a meta command's line (its dot was read)
// and returns the command, trimmed.
func (sr *statementReader) metaLine() (string, int, error) {
	line := sr.line
	var buf strings.Builder
	buf.WriteByte('.')
	for {
		c, err := sr.r.ReadByte()
		if err == io.EOF || c == '\n' {
			if c == '\n' {
				sr.line++
			}
			return strings.TrimSpace(buf.String()), line, nil
		}
		if err != nil {
			return "", 0, fmt.Errorf("reading the script at line %d: %w", sr.line, err)
		}
		if buf.Len() >= sr.maxBytes {
			return "", line, fmt.Errorf("the meta command at line %d of the script: %w: longer than %d bytes", line, errStatementTooLong, sr.maxBytes)
		}
		buf.WriteByte(c)
	}
}
