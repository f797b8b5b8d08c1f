// Command fosql is the shell of the fosql database: it runs SQL against a
// database directory.
//
//	fosql -db DIR                  the interactive shell, on a terminal
//	fosql -db DIR -e 'SQL; SQL'    run statements, print rows, exit
//	fosql -db DIR < script.sql     run a script from stdin
//	fosql version                  versions of fosql, Go, ONNX Runtime; the model cache
//	fosql serve -db DIR            the web dashboard over the database
//	fosql demo [args]              the walkthrough on the synthetic dataset
//	fosql worker -nats URL         a worker of queue jobs (NATS JetStream)
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
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
)

func main() {
	exitAfterRead = os.Exit
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitAfterRead, when set (main sets it to os.Exit), ends a one-shot read
// as soon as its rows are out, leaving the store to the operating system:
// a store opened read-only has nothing to flush or sync, and closing it
// (unmapping and syncing every table file, stopping Badger's caches and
// goroutines) would take a tenth of such a process's time. Tests that
// call run leave it nil, so that the store is closed as usual.
var exitAfterRead func(code int)

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
  fosql version                     fosql's, Go's and ONNX Runtime's versions, the model cache
  fosql serve [-db DIR] [-addr A]   the web dashboard (http://127.0.0.1:5151/)
  fosql demo [args]                 the walkthrough on the offline synthetic dataset
  fosql worker -nats nats://host:4222 [-concurrency N]
                                    a worker of queue jobs (docs/distributed.md)
  fosql convert-tfjs -in DIR -out model.onnx [-any-size | -int8] [-output NAME=NODE]...
                                    a TensorFlow.js graph model to ONNX (-int8: quantised)
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
  CREATE DATASET ds FROM IMAGES 's3://bucket/prefix/' [RECURSIVE] WITH (endpoint = 'http://host:8333');
  LOAD ZOO DATASET synthetic|fashion-mnist|cifar10|cifar100|mnist [SPLIT s] [WITH (file = '…')];
  SHOW MODELS;  COMPUTE UNIQUENESS ON ds WITH (model = 'mobilenet-v2');
  COMPUTE UNIQUENESS ON ds [WITH (k = 3)];  COMPUTE DUPLICATES ON ds [WITH (threshold = 0.3, ratio = 0.4)];
  SELECT … FROM ds [WHERE …] [GROUP BY …] [ORDER BY …] [LIMIT n] [INTO OUTFILE 'f.csv'];
  SELECT id, _distance FROM ds ORDER BY SIMILARITY TO 'id' | FILE 'x.jpg' LIMIT 10;
  INSERT INTO ds (filepath, tags, …) VALUES (…);  UPDATE ds SET … WHERE …;
  UPDATE ds ADD TAG 'x' WHERE …;  UPDATE ds REMOVE TAG 'x' WHERE …;
  DELETE FROM ds WHERE …;  EXPLAIN SELECT …;  SET auto_compute = on|off;
  COMPUTE UNIQUENESS ON ds WITH (queue = 'nats://…', batch = 64);  SET queue = 'nats://…';
  SELECT … FROM ds WHERE id IN SELECTION;  (the dashboard's selection)
  CREATE [OR REPLACE] VIEW v AS SELECT …;  SHOW VIEWS;  DROP VIEW v;

Flags:
`

// run is the shell; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return runServe(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "worker" {
		return runWorker(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "version" {
		return runVersion(stdout, stderr)
	}
	if len(args) > 0 && args[0] == "quality" {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		return runQuality(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "convert-tfjs" {
		return runConvertTFJS(ctx, args[1:], stderr)
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
	format := fs.String("format", "", "output: "+strings.Join(query.FormatNames(), ", ")+" (default: table on a terminal, else tsv)")
	autoCompute := fs.String("auto-compute", "on", "compute missing or stale insights before a query needs them: on or off")
	quiet := fs.Bool("q", false, "quiet: no progress bars or lines (skipped files are still reported)")
	noHeader := fs.Bool("noheader", false, "leave out the header line (as .headers off)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, usageText, maxStatementBytes)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nMeta commands (in the shell, a script on stdin or a .read file):\n"+metaHelpText())
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
	auto, err := parseOnOff(*autoCompute)
	if err != nil {
		fmt.Fprintf(stderr, "fosql: -auto-compute %s\n", err)
		return 2
	}

	script := strings.TrimPrefix(*sqlText, utf8BOM)
	repl := *sqlText == "" && isTerminal(stdin)

	prog := newProgressPrinter(stderr, isTerminal(stderr))
	prog.setQuiet(*quiet)
	openWith := func(path string, readOnly bool) (*query.DB, error) {
		return query.Open(path, &query.Options{AutoCompute: &auto, Progress: prog.report, Storage: &db.Options{ReadOnly: readOnly}})
	}
	open := func(path string) (*query.DB, error) { return openWith(path, false) }
	// A one-shot read opens the store read-only: nothing is created,
	// written or synced, which is most of a short command's time. A store
	// that cannot be read that way (new, or to recover after a crash), or
	// a statement that turns out to write, gets the read-write open.
	readOnly := *sqlText != "" && readOnlyScript(script)
	gcPercent := -1
	if readOnly {
		// Such a process lives for milliseconds: collecting the garbage
		// of the open (the store check's buffers) costs more than the
		// memory, as a rule half of its CPU time. The statement runs with
		// the usual pacing again: a scan of a large dataset makes about
		// 100 MB of garbage per million samples (the store's decompressed
		// blocks), which at 400 would have held up to five times the live
		// heap.
		gcPercent = debug.SetGCPercent(400)
	}
	d, err := openWith(dbPath, readOnly)
	if gcPercent >= 0 {
		debug.SetGCPercent(gcPercent)
	}
	if readOnly && errors.Is(err, db.ErrReadOnly) {
		readOnly = false
		d, err = open(dbPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "fosql:", err)
		return 1
	}
	sh := newShell(d, dbPath, stdout, stderr, f, prog)
	sh.reopen = open
	sh.wopts.NoHeader = *noHeader
	defer func() { sh.d.Close() }()
	if repl {
		return interactive(ctx, sh, stdin)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	defer sh.close()
	if *sqlText != "" {
		err = sh.run(ctx, script)
		if readOnly && err == nil && exitAfterRead != nil {
			sh.close()
			exitAfterRead(0)
		}
		if readOnly && errors.Is(err, db.ErrReadOnly) {
			sh.d.Close()
			if sh.d, err = open(dbPath); err == nil {
				err = sh.run(ctx, script)
			}
		}
	} else {
		_, err = sh.runScript(ctx, newStatementReader(stdin, maxStatementBytes))
	}
	if err != nil {
		fmt.Fprintln(stderr, "fosql:", err)
		return 1
	}
	return 0
}

// readOnlyScript reports whether a -e script can run on a store opened
// read-only: one statement that only reads (SELECT without INTO OUTFILE
// or SIMILARITY TO, SHOW, DESCRIBE, EXPLAIN). A SELECT that names an
// insights path whose run is stale starts a computation, which fails on
// such a store before any work (ErrReadOnly), and run then reopens the
// store read-write and runs the statement again; a fresh run is only read.
func readOnlyScript(script string) bool {
	stmts, err := query.ParseCached(script)
	if err != nil || len(stmts) != 1 {
		return false
	}
	switch st := stmts[0].(type) {
	case *query.Select:
		return st.Outfile == nil && st.Similarity == nil
	case *query.ShowDatasets, *query.ShowModels, *query.DescribeDataset, *query.Explain:
		return true
	}
	return false
}

// isTerminal reports whether the reader or writer is a terminal.
func isTerminal(x any) bool {
	f, ok := x.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
