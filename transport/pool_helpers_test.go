package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Keys of the pool tests. They pass credentials.Validate.
const (
	keyA  = "rk_test_AAAAAAAAAAAAAAAAAAA1"
	keyA2 = "rk_test_AAAAAAAAAAAAAAAAAAA2"
	keyB  = "rk_test_BBBBBBBBBBBBBBBBBBB1"
	keyC  = "rk_test_CCCCCCCCCCCCCCCCCCC1"
)

// keyAPI is an API on loopback that holds several valid keys, as a vendor
// that gives each account two: it answers a revoked or unknown key with
// the canonical 401, a key out of quota with 402 (and Retry-After, if set),
// and counts, per key, what it accepted and rejected, and records every
// body it accepted.
type keyAPI struct {
	*httptest.Server
	mu       sync.Mutex
	valid    map[string]bool
	quota    map[string]string // key → Retry-After of its 402 ("" for none)
	status   map[string]int    // key → the status its quota answer has (402 by default)
	accepted map[string]int
	rejected map[string]int
	refused  map[string]int // quota answers
	bodies   []string

	// hold, if set, holds the rejections of its key until n of them wait
	// (or 10 s pass), so that they are answered at once.
	hold *rejectionBarrier
}

// rejectionBarrier holds a key's rejections until n of them wait.
type rejectionBarrier struct {
	key     string
	n, seen int
	release chan struct{}
}

// holdRejections makes the next n rejections of key wait for each other.
func (a *keyAPI) holdRejections(key string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hold = &rejectionBarrier{key: key, n: n, release: make(chan struct{})}
}

func newKeyAPI(t testing.TB, valid ...string) *keyAPI {
	t.Helper()
	a := &keyAPI{valid: map[string]bool{}, quota: map[string]string{}, status: map[string]int{},
		accepted: map[string]int{}, rejected: map[string]int{}, refused: map[string]int{}}
	for _, k := range valid {
		a.valid[k] = true
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *keyAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !a.valid[key] {
		a.rejected[key]++
		if h := a.hold; h != nil && h.key == key && h.seen < h.n {
			if h.seen++; h.seen == h.n {
				close(h.release)
			}
			a.mu.Unlock()
			select {
			case <-h.release:
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			a.mu.Lock()
		}
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, seedBody)
		return
	}
	if after, ok := a.quota[key]; ok {
		a.refused[key]++
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		code := a.status[key]
		if code == 0 {
			code = http.StatusPaymentRequired
		}
		w.WriteHeader(code)
		io.WriteString(w, `{"error": "insufficient_quota", "message": "You exceeded your current quota."}`)
		return
	}
	a.accepted[key]++
	a.bodies = append(a.bodies, string(body))
	fmt.Fprintf(w, `{"ok": true, "body": %q}`, body)
}

// set makes key valid or not.
func (a *keyAPI) set(key string, valid bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.valid[key] = valid
}

// outOfQuota makes key answer status (402 if 0) with retryAfter, or stops it.
func (a *keyAPI) outOfQuota(key string, on bool, status int, retryAfter string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if on {
		a.quota[key], a.status[key] = retryAfter, status
	} else {
		delete(a.quota, key)
	}
}

// counts returns what the server did with key: accepted, rejected (401) and
// refused (quota) requests.
func (a *keyAPI) counts(key string) (accepted, rejected, refused int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.accepted[key], a.rejected[key], a.refused[key]
}

func (a *keyAPI) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

// source is a provider over an in-memory key, standing in for a secret
// store or an environment variable: it counts its reads. Re-reading it
// after a rejection yields the same key until the test rotates it.
type source struct {
	key   atomic.Pointer[string]
	reads atomic.Int64
}

func newSource(key string) *source {
	s := &source{}
	s.set(key)
	return s
}

func (s *source) set(key string) { s.key.Store(&key) }

func (s *source) Retrieve(context.Context) (credentials.Credential, error) {
	s.reads.Add(1)
	return credentials.Credential{Key: *s.key.Load()}, nil
}

func (s *source) String() string { return "source" }

// pollingSource is a source that is also a credentials.Poller.
type pollingSource struct {
	source
	interval time.Duration
	polls    atomic.Int64
}

func (s *pollingSource) PollInterval() time.Duration { return s.interval }

func (s *pollingSource) Poll(_ context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	s.polls.Add(1)
	cred := credentials.Credential{Key: *s.key.Load()}
	return cred, cred.Key != current.Key, nil
}

// eventLog records a Transport's events and a Pool's, safe for concurrent
// use, and signals each on a channel.
type eventLog struct {
	mu     sync.Mutex
	events []transport.Event
	pool   []credentials.PoolEvent
	signal chan credentials.PoolEvent
}

func newEventLog() *eventLog { return &eventLog{signal: make(chan credentials.PoolEvent, 1024)} }

func (l *eventLog) onEvent(ev transport.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) onPool(ev credentials.PoolEvent) {
	l.mu.Lock()
	l.pool = append(l.pool, ev)
	l.mu.Unlock()
	select {
	case l.signal <- ev:
	default:
	}
}

// all returns the Transport events recorded so far.
func (l *eventLog) all() []transport.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// count returns how many events of kind were recorded.
func (l *eventLog) count(kind transport.EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// poolKinds returns how many pool events of kind concern member.
func (l *eventLog) poolCount(kind credentials.PoolEventKind, member int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.pool {
		if ev.Kind == kind && ev.Member == member {
			n++
		}
	}
	return n
}

// await waits (10 s at most) for a pool event of kind about member.
func (l *eventLog) await(t *testing.T, kind credentials.PoolEventKind, member int) credentials.PoolEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.signal:
			if ev.Kind == kind && ev.Member == member {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event for member %d within 10s", kind, member)
			return credentials.PoolEvent{}
		}
	}
}

// post sends a POST with body through c; it returns the response body.
func post(ctx context.Context, c *http.Client, url, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// newPoolClient returns an http.Client whose Transport uses pool and
// reports to log, and closes both at the end of the test.
func newPoolClient(t *testing.T, pool *credentials.Pool, log *eventLog) (*http.Client, *transport.Transport) {
	t.Helper()
	base := &http.Transport{MaxIdleConnsPerHost: 32}
	tr := &transport.Transport{Base: base, Credentials: pool, OnEvent: log.onEvent}
	stop := pool.Observe(log.onPool)
	t.Cleanup(func() {
		stop()
		tr.Close()
		pool.Close()
	})
	return &http.Client{Transport: tr}, tr
}
