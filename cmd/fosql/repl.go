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

const replHelp = `Statements end with ; and may span lines. Ctrl-C cancels the statement
that runs (or the one being typed); Ctrl-D or .quit leaves.

  .help                 this text
  .mode FORMAT          table, tsv, csv, json or jsonl
  .timer on|off         print how long each statement took
  .quit, .exit          leave

SQL: SHOW DATASETS; DESCRIBE ds; SELECT … FROM ds …; and the rest in
docs/sql.md (fosql -help lists them too).
`

// shell is the interactive loop: it reads statements line by line, runs
// each when it ends with a semicolon, and prints results as the one-shot
// mode does. Errors are printed and the loop goes on.
type shell struct {
	d      *query.DB
	out    io.Writer
	errw   io.Writer
	prog   *progressPrinter
	format query.Format
	timer  bool

	// interrupts, when set, delivers Ctrl-C: it cancels the running
	// statement, or drops the one being typed.
	interrupts <-chan os.Signal

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running statement; nil at the prompt
	pending strings.Builder    // the lines of the statement being typed
	scan    sqlScanner         // where pending stands: in a quote, a comment, …
	// discarding is set while the lines of a statement longer than
	// maxStatementBytes are read and dropped, up to its end.
	discarding bool
}

// interactive runs the shell on a terminal: prompts on stderr, Ctrl-C
// handled per statement. It returns the exit status.
func interactive(ctx context.Context, d *query.DB, dbPath string, stdin io.Reader, stdout, stderr io.Writer, f query.Format, prog *progressPrinter) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	fmt.Fprintf(stderr, "fosql: SQL over the image datasets in %s. End statements with ;  (.help for help)\n", dbPath)
	sh := &shell{d: d, out: stdout, errw: stderr, prog: prog, format: f, interrupts: sigs}
	return sh.loop(ctx, stdin, true)
}

// loop reads and runs statements until EOF or .quit. With prompt, it
// writes a prompt to errw before each line.
func (sh *shell) loop(ctx context.Context, in io.Reader, prompt bool) int {
	if sh.interrupts != nil {
		done := make(chan struct{})
		defer close(done)
		go sh.watchInterrupts(done, prompt)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxStatementBytes+1)
	for first := true; ; first = false {
		if prompt {
			if sh.atStatementStart() {
				fmt.Fprint(sh.errw, "fosql> ")
			} else {
				fmt.Fprint(sh.errw, "   ...> ")
			}
		}
		if !sc.Scan() {
			if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
				fmt.Fprintf(sh.errw, "fosql: reading input: %v: a line longer than %d bytes\n", errStatementTooLong, maxStatementBytes)
				return 1
			} else if err != nil {
				fmt.Fprintln(sh.errw, "fosql: reading input:", err)
				return 1
			}
			if prompt {
				fmt.Fprintln(sh.errw)
			}
			if text := sh.take(); strings.TrimSpace(text) != "" {
				sh.run(ctx, text)
			}
			return 0
		}
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, utf8BOM)
		}
		if sh.atStatementStart() && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if quit := sh.command(strings.TrimSpace(line)); quit {
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
			sh.discarding = true
		} else if !sh.discarding {
			sh.pending.WriteString(line)
			sh.pending.WriteByte('\n')
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
			sh.run(ctx, sh.take())
		}
	}
}

// typed returns the statement typed so far.
func (sh *shell) typed() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pending.String()
}

// atStatementStart reports whether the next line starts a statement (or
// is a dot command): nothing is typed or being dropped.
func (sh *shell) atStatementStart() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pending.Len() == 0 && !sh.discarding
}

// take returns the statement typed so far and starts a new one.
func (sh *shell) take() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	text := sh.pending.String()
	sh.pending.Reset()
	sh.scan = sqlScanner{}
	return text
}

// watchInterrupts turns each Ctrl-C into cancelling the running
// statement, or, at the prompt, dropping what was typed.
func (sh *shell) watchInterrupts(done <-chan struct{}, prompt bool) {
	for {
		select {
		case <-done:
			return
		case <-sh.interrupts:
			sh.mu.Lock()
			if sh.cancel != nil {
				sh.cancel()
			} else {
				sh.pending.Reset()
				sh.scan = sqlScanner{}
				sh.discarding = false
				if prompt {
					fmt.Fprint(sh.errw, "\nfosql> ")
				}
			}
			sh.mu.Unlock()
		}
	}
}

// run runs the statements in text and prints their results; an error is
// printed, never fatal.
func (sh *shell) run(parent context.Context, text string) {
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
	start := time.Now()
	w := &resultWriter{out: sh.out, errw: sh.errw, format: sh.format, prog: sh.prog}
	err := w.run(ctx, sh.d, text)
	switch {
	case err != nil && ctx.Err() != nil && parent.Err() == nil:
		fmt.Fprintln(sh.errw, "fosql: cancelled")
	case err != nil:
		fmt.Fprintln(sh.errw, "fosql:", err)
	}
	if sh.timer {
		fmt.Fprintf(sh.errw, "(%s)\n", time.Since(start).Round(100*time.Microsecond))
	}
}

// command runs a dot command and reports whether the shell should quit.
func (sh *shell) command(line string) (quit bool) {
	fields := strings.Fields(line)
	switch fields[0] {
	case ".quit", ".exit", ".q":
		return true
	case ".help", ".h":
		fmt.Fprint(sh.errw, replHelp, dashHelp)
	case ".mode":
		if len(fields) != 2 {
			fmt.Fprintf(sh.errw, "output is %s; .mode table|tsv|csv|json|jsonl changes it\n", sh.format)
			break
		}
		f, err := query.ParseFormat(fields[1])
		if err != nil {
			fmt.Fprintln(sh.errw, "fosql:", err)
			break
		}
		sh.format = f
	case ".timer":
		switch {
		case len(fields) == 2 && fields[1] == "on":
			sh.timer = true
		case len(fields) == 2 && fields[1] == "off":
			sh.timer = false
		default:
			fmt.Fprintln(sh.errw, "usage: .timer on|off")
		}
	default:
		if dashCommand(sh, line) {
			break
		}
		fmt.Fprintf(sh.errw, "fosql: unknown command %s (.help lists them)\n", fields[0])
	}
	return false
}
