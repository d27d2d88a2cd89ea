package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

// loadResult is what a run of workers saw.
type loadResult struct {
	failed []error
	acked  []string // bodies answered 200
}

// runLoad has workers POST unique bodies through c until stop is closed;
// each worker sends at least one request.
func runLoad(c *http.Client, url string, workers int, stop <-chan struct{}, sent *atomic.Int64) loadResult {
	var mu sync.Mutex
	var res loadResult
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				body := fmt.Sprintf(`{"worker": %d, "seq": %d}`, w, seq)
				_, err := post(context.Background(), c, url, body)
				sent.Add(1)
				mu.Lock()
				if err != nil {
					res.failed = append(res.failed, err)
				} else {
					res.acked = append(res.acked, body)
				}
				mu.Unlock()
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	wg.Wait()
	return res
}

// waitFor waits (10 s at most) until cond holds, yielding meanwhile.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 10s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Two keys, the primary revoked while 16 workers send POSTs: no request
// fails, every acknowledged body reached the API exactly once, the primary
// is refreshed once, each worker meets at most one rejection, and every
// request after that carries the second key. The control, one key and no
// pool, fails requests under the same revocation.
func TestPoolPrimaryRevokedUnderLoad(t *testing.T) {
	const workers = 16
	for _, tc := range []struct {
		name string
		pool bool
	}{
		{"pool of two", true},
		{"control: one key", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newKeyAPI(t, keyA, keyB)
			a, b := newSource(keyA), newSource(keyB)
			log := newEventLog()
			var c *http.Client
			if tc.pool {
				c, _ = newPoolClient(t, credentials.NewPool(a, b), log)
			} else {
				tr := &transport.Transport{Credentials: a, OnEvent: log.onEvent}
				t.Cleanup(func() { tr.Close() })
				c = &http.Client{Transport: tr}
			}

			var sent atomic.Int64
			stop := make(chan struct{})
			stopLoad := sync.OnceFunc(func() { close(stop) })
			defer stopLoad() // the workers end also when the test fails on its way
			done := make(chan loadResult, 1)
			go func() { done <- runLoad(c, api.URL+"/v1/echo", workers, stop, &sent) }()
			waitFor(t, "200 requests before the revocation", func() bool { return sent.Load() >= 200 })
			api.set(keyA, false) // the primary is revoked under load
			atRevoke := sent.Load()
			waitFor(t, "400 requests after the revocation", func() bool { return sent.Load() >= atRevoke+400 })
			stopLoad()
			res := testwait.Recv(t, done, time.Minute, "the load to stop")

			_, rejectedA, _ := api.counts(keyA)
			if !tc.pool {
				if len(res.failed) == 0 || rejectedA == 0 {
					t.Fatalf("one key: %d failed requests, %d rejections; the control must fail requests", len(res.failed), rejectedA)
				}
				t.Logf("control, one key: %d of %d requests failed after the revocation", len(res.failed), sent.Load())
				return
			}
			if len(res.failed) != 0 {
				t.Fatalf("%d of %d requests failed, want 0; first: %v", len(res.failed), sent.Load(), res.failed[0])
			}
			got, want := api.received(), res.acked
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("the API received %d bodies, the workers saw %d acknowledged: want the same set, each once", len(got), len(want))
			}
			if n := a.reads.Load(); n != 2 {
				t.Errorf("primary's source read %d times, want 2 (its first key and 1 refresh)", n)
			}
			if n := b.reads.Load(); n != 1 {
				t.Errorf("second source read %d times, want 1", n)
			}
			if rejectedA < 1 || rejectedA > workers {
				t.Errorf("the revoked key was sent %d times after the revocation, want 1 to %d (at most one per worker)", rejectedA, workers)
			}
			if r, f := log.count(transport.EventKeyRejected), log.count(transport.EventFailover); r != rejectedA || f != rejectedA {
				t.Errorf("%d rejection and %d failover events, want %d of each", r, f, rejectedA)
			}
			log.await(t, credentials.MemberQuarantined, 0)

			// Every request now carries the second key.
			acceptedB, _, _ := api.counts(keyB)
			for i := range 50 {
				if _, err := post(t.Context(), c, api.URL+"/v1/echo", fmt.Sprintf(`{"after": %d}`, i)); err != nil {
					t.Fatal(err)
				}
			}
			nowB, _, _ := api.counts(keyB)
			_, nowRejectedA, _ := api.counts(keyA)
			if nowB-acceptedB != 50 || nowRejectedA != rejectedA {
				t.Errorf("after failover: %d of 50 requests carried the second key, %d more carried the revoked one", nowB-acceptedB, nowRejectedA-rejectedA)
			}
			t.Logf("pool: %d requests, 0 failed, %d bodies each received once, %d rejections of the revoked key (%d workers), primary read %d times",
				sent.Load(), len(got), rejectedA, workers, a.reads.Load())
		})
	}
}

