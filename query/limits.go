package query

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Limits on what one statement may ask of the engine. They are modelled
// on SQLite's (SQLITE_MAX_SQL_LENGTH, SQLITE_MAX_EXPR_DEPTH,
// SQLITE_MAX_LIKE_PATTERN_LENGTH): a statement over one of them fails with
// a *LimitError before it is parsed or run, so that no text can make the
// parser or the engine use memory out of proportion to the work asked
// for. Every way in (the shell, Open, database/sql, the dashboard) goes
// through the same checks. Values bound to placeholders (? and :name) are
// not part of the statement's text and do not count towards
// MaxStatementBytes; the limits on what a value means (MaxMatchWords,
// MaxLikePatternBytes) apply to them too.
const (
	// MaxStatementBytes is the longest statement, in bytes from its first
	// token to its last (a script may hold many statements). A string
	// literal is part of its statement, so this also bounds one literal.
	// Programs that read SQL from a stream can refuse a longer text
	// without reading it all.
	MaxStatementBytes = 1_000_000

	// MaxStatementTokens is the most tokens (words, numbers, strings,
	// operators, punctuation) in one statement.
	MaxStatementTokens = 100_000

	// MaxExprDepth is the deepest nesting in a statement: parentheses,
	// and prefix operators (NOT, -, +, !, ~) applied one to another.
	MaxExprDepth = 1000

	// MaxExprTerms is the most operators (AND, OR, comparisons,
	// arithmetic, …) in the expressions of one statement; a longer chain
	// of conditions is better written as IN (…).
	MaxExprTerms = 10_000

	// MaxInListValues is the most values in one parenthesised list: an
	// IN (…) list, one row of VALUES, a function's arguments.
	MaxInListValues = 30_000

	// MaxMatchWords is the most words in the text of MATCH … AGAINST,
	// counted as the full-text index splits them (runs of letters and
	// digits).
	MaxMatchWords = 1000

	// MaxLikePatternBytes is the longest LIKE pattern, in bytes.
	MaxLikePatternBytes = 50_000
)

// ErrTooLarge is wrapped by every *LimitError.
var ErrTooLarge = errors.New("statement too large")

// LimitError reports a statement that goes over one of the limits above.
type LimitError struct {
	What  string // what went over, e.g. "the statement", "the IN list"
	Limit int    // the limit's value
	Unit  string // e.g. "bytes", "values"
	Name  string // the limit's constant in this package, e.g. "MaxStatementBytes"
	Line  int    // 1-based line where the statement (or the part over the limit) starts; 0 if not known
	Col   int    // 1-based column of Line
}

// Error renders e.g. "statement too large: the statement at line 1,
// column 1 is over the limit of 1000000 bytes (query.MaxStatementBytes)".
func (e *LimitError) Error() string {
	at := ""
	if e.Line > 0 {
		at = fmt.Sprintf(" at line %d, column %d", e.Line, e.Col)
	}
	return fmt.Sprintf("%v: %s%s is over the limit of %d %s (query.%s)", ErrTooLarge, e.What, at, e.Limit, e.Unit, e.Name)
}

// Unwrap makes errors.Is(err, ErrTooLarge) hold.
func (e *LimitError) Unwrap() error { return ErrTooLarge }

// limitAt is a *LimitError placed at byte offset off of script.
func limitAt(script string, off int, what string, limit int, unit, name string) *LimitError {
	se := newSyntaxError(script, off, "", "", "")
	return &LimitError{What: what, Limit: limit, Unit: unit, Name: name, Line: se.Line, Col: se.Column}
}

// statementGuard checks the tokens of one statement against the limits
// as the lexer produces them, so that a statement over a limit is refused
// before more of it is read, and before sqlparser (whose memory grows
// with nesting and list length far faster than the text) sees it.
type statementGuard struct {
	script string
	start  int // byte offset of the statement's first token
	tokens int
	terms  int
	prev   token // the previous token of the statement
	// Per open parenthesis: the depth outside it, whether it holds a
	// list that counts towards MaxInListValues, and the values so far.
	levels []guardLevel
	depth  int // current depth: open parentheses plus stacked prefix operators
	base   int // depth at the current parenthesis level, without prefix operators
}

type guardLevel struct {
	outer, base int
	values      int
}

func newStatementGuard(script string, first token) *statementGuard {
	return &statementGuard{script: script, start: first.start}
}

