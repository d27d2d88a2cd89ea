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

// progress prints a status line while the demo runs: redrawn in place with
// \r on a terminal, or as a plain line every second when the output is a
// file or pipe (so logs stay readable), and once more at the end, so that a
// log holds the final counts however short the run. stop ends it.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts printing line() to w.
func startProgress(w io.Writer, line func() string) *progress {
	p := &progress{done: make(chan struct{})}
	live := isTerminal(w)
	every := plainEvery
	if live {
		every = liveEvery
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				if live {
					fmt.Fprint(w, "\r\033[K") // leave the terminal clean for the summary
				} else {
					fmt.Fprintln(w, line())
				}
				return
			case <-t.C:
				if live {
					fmt.Fprint(w, "\r\033[K"+line())
				} else {
					fmt.Fprintln(w, line())
				}
			}
		}
	}()
	return p
}

// stop stops the progress line and waits until it is cleared.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
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
