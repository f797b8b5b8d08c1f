package main

import (
	"bufio"
	"context"
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
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for {
		if prompt {
			if sh.typed() == "" {
				fmt.Fprint(sh.errw, "fosql> ")
			} else {
				fmt.Fprint(sh.errw, "   ...> ")
			}
		}
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
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
		if sh.typed() == "" && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if quit := sh.command(strings.TrimSpace(line)); quit {
				return 0
			}
			continue
		}
		sh.mu.Lock()
		sh.pending.WriteString(line)
		sh.pending.WriteByte('\n')
		complete := statementComplete(sh.pending.String())
		sh.mu.Unlock()
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

// take returns the statement typed so far and starts a new one.
func (sh *shell) take() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	text := sh.pending.String()
	sh.pending.Reset()
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
	err := runScript(ctx, sh.d, text, sh.out, sh.errw, sh.format, sh.prog)
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
		fmt.Fprint(sh.errw, replHelp)
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
		fmt.Fprintf(sh.errw, "fosql: unknown command %s (.help lists them)\n", fields[0])
	}
	return false
}

// statementComplete reports whether text ends with a semicolon outside
// quotes and comments, so that what was typed so far can run.
func statementComplete(text string) bool {
	var quote byte
	last := byte(0) // the last significant byte outside quotes and comments
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				if i+1 < len(text) && text[i+1] == quote {
					i++ // a doubled quote stays inside
				} else {
					quote = 0
					last = c
				}
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '-' && i+1 < len(text) && text[i+1] == '-', c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += end + 3
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			last = c
		}
	}
	return quote == 0 && last == ';'
}