// The primary's key is rotated in its source while it is quarantined: the
// first read after the quarantine brings it back. Its source is read three
// times in all (first key, refresh after the rejection, one read after the
// quarantine), however many requests are sent meanwhile.
func TestPoolPrimaryBackAfterQuarantine(t *testing.T) {
	const quarantine = 100 * time.Millisecond
	api := newKeyAPI(t, keyB, keyA2)
	a, b := newSource(keyA), newSource(keyB) // keyA is not valid: revoked
	log := newEventLog()
	c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{Quarantine: quarantine}, a, b), log)

	if _, err := post(t.Context(), c, api.URL+"/v1/echo", `{"n": 0}`); err != nil {
		t.Fatalf("first request: %v; want it served by the second key", err)
	}
	q := log.await(t, credentials.MemberQuarantined, 0)
	if q.Key != credentials.Redact(keyA) || !errors.Is(q.Err, credentials.ErrSameKey) {
		t.Errorf("quarantine event: key %q, error %v; want %q and ErrSameKey", q.Key, q.Err, credentials.Redact(keyA))
	}
	a.set(keyA2) // rotated in the source

	sent := 1
	waitFor(t, "the primary back with its new key", func() bool {
		if _, err := post(t.Context(), c, api.URL+"/v1/echo", fmt.Sprintf(`{"n": %d}`, sent)); err != nil {
			t.Fatal(err)
		}
		sent++
		n, _, _ := api.counts(keyA2)
		return n > 0
	})
	if n := a.reads.Load(); n != 3 {
		t.Errorf("primary's source read %d times over %d requests, want 3: first key, refresh, one read after the quarantine", n, sent)
	}
	if n := log.poolCount(credentials.MemberRestored, 0); n != 1 {
		t.Errorf("%d restored events for the primary, want 1", n)
	}
	for i := range 20 {
		post(t.Context(), c, api.URL+"/v1/echo", fmt.Sprintf(`{"back": %d}`, i))
	}
	if n, _, _ := api.counts(keyA2); n != 21 {
		t.Errorf("after its return the primary served %d of the next 21 requests, want all", n)
	}
	t.Logf("primary back after %d requests, its source read 3 times", sent)
}

// Quarantined, a member's provider is read at most once per Quarantine:
// with a Quarantine far longer than the test, never again, however many
// requests are sent; with a short one, no more often than the time elapsed
// allows (an upper bound a slow machine cannot break). The member given as
// a Cache with no cooldown of its own shows that the Pool's quarantine, not
// the Cache's cooldown, holds the reads back.
func TestPoolQuarantineBoundsReads(t *testing.T) {
	for _, tc := range []struct {
		quarantine time.Duration
		cache      bool
	}{
		{time.Hour, false},
		{time.Hour, true},
		{20 * time.Millisecond, false},
	} {
		quarantine := tc.quarantine
		t.Run(fmt.Sprintf("%v cache=%v", quarantine, tc.cache), func(t *testing.T) {
			api := newKeyAPI(t, keyB) // keyA stays revoked
			a, b := newSource(keyA), newSource(keyB)
			var first credentials.Provider = a
			if tc.cache {
				first = &credentials.Cache{Provider: a, Cooldown: -1, RejectedKeyCooldown: -1}
			}
			log := newEventLog()
			c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{Quarantine: quarantine}, first, b), log)
			start := time.Now()
			post(t.Context(), c, api.URL+"/v1/echo", `{}`)
			log.await(t, credentials.MemberQuarantined, 0)
			for i := range 1000 {
				if _, err := post(t.Context(), c, api.URL+"/v1/echo", fmt.Sprintf(`{"n": %d}`, i)); err != nil {
					t.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			reads := a.reads.Load()
			limit := 2 + int64(elapsed/quarantine) + 1
			if reads < 2 || reads > limit {
				t.Errorf("quarantined source read %d times in %v over 1001 requests, want 2 to %d", reads, elapsed, limit)
			}
			if quarantine == time.Hour && reads != 2 {
				t.Errorf("source read %d times, want 2: no read within the quarantine", reads)
			}
			_, rejected, _ := api.counts(keyA)
			if rejected != 1 {
				t.Errorf("the revoked key was sent %d times, want 1: a quarantined member serves no request", rejected)
			}
			t.Logf("Quarantine %v: source read %d times over 1001 requests in %v", quarantine, reads, elapsed.Round(time.Millisecond))
		})
	}
}

