package query

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fosql/fosql/db"
)

// Errors callers branch on. Most errors wrap one of these (test with
// errors.Is) or are one of the typed errors below (test with errors.As).
var (
	// ErrSyntax is wrapped by every *SyntaxError.
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownDataset is wrapped by a *NameError for a dataset that does
	// not exist.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrUnknownField is wrapped by a *NameError for a field that no
	// sample of the dataset has.
	ErrUnknownField = errors.New("unknown field")
	// ErrTypeMismatch means a value cannot be compared with or stored in
	// a field of another type.
	ErrTypeMismatch = errors.New("type mismatch")
	// ErrUnsupported means the statement or expression is valid SQL that
	// fosql does not run.
	ErrUnsupported = errors.New("not supported")
	// ErrNotAvailable means a statement needs a component (the brain, the
	// zoo) that was not wired into Options.
	ErrNotAvailable = errors.New("not available yet")
	// ErrParam means a placeholder has no argument, or an argument has a
	// type that cannot be bound.
	ErrParam = errors.New("bad parameter")
	// ErrFileExists means INTO OUTFILE named a file that already exists.
	ErrFileExists = errors.New("file already exists")
	// ErrNotQuery means Query ran a statement that returns no rows.
	ErrNotQuery = errors.New("statement returns no rows")
	// ErrInternal wraps a panic recovered while running a statement or
	// in any goroutine it started (the same sentinel as db.ErrInternal).
	ErrInternal = db.ErrInternal
	// ErrInput means an INSERT named a file that is missing or not a
	// usable image, or a value that cannot be stored.
	ErrInput = errors.New("bad input")
)

// SyntaxError reports SQL that cannot be parsed, with its place in the
// text: line and column (both from 1), the token there, and a hint when
// the mistake looks like a misspelt keyword.
type SyntaxError struct {
	Msg    string // what is wrong, e.g. "syntax error" or "unterminated string"
	Offset int    // byte offset of the offending token in the script
	Line   int    // 1-based line of Offset
	Column int    // 1-based column (in characters) of Offset
	Near   string // the token at Offset as written; "" at the end of input
	Hint   string // e.g. "did you mean SELECT?"; may be empty
	Source string // the line of the script that holds Offset (around Offset when the line is long)

	caretCol int // the column of Offset in Source when Source is cut; 0: Column
}

