package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProgressPrintsTheLastLineOnce drives the plain progress printer with a
// fake clock: ticks every second, the run ending on a tick (or just after
// one), then the end of the run. Every plain line must carry its own time,
// and the last one the final counts: the tick that lands on the end of the
// run used to print "4.0s 90959 req" and the end "4.0s 90960 req".
func TestProgressPrintsTheLastLineOnce(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		duration time.Duration
		ticks    []time.Duration // after start
		finishAt time.Duration   // when the workers are done
		want     []string        // the lines' clocks
	}{
		{"run ends on a tick", 4 * time.Second,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second},
			4*time.Second + 3*time.Millisecond, []string{"1.0s", "2.0s", "3.0s", "4.0s"}},
		{"tick a little after the end", 4 * time.Second,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4*time.Second + 2*time.Millisecond},
			4*time.Second + 5*time.Millisecond, []string{"1.0s", "2.0s", "3.0s", "4.0s"}},
		{"tick just before the end", 4030 * time.Millisecond,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4*time.Second + time.Millisecond},
			4040 * time.Millisecond, []string{"1.0s", "2.0s", "3.0s", "4.0s"}},
		{"run ends between ticks", 2500 * time.Millisecond,
			[]time.Duration{time.Second, 2 * time.Second},
			2510 * time.Millisecond, []string{"1.0s", "2.0s", "2.5s"}},
		{"run shorter than a tick", 700 * time.Millisecond,
			nil, 701 * time.Millisecond, []string{"0.7s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st demoStats
			now := start
			var out bytes.Buffer
			p := &progressPrinter{w: &out, end: start.Add(tt.duration),
				line: func() string { return st.line(now.Sub(start), tt.duration) }}
			for _, at := range tt.ticks {
				st.requests.Add(1000) // requests keep completing between ticks
				now = start.Add(at)
				p.tick(now)
			}
			st.requests.Add(1) // the last request, finished after the last tick
			now = start.Add(tt.finishAt)
			p.finish()

			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			var clocks []string
			for _, l := range lines {
				clocks = append(clocks, strings.Fields(l)[0])
			}
			if strings.Join(clocks, " ") != strings.Join(tt.want, " ") {
				t.Errorf("printed clocks %q, want %q; output:\n%s", clocks, tt.want, out.String())
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, " "+strconv.FormatInt(st.requests.Load(), 10)+" req ") {
				t.Errorf("last line %q lacks the final count %d", last, st.requests.Load())
			}
		})
	}
}

// TestProgressLiveRedrawsAndClears: on a terminal, every tick redraws the
// line in place, and the end clears it for the summary.
func TestProgressLiveRedrawsAndClears(t *testing.T) {
	start := time.Now()
	var out bytes.Buffer
	n := 0
	p := &progressPrinter{w: &out, live: true, end: start.Add(time.Second),
		line: func() string { n++; return "line " + strconv.Itoa(n) }}
	p.tick(start.Add(liveEvery))
	p.tick(start.Add(time.Second)) // at the end: still redrawn, cleared below
	p.finish()
	if want := "\r\033[Kline 1\r\033[Kline 2\r\033[K"; out.String() != want {
		t.Errorf("live output %q, want %q", out.String(), want)
	}
}
