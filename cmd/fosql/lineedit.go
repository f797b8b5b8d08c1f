package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/chzyer/readline"

	"github.com/fosql/fosql/db"
)

// Line editing is github.com/chzyer/readline: it is pure Go (no
// libreadline or libedit through cgo), has Emacs keys, Ctrl-R reverse
// search, a history file and a completion hook, and it puts the terminal
// in raw mode only while a line is read, so Ctrl-C during a statement
// stays a signal that cancels it. (ergochat/readline, its maintained
// fork, is not served by the module proxy this project builds with.)

// editorSource is a lineSource over a readline instance.
type editorSource struct {
	rl *readline.Instance
}

func (e *editorSource) readLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	line, err := e.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", errLineInterrupted
	case errors.Is(err, io.EOF):
		return "", io.EOF
	}
	return line, err
}

// historyPath is where the shell keeps its history:
// $XDG_STATE_HOME/fosql/history when XDG_STATE_HOME is set, else
// ~/.fosql_history. FOSQL_HISTORY names another file; set to "" it keeps
// none.
func historyPath() string {
	if p, ok := os.LookupEnv("FOSQL_HISTORY"); ok {
		return p
	}
	if state := os.Getenv("XDG_STATE_HOME"); state != "" {
		return filepath.Join(state, "fosql", "history")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".fosql_history")
}

// newLineEditor starts line editing on the terminal for sh: prompts and
// the line being typed go to stderr, so that stdout holds only rows.
// Every statement is saved to the history file as it runs, a statement
// of several lines as one entry.
func newLineEditor(sh *shell, stdin io.Reader) (lineSource, func(), error) {
	hist := historyPath()
	if hist != "" {
		if err := os.MkdirAll(filepath.Dir(hist), 0o700); err != nil {
			hist = ""
		}
	}
	cfg := &readline.Config{
		Prompt:                 promptStart,
		HistoryFile:            hist,
		HistoryLimit:           10000,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		AutoComplete:           &completer{sh: sh},
		InterruptPrompt:        "^C",
		Stdout:                 sh.errw,
		Stderr:                 sh.errw,
	}
	restore := func() {}
	if f, ok := stdin.(*os.File); ok {
		cfg.Stdin = f
		restore = keepCtrlDForEditor(int(f.Fd()))
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		restore()
		return nil, nil, err
	}
	sh.history = func(entry string) { rl.SaveHistory(entry) }
	return &editorSource{rl: rl}, func() { rl.Close(); restore() }, nil
}

// completer completes the word before the cursor: a meta command and its
// argument, or an SQL keyword, a dataset name, or a field path of the
// dataset the statement names (insights.uniqueness.<Tab>).
type completer struct {
	sh *shell
}

// sqlKeywords are the words Tab offers in a statement.
var sqlKeywords = []string{
	"ADD", "AGAINST", "AND", "AS", "ASC", "BY", "COMPUTE", "COUNT", "CREATE", "DATABASE", "DATASET",
	"DATASETS", "DELETE", "DESC", "DESCRIBE", "DISTINCT", "DROP", "DUPLICATES", "EXPLAIN", "FILE",
	"FROM", "GROUP", "IMAGES", "IN", "INSERT", "INTO", "IS", "LIKE", "LIMIT", "LOAD", "MATCH",
	"MODELS", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTFILE", "RECURSIVE", "REMOVE",
	"SELECT", "SET", "SHOW", "SIMILARITY", "SPLIT", "TAG", "TO", "UNIQUENESS", "UPDATE", "VALUES",
	"WHERE", "WITH", "ZOO", "auto_compute",
}

// Do is readline's completion hook: the candidates' remaining text and
// how many runes before the cursor they complete.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	start := pos
	for start > 0 && isWordRune(line[start-1]) {
		start--
	}
	word := string(line[start:pos])
	var cands []string
	foldCase := false
	trimmed := strings.TrimLeft(before, " \t")
	switch {
	case c.sh.atStatementStart() && strings.HasPrefix(trimmed, "."):
		name, _, hasArg := strings.Cut(trimmed, " ")
		if !hasArg {
			cands, word = metaNames(), trimmed
		} else if m := findMeta(name); m != nil && m.complete != nil {
			cands = m.complete(c.sh)
		}
	default:
		statement := c.sh.typed() + string(line)
		cands = append(cands, datasetNames(c.sh)...)
		cands = append(cands, fieldPaths(c.sh, statement)...)
		if !strings.Contains(word, ".") {
			foldCase = true
			upper := word == "" || word == strings.ToUpper(word)
			for _, k := range sqlKeywords {
				if !upper && k != "auto_compute" {
					k = strings.ToLower(k)
				}
				cands = append(cands, k)
			}
		}
	}
	seen := map[string]bool{}
	var out [][]rune
	for _, cand := range cands {
		if seen[cand] || len(cand) < len(word) {
			continue
		}
		prefix := cand[:len(word)]
		if prefix != word && !(foldCase && strings.EqualFold(prefix, word)) {
			continue
		}
		seen[cand] = true
		out = append(out, []rune(cand[len(word):]))
	}
	return out, len([]rune(word))
}

// isWordRune reports whether r belongs to a word Tab completes: names,
// dotted paths and meta commands.
func isWordRune(r rune) bool {
	return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// fieldPaths lists the field paths, and the documents above them, of the
// first dataset the statement names after FROM, ON, UPDATE, INTO, TABLE
// or DESCRIBE (of every dataset when it names none yet), and the computed
// columns the providers can add (insights.uniqueness.scalar, …).
func fieldPaths(sh *shell, statement string) []string {
	words := strings.FieldsFunc(statement, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("(),;=<>'\"`", r)
	})
	var named []*db.Dataset
	for i := 0; i+1 < len(words) && named == nil; i++ {
		switch strings.ToUpper(words[i]) {
		case "FROM", "ON", "UPDATE", "INTO", "TABLE", "DESCRIBE":
			if ds, err := sh.d.Store().Dataset(words[i+1]); err == nil {
				named = []*db.Dataset{ds}
			}
		}
	}
	if named == nil {
		for _, name := range datasetNames(sh) {
			if ds, err := sh.d.Store().Dataset(name); err == nil {
				named = append(named, ds)
			}
		}
	}
	set := map[string]bool{}
	add := func(p string) {
		set[p] = true
		for j := strings.IndexByte(p, '.'); j >= 0; j = next(p, j) {
			set[p[:j]] = true
		}
	}
	for _, ds := range named {
		schema, err := ds.Schema()
		if err != nil {
			continue
		}
		for p := range schema {
			add(p)
		}
	}
	for group, keys := range sh.d.InsightKeys() {
		for _, k := range keys {
			add(db.FieldInsights + "." + group + "." + k)
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// next is the index of the next dot in p after index j, or -1.
func next(p string, j int) int {
	k := strings.IndexByte(p[j+1:], '.')
	if k < 0 {
		return -1
	}
	return j + 1 + k
}