// Error renders the message, the source line and a caret under the spot.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at line %d, column %d", e.Msg, e.Line, e.Column)
	if e.Near != "" {
		fmt.Fprintf(&b, " near '%s'", e.Near)
	} else {
		b.WriteString(" at the end of the statement")
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	if e.Source != "" {
		b.WriteString("\n  ")
		b.WriteString(e.Source)
		b.WriteString("\n  ")
		col := e.Column
		if e.caretCol > 0 {
			col = e.caretCol
		}
		b.WriteString(caretPad(e.Source, col))
		b.WriteString("^")
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// caretPad returns the blanks that put a caret under column col of line:
// tabs stay tabs so that the caret lines up in a terminal.
func caretPad(line string, col int) string {
	var b strings.Builder
	n := 1
	for _, r := range line {
		if n >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < col; n++ {
		b.WriteByte(' ')
	}
	return b.String()
}

// newSyntaxError places msg at byte offset off of script.
func newSyntaxError(script string, off int, near, msg, hint string) *SyntaxError {
	off = max(0, min(off, len(script)))
	lineStart := strings.LastIndexByte(script[:off], '\n') + 1
	lineEnd := strings.IndexByte(script[off:], '\n')
	if lineEnd < 0 {
		lineEnd = len(script)
	} else {
		lineEnd += off
	}
	line := 1 + strings.Count(script[:lineStart], "\n")
	// A byte-order mark that starts the line is invisible in an editor.
	col := 1 + utf8.RuneCountInString(strings.TrimPrefix(script[lineStart:off], utf8BOM))
	e := &SyntaxError{
		Msg: msg, Offset: off, Line: line, Column: col, Near: near, Hint: hint,
		Source: strings.TrimPrefix(strings.TrimRight(script[lineStart:lineEnd], "\r"), utf8BOM),
	}
	if len(e.Source) > 2*sourceContext {
		// A long line is shown around the spot only.
		bom := 0
		if strings.HasPrefix(script[lineStart:lineEnd], utf8BOM) {
			bom = len(utf8BOM)
		}
		rel := max(0, min(len(e.Source), off-lineStart-bom))
		from, to := max(0, rel-sourceContext), min(len(e.Source), rel+sourceContext)
		for from > 0 && !utf8.RuneStart(e.Source[from]) {
			from--
		}
		for to < len(e.Source) && !utf8.RuneStart(e.Source[to]) {
			to++
		}
		src := e.Source[from:to]
		e.caretCol = 1 + utf8.RuneCountInString(e.Source[from:rel])
		if from > 0 {
			src = "…" + src
			e.caretCol++
		}
		if to < len(e.Source) {
			src += "…"
		}
		e.Source = src
	}
	return e
}

// sourceContext is how many bytes of a long line a syntax error shows on
// each side of the spot.
const sourceContext = 60

// NameError reports a dataset or field name that does not exist, with the
// nearest known name when one is close.
type NameError struct {
	Kind       string // "dataset" or "field"
	Name       string
	Suggestion string // nearest known name, or ""
	Dataset    string // for fields: the dataset searched
}

// maxNameShown is the most of an unknown name that its error shows.
const maxNameShown = 100

// Error renders e.g. `unknown dataset "walktrough" (did you mean "walkthrough"?)`.
// A name longer than 100 bytes is cut, with its length.
func (e *NameError) Error() string {
	var b strings.Builder
	if len(e.Name) > maxNameShown {
		fmt.Fprintf(&b, "unknown %s %q… (%d bytes)", e.Kind, e.Name[:maxNameShown], len(e.Name))
	} else {
		fmt.Fprintf(&b, "unknown %s %q", e.Kind, e.Name)
	}
	if e.Dataset != "" {
		fmt.Fprintf(&b, " in dataset %q", e.Dataset)
	}
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", e.Suggestion)
	}
	return b.String()
}

// Unwrap makes errors.Is work with ErrUnknownDataset and ErrUnknownField.
func (e *NameError) Unwrap() error {
	if e.Kind == "dataset" {
		return ErrUnknownDataset
	}
	return ErrUnknownField
}

// editDistance is the Levenshtein distance between a and b, counted in
// bytes, ignoring ASCII case.
func editDistance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns the candidate closest to name when it is close enough to
// be a likely typo, else "": what "did you mean …?" hints name. Shells
// use it for their own names (meta commands).
func Nearest(name string, candidates []string) string { return nearest(name, candidates) }

// nearest returns the candidate closest to name, if it is close enough to
// be a likely typo: about a third of the name's length away or less (at
// least 1, at most 3 edits; case is ignored).
func nearest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	limit := max(1, min(3, (len(name)+2)/3))
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		// The lengths alone put a candidate too far: no need to measure
		// (nor to spend time on a long name against every candidate).
		if c == name || len(c) > len(name)+limit || len(name) > len(c)+limit {
			continue
		}
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// hintKeywords are the words whose misspellings the syntax error hint
// recognises.
var hintKeywords = []string{
	"SELECT", "FROM", "WHERE", "ORDER", "GROUP", "LIMIT", "OFFSET", "HAVING",
	"INSERT", "INTO", "VALUES", "UPDATE", "DELETE", "SET", "AND", "NOT",
	"LIKE", "BETWEEN", "AGAINST", "MATCH", "DESC", "ASC", "DISTINCT",
	"DESCRIBE", "EXPLAIN", "CREATE", "DATASET", "DATASETS", "MODELS", "IMAGES",
	"RECURSIVE", "DROP", "SHOW", "COMPUTE", "LOAD", "OUTFILE", "NULL",
}

// keywordHint suggests the keyword a word is likely a misspelling of.
func keywordHint(word string) string {
	if len(word) < 3 {
		return ""
	}
	up := strings.ToUpper(word)
	for _, kw := range hintKeywords {
		if kw == up {
			return ""
		}
	}
	limit := 1
	if len(word) >= 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, kw := range hintKeywords {
		if d := editDistance(up, kw); d < bestD {
			best, bestD = kw, d
		}
	}
	return best
}