// A quarantined member whose provider is a Poller comes back as soon as its
// poll finds a new key, long before its Quarantine ends, with no read of
// its provider.
func TestPoolPollerMemberBackOnPoll(t *testing.T) {
	api := newKeyAPI(t, keyB, keyA2)
	a := &pollingSource{interval: 5 * time.Millisecond}
	a.set(keyA)
	b := newSource(keyB)
	log := newEventLog()
	c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{Quarantine: time.Hour}, a, b), log)
	post(t.Context(), c, api.URL+"/v1/echo", `{}`)
	log.await(t, credentials.MemberQuarantined, 0)
	a.set(keyA2)
	waitFor(t, "the poller member back", func() bool {
		post(t.Context(), c, api.URL+"/v1/echo", `{}`)
		n, _, _ := api.counts(keyA2)
		return n > 0
	})
	if n := a.reads.Load(); n != 2 {
		t.Errorf("poller's Retrieve called %d times, want 2 (first key, refresh): the new key came from a poll", n)
	}
	if a.polls.Load() == 0 {
		t.Error("no poll: the member came back some other way")
	}
	if n := log.poolCount(credentials.MemberRestored, 0); n != 1 {
		t.Errorf("%d restored events, want 1", n)
	}
}

// memberRefresh is a member's own refresh hook that mints a key the API
// accepts, counting its calls.
func memberRefresh(api *keyAPI, prefix string, calls *atomic.Int64) credentials.RefreshFunc {
	return func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		n := calls.Add(1)
		key := fmt.Sprintf("%s%020d", prefix, n)
		api.set(key, true)
		return credentials.Credential{Key: key}, nil
	}
}

// 1,000 requests at once, every member's key revoked: the API holds the
// first member's 1,000 rejections until all have arrived and answers them
// together. Each member is refreshed once, and with members that can mint
// a new key no request fails.
func TestPoolConcurrentRejectionsRefreshEachMemberOnce(t *testing.T) {
	const requests = 1000
	api := newKeyAPI(t) // no key valid: all three revoked
	api.holdRejections(keyA, requests)
	var calls [3]atomic.Int64
	var members []credentials.Provider
	for i, k := range []string{keyA, keyB, keyC} {
		members = append(members, &credentials.Cache{Provider: credentials.Static(k), Refresh: memberRefresh(api, fmt.Sprintf("rk_test_new%d_", i), &calls[i])})
	}
	log := newEventLog()
	pool := credentials.NewPool(members...)
	c, tr := newPoolClient(t, pool, log)
	base := &http.Transport{MaxIdleConnsPerHost: requests} // 1,000 connections at once, on loopback
	t.Cleanup(base.CloseIdleConnections)
	tr.Base = base

	start := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := post(t.Context(), c, api.URL+"/v1/echo", fmt.Sprintf(`{"n": %d}`, i)); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	close(start)
	testwait.Group(t, &wg, time.Minute, "the requests")

	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed, want 0; first: %v", n, requests, firstErr.Load())
	}
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("member %d refreshed %d times, want 1", i, n)
		}
	}
	_, ra, _ := api.counts(keyA)
	_, rb, _ := api.counts(keyB)
	_, rc, _ := api.counts(keyC)
	if got := len(api.received()); got != requests {
		t.Errorf("the API accepted %d bodies, want %d", got, requests)
	}
	if ra != requests {
		t.Errorf("the first key was rejected %d times, want %d, all at once", ra, requests)
	}
	t.Logf("%d requests: rejections %d/%d/%d of the three revoked keys, 1 refresh per member, 0 failed", requests, ra, rb, rc)
}

