// Command fosql is the shell of the fosql database: it runs SQL against a
// database directory.
//
//	fosql -db DIR                  the interactive shell, on a terminal
//	fosql -db DIR -e 'SQL; SQL'    run statements, print rows, exit
//	fosql -db DIR < script.sql     run a script from stdin
//	fosql serve -db DIR            the web dashboard over the database
//	fosql demo [args]              the walkthrough on the synthetic dataset
//	fosql convert-tfjs -in DIR -out model.onnx   a TensorFlow.js graph model to ONNX
//	fosql quality [-n N] [-methods a,b]          the ranking-quality benchmark (make quality)
//
// Rows go to stdout: an aligned table when stdout is a terminal,
// tab-separated values with a header line otherwise (or -format).
// Errors go to stderr and make the exit status 1; progress lines and
// the files an ingest skipped go to stderr too and leave it 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/fosql/fosql/query"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// defaultDBPath is the database directory used without -db and without
// FOSQL_DB in the environment.
const defaultDBPath = "fosql.db"

// errEmptyDB and errEmptyEnvDB are the errors for a database path that
// is empty: most often a shell variable that was never set, which must
// not silently become a throw-away database or the default one.
var (
	errEmptyDB    = errors.New("-db is empty; name a directory, or :memory: for a private in-memory database")
	errEmptyEnvDB = errors.New("FOSQL_DB is set but empty; name a directory, or :memory: for a private in-memory database, or unset it for ./" + defaultDBPath)
)

// dbPathFlag registers -db on fs. Its value, read through resolve after
// fs.Parse, is the path -db gave, else $FOSQL_DB, else ./fosql.db; a -db
// or FOSQL_DB that is given but empty (or blank) is an error.
func dbPathFlag(fs *flag.FlagSet, usage string) (resolve func() (string, error)) {
	p := fs.String("db", "", usage+" (default $FOSQL_DB, else ./"+defaultDBPath+")")
	return func() (string, error) {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "db" })
		if given {
			if strings.TrimSpace(*p) == "" {
				return "", errEmptyDB
			}
			return *p, nil
		}
		if env, ok := os.LookupEnv("FOSQL_DB"); ok {
			if strings.TrimSpace(env) == "" {
				return "", errEmptyEnvDB
			}
			return env, nil
		}
		return defaultDBPath, nil
	}
}

const usageText = `usage:
  fosql [-db DIR]                   the interactive shell (on a terminal)
  fosql [-db DIR] -e 'SQL; SQL'     run statements and exit
  fosql [-db DIR] < script.sql      run a script read from stdin
  fosql serve [-db DIR] [-addr A]   the web dashboard (http://127.0.0.1:5151/)
  fosql demo [args]                 the walkthrough on the offline synthetic dataset
  fosql convert-tfjs -in DIR -out model.onnx [-any-size] [-output NAME=NODE]...
                                    a TensorFlow.js graph model to ONNX
  fosql quality [-n N] [-methods a,b]
                                    the ranking-quality benchmark on Debian's
                                    image collections (make quality)

The database directory is created when it does not exist (a directory that
exists must be empty or a fosql database). Without -db it is $FOSQL_DB, or
./fosql.db when FOSQL_DB is not set; -db :memory: is a private in-memory
database. An empty -db, or a FOSQL_DB that is set but empty, is an error
(an unset shell variable must not pick a database).

Rows go to stdout: an aligned table on a terminal, otherwise tab-separated
values with a header line (nothing cut, floats in plain decimal). Errors go
to stderr with exit status 1; progress and skipped-file reports go to stderr
with exit status 0: every sample a computation skips is named with the
reason, and the statement's closing line counts them.

A script on stdin runs statement by statement and stops at the first error;
one statement is at most %d bytes; a UTF-8 byte order mark at its start is
ignored.

Statements (see docs/sql.md):
  SHOW DATASETS;  DESCRIBE ds;  DROP DATASET ds;
  CREATE DATASET ds [FROM IMAGES 'dir' [RECURSIVE]];
  LOAD ZOO DATASET synthetic|fashion-mnist|cifar10|cifar100|mnist [SPLIT s] [WITH (file = '…')];
  SHOW MODELS;  COMPUTE UNIQUENESS ON ds WITH (model = 'mobilenet-v2');
  COMPUTE UNIQUENESS ON ds [WITH (k = 3)];  COMPUTE DUPLICATES ON ds [WITH (threshold = 0.1)];
  SELECT … FROM ds [WHERE …] [GROUP BY …] [ORDER BY …] [LIMIT n] [INTO OUTFILE 'f.csv'];
  SELECT id, _distance FROM ds ORDER BY SIMILARITY TO 'id' | FILE 'x.jpg' LIMIT 10;
  INSERT INTO ds (filepath, tags, …) VALUES (…);  UPDATE ds SET … WHERE …;
  UPDATE ds ADD TAG 'x' WHERE …;  UPDATE ds REMOVE TAG 'x' WHERE …;
  DELETE FROM ds WHERE …;  EXPLAIN SELECT …;  SET auto_compute = on|off;
  SELECT … FROM ds WHERE id IN SELECTION;  (the dashboard's selection)
  CREATE [OR REPLACE] VIEW v AS SELECT …;  SHOW VIEWS;  DROP VIEW v;

Flags:
`

