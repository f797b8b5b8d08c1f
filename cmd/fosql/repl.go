package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/fosql/fosql/query"
)

// shell runs statements and meta commands, from the terminal, a script
// on stdin, -e or a .read file, and keeps the settings the meta commands
// change: output mode and destination, headers, the null text, timer,
// changes and progress.
type shell struct {
	d      *query.DB
	dbPath string
	// reopen opens another database for .open; nil when .open is not
	// offered.
	reopen func(path string) (*query.DB, error)

	stdout   io.Writer // where rows go without .output
	out      io.Writer // where rows go now: stdout or the .output file
	outFile  *os.File  // the .output file; nil when rows go to stdout
	onceFile *os.File  // the .once file, for the next statement only
	errw     io.Writer
	prog     *progressPrinter
	format   query.Format
	wopts    query.WriteOptions
	timer    bool
	changes  bool
	total    int64 // rows changed since the shell started, for .changes
	sets     int   // result sets written so far
	reading  int   // depth of .read files being run

	// interrupts, when set, delivers Ctrl-C: it cancels the running
	// statement, or drops the one being typed.
	interrupts <-chan os.Signal
	// history, when set, records each statement and meta command typed,
	// a statement of several lines as one entry.
	history func(entry string)

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running statement; nil at the prompt
	pending strings.Builder    // the lines of the statement being typed
	lines   []string           // the same lines, for the history entry
	scan    sqlScanner         // where pending stands: in a quote, a comment, …
	// discarding is set while the lines of a statement longer than
	// maxStatementBytes are read and dropped, up to its end.
	discarding bool
}

// newShell returns a shell on d writing rows to stdout in format f and
// everything else to stderr.
func newShell(d *query.DB, dbPath string, stdout, stderr io.Writer, f query.Format, prog *progressPrinter) *shell {
	return &shell{d: d, dbPath: dbPath, stdout: stdout, out: stdout, errw: stderr, format: f, prog: prog}
}

// close closes the files .output and .once opened.
func (sh *shell) close() {
	sh.setOutput(nil)
	if sh.onceFile != nil {
		sh.onceFile.Close()
		sh.onceFile = nil
	}
}

// setOutput sends rows to f from now on, or back to stdout when f is nil,
// closing the previous .output file.
func (sh *shell) setOutput(f *os.File) {
	if sh.outFile != nil {
		sh.outFile.Close()
	}
	sh.outFile = f
	if f == nil {
		sh.out = sh.stdout
		return
	}
	sh.out = f
}

// lineSource gives the shell its input line by line. readLine returns
// errLineInterrupted when Ctrl-C drops the line being typed, and io.EOF
// at the end of input (Ctrl-D).
type lineSource interface {
	readLine(prompt string) (string, error)
}

// errLineInterrupted is what a lineSource returns when Ctrl-C is typed
// at the prompt.
var errLineInterrupted = errors.New("interrupted")

// readerSource reads lines from a reader, writing each prompt to w (when
// w is set).
type readerSource struct {
	sc *bufio.Scanner
	w  io.Writer
}

func newReaderSource(r io.Reader, prompts io.Writer) *readerSource {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxStatementBytes+1)
	return &readerSource{sc: sc, w: prompts}
}

func (rs *readerSource) readLine(prompt string) (string, error) {
	if rs.w != nil {
		fmt.Fprint(rs.w, prompt)
	}
	if rs.sc.Scan() {
		return rs.sc.Text(), nil
	}
	if err := rs.sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return "", fmt.Errorf("%w: a line longer than %d bytes", errStatementTooLong, maxStatementBytes)
	} else if err != nil {
		return "", err
	}
	if rs.w != nil {
		fmt.Fprintln(rs.w)
	}
	return "", io.EOF
}

// Prompts of the interactive shell: at the start of a statement, and on
// the lines that continue one.
const (
	promptStart    = "fosql> "
	promptContinue = "   ...> "
)

// interactive runs the shell on a terminal with line editing, history
// and completion; Ctrl-C is handled per statement. It returns the exit
// status.
func interactive(ctx context.Context, sh *shell, stdin io.Reader) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	sh.interrupts = sigs
	fmt.Fprintf(sh.errw, "fosql: SQL over the image datasets in %s. End statements with ;  (.help for help)\n", sh.dbPath)
	src, closeEditor, err := newLineEditor(sh, stdin)
	if err != nil {
		fmt.Fprintf(sh.errw, "fosql: line editing is off: %v\n", err)
		return sh.loop(ctx, newReaderSource(stdin, sh.errw))
	}
	defer closeEditor()
	return sh.loop(ctx, src)
}