// Every member revoked, and no source has a new key: each request gets the
// typed error naming each member (redacted key, status, cause, why it has
// no new key), and each member's source is read once more, however many
// requests failed.
func TestPoolAllMembersRevoked(t *testing.T) {
	api := newKeyAPI(t) // accepts nothing
	a, b := newSource(keyA), newSource(keyB)
	log := newEventLog()
	pool := credentials.NewPool(a, b)
	c, _ := newPoolClient(t, pool, log)

	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := post(t.Context(), c, api.URL+"/v1/charges", fmt.Sprintf(`{"n": %d}`, i))
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}()
	}
	testwait.Group(t, &wg, time.Minute, "the 200 requests")

	for _, err := range errs {
		if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, rekey.ErrRefreshFailed) {
			t.Fatalf("error %v: want ErrInvalidAPIKey and ErrRefreshFailed", err)
		}
		var apiErr *rekey.APIError
		var poolErr *rekey.PoolError
		if !errors.As(err, &apiErr) || !errors.As(err, &poolErr) {
			t.Fatalf("error %v: want *APIError and *PoolError", err)
		}
		if !errors.Is(err, credentials.ErrSameKey) {
			t.Errorf("error %v: want the members' cause, ErrSameKey, to show through", err)
		}
	}
	if a.reads.Load() != 2 || b.reads.Load() != 2 {
		t.Errorf("sources read %d and %d times, want 2 each (first key, one refresh)", a.reads.Load(), b.reads.Load())
	}

	// One more, alone: the error lists both members.
	_, err := post(t.Context(), c, api.URL+"/v1/charges", `{"last": true}`)
	var poolErr *rekey.PoolError
	if !errors.As(err, &poolErr) {
		t.Fatalf("error %v: want a *PoolError", err)
	}
	if len(poolErr.Members) != 2 || poolErr.Members[0].Index != 0 || poolErr.Members[1].Index != 1 {
		t.Fatalf("PoolError lists %+v, want members 0 and 1", poolErr.Members)
	}
	for i, m := range poolErr.Members {
		var q *credentials.QuarantineError
		// Both were quarantined already: the request went to the first (in
		// case it was refused by mistake) and not to the second.
		status := []int{401, 0}[i]
		if m.StatusCode != status || m.Key != credentials.Redact([]string{keyA, keyB}[i]) || !errors.As(m.Err, &q) {
			t.Errorf("member %d: %+v; want status %d, its redacted key and a QuarantineError", i, m, status)
		}
	}
	t.Logf("all revoked: %s", err)
	if a.reads.Load() != 2 || b.reads.Load() != 2 {
		t.Errorf("sources read %d and %d times, want still 2", a.reads.Load(), b.reads.Load())
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v|%+v|%#v", err, err, err), fmt.Sprintf("%v|%+v|%#v|%s", pool, pool, pool, pool)} {
		for _, k := range []string{keyA, keyB} {
			if containsKey(s, k) {
				t.Fatalf("%q contains a key", s)
			}
		}
	}
	if !containsKey(err.Error(), credentials.Redact(keyA)) {
		t.Errorf("error %q does not name the first member by its redacted key", err)
	}
}

// A status of FailoverOn (402, an exhausted balance) gives the member a
// cooldown for its Retry-After and replays the request with the next one;
// during the cooldown the member serves nothing, and after it, it is back.
func TestPoolFailoverOnQuotaWithCooldown(t *testing.T) {
	api := newKeyAPI(t, keyA, keyB)
	api.outOfQuota(keyA, true, 402, "1")
	a, b := newSource(keyA), newSource(keyB)
	log := newEventLog()
	c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{FailoverOn: []int{402, 429}}, a, b), log)

	body := `{"amount": 1200}`
	if _, err := post(t.Context(), c, api.URL+"/v1/charges", body); err != nil {
		t.Fatalf("POST: %v; want it served by the second key", err)
	}
	if got := api.received(); !slices.Equal(got, []string{body}) {
		t.Errorf("the API applied %q, want the body once", got)
	}
	var cool transport.Event
	for _, ev := range log.all() {
		if ev.Kind == transport.EventMemberCooldown {
			cool = ev
		}
	}
	if cool.StatusCode != 402 || cool.Cooldown != time.Second || cool.Member != 0 || cool.MemberKey != credentials.Redact(keyA) {
		t.Errorf("cooldown event %+v: want 402, 1s, member 0 and its redacted key", cool)
	}
	if n := log.count(transport.EventFailover); n != 1 {
		t.Errorf("%d failover events, want 1", n)
	}
	for i := range 20 {
		post(t.Context(), c, api.URL+"/v1/charges", fmt.Sprintf(`{"n": %d}`, i))
	}
	_, _, refusedA := api.counts(keyA)
	acceptedB, _, _ := api.counts(keyB)
	if refusedA != 1 || acceptedB != 21 {
		t.Errorf("during the cooldown: the first key was sent %d times, the second served %d; want 1 and 21", refusedA, acceptedB)
	}
	if a.reads.Load() != 1 {
		t.Errorf("first source read %d times, want 1: a cooldown is no refresh", a.reads.Load())
	}

	api.outOfQuota(keyA, false, 0, "") // the balance is topped up
	waitFor(t, "the first key back after its cooldown", func() bool {
		post(t.Context(), c, api.URL+"/v1/charges", `{}`)
		n, _, _ := api.counts(keyA)
		return n > 0
	})
	if n := log.poolCount(credentials.MemberRestored, 0); n != 1 {
		t.Errorf("%d restored events for the first key, want 1", n)
	}
}