// run is the shell; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return runServe(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "quality" {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		return runQuality(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "convert-tfjs" {
		return runConvertTFJS(args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "demo" {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		if err := runDemo(ctx, args[1:]); err != nil {
			fmt.Fprintln(stderr, "fosql demo:", err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("fosql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolveDB := dbPathFlag(fs, "database directory (created when missing), or :memory:")
	sqlText := fs.String("e", "", "SQL to run: one statement or several separated by ;")
	format := fs.String("format", "", "output: table, tsv, csv, json or jsonl (default: table on a terminal, else tsv)")
	autoCompute := fs.String("auto-compute", "on", "compute missing or stale insights before a query needs them: on or off")
	fs.Usage = func() {
		fmt.Fprintf(stderr, usageText, maxStatementBytes)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fosql: unexpected argument %q (SQL goes after -e, or on stdin)\n", fs.Arg(0))
		return 2
	}
	dbPath, err := resolveDB()
	if err != nil {
		fmt.Fprintln(stderr, "fosql:", err)
		return 1
	}
	outTerm := isTerminal(stdout)
	f := query.FormatTSV
	if outTerm {
		f = query.FormatTable
	}
	if *format != "" {
		var err error
		if f, err = query.ParseFormat(*format); err != nil {
			fmt.Fprintln(stderr, "fosql:", err)
			return 2
		}
	}
	var auto bool
	switch strings.ToLower(*autoCompute) {
	case "on", "true", "1", "yes":
		auto = true
	case "off", "false", "0", "no":
	default:
		fmt.Fprintf(stderr, "fosql: -auto-compute %s: want on or off\n", *autoCompute)
		return 2
	}

	script := strings.TrimPrefix(*sqlText, utf8BOM)
	repl := *sqlText == "" && isTerminal(stdin)

	prog := newProgressPrinter(stderr, isTerminal(stderr))
	d, err := query.Open(dbPath, &query.Options{AutoCompute: &auto, Progress: prog.report})
	if err != nil {
		fmt.Fprintln(stderr, "fosql:", err)
		return 1
	}
	defer d.Close()
	if repl {
		return interactive(ctx, d, dbPath, stdin, stdout, stderr, f, prog)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	w := &resultWriter{out: stdout, errw: stderr, format: f, prog: prog}
	if *sqlText != "" {
		err = w.run(ctx, d, script)
	} else {
		err = w.runScript(ctx, d, newStatementReader(stdin, maxStatementBytes))
	}
	if err != nil {
		fmt.Fprintln(stderr, "fosql:", err)
		return 1
	}
	return 0
}

// resultWriter prints what statements return: result sets to out in
// format, messages, warnings, skipped samples and progress to errw.
type resultWriter struct {
	out, errw io.Writer
	format    query.Format
	prog      *progressPrinter
	sets      int // result sets written so far
}

// runScript runs the statements of a script one at a time, as they are
// read, and stops at the first error, which names the statement and its
// line in the script (a syntax error gives its position in the script).
func (w *resultWriter) runScript(ctx context.Context, d *query.DB, sr *statementReader) error {
	for n := 1; ; n++ {
		text, line, err := sr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.run(ctx, d, text); err != nil {
			if n == 1 && line == 1 {
				return err
			}
			if _, perr := query.Parse(text); perr != nil {
				// A syntax error: parsed again at its place in the
				// script, the positions it gives are the script's.
				if _, perr := query.Parse(strings.Repeat("\n", line-1) + text); perr != nil {
					return fmt.Errorf("statement %d: %w", n, perr)
				}
			}
			return fmt.Errorf("statement %d (line %d): %w", n, line, err)
		}
	}
}

// run runs the statements of text and prints their results. It stops at
// the first error and returns it.
func (w *resultWriter) run(ctx context.Context, d *query.DB, text string) error {
	w.prog.takeSkipped()
	err := d.Stream(ctx, text, nil, func(_ query.Statement, res *query.Result) error {
		w.prog.done()
		for _, warning := range res.Warnings {
			fmt.Fprintln(w.errw, warning)
		}
		if res.HasRows() {
			if w.sets > 0 && w.format == query.FormatTable {
				fmt.Fprintln(w.out)
			}
			w.sets++
			if err := res.Write(w.out, w.format); err != nil {
				return err
			}
		}
		if msg := closingLine(res.Message, w.prog.takeSkipped()); msg != "" {
			fmt.Fprintln(w.errw, msg)
		}
		return nil
	})
	w.prog.done()
	if n := w.prog.takeSkipped(); n > 0 {
		fmt.Fprintf(w.errw, "(%s before the error)\n", samplesSkipped(n))
	}
	return err
}

// closingLine is the line printed when a statement ends: its message,
// with the count of the samples a computation skipped (each was
// reported as it happened).
func closingLine(msg string, skipped int) string {
	switch {
	case skipped == 0:
		return msg
	case msg == "":
		return samplesSkipped(skipped)
	case strings.Contains(msg, "skipped"):
		return msg // the message counts them itself
	default:
		return fmt.Sprintf("%s (%s)", msg, samplesSkipped(skipped))
	}
}

// samplesSkipped is "1 sample skipped" or "N samples skipped".
func samplesSkipped(n int) string {
	if n == 1 {
		return "1 sample skipped"
	}
	return fmt.Sprintf("%d samples skipped", n)
}

// isTerminal reports whether the reader or writer is a terminal.
func isTerminal(x any) bool {
	f, ok := x.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressPrinter writes progress reports to stderr: on a terminal one
// line rewritten in place, otherwise at most a line every half second
// (and the last of each phase). A report that a sample was skipped is
// never held back: it is written in full on a line of its own, and
// counted for the statement's closing line.
type progressPrinter struct {
	w       io.Writer
	tty     bool
	mu      sync.Mutex
	last    time.Time
	open    bool   // a line without newline is on a terminal
	line    string // the progress line last written on a terminal
	skipped int    // skip reports since takeSkipped
}

func newProgressPrinter(w io.Writer, tty bool) *progressPrinter {
	return &progressPrinter{w: w, tty: tty}
}

// skipPhase is the phase of a progress report that says a sample was
// skipped; its detail names the file and the reason.
const skipPhase = "skip"

func (p *progressPrinter) report(pr query.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Phase == skipPhase {
		p.skipped++
		if p.open {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "%s: skipped %s\n", pr.Op, pr.Detail)
		if p.open {
			fmt.Fprint(p.w, p.line) // the progress line again, below the report
		}
		return
	}
	now := time.Now()
	final := pr.Total > 0 && pr.Done >= pr.Total
	if !final && now.Sub(p.last) < 500*time.Millisecond && !p.last.IsZero() {
		return
	}
	p.last = now
	if p.tty {
		p.line = pr.String()
		fmt.Fprintf(p.w, "\r\033[K%s", p.line)
		p.open = true
		return
	}
	fmt.Fprintln(p.w, pr)
}

// takeSkipped returns how many skip reports came since the last call.
func (p *progressPrinter) takeSkipped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.skipped
	p.skipped = 0
	return n
}

// done ends an open progress line.
func (p *progressPrinter) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	p.last = time.Time{}
}
