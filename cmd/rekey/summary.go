package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// demoStats are the live counts: requests counted by the workers, the rest
// by the Client's hooks. Safe for concurrent use.
type demoStats struct {
	requests, succeeded, failed          atomic.Int64
	rejections, replayed, replayRejected atomic.Int64
	notReplayed                          atomic.Int64
	refreshes, refreshErr                atomic.Int64
	refreshesBy                          [4]atomic.Int64 // by credentials.RefreshReason
	retries                              atomic.Int64
	revocations                          atomic.Int64
	failovers, quarantined, restored     atomic.Int64
	poolSize                             int // keys in the pool; 0: one key
}

// hooks returns the Client hooks that feed s.
func (s *demoStats) hooks() rekey.Hooks {
	return rekey.Hooks{
		KeyRejected:        func(transport.Event) { s.rejections.Add(1) },
		RequestReplayed:    func(transport.Event) { s.replayed.Add(1) },
		RequestNotReplayed: func(transport.Event) { s.notReplayed.Add(1) },
		ReplayRejected:     func(transport.Event) { s.replayRejected.Add(1) },
		RefreshSucceeded: func(ev credentials.RefreshEvent) {
			s.refreshes.Add(1)
			if int(ev.Reason) < len(s.refreshesBy) {
				s.refreshesBy[ev.Reason].Add(1)
			}
		},
		RefreshFailed:     func(credentials.RefreshEvent) { s.refreshErr.Add(1) },
		RetryScheduled:    func(transport.RetryEvent) { s.retries.Add(1) },
		Failover:          func(transport.Event) { s.failovers.Add(1) },
		MemberQuarantined: func(credentials.PoolEvent) { s.quarantined.Add(1) },
		MemberRestored:    func(credentials.PoolEvent) { s.restored.Add(1) },
	}
}

// recovered counts key rejections after which the replay with a new key was
// accepted (it may still have met a transient failure, which the retry layer
// handles).
func (s *demoStats) recovered() int64 {
	return s.replayed.Load() - s.replayRejected.Load()
}

// line is the progress line: elapsed time and the live counts, short
// enough for an 80-column terminal.
func (s *demoStats) line(elapsed, total time.Duration) string {
	elapsed = min(elapsed, total)
	return fmt.Sprintf("%4.1fs  %d req  rejected %d  recovered %d  refreshes %d  retries %d  failed %d",
		elapsed.Seconds(), s.requests.Load(), s.rejections.Load(), s.recovered(),
		s.refreshes.Load(), s.retries.Load(), s.failed.Load())
}

// classify names the class of a failed request's error, or returns "" for
// an error rekey did not classify (which the demo counts as lost).
func classify(err error) string {
	var retryErr *rekey.RetryError
	var netErr net.Error
	switch {
	case errors.Is(err, rekey.ErrRefreshFailed):
		return "refresh failed"
	case errors.Is(err, rekey.ErrInvalidAPIKey):
		return "invalid key"
	case errors.Is(err, rekey.ErrRateLimited):
		return "rate limited"
	case errors.Is(err, rekey.ErrServer):
		return "server error"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &retryErr):
		return "connection" // a connection error that outlasted the retries
	case errors.Is(err, rekey.ErrConnection):
		return "connection" // one rekey did not retry (a POST with no Idempotency-Key), and says why
	}
	return ""
}

// summary is the outcome of a demo run.
type summary struct {
	elapsed    time.Duration
	gets       int
	posts      int
	succeeded  int64
	failures   map[string]int
	examples   []string
	lost       int
	lostWhy    []string
	latencies  []time.Duration // sorted
	stats      *demoStats
	server     rekeytest.Stats
	ackedPosts int
}

