package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fosql/fosql/query"
)

// progressPrinter shows the progress reports of long statements on
// stderr. On a terminal each phase (an ingest, a zoo load, embedding,
// k-NN) gets a bar with counts, rate and ETA; otherwise a plain line
// with counts comes at least every progressEvery while a phase runs,
// and one when it ends. Quiet (-q, .progress off) shows none of it. A
// report that a sample was skipped is shown whatever the setting, in
// full on a line of its own, and counted for the statement's closing
// line.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	every time.Duration // progressEvery; shorter in tests

	mu      sync.Mutex
	quiet   bool
	skipped int // skip reports since takeSkipped

	// on a terminal: the bar of the current phase
	bar    *progressbar.ProgressBar
	barKey string

	// otherwise: the latest report, whether it was printed, and when a
	// line was last printed
	cur        query.Progress
	curKey     string
	curPrinted bool
	printed    time.Time
	stopTicker chan struct{}
}

// progressEvery is the longest a phase runs without a progress line when
// stderr is not a terminal; progressMinGap is the shortest time between
// two lines of the same phase.
const (
	progressEvery  = 2 * time.Second
	progressMinGap = time.Second
)

func newProgressPrinter(w io.Writer, tty bool) *progressPrinter {
	return &progressPrinter{w: w, tty: tty, every: progressEvery}
}

// setQuiet turns progress off (true) or on.
func (p *progressPrinter) setQuiet(q bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet = q
}

// isQuiet reports whether progress is off.
func (p *progressPrinter) isQuiet() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.quiet
}

// skipPhase is the phase of a progress report that says a sample was
// skipped; its detail names the file and the reason.
const skipPhase = "skip"

// report takes one progress report; it is query.Options.Progress.
func (p *progressPrinter) report(pr query.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Phase == skipPhase {
		p.skipped++
		if p.bar != nil {
			p.bar.Clear()
		}
		fmt.Fprintf(p.w, "%s: skipped %s\n", pr.Op, pr.Detail)
		return
	}
	if p.quiet {
		return
	}
	key := pr.Op
	if pr.Phase != "" {
		key += " " + pr.Phase
	}
	if p.tty {
		p.showBar(key, pr)
		return
	}
	if key != p.curKey && p.curKey != "" && !p.curPrinted {
		p.printLine() // the last state of the phase that ended
	}
	p.cur, p.curKey, p.curPrinted = pr, key, false
	final := pr.Total > 0 && pr.Done >= pr.Total
	if final || time.Since(p.printed) >= min(progressMinGap, p.every) {
		p.printLine()
	}
	if p.stopTicker == nil && !final {
		p.stopTicker = make(chan struct{})
		go p.tick(p.stopTicker)
	}
}

// showBar moves the bar of phase key to pr, starting a new bar when the
// phase changes. Locked.
func (p *progressPrinter) showBar(key string, pr query.Progress) {
	if key != p.barKey || p.bar == nil {
		p.endBar()
		total := pr.Total
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(key),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		}
		if total <= 0 {
			total = -1
			opts = append(opts, progressbar.OptionSetSpinnerChangeInterval(0))
		}
		p.bar, p.barKey = progressbar.NewOptions64(total, opts...), key
	}
	if pr.Total > 0 && pr.Total != p.bar.GetMax64() {
		p.bar.ChangeMax64(pr.Total)
	}
	if pr.Detail != "" {
		// A phase's words (a queue job's batches and workers) change
		// under the same bar.
		p.bar.Describe(key + " (" + pr.Detail + ")")
	}
	p.bar.Set64(pr.Done)
}

// endBar leaves the current bar as it stands, on a line of its own.
// Locked.
func (p *progressPrinter) endBar() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Exit() // its completion hook ends the line
	}
	p.bar, p.barKey = nil, ""
}

// printLine prints the latest report as a plain line. Locked.
func (p *progressPrinter) printLine() {
	fmt.Fprintln(p.w, p.cur)
	p.curPrinted = true
	p.printed = time.Now()
}

// tick prints the latest report again when a phase has gone
// progressEvery without a line, until stop is closed.
func (p *progressPrinter) tick(stop <-chan struct{}) {
	t := time.NewTicker(p.every / 4)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if !p.quiet && p.curKey != "" && time.Since(p.printed) >= p.every {
				p.printLine()
			}
			p.mu.Unlock()
		}
	}
}

// takeSkipped returns how many skip reports came since the last call.
func (p *progressPrinter) takeSkipped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.skipped
	p.skipped = 0
	return n
}

// done ends the progress of a statement: the bar stays as it stands on a
// line of its own; without a terminal, the last state of the phase is
// printed if it was not.
func (p *progressPrinter) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endBar()
	if p.curKey != "" && !p.curPrinted && !p.quiet {
		p.printLine()
	}
	p.cur, p.curKey, p.curPrinted = query.Progress{}, "", false
	p.printed = time.Time{}
	if p.stopTicker != nil {
		close(p.stopTicker)
		p.stopTicker = nil
	}
}