// loop reads and runs statements and meta commands until the input ends
// or .quit. An error is printed and the loop goes on.
func (sh *shell) loop(ctx context.Context, src lineSource) int {
	if sh.interrupts != nil {
		done := make(chan struct{})
		defer close(done)
		go sh.watchInterrupts(done)
	}
	defer sh.close()
	for first := true; ; first = false {
		prompt := promptStart
		if !sh.atStatementStart() {
			prompt = promptContinue
		}
		line, err := src.readLine(prompt)
		if errors.Is(err, errLineInterrupted) {
			sh.dropTyped()
			continue
		}
		if err == io.EOF {
			if text := sh.take(); strings.TrimSpace(text) != "" {
				sh.cancellable(ctx, func(ctx context.Context) error { return sh.run(ctx, text) })
			}
			return 0
		}
		if err != nil {
			fmt.Fprintln(sh.errw, "fosql: reading input:", err)
			return 1
		}
		if first {
			line = strings.TrimPrefix(line, utf8BOM)
		}
		if sh.atStatementStart() && strings.HasPrefix(strings.TrimSpace(line), ".") {
			cmd := strings.TrimSpace(line)
			sh.remember(cmd)
			quit := false
			sh.cancellable(ctx, func(ctx context.Context) (err error) {
				quit, err = sh.meta(ctx, cmd)
				return err
			})
			if quit {
				return 0
			}
			continue
		}
		sh.mu.Lock()
		for i := 0; i < len(line); i++ {
			sh.scan.step(line[i])
		}
		sh.scan.step('\n')
		complete := sh.scan.complete()
		tooLong := !sh.discarding && sh.pending.Len()+len(line) >= maxStatementBytes
		if tooLong {
			sh.pending.Reset()
			sh.lines = nil
			sh.discarding = true
		} else if !sh.discarding {
			sh.pending.WriteString(line)
			sh.pending.WriteByte('\n')
			sh.lines = append(sh.lines, line)
		}
		if complete && sh.discarding {
			sh.discarding = false
			sh.scan = sqlScanner{}
			complete = false
		}
		sh.mu.Unlock()
		if tooLong {
			fmt.Fprintf(sh.errw, "fosql: %v: longer than %d bytes; it is read to its end and dropped\n", errStatementTooLong, maxStatementBytes)
			continue
		}
		if complete {
			text := sh.take()
			sh.cancellable(ctx, func(ctx context.Context) error { return sh.run(ctx, text) })
		}
	}
}

// remember records a history entry, when the shell keeps history.
func (sh *shell) remember(entry string) {
	if sh.history != nil && strings.TrimSpace(entry) != "" {
		sh.history(entry)
	}
}

// typed returns the statement typed so far.
func (sh *shell) typed() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pending.String()
}

// atStatementStart reports whether the next line starts a statement (or
// is a meta command): nothing is typed or being dropped.
func (sh *shell) atStatementStart() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pending.Len() == 0 && !sh.discarding
}

// take returns the statement typed so far and starts a new one; the
// statement becomes one history entry.
func (sh *shell) take() string {
	sh.mu.Lock()
	text := sh.pending.String()
	entry := historyEntry(sh.lines)
	sh.pending.Reset()
	sh.lines = nil
	sh.scan = sqlScanner{}
	sh.mu.Unlock()
	sh.remember(entry)
	return text
}

// dropTyped forgets the statement being typed.
func (sh *shell) dropTyped() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.pending.Reset()
	sh.lines = nil
	sh.scan = sqlScanner{}
	sh.discarding = false
}

// historyEntry joins the lines of a statement into one line, the form a
// history file keeps; a line comment is left out, since the lines after
// it would otherwise become part of the comment.
func historyEntry(lines []string) string {
	parts := make([]string, 0, len(lines))
	for _, l := range lines {
		var s sqlScanner
		cut := len(l)
		for i := 0; i < len(l); i++ {
			s.step(l[i])
			if s.lineComment {
				cut = i // '#' at i, or the second '-' of "--" at i
				if l[i] == '-' {
					cut = i - 1
				}
				break
			}
		}
		if p := strings.TrimSpace(l[:cut]); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// watchInterrupts turns each Ctrl-C into cancelling the running
// statement, or, at the prompt, dropping what was typed.
func (sh *shell) watchInterrupts(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-sh.interrupts:
			sh.mu.Lock()
			cancel := sh.cancel
			sh.mu.Unlock()
			if cancel != nil {
				cancel()
			} else {
				sh.dropTyped()
			}
		}
	}
}