// When every member answers a FailoverOn status, the caller gets the last
// answer as the API sent it, body intact; a 429 without Retry-After cools
// the member down for the pool's Quarantine.
func TestPoolFailoverOnEveryMemberReturnsTheAnswer(t *testing.T) {
	api := newKeyAPI(t, keyA, keyB)
	api.outOfQuota(keyA, true, 429, "")
	api.outOfQuota(keyB, true, 429, "")
	log := newEventLog()
	c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{FailoverOn: []int{429}, Quarantine: time.Minute},
		credentials.Static(keyA), credentials.Static(keyB)), log)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/v1/models", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); resp.StatusCode != 429 || got != `{"error": "insufficient_quota", "message": "You exceeded your current quota."}` {
		t.Errorf("got %d %q, want the API's own 429", resp.StatusCode, got)
	}
	if a := resp.Request.Header.Get("Authorization"); a != "" {
		t.Errorf("the 429's Request carries the key (%d bytes of Authorization)", len(a))
	}
	if n := log.count(transport.EventMemberCooldown); n != 2 {
		t.Errorf("%d cooldown events, want 2", n)
	}
	for _, ev := range log.all() {
		if ev.Kind == transport.EventMemberCooldown && ev.Cooldown != time.Minute {
			t.Errorf("cooldown %v without Retry-After, want the Quarantine, 1m", ev.Cooldown)
		}
	}
	// Both cool down: the next request is sent once, with the first, and
	// gets its 429.
	resp, err = get(t, c, api.URL+"/v1/models")
	if err != nil || resp.StatusCode != 429 {
		t.Fatalf("second request: %v, %v; want the 429", resp, err)
	}
	resp.Body.Close()
	_, _, ra := api.counts(keyA)
	_, _, rb := api.counts(keyB)
	if ra+rb != 3 {
		t.Errorf("the API got %d requests, want 3: two for the first call, one for the second", ra+rb)
	}
}

// Round robin spreads requests evenly over the healthy members: within 10%
// over 10,000 requests with all three healthy, and over 3,000 with one
// revoked (credentials' TestPoolRoundRobinTurns counts exact turns).
func TestPoolRoundRobinSpreadsEvenly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		requests int
		revoked  []string
		healthy  []string
	}{
		{"three healthy", 10000, nil, []string{keyA, keyB, keyC}},
		{"second revoked", 3000, []string{keyB}, []string{keyA, keyC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newKeyAPI(t, keyA, keyB, keyC)
			for _, k := range tc.revoked {
				api.set(k, false)
			}
			log := newEventLog()
			pool := credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true, Quarantine: time.Hour},
				credentials.Static(keyA), credentials.Static(keyB), credentials.Static(keyC))
			c, _ := newPoolClient(t, pool, log)
			var wg sync.WaitGroup
			var failed atomic.Int64
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < tc.requests; i += 8 {
						resp, err := get(t, c, api.URL+"/v1/models")
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body) // so that the connection is reused
						resp.Body.Close()
					}
				}()
			}
			testwait.Group(t, &wg, time.Minute, "the requests")
			if n := failed.Load(); n != 0 {
				t.Fatalf("%d requests failed", n)
			}
			share := float64(tc.requests) / float64(len(tc.healthy))
			var counts []int
			for _, k := range tc.healthy {
				n, _, _ := api.counts(k)
				counts = append(counts, n)
				if d := float64(n) - share; d > share/10 || d < -share/10 {
					t.Errorf("key %s served %d requests, want %.0f ± 10%%", credentials.Redact(k), n, share)
				}
			}
			t.Logf("%s: %v over %d requests", tc.name, counts, tc.requests)
		})
	}
}

func containsKey(s, key string) bool { return strings.Contains(s, key) }

// gatedSource yields its key once; every later read (a refresh) waits until
// the test opens the gate.
type gatedSource struct {
	key     string
	reads   atomic.Int64
	started chan struct{} // closed when the first refresh starts
	gate    chan struct{}
}

