package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// The load of each case: apiWorkers goroutines share one Client and send
// apiRequests requests each, in turn a GET, a POST with an Idempotency-Key
// and a POST without one. Every apiRotateEvery completed requests, the
// service revokes every key and the toxics are put on again, so that the
// connections open at that moment draw again whether the toxic hits them.
// Rotations are paced by progress, not by the clock (see chaos_test.go in
// the root module for why).
const (
	apiWorkers     = 6
	apiRequests    = 45 // per worker
	apiRotateEvery = 30 // completed requests between rotations
)

// apiCase is one fault: the toxics on the proxy between rekey and the API.
type apiCase struct {
	name   string
	toxics []toxic
	// slowOnly: the toxics slow traffic down but never break a
	// connection, so no request may fail with a connection error or a
	// timeout.
	slowOnly bool
}

var apiCases = []apiCase{
	{name: "latency", slowOnly: true, toxics: []toxic{
		{Type: "latency", Stream: "upstream", Toxicity: 1, Attributes: map[string]int{"latency": 5, "jitter": 5}},
		{Type: "latency", Stream: "downstream", Toxicity: 1, Attributes: map[string]int{"latency": 20, "jitter": 15}},
	}},
	{name: "reset_peer upstream", toxics: []toxic{
		{Type: "reset_peer", Stream: "upstream", Toxicity: 0.3, Attributes: map[string]int{"timeout": 0}},
	}},
	{name: "reset_peer downstream", toxics: []toxic{
		{Type: "reset_peer", Stream: "downstream", Toxicity: 0.3, Attributes: map[string]int{"timeout": 0}},
	}},
	{name: "timeout downstream", toxics: []toxic{
		{Type: "timeout", Stream: "downstream", Toxicity: 0.2, Attributes: map[string]int{"timeout": 100}},
	}},
	{name: "slicer", slowOnly: true, toxics: []toxic{
		{Type: "slicer", Stream: "upstream", Toxicity: 1, Attributes: map[string]int{"average_size": 32, "size_variation": 16, "delay": 100}},
		{Type: "slicer", Stream: "downstream", Toxicity: 1, Attributes: map[string]int{"average_size": 16, "size_variation": 8, "delay": 200}},
	}},
	{name: "limit_data upstream", toxics: []toxic{
		{Type: "limit_data", Stream: "upstream", Toxicity: 1, Attributes: map[string]int{"bytes": 1500}},
	}},
	{name: "limit_data downstream", toxics: []toxic{
		{Type: "limit_data", Stream: "downstream", Toxicity: 1, Attributes: map[string]int{"bytes": 2000}},
	}},
	{name: "bandwidth", slowOnly: true, toxics: []toxic{
		{Type: "bandwidth", Stream: "downstream", Toxicity: 1, Attributes: map[string]int{"rate": 64}},
	}},
}

// TestAPIUnderToxics sends GETs and POSTs, with and without an
// Idempotency-Key, through Toxiproxy to a rekeytest API that honours
// idempotency keys (rekeytest.WithIdempotency) and revokes every key every
// apiRotateEvery requests, one toxic at a time, and checks that:
//
//   - every request succeeded or failed with a classified error: no bare
//     EOF (see faultClass);
//   - a GET or a POST with an Idempotency-Key was retried after a
//     connection failure: it never fails as "not retried";
//   - every acknowledged POST was performed exactly once, byte for byte,
//     and a failed one at most once (exactly once when the error says the
//     API answered it; never when a POST without an Idempotency-Key was
//     rejected for its key), so nothing acknowledged was lost or applied
//     twice;
//   - refreshes stay within one per rotation (plus the first key and one);
//   - toxics that only slow traffic cause no connection failure.
//
// The counts of each case are logged, and summed up at the end.
func TestAPIUnderToxics(t *testing.T) {
	var summary []string
	for _, tc := range apiCases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			run := runAPICase(t, tc)
			run.check(t, tc)
			summary = append(summary, run.summary(tc.name))
			t.Log(run.summary(tc.name))
		})
	}
	t.Logf("counts per toxic:\n%s", strings.Join(summary, "\n"))
}

// mode is the kind of request a worker sends.
type mode int

const (
	modeGET mode = iota
	modePOSTIdempotent
	modePOSTPlain
	modes
)

func (m mode) String() string {
	return [...]string{"GET", "POST+key", "POST"}[m]
}