// summarize merges the workers' results and checks them against the bodies
// the service received: each acknowledged body exactly once, byte for byte,
// and nothing the workers did not send.
func summarize(results []workerResult, received [][]byte, server rekeytest.Stats, st *demoStats, elapsed time.Duration) *summary {
	sum := &summary{elapsed: elapsed, failures: map[string]int{}, stats: st, server: server, succeeded: st.succeeded.Load()}
	seen := make(map[string]int, len(received))
	for _, b := range received {
		seen[string(b)]++
	}
	sent := make(map[string]bool)
	for _, r := range results {
		sum.gets += r.gets
		sum.posts += r.posts
		sum.latencies = append(sum.latencies, r.latencies...)
		for class, n := range r.failures {
			sum.failures[class] += n
		}
		for _, e := range r.examples {
			if len(sum.examples) < 3 {
				sum.examples = append(sum.examples, e)
			}
		}
		for _, b := range r.sent {
			sent[string(b)] = true
		}
		sum.ackedPosts += len(r.acked)
		for _, b := range r.acked {
			if n := seen[string(b)]; n != 1 {
				sum.loss("acknowledged POST %s reached the service %d times", b, n)
			}
		}
		if r.mismatch > 0 {
			sum.loss("%d acknowledged POSTs were echoed back altered", r.mismatch)
		}
	}
	for b := range seen {
		if !sent[b] {
			sum.loss("the service received a body no worker sent: %.60q", b)
		}
	}
	if n := sum.failures[""]; n > 0 {
		sum.loss("%d requests failed with an unclassified error", n)
	}
	slices.Sort(sum.latencies)
	return sum
}

func (s *summary) loss(format string, args ...any) {
	s.lost++
	if len(s.lostWhy) < 5 {
		s.lostWhy = append(s.lostWhy, fmt.Sprintf(format, args...))
	}
}

// print writes the summary table.
func (s *summary) print(w io.Writer) {
	st := s.stats
	total := s.gets + s.posts
	row := func(name string, n int64, note string, args ...any) {
		note = fmt.Sprintf(note, args...)
		if note != "" {
			note = "   " + note
		}
		fmt.Fprintf(w, "  %-18s %8d%s\n", name, n, note)
	}
	by := func(r credentials.RefreshReason) int64 { return st.refreshesBy[r].Load() }
	fmt.Fprintf(w, "Summary after %.1fs:\n", s.elapsed.Seconds())
	row("requests", int64(total), "%d GET, %d POST (%.0f/s)", s.gets, s.posts, float64(total)/s.elapsed.Seconds())
	row("succeeded", s.succeeded, "")
	row("keys revoked", st.revocations.Load(), "at random by the service, on top of expiry")
	if st.poolSize > 0 {
		row("key rejections", st.rejections.Load(), "%d recovered by failover to another key, %d by refresh and replay", st.failovers.Load(), st.recovered())
		row("pool", int64(st.poolSize), "keys: %d quarantined, %d restored", st.quarantined.Load(), st.restored.Load())
	} else {
		row("key rejections", st.rejections.Load(), "%d recovered by refresh and replay", st.recovered())
	}
	row("refreshes", st.refreshes.Load(), "%d after a rejection, %d ahead of expiry, %d on expiry, %d first key; %d failed",
		by(credentials.ReasonRejected), by(credentials.ReasonExpiring), by(credentials.ReasonExpired), by(credentials.ReasonInitial), st.refreshErr.Load())
	row("transient retries", st.retries.Load(), "the service injected %d 503s and dropped %d connections (net/http resends some itself)",
		s.server.Faults.Unavailable, s.server.Faults.Dropped)
	row("failures", st.failed.Load(), "%s", s.failureClasses())
	row("lost", int64(s.lost), "%d acknowledged POST bodies checked against the service", s.ackedPosts)
	fmt.Fprintf(w, "  %-18s p50 %s   p99 %s   max %s\n", "latency",
		fmtLatency(percentile(s.latencies, 0.50)), fmtLatency(percentile(s.latencies, 0.99)), fmtLatency(percentile(s.latencies, 1)))
	for _, e := range s.examples {
		fmt.Fprintf(w, "  failure: %s\n", e)
	}
	fmt.Fprintln(w)
	if s.lost > 0 {
		for _, why := range s.lostWhy {
			fmt.Fprintf(w, "LOST: %s\n", why)
		}
		fmt.Fprintf(w, "FAIL: %d requests lost\n", s.lost)
		return
	}
	fmt.Fprintln(w, "OK: no request lost; every failure has a classified error")
}

// failureClasses renders the failures by class, such as "2 invalid key, 1 server error".
func (s *summary) failureClasses() string {
	classes := make([]string, 0, len(s.failures))
	for c := range s.failures {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	parts := make([]string, 0, len(classes))
	for _, c := range classes {
		name := c
		if name == "" {
			name = "UNCLASSIFIED"
		}
		parts = append(parts, fmt.Sprintf("%d %s", s.failures[c], name))
	}
	return strings.Join(parts, ", ")
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// fmtLatency renders d in milliseconds with two or three significant digits.
func fmtLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}
