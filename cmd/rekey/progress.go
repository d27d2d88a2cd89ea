package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// How often the progress line is redrawn on a terminal, and printed
// otherwise.
const (
	liveEvery  = 100 * time.Millisecond
	plainEvery = time.Second
)

// lineResolution is the resolution of the progress line's clock ("4.0s"):
// a plain line printed closer than this to the end of the run would carry
// the same time as the final line, with counts a moment older.
const lineResolution = 100 * time.Millisecond

// progress prints a status line while the demo runs: redrawn in place with
// \r on a terminal, or as a plain line every second when the output is a
// file or pipe (so logs stay readable), and once more at the end, so that a
// log holds the final counts however short the run. stop ends it.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts printing line() to w for a run that ends at end.
func startProgress(w io.Writer, end time.Time, line func() string) *progress {
	pr := &progressPrinter{w: w, live: isTerminal(w), end: end, line: line}
	every := plainEvery
	if pr.live {
		every = liveEvery
	}
	p := &progress{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				pr.finish()
				return
			case now := <-t.C:
				pr.tick(now)
			}
		}
	}()
	return p
}

// stop stops the progress line and waits until it is cleared (on a
// terminal) or its final line is printed.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// progressPrinter decides what each tick and the end of the run print. It
// is driven by startProgress's ticker, and by tests with explicit times.
type progressPrinter struct {
	w    io.Writer
	live bool      // redraw one line in place (a terminal)
	end  time.Time // when the run is due to end
	line func() string
}

// tick prints the line for a tick at now. A plain line is printed only while
// the run has more than lineResolution to go: the tick that lands on the end
// of the run (or just before it) would print the line that finish prints a
// moment later, with the same time and older counts ("4.0s 90959 req" then
// "4.0s 90960 req").
func (p *progressPrinter) tick(now time.Time) {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K"+p.line())
		return
	}
	if now.After(p.end.Add(-lineResolution)) {
		return
	}
	fmt.Fprintln(p.w, p.line())
}

// finish ends the progress: it clears the terminal line for the summary, or
// prints the final counts as the last plain line.
func (p *progressPrinter) finish() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	fmt.Fprintln(p.w, p.line())
}

// isTerminal reports whether w is a terminal (a character device) that can
// redraw a line: not a file, pipe or buffer, and not TERM=dumb.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