// outcome is what one request got.
type outcome struct {
	mode  mode
	body  string // for a POST
	err   error
	class string // faultClass(err); "" for success
	echo  json.RawMessage
}

// apiRun is what one case saw.
type apiRun struct {
	outcomes                                   []outcome
	bodies                                     map[string]int // performed, as the service recorded them
	stats                                      rekeytest.Stats
	refreshes, retries, replays, replayRejects int64
}

func runAPICase(t *testing.T, tc apiCase) *apiRun {
	srv := rekeytest.NewServer(rekeytest.WithIdempotency(true), rekeytest.WithSeed(21))
	t.Cleanup(srv.Close)
	px := newFaultProxy(t, "api", srv.URL)
	for i := range tc.toxics {
		tc.toxics[i].Name = fmt.Sprintf("%s-%s-%d", tc.toxics[i].Type, tc.toxics[i].Stream, i)
	}
	px.set(t, tc.toxics)

	// A pool of its own, with fewer idle connections than workers: new
	// connections keep being opened, and each draws whether a toxic with
	// a toxicity below 1 hits it.
	pool := &http.Transport{MaxIdleConnsPerHost: 2}
	t.Cleanup(pool.CloseIdleConnections)
	var refreshes, retries, replays, replayRejects atomic.Int64
	client, err := rekey.NewClient(px.URL+"/v1",
		rekey.WithRefresh(srv.Refresh), // straight to the service: TestRefreshUnderResets puts faults there
		rekey.WithTransport(pool),
		// A replay that a rotation overtakes stops refreshes for this long;
		// keep it well under the time between rotations (see TestChaos).
		rekey.WithRejectedKeyCooldown(5*time.Millisecond),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 5, MinWait: time.Millisecond, MaxWait: 20 * time.Millisecond}),
		rekey.WithHooks(rekey.Hooks{
			RefreshStarted:  func(credentials.RefreshEvent) { refreshes.Add(1) },
			RetryScheduled:  func(transport.RetryEvent) { retries.Add(1) },
			RequestReplayed: func(transport.Event) { replays.Add(1) },
			ReplayRejected:  func(transport.Event) { replayRejects.Add(1) },
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	var done atomic.Int64
	var rotMu sync.Mutex // one rotation (and re-roll of the toxics) at a time
	var rerollErr atomic.Pointer[error]
	completed := func() {
		if done.Add(1)%apiRotateEvery != 0 {
			return
		}
		rotMu.Lock()
		defer rotMu.Unlock()
		srv.RotateAll()
		if err := px.reroll(tc.toxics); err != nil {
			rerollErr.Store(&err)
		}
	}

	results := make([][]outcome, apiWorkers)
	var wg sync.WaitGroup
	for w := range apiWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range apiRequests {
				results[w] = append(results[w], apiRequest(client, mode(seq%int(modes)), w, seq))
				completed()
			}
		}()
	}
	testwait.Group(t, &wg, 5*time.Minute, "the workers' requests") // faults on a loaded machine: minutes at worst
	if p := rerollErr.Load(); p != nil {
		t.Fatalf("putting the toxics on again: %v", *p)
	}

	run := &apiRun{
		bodies: map[string]int{}, stats: srv.Stats(),
		refreshes: refreshes.Load(), retries: retries.Load(), replays: replays.Load(), replayRejects: replayRejects.Load(),
	}
	for _, r := range results {
		run.outcomes = append(run.outcomes, r...)
	}
	for _, b := range srv.Bodies() {
		run.bodies[string(b)]++
	}
	return run
}

// apiRequest sends one request of mode m. Each has a deadline, far longer
// than a request takes, so that a hang fails as a timeout instead of
// stalling the test.
func apiRequest(c *rekey.Client, m mode, w, seq int) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := outcome{mode: m}
	method, path := http.MethodGet, fmt.Sprintf("echo?w=%d&seq=%d", w, seq)
	var body []byte
	if m != modeGET {
		method, path = http.MethodPost, "echo"
		body = fmt.Appendf(nil, `{"worker": %d, "seq": %d, "pad": %q}`, w, seq, strings.Repeat("x", 64))
		out.body = string(body)
	}
	req, err := c.NewRequest(ctx, method, path, body)
	if err == nil {
		if m == modePOSTIdempotent {
			req.Header.Set(transport.IdempotencyKeyHeader, transport.NewIdempotencyKey())
		}
		var echo struct {
			Body json.RawMessage `json:"body"`
		}
		_, err = c.Do(req, &echo)
		out.echo = echo.Body
	}
	out.err, out.class = err, faultClass(err)
	return out
}

