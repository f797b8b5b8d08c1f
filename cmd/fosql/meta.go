package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

// metaCommand is one of the shell's dot commands. The table of them,
// metaCommands, is what .help, fosql --help and Tab completion read: a
// new command is one more entry.
type metaCommand struct {
	name    string   // with its dot: ".tables"
	aliases []string // other spellings: ".datasets"
	args    string   // the arguments as the help shows them
	help    string   // one line
	// run does the command; args are the words after the name, rest the
	// text after the name as typed (for a file name with blanks).
	run func(sh *shell, ctx context.Context, args []string, rest string) (quit bool, err error)
	// complete, when set, gives the candidates for its first argument.
	complete func(sh *shell) []string
}

// metaCommands is the table of meta commands; init fills it (the help
// command reads the table, which a composite literal could not).
var metaCommands []*metaCommand

// errUsage marks a meta command used with the wrong arguments; its
// message is the usage line.
var errUsage = errors.New("usage")

func init() {
	onOff := func(sh *shell) []string { return []string{"on", "off"} }
	metaCommands = append(metaCommands,
		&metaCommand{name: ".help", args: "[command]", help: "list the meta commands, or show one",
			run: metaHelp, complete: func(*shell) []string { return metaNames() }},
		&metaCommand{name: ".quit", aliases: []string{".exit", ".q"}, help: "leave the shell (Ctrl-D too)",
			run: func(*shell, context.Context, []string, string) (bool, error) { return true, nil }},
		&metaCommand{name: ".tables", aliases: []string{".datasets"}, help: "list the datasets",
			run: metaTables},
		&metaCommand{name: ".schema", args: "[dataset]", help: "fields with types and counts, indexes, computed columns and their freshness",
			run: metaSchema, complete: datasetNames},
		&metaCommand{name: ".mode", args: "[" + strings.Join(query.FormatNames(), "|") + "]", help: "how rows print (without an argument: the current mode)",
			run: metaMode, complete: func(*shell) []string { return query.FormatNames() }},
		&metaCommand{name: ".headers", args: "on|off", help: "print the header line of table, tsv, csv and box output",
			run: metaSwitch(func(sh *shell, on bool) { sh.wopts.NoHeader = !on }), complete: onOff},
		&metaCommand{name: ".nullvalue", args: "TEXT", help: "the text of NULL in text modes (without TEXT: the mode's default)",
			run: metaNullValue},
		&metaCommand{name: ".output", args: "[FILE]", help: "send rows to FILE (created or emptied); without FILE back to stdout",
			run: metaOutput},
		&metaCommand{name: ".once", args: "FILE", help: "send the rows of the next statement only to FILE",
			run: metaOnce},
		&metaCommand{name: ".read", args: "FILE", help: "run the statements and meta commands of FILE; it stops at its first error",
			run: metaRead},
		&metaCommand{name: ".open", args: "PATH", help: "close this database and open (or create) the one at PATH",
			run: metaOpen},
		&metaCommand{name: ".timer", args: "on|off", help: "print how long each statement took",
			run: metaSwitch(func(sh *shell, on bool) { sh.timer = on }), complete: onOff},
		&metaCommand{name: ".changes", args: "on|off", help: "print the rows each statement changed, and the total",
			run: metaSwitch(func(sh *shell, on bool) { sh.changes = on }), complete: onOff},
		&metaCommand{name: ".progress", args: "on|off", help: "progress bars (lines when stderr is not a terminal) for long work",
			run: metaSwitch(func(sh *shell, on bool) { sh.prog.setQuiet(!on) }), complete: onOff},
		&metaCommand{name: ".show", help: "the current settings",
			run: metaShow},
	)
}