// add checks token t, the next of the statement.
func (g *statementGuard) add(t token) error {
	if t.end-g.start > MaxStatementBytes {
		return limitAt(g.script, g.start, "the statement", MaxStatementBytes, "bytes", "MaxStatementBytes")
	}
	g.tokens++
	if g.tokens > MaxStatementTokens {
		return limitAt(g.script, g.start, "the statement", MaxStatementTokens, "tokens", "MaxStatementTokens")
	}
	defer func() { g.prev = t }()
	switch {
	case t.isOp("("):
		g.levels = append(g.levels, guardLevel{outer: g.depth, base: g.base})
		g.depth++
		g.base = g.depth
		if g.depth > MaxExprDepth {
			return limitAt(g.script, t.start, "the nesting", MaxExprDepth, "levels", "MaxExprDepth")
		}
		return nil
	case t.isOp(")"):
		if n := len(g.levels); n > 0 {
			l := g.levels[n-1]
			g.levels = g.levels[:n-1]
			g.depth, g.base = l.outer, l.base
		}
		return nil
	case t.isOp(","):
		if n := len(g.levels); n > 0 {
			g.levels[n-1].values++
			if g.levels[n-1].values >= MaxInListValues {
				return limitAt(g.script, t.start, "the list", MaxInListValues, "values", "MaxInListValues")
			}
		}
		g.depth = g.base
		return nil
	case g.isPrefixOperator(t):
		g.depth++
		if g.depth > MaxExprDepth {
			return limitAt(g.script, t.start, "the nesting", MaxExprDepth, "levels", "MaxExprDepth")
		}
		return g.term(t)
	case isBinaryOperator(t):
		g.depth = g.base
		return g.term(t)
	}
	if t.kind != tokIdent || !isClauseWord(t.val) {
		return nil // an operand: prefix operators before it are done
	}
	g.depth = g.base
	return nil
}

// term counts an operator towards MaxExprTerms.
func (g *statementGuard) term(t token) error {
	g.terms++
	if g.terms > MaxExprTerms {
		return limitAt(g.script, t.start, "the expression", MaxExprTerms, "operators", "MaxExprTerms")
	}
	return nil
}

// isPrefixOperator reports whether t is a prefix operator where it stands:
// NOT, ! and ~ always; - and + where no operand ends just before.
func (g *statementGuard) isPrefixOperator(t token) bool {
	switch {
	case t.is("NOT") || t.isOp("!") || t.isOp("~"):
		return true
	case t.isOp("-") || t.isOp("+"):
		p := g.prev
		switch p.kind {
		case tokOp:
			return p.val != ")"
		case tokIdent:
			return isClauseWord(p.val) || isWordOperator(p.val)
		}
	}
	return false
}

// binaryOperators are the operators between two operands.
var binaryOperators = map[string]bool{
	"=": true, "<": true, ">": true, "<=": true, ">=": true, "<>": true, "!=": true, "<=>": true,
	"+": true, "-": true, "*": true, "/": true, "%": true, "&": true, "|": true, "^": true,
	"<<": true, ">>": true, "&&": true, "||": true, "->": true, "->>": true,
}

// isBinaryOperator reports whether t is an operator between two operands.
func isBinaryOperator(t token) bool {
	switch t.kind {
	case tokOp:
		return binaryOperators[t.val]
	case tokIdent:
		return isWordOperator(t.val)
	}
	return false
}

// isWordOperator reports whether w is an operator spelt as a word.
func isWordOperator(w string) bool {
	switch strings.ToUpper(w) {
	case "AND", "OR", "XOR", "LIKE", "REGEXP", "RLIKE", "BETWEEN", "IN", "IS", "DIV", "MOD":
		return true
	}
	return false
}

// isClauseWord reports whether w starts a clause (after which an
// expression starts afresh).
func isClauseWord(w string) bool {
	switch strings.ToUpper(w) {
	case "SELECT", "WHERE", "HAVING", "BY", "LIMIT", "OFFSET", "SET", "VALUES", "ON",
		"WHEN", "THEN", "ELSE", "CASE", "AGAINST", "RETURN", "DISTINCT", "INTERVAL":
		return true
	}
	return false
}

// countWords counts the words of s as the full-text index splits them:
// runs of letters and digits. It stops counting past limit.
func countWords(s string, limit int) int {
	n, in := 0, false
	for _, r := range s {
		w := unicode.IsLetter(r) || unicode.IsDigit(r)
		if w && !in {
			n++
			if n > limit {
				return n
			}
		}
		in = w
	}
	return n
}

// checkLikePattern refuses a LIKE pattern longer than MaxLikePatternBytes.
func checkLikePattern(pattern string) error {
	if len(pattern) > MaxLikePatternBytes {
		return &LimitError{What: fmt.Sprintf("the LIKE pattern (%d bytes)", len(pattern)),
			Limit: MaxLikePatternBytes, Unit: "bytes", Name: "MaxLikePatternBytes"}
	}
	return nil
}

// checkMatchWords refuses the text of MATCH … AGAINST when it has more
// than MaxMatchWords words.
func checkMatchWords(text string) error {
	if countWords(text, MaxMatchWords) > MaxMatchWords {
		return &LimitError{What: "the text of MATCH … AGAINST", Limit: MaxMatchWords, Unit: "words", Name: "MaxMatchWords"}
	}
	return nil
}