// check asserts what TestAPIUnderToxics promises.
func (r *apiRun) check(t *testing.T, tc apiCase) {
	t.Helper()
	acked := map[string]bool{}
	for _, o := range r.outcomes {
		switch {
		case o.err == nil:
			if o.mode != modeGET {
				acked[o.body] = true
				if string(o.echo) != o.body {
					t.Errorf("%s acknowledged with the echo %s, want %s", o.mode, o.echo, o.body)
				}
			}
			continue
		case o.class == "":
			t.Errorf("%s failed with an unclassified error (%T): %v", o.mode, o.err, o.err)
		case tc.slowOnly && (strings.HasPrefix(o.class, "connection") || o.class == "timeout"):
			t.Errorf("%s failed under a toxic that only slows traffic: %v", o.mode, o.err)
		}
		var connErr *rekey.ConnectionError
		if o.mode != modePOSTPlain && errors.As(o.err, &connErr) && connErr.NotRetried != "" {
			t.Errorf("%s was not retried after a connection failure: %v", o.mode, o.err)
		}
		if o.mode == modeGET {
			continue
		}
		// A failed POST was performed at most once; exactly once if the
		// API answered it before the connection failed.
		n := r.bodies[o.body]
		switch {
		case n > 1:
			t.Errorf("failed %s was performed %d times: %v", o.mode, n, o.err)
		case errors.As(o.err, &connErr) && connErr.StatusCode != 0 && n != 1:
			t.Errorf("failed %s says the API answered it (status %d) but was performed %d times: %v", o.mode, connErr.StatusCode, n, o.err)
		case o.mode == modePOSTPlain && strings.HasPrefix(o.class, "invalid key") && n != 0:
			// Sent once and rejected (then replayed and rejected again):
			// never performed. A POST with an Idempotency-Key may have been
			// sent before, its answer lost (net/http itself resends such a
			// request when a reused connection drops it), and performed
			// then: the same key makes sending it again safe.
			t.Errorf("%s rejected for its key was performed: %v", o.mode, o.err)
		}
	}
	for b := range acked {
		if n := r.bodies[b]; n != 1 {
			t.Errorf("acknowledged POST %s was performed %d times, want exactly once", b, n)
		}
	}
	sent := map[string]bool{}
	for _, o := range r.outcomes {
		sent[o.body] = true
	}
	for b := range r.bodies {
		if !sent[b] {
			t.Errorf("the service performed a body no worker sent (altered on the way?): %q", b)
		}
	}
	if limit := r.stats.Rotations + 2; r.refreshes > limit {
		t.Errorf("%d refreshes for %d rotations; want at most %d", r.refreshes, r.stats.Rotations, limit)
	}
	if r.stats.Rotations < apiWorkers*apiRequests/apiRotateEvery-1 {
		t.Errorf("only %d rotations", r.stats.Rotations)
	}
	// The toxic hit something: rekey retried, or a request failed for its
	// connection (net/http itself resends a GET, or a request with an
	// Idempotency-Key, that fails on a reused connection before any
	// answer, unseen by rekey).
	hits := r.retries
	for _, o := range r.outcomes {
		if strings.HasPrefix(o.class, "connection") {
			hits++
		}
	}
	if !tc.slowOnly && hits == 0 {
		t.Errorf("no retry and no connection failure under %s: the toxic hit nothing", tc.name)
	}
}

// summary is one line of counts for the report.
func (r *apiRun) summary(name string) string {
	var ok, failed [modes]int
	classes := map[string]int{}
	for _, o := range r.outcomes {
		if o.err == nil {
			ok[o.mode]++
			continue
		}
		failed[o.mode]++
		classes[o.class]++
	}
	var modesText []string
	for m := range modes {
		modesText = append(modesText, fmt.Sprintf("%s %d/%d", m, ok[m], ok[m]+failed[m]))
	}
	return fmt.Sprintf("%-22s ok: %s; failed: %s; %d retries, %d rotations, %d refreshes, %d replays (%d rejected again), %d idempotent replays at the API",
		name, strings.Join(modesText, ", "), classText(classes), r.retries, r.stats.Rotations, r.refreshes, r.replays, r.replayRejects, r.stats.IdempotentReplays)
}