// sortedMeta returns the meta commands sorted by name.
func sortedMeta() []*metaCommand {
	cmds := append([]*metaCommand(nil), metaCommands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

// metaNames lists every name and alias of the meta commands, sorted.
func metaNames() []string {
	var names []string
	for _, c := range metaCommands {
		names = append(names, c.name)
		names = append(names, c.aliases...)
	}
	sort.Strings(names)
	return names
}

// findMeta returns the command called name (or an alias of it).
func findMeta(name string) *metaCommand {
	for _, c := range metaCommands {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// metaHelpText lists the meta commands, one a line, for .help and
// fosql --help.
func metaHelpText() string {
	var b strings.Builder
	for _, c := range sortedMeta() {
		usage := c.name
		if c.args != "" {
			usage += " " + c.args
		}
		if len(usage) > 24 {
			fmt.Fprintf(&b, "  %s\n  %24s  %s\n", usage, "", c.help)
		} else {
			fmt.Fprintf(&b, "  %-24s  %s\n", usage, c.help)
		}
		if len(c.aliases) > 0 {
			fmt.Fprintf(&b, "  %24s  (also %s)\n", "", strings.Join(c.aliases, ", "))
		}
	}
	return b.String()
}

// meta runs a meta command line and reports whether the shell should
// quit. An unknown command's error names the nearest known one.
func (sh *shell) meta(ctx context.Context, line string) (quit bool, err error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	c := findMeta(name)
	if c == nil {
		msg := fmt.Sprintf("unknown command %s", name)
		if near := query.Nearest(name, metaNames()); near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		}
		return false, errors.New(msg + " (.help lists them)")
	}
	quit, err = c.run(sh, ctx, strings.Fields(rest), rest)
	if errors.Is(err, errUsage) {
		err = fmt.Errorf("usage: %s %s", c.name, c.args)
	}
	return quit, err
}

func metaHelp(sh *shell, _ context.Context, args []string, _ string) (bool, error) {
	if len(args) == 0 {
		fmt.Fprint(sh.errw, replHelp+"\nMeta commands:\n"+metaHelpText())
		return false, nil
	}
	name := args[0]
	if !strings.HasPrefix(name, ".") {
		name = "." + name
	}
	c := findMeta(name)
	if c == nil {
		return sh.meta(context.Background(), name) // the unknown-command error
	}
	fmt.Fprintf(sh.errw, "%s %s\n  %s\n", c.name, c.args, c.help)
	return false, nil
}

const replHelp = `Statements end with ; and may span lines. Up and Down walk the history
(kept across sessions), Ctrl-R searches it, Tab completes keywords, datasets,
field paths and meta commands. Ctrl-C cancels the running statement (or drops
the one being typed); Ctrl-D or .quit leaves.

SQL: SHOW DATASETS; DESCRIBE ds; SELECT … FROM ds …; and the rest in
docs/sql.md (fosql --help lists them too).
`

// metaSwitch makes the run function of an on|off command.
func metaSwitch(set func(sh *shell, on bool)) func(*shell, context.Context, []string, string) (bool, error) {
	return func(sh *shell, _ context.Context, args []string, _ string) (bool, error) {
		if len(args) != 1 {
			return false, errUsage
		}
		on, err := parseOnOff(args[0])
		if err != nil {
			return false, err
		}
		set(sh, on)
		return false, nil
	}
}

// parseOnOff reads on/off (and true/false, yes/no, 1/0).
func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", s)
}

func metaMode(sh *shell, _ context.Context, args []string, _ string) (bool, error) {
	switch len(args) {
	case 0:
		fmt.Fprintf(sh.errw, "output mode is %s; .mode %s changes it\n", sh.format, strings.Join(query.FormatNames(), "|"))
		return false, nil
	case 1:
		f, err := query.ParseFormat(args[0])
		if err != nil {
			return false, err
		}
		sh.format = f
		return false, nil
	}
	return false, errUsage
}

func metaNullValue(sh *shell, _ context.Context, _ []string, rest string) (bool, error) {
	if rest == "" {
		sh.wopts.Null = nil
		return false, nil
	}
	text := unquoteArg(rest)
	sh.wopts.Null = &text
	return false, nil
}

// unquoteArg takes the quotes off an argument written in single or
// double quotes (a file name with blanks), and leaves any other as it is.
func unquoteArg(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// createOutput opens a file that .output or .once writes rows to.
func createOutput(name string) (*os.File, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("cannot write to %s: %w", name, err)
	}
	return f, nil
}

func metaOutput(sh *shell, _ context.Context, _ []string, rest string) (bool, error) {
	if rest == "" || rest == "stdout" {
		sh.setOutput(nil)
		return false, nil
	}
	f, err := createOutput(unquoteArg(rest))
	if err != nil {
		return false, err
	}
	sh.setOutput(f)
	return false, nil
}

func metaOnce(sh *shell, _ context.Context, _ []string, rest string) (bool, error) {
	if rest == "" {
		return false, errUsage
	}
	f, err := createOutput(unquoteArg(rest))
	if err != nil {
		return false, err
	}
	if sh.onceFile != nil {
		sh.onceFile.Close()
	}
	sh.onceFile = f
	return false, nil
}

// maxReadDepth bounds .read files that read each other.
const maxReadDepth = 16

func metaRead(sh *shell, ctx context.Context, _ []string, rest string) (bool, error) {
	if rest == "" {
		return false, errUsage
	}
	name := unquoteArg(rest)
	if sh.reading >= maxReadDepth {
		return false, fmt.Errorf(".read %s: .read nested more than %d deep", name, maxReadDepth)
	}
	f, err := os.Open(name)
	if err != nil {
		return false, fmt.Errorf(".read: %w", err)
	}
	defer f.Close()
	sh.reading++
	defer func() { sh.reading-- }()
	quit, err := sh.runScript(ctx, newStatementReader(f, maxStatementBytes))
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return quit, nil
}

func metaOpen(sh *shell, _ context.Context, _ []string, rest string) (bool, error) {
	if rest == "" {
		return false, errUsage
	}
	if sh.reopen == nil {
		return false, errors.New(".open is not available here")
	}
	path := unquoteArg(rest)
	d, err := sh.reopen(path)
	if err != nil {
		return false, fmt.Errorf(".open %s: %w (still on %s)", path, err, sh.dbPath)
	}
	sh.d.Close()
	sh.d, sh.dbPath = d, path
	return false, nil
}

func metaTables(sh *shell, _ context.Context, args []string, _ string) (bool, error) {
	if len(args) > 0 {
		return false, errUsage
	}
	names, err := sh.d.Store().DatasetNames()
	if err != nil {
		return false, err
	}
	for _, n := range names {
		fmt.Fprintln(sh.out, n)
	}
	return false, nil
}

// datasetNames lists the datasets of the shell's database (none on an
// error: it serves completion).
func datasetNames(sh *shell) []string {
	names, _ := sh.d.Store().DatasetNames()
	return names
}

func metaSchema(sh *shell, ctx context.Context, args []string, _ string) (bool, error) {
	var names []string
	switch len(args) {
	case 0:
		var err error
		if names, err = sh.d.Store().DatasetNames(); err != nil {
			return false, err
		}
	case 1:
		names = args
	default:
		return false, errUsage
	}
	for i, name := range names {
		res, err := schemaResult(ctx, sh.d, name)
		if err != nil {
			return false, err
		}
		if (i > 0 || sh.sets > 0) && sh.format.Blocked() {
			fmt.Fprintln(sh.out)
		}
		sh.sets++
		if err := res.WriteWith(sh.out, sh.format, sh.wopts); err != nil {
			return false, err
		}
	}
	return false, nil
}

// schemaResult describes a dataset as rows (dataset, kind, path, type,
// samples, detail): one per field with its types and the samples that
// have it, one per index, one per computed column with its freshness.
func schemaResult(ctx context.Context, d *query.DB, name string) (*query.Result, error) {
	ds, err := d.Store().Dataset(name)
	if err != nil {
		if names, _ := d.Store().DatasetNames(); errors.Is(err, db.ErrNotFound) {
			if near := query.Nearest(name, names); near != "" {
				return nil, fmt.Errorf("%w; did you mean %s?", err, near)
			}
		}
		return nil, err
	}
	sum, err := ds.Summary(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := fieldCounts(ctx, d, name, sum)
	if err != nil {
		return nil, err
	}
	runs := make(map[string]db.RunRecord, len(sum.Runs))
	for _, r := range sum.Runs {
		runs[r.Key] = r
	}
	res := &query.Result{Columns: []query.Column{
		{Name: "dataset", Type: query.TypeString}, {Name: "kind", Type: query.TypeString},
		{Name: "path", Type: query.TypeString}, {Name: "type", Type: query.TypeString},
		{Name: "samples", Type: query.TypeInt}, {Name: "detail", Type: query.TypeString},
	}, Rows: [][]db.Value{}}
	add := func(kind, path, typ string, n db.Value, detail string) {
		res.Rows = append(res.Rows, []db.Value{db.String(name), db.String(kind), db.String(path), db.String(typ), n, db.String(detail)})
	}
	for _, f := range sum.Fields {
		var kinds []string
		for _, k := range f.Kinds {
			kinds = append(kinds, k.String())
		}
		n := db.Null()
		if c, ok := counts[f.Path]; ok {
			n = db.Int(c)
		} else if group, ok := insightGroup(f.Path); ok {
			if r, ok := runs[group]; ok {
				n = db.Int(r.SampleCount)
			}
		}
		detail := ""
		if ds.HasIndex(f.Path) {
			detail = "indexed"
		}
		add("field", f.Path, strings.Join(kinds, ", "), n, detail)
	}
	for _, ix := range sum.Indexes {
		add("index", ix, "", db.Null(), "")
	}
	for _, r := range sum.Runs {
		add("computed", db.FieldInsights+"."+r.Key, r.Type, db.Int(r.SampleCount), runFreshness(r, sum.Version))
	}
	return res, nil
}

// insightGroup returns the group of an insights.<group>.… path.
func insightGroup(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, db.FieldInsights+".")
	if !ok {
		return "", false
	}
	group, _, _ := strings.Cut(rest, ".")
	return group, true
}

// runFreshness says whether a run's values answer for the dataset as it
// is now, and how the run was made.
func runFreshness(r db.RunRecord, version uint64) string {
	var state string
	switch {
	case r.Status != db.RunComplete:
		state = "stale: the last run did not complete (" + string(r.Status) + ")"
	case r.DatasetVersion != version:
		state = fmt.Sprintf("stale: the dataset changed since the run (version %d, run at %d)", version, r.DatasetVersion)
	default:
		state = "fresh"
	}
	if r.Model != "" {
		state += ", model " + r.Model
	}
	if len(r.Options) > 0 && string(r.Options) != "null" {
		state += ", options " + string(r.Options)
	}
	if !r.Ended.IsZero() {
		state += ", " + r.Ended.UTC().Format(time.RFC3339)
	}
	return state
}

// fieldCounts counts the samples that have each stored field outside
// insights, in one scan through SQL (insights paths would start a
// computation; their runs count them).
func fieldCounts(ctx context.Context, d *query.DB, name string, sum *db.Summary) (map[string]int64, error) {
	var paths []string
	for _, f := range sum.Fields {
		if _, ok := insightGroup(f.Path); !ok {
			paths = append(paths, f.Path)
		}
	}
	out := make(map[string]int64, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("count(" + sqlIdent(p) + ")")
	}
	b.WriteString(" FROM " + sqlIdent(name))
	res, err := d.Query(ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("counting the fields of %s: %w", name, err)
	}
	if len(res.Rows) != 1 {
		return out, nil
	}
	for i, p := range paths {
		if v := res.Rows[0][i]; v.Kind() == db.KindInt {
			out[p] = v.AsInt()
		}
	}
	return out, nil
}

func metaShow(sh *shell, _ context.Context, _ []string, _ string) (bool, error) {
	null := "(the mode's default: NULL, empty in csv)"
	if sh.wopts.Null != nil {
		null = strconv.Quote(*sh.wopts.Null)
	}
	output := "stdout"
	if sh.outFile != nil {
		output = sh.outFile.Name()
	}
	abs, _ := filepath.Abs(sh.dbPath)
	if sh.dbPath == ":memory:" {
		abs = sh.dbPath
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	for _, kv := range [][2]string{
		{"database", abs},
		{"mode", sh.format.String()},
		{"headers", onOff(!sh.wopts.NoHeader)},
		{"nullvalue", null},
		{"output", output},
		{"timer", onOff(sh.timer)},
		{"changes", onOff(sh.changes)},
		{"progress", onOff(!sh.prog.isQuiet())},
	} {
		fmt.Fprintf(sh.errw, "%10s: %s\n", kv[0], kv[1])
	}
	return false, nil
}

// sqlIdent writes a name back-quoted, as the SQL dialect reads a
// dotted field path or any dataset name.
func sqlIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