func (s *gatedSource) Retrieve(ctx context.Context) (credentials.Credential, error) {
	if s.reads.Add(1) == 2 {
		close(s.started)
	}
	if s.reads.Load() > 1 {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		}
	}
	return credentials.Credential{Key: s.key}, nil
}

// Failover does not wait for the rejected member's refresh: while that
// refresh hangs, every request is served by the next member at once.
func TestPoolFailoverDoesNotWaitForTheRefresh(t *testing.T) {
	api := newKeyAPI(t, keyA, keyB)
	a := &gatedSource{key: keyA, started: make(chan struct{}), gate: make(chan struct{})}
	log := newEventLog()
	c, _ := newPoolClient(t, credentials.NewPoolWith(credentials.PoolOptions{Quarantine: time.Hour}, a, credentials.Static(keyB)), log)
	if _, err := post(t.Context(), c, api.URL+"/v1/echo", `{"before": true}`); err != nil {
		t.Fatal(err)
	}
	api.set(keyA, false)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := post(ctx, c, api.URL+"/v1/echo", fmt.Sprintf(`{"n": %d}`, i))
		cancel()
		if err != nil {
			t.Fatalf("request %d while the primary's refresh hangs: %v", i, err)
		}
	}
	select {
	case <-a.started:
	default:
		t.Fatal("the primary's refresh never started")
	}
	if acceptedB, _, _ := api.counts(keyB); acceptedB != 20 {
		t.Errorf("the second key served %d requests, want 20", acceptedB)
	}
	close(a.gate) // the refresh ends with the same key: quarantined
	log.await(t, credentials.MemberQuarantined, 0)
}

// In response mode, a request that no member serves gets the API's own
// last rejection, body intact, its Request the caller's.
func TestPoolReturnResponse(t *testing.T) {
	api := newKeyAPI(t) // accepts nothing
	pool := credentials.NewPool(credentials.Static(keyA), credentials.Static(keyB))
	t.Cleanup(func() { pool.Close() })
	c := &http.Client{Transport: &transport.Transport{Credentials: pool, ReturnResponse: true}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/v1/models", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v; want the API's 401 as a response", err)
	}
	if got := readAll(t, resp); resp.StatusCode != 401 || got != seedBody || resp.Request.Header.Get("Authorization") != "" {
		t.Errorf("got %d %q (Authorization %q), want the API's 401, body intact, on the caller's request", resp.StatusCode, got, resp.Request.Header.Get("Authorization"))
	}
	_, ra, _ := api.counts(keyA)
	_, rb, _ := api.counts(keyB)
	if ra != 1 || rb != 1 {
		t.Errorf("the API saw %d and %d requests with the two keys, want 1 each", ra, rb)
	}
}

// A pool with the key in HTTP Basic auth (Mailgun's "api" user): the
// request fails over to the second key, sent in Basic auth too, and the
// error of a pool that no key serves holds neither key, nor either's Basic
// encoding.
func TestPoolWithBasicAuth(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	basic := func(key string) string {
		req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		req.SetBasicAuth("api", key)
		return req.Header.Get("Authorization")
	}
	valid := basic(keyB)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		ok := r.Header.Get("Authorization") == valid
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"message": "Invalid private key %s"}`, r.Header.Get("Authorization"))
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(api.Close)
	pool := credentials.NewPool(credentials.Static(keyA), credentials.Static(keyB))
	t.Cleanup(func() { pool.Close() })
	c := &http.Client{Transport: &transport.Transport{Credentials: pool, Basic: transport.BasicKeyAsPassword("api")}}
	resp, err := get(t, c, api.URL+"/v3/domains")
	if err != nil || readAll(t, resp) != "ok" {
		t.Fatalf("GET: %v; want it served by the second key", err)
	}
	if resp.Request.Header.Get("Authorization") != "" {
		t.Error("the response after a failover names the request that carried the key")
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != basic(keyA) || seen[1] != valid {
		t.Errorf("the API saw %d requests, want the first key then the second, in Basic auth", len(seen))
	}
	mu.Unlock()

	mu.Lock()
	valid = "none"
	mu.Unlock()
	_, err = get(t, c, api.URL+"/v3/domains")
	if !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("with both keys refused: %v", err)
	}
	for _, k := range []string{keyA, keyB, basic(keyA)[len("Basic "):], basic(keyB)[len("Basic "):]} {
		if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), strings.TrimRight(k, "=")) {
			t.Errorf("the error holds a key or its Basic encoding: %v", err)
		}
	}
}
