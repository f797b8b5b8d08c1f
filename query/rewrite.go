package query

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rewrite builds the text handed to sqlparser from the tokens of a
// statement, changing the few forms that MySQL's grammar cannot read, and
// remembers for every byte it writes the offset in the original script it
// stands for, so that a syntax error points at what the user wrote.
//
// The rewrites work on tokens, never on raw text, so string literals are
// never touched:
//   - a dotted name of two or more parts (metadata.width,
//     insights.uniqueness.scalar, a.b.c.d) becomes one back-quoted
//     identifier, `metadata.width`: the parser would otherwise read the
//     first parts as table and schema qualifiers and refuse four parts;
//   - tag membership, 'dup' IN tags and 'dup' NOT IN tags (a value, IN,
//     then a name that is not a parenthesised list), becomes a call
//     fosql_contains(`tags`, 'dup') or fosql_not_contains(…);
//   - id [NOT] IN SELECTION becomes fosql_in_selection(`id`) or
//     fosql_not_in_selection(…) (see selection.go);
//   - each ? placeholder becomes :fosqlargN, N being its number in the
//     script, so that arguments bind by position across statements;
//   - a name with non-ASCII letters is back-quoted.
type rewrite struct {
	script string
	buf    []byte
	origin []int // origin[i] is the script offset that buf[i] stands for
	last   int   // script offset after the last token written
	wrote  bool
}

// Names of the functions that tag membership is rewritten to.
const (
	fnContains    = "fosql_contains"
	fnNotContains = "fosql_not_contains"
	argPrefix     = "fosqlarg"
)

func newRewrite(script string, size int) *rewrite {
	size += 32
	return &rewrite{script: script, buf: make([]byte, 0, size), origin: make([]int, 0, size)}
}

// emit writes s as standing for script offset at.
func (r *rewrite) emit(s string, at int) {
	r.buf = append(r.buf, s...)
	for range len(s) {
		r.origin = append(r.origin, at)
	}
}

// token copies a token's text as written.
func (r *rewrite) token(t token) {
	for i := t.start; i < t.end; i++ {
		r.buf = append(r.buf, r.script[i])
		r.origin = append(r.origin, i)
	}
	r.last, r.wrote = t.end, true
}

// gap writes the blank between two tokens.
func (r *rewrite) gap(at int) { r.emit(" ", at) }

// chainLen returns how many tokens from toks[i] form a dotted name
// (name . name . …), or 0 when toks[i] does not start one of two or more
// parts or when the name is a qualified function call.
func chainLen(toks []token, i int) int {
	if !toks[i].isName() {
		return 0
	}
	j := i + 1
	for j+1 < len(toks) && toks[j].isOp(".") && toks[j+1].isName() {
		j += 2
	}
	if j == i+1 {
		return 0
	}
	if j < len(toks) && toks[j].isOp("(") {
		return 0
	}
	return j - i
}

// chainName joins the parts of a dotted name.
func chainName(toks []token) string {
	var parts []string
	for _, t := range toks {
		if t.isName() {
			parts = append(parts, t.val)
		}
	}
	return strings.Join(parts, ".")
}

// backquote quotes a name for sqlparser.
func backquote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// isValueTok reports whether t is a constant or placeholder that can
// start tag membership.
func isValueTok(t token) bool {
	switch t.kind {
	case tokString, tokNumber, tokParam, tokBindVar:
		return true
	}
	return false
}

// value writes a constant or placeholder token.
func (r *rewrite) value(t token) {
	switch t.kind {
	case tokParam:
		r.emit(":"+argPrefix+strconv.Itoa(t.n), t.start)
		r.last, r.wrote = t.end, true
	case tokString:
		r.str(t)
	default:
		r.token(t)
	}
}

// str writes a string literal re-encoded from its decoded value, so that
// sqlparser reads back exactly what MySQL's rules read (sqlparser drops
// the backslash of \% and \_, which LIKE needs). A value that is not
// valid UTF-8 goes as a hex literal, x'…', which the binder reads as the
// same string: sqlparser's tokenizer would turn its stray bytes into
// U+FFFD.
func (r *rewrite) str(t token) {
	q := "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t.val) + "'"
	if !utf8.ValidString(t.val) {
		q = "x'" + hex.EncodeToString([]byte(t.val)) + "'"
	}
	span := t.end - t.start
	for k := 0; k < len(q); k++ {
		r.buf = append(r.buf, q[k])
		r.origin = append(r.origin, t.start+min(k, span-1))
	}
	r.last, r.wrote = t.end, true
}

// name writes the name made of toks (one token or a dotted chain).
func (r *rewrite) name(toks []token) {
	first, last := toks[0], toks[len(toks)-1]
	if len(toks) == 1 && first.kind == tokIdent && isASCII(first.val) {
		r.token(first)
		return
	}
	q := backquote(chainName(toks))
	// Map the quoted name onto the original span, byte by byte where the
	// lengths allow, so that an error inside points into the name.
	span := last.end - first.start
	for k := 0; k < len(q); k++ {
		r.buf = append(r.buf, q[k])
		r.origin = append(r.origin, first.start+min(k, span-1))
	}
	r.last, r.wrote = last.end, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// tokens writes toks (up to a tokEOF), applying the rewrites.
func (r *rewrite) tokens(toks []token, _ bool) error {
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind == tokEOF {
			break
		}
		if r.wrote && t.start > r.last {
			r.gap(r.last)
		}
		if n := r.inSelection(toks, i); n > 0 {
			i += n
			continue
		}
		// Tag membership: value [NOT] IN name, the name not a list.
		if isValueTok(t) && (i == 0 || !toks[i-1].isOp(".")) {
			k := i + 1
			not := false
			if toks[k].is("NOT") {
				not = true
				k++
			}
			if toks[k].is("IN") && toks[k+1].isName() {
				n := chainLen(toks, k+1)
				if n == 0 && !(k+2 < len(toks) && toks[k+2].isOp("(")) {
					n = 1
				}
				if n > 0 {
					fn := fnContains
					if not {
						fn = fnNotContains
					}
					r.emit(fn+"(", t.start)
					r.name(toks[k+1 : k+1+n])
					r.emit(", ", t.start)
					r.value(t)
					r.emit(")", toks[k+n].end-1)
					r.last = toks[k+n].end
					i = k + 1 + n
					continue
				}
			}
		}
		if n := chainLen(toks, i); n > 0 {
			r.name(toks[i : i+n])
			i += n
			continue
		}
		switch {
		case t.kind == tokParam || t.kind == tokString:
			r.value(t)
		case t.kind == tokIdent && !isASCII(t.val):
			r.name(toks[i : i+1])
		default:
			r.token(t)
		}
		i++
	}
	return nil
}