// cancellable runs a statement or meta command typed in the loop under a
// context that Ctrl-C cancels; an error is printed, never fatal.
func (sh *shell) cancellable(parent context.Context, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(parent)
	sh.mu.Lock()
	sh.cancel = cancel
	sh.mu.Unlock()
	defer func() {
		sh.mu.Lock()
		sh.cancel = nil
		sh.mu.Unlock()
		cancel()
	}()
	err := fn(ctx)
	switch {
	case err != nil && ctx.Err() != nil && parent.Err() == nil:
		fmt.Fprintln(sh.errw, "fosql: cancelled")
	case err != nil:
		fmt.Fprintln(sh.errw, "fosql:", err)
	}
}

// run runs the statements of text and prints their results. It stops at
// the first error and returns it. Rows go to the .once file when one is
// set, then to the .output file or stdout.
func (sh *shell) run(ctx context.Context, text string) error {
	out := sh.out
	if sh.onceFile != nil {
		once := sh.onceFile
		sh.onceFile = nil
		defer once.Close()
		out = once
	}
	start := time.Now()
	sh.prog.takeSkipped()
	err := sh.d.Stream(ctx, text, nil, func(_ query.Statement, res *query.Result) error {
		sh.prog.done()
		for _, warning := range res.Warnings {
			fmt.Fprintln(sh.errw, warning)
		}
		if res.HasRows() {
			if sh.sets > 0 && sh.format.Blocked() {
				fmt.Fprintln(out)
			}
			sh.sets++
			if err := res.WriteWith(out, sh.format, sh.wopts); err != nil {
				return err
			}
		}
		msg := closingLine(res.Message, sh.prog.takeSkipped())
		if res.Failed {
			return errors.New(msg) // the rows are out; the status says it failed
		}
		if msg != "" {
			fmt.Fprintln(sh.errw, msg)
		}
		if sh.changes {
			sh.total += res.RowsAffected
			fmt.Fprintf(sh.errw, "changes: %d   total_changes: %d\n", res.RowsAffected, sh.total)
		}
		return nil
	})
	sh.prog.done()
	if n := sh.prog.takeSkipped(); n > 0 {
		fmt.Fprintf(sh.errw, "(%s before the error)\n", samplesSkipped(n))
	}
	if sh.timer {
		fmt.Fprintf(sh.errw, "(%s)\n", time.Since(start).Round(100*time.Microsecond))
	}
	return err
}

// runScript runs the statements and meta commands of a script one at a
// time, as they are read, and stops at the first error, which names the
// statement and its line in the script (a syntax error gives its
// position in the script). It reports whether the script asked to quit.
func (sh *shell) runScript(ctx context.Context, sr *statementReader) (quit bool, err error) {
	for n := 1; ; n++ {
		text, line, err := sr.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if isMetaLine(text) {
			quit, err := sh.meta(ctx, text)
			if err != nil {
				return false, fmt.Errorf("line %d: %w", line, err)
			}
			if quit {
				return true, nil
			}
			continue
		}
		if err := sh.run(ctx, text); err != nil {
			if n == 1 && line == 1 {
				return false, err
			}
			if _, perr := query.Parse(text); perr != nil {
				// A syntax error: parsed again at its place in the
				// script, the positions it gives are the script's.
				if _, perr := query.Parse(strings.Repeat("\n", line-1) + text); perr != nil {
					return false, fmt.Errorf("statement %d: %w", n, perr)
				}
			}
			return false, fmt.Errorf("statement %d (line %d): %w", n, line, err)
		}
	}
}

// isMetaLine reports whether a line of input is a meta command.
func isMetaLine(text string) bool {
	return strings.HasPrefix(text, ".")
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

// resultWriter runs scripts with the shell's default settings: rows to
// out in format, everything else to errw.
type resultWriter struct {
	out, errw io.Writer
	format    query.Format
	prog      *progressPrinter
}

// runScript runs a script on d as the shell runs stdin, and stops at its
// first error.
func (w *resultWriter) runScript(ctx context.Context, d *query.DB, sr *statementReader) error {
	sh := newShell(d, d.Store().Path(), w.out, w.errw, w.format, w.prog)
	defer sh.close()
	_, err := sh.runScript(ctx, sr)
	return err
}
