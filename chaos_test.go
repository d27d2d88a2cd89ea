package rekey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// Chaos parameters: every key is revoked every chaosRotateEvery, 5% of
// answers are 503s and 2% are dropped connections, while chaosWorkers
// goroutines share one Client for chaosDuration.
const (
	chaosWorkers     = 50
	chaosDuration    = 2 * time.Second
	chaosRotateEvery = 100 * time.Millisecond
)

// chaosClass names the class of a failed request's error, or returns ""
// for an error that is none of the classes a caller is promised: the
// invalid-key rejection (refreshed once and still rejected), a failed
// refresh, a 429 or 5xx that outlasted the retries, or a connection error
// that outlasted the retries (a *RetryError whose cause is a network
// error; a dropped connection surfaces as io.EOF or io.ErrUnexpectedEOF).
func chaosClass(err error) string {
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
	case errors.As(err, &retryErr) && (errors.As(err, &netErr) && !netErr.Timeout() ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return "connection"
	}
	return ""
}

// chaosWorker is what one worker saw.
type chaosWorker struct {
	ok, failed   int
	classes      map[string]int
	unclassified []string // messages of unclassified errors
	acked        []string // POST bodies answered 2xx
	unacked      []string // POST bodies whose request failed
	echoBad      []string // acknowledged POSTs whose echo differs from the body
}

// TestChaos runs mixed GET and idempotent POST traffic through one Client
// while the service rotates every key every 100 ms, answers 5% of requests
// 503 and drops 2% of connections, and checks that:
//
//   - every request either succeeded or failed with a classified error;
//   - every acknowledged POST body reached the service exactly once, byte
//     for byte, and no failed POST reached it at all;
//   - refreshes stay within the rotations plus the first key.
//
// Why exactly once, and why a failed POST is never received: rekeytest
// decides a request's fate on arrival and answers a fault (503, dropped
// connection) before routing it, and a 401 before reading its body; it
// records a body (Server.Bodies) only in the handler that answers 200.
// So a body is recorded only when its 200 is written, over loopback, to a
// client that waits for it (no timeout fires in this test). Retries (503,
// dropped connection: the POST carries an Idempotency-Key) and the replay
// after a refresh follow an attempt that recorded nothing. A body recorded
// twice would therefore mean rekey sent a request again after its success;
// a failed POST found in Bodies, that rekey reported a failure for a request
// the service performed. rekeytest does not deduplicate by Idempotency-Key,
// so both would show.
func TestChaos(t *testing.T) {
	srv := rekeytest.NewServer(
		rekeytest.WithRotateEvery(chaosRotateEvery),
		rekeytest.WithFaults(rekeytest.Faults{UnavailableRate: 0.05, DropRate: 0.02}),
		rekeytest.WithSeed(20240601),
	)
	t.Cleanup(srv.Close)

	var refreshes, refreshFailures, retries, rejections, replays atomic.Int64
	client, err := rekey.NewClient(srv.URL+"/v1",
		rekey.WithRefresh(srv.Refresh),
		rekey.WithIdempotencyKeys(),
		// A replay rejected by a rotation that raced the refresh counts as a
		// failed refresh for the cooldown; keep it well under the rotation
		// period, as production keys rotated hourly are, against the 1s default.
		rekey.WithCooldown(5*time.Millisecond),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: 6, MinWait: time.Millisecond, MaxWait: 20 * time.Millisecond}),
		rekey.WithTimeout(time.Minute), // only so that a hang fails the test (as an unclassified timeout) instead of stalling CI
		rekey.WithHooks(rekey.Hooks{
			RefreshStarted:  func(credentials.RefreshEvent) { refreshes.Add(1) },
			RefreshFailed:   func(credentials.RefreshEvent) { refreshFailures.Add(1) },
			RetryScheduled:  func(transport.RetryEvent) { retries.Add(1) },
			KeyRejected:     func(transport.Event) { rejections.Add(1) },
			RequestReplayed: func(transport.Event) { replays.Add(1) },
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), chaosDuration)
	defer cancel()
	results := make([]chaosWorker, chaosWorkers)
	var wg sync.WaitGroup
	for w := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = chaosWork(ctx, client, w)
		}()
	}
	wg.Wait()
	rotations := srv.Stats().Rotations // read after the last refresh: every refresh but the first follows a rotation

	// Every request succeeded or failed with a classified error.
	var ok, failed int
	classes := map[string]int{}
	acked := map[string]bool{}
	unacked := map[string]bool{}
	for _, r := range results {
		ok += r.ok
		failed += r.failed
		for c, n := range r.classes {
			classes[c] += n
		}
		for _, msg := range r.unclassified {
			t.Errorf("request failed with an unclassified error: %s", msg)
		}
		for _, b := range r.echoBad {
			t.Errorf("POST %s was acknowledged with an altered echo", b)
		}
		for _, b := range r.acked {
			acked[b] = true
		}
		for _, b := range r.unacked {
			unacked[b] = true
		}
	}

	// Every acknowledged body exactly once, byte for byte; nothing else.
	received := map[string]int{}
	for _, b := range srv.Bodies() {
		received[string(b)]++
	}
	for b := range acked {
		if n := received[b]; n != 1 {
			t.Errorf("acknowledged POST %s reached the service %d times, want exactly once", b, n)
		}
	}
	for b, n := range received {
		switch {
		case unacked[b]:
			t.Errorf("POST %s failed for the caller but reached the service %d times", b, n)
		case !acked[b]:
			t.Errorf("the service received a body no worker sent (altered?): %q", b)
		}
	}

	// One refresh per rotation at most, plus the first key: concurrent
	// rejections of one key share a refresh, and a rejection of a key
	// already replaced reuses its replacement. One more is allowed because
	// RotateAll revokes the keys a moment before it counts the rotation.
	if got, limit := refreshes.Load(), rotations+2; got > limit {
		t.Errorf("%d refreshes for %d rotations; want at most %d (one per rotation, plus the first key, plus one)", got, rotations, limit)
	}
	if n := refreshFailures.Load(); n > 0 {
		t.Errorf("%d refreshes failed; the key endpoint has no faults", n)
	}

	// The run was chaotic enough to mean something, and mostly succeeded.
	st := srv.Stats()
	total := ok + failed
	if rotations < 5 || st.Faults.Unavailable == 0 || st.Faults.Dropped == 0 || rejections.Load() == 0 || replays.Load() == 0 || retries.Load() == 0 || len(acked) == 0 {
		t.Errorf("too little chaos to judge: %d rotations, %d 503s, %d drops, %d rejections, %d replays, %d retries, %d acknowledged POSTs",
			rotations, st.Faults.Unavailable, st.Faults.Dropped, rejections.Load(), replays.Load(), retries.Load(), len(acked))
	}
	if ok < total*9/10 {
		t.Errorf("only %d of %d requests succeeded; want at least 90%%", ok, total)
	}

	t.Logf("%d requests (%d ok, %d failed: %s); %d acknowledged POSTs all received once",
		total, ok, failed, chaosClasses(classes), len(acked))
	t.Logf("%d rotations, %d refreshes, %d key rejections, %d replays, %d retries; service injected %d 503s and %d drops",
		rotations, refreshes.Load(), rejections.Load(), replays.Load(), retries.Load(), st.Faults.Unavailable, st.Faults.Dropped)
}

// chaosWork sends requests until ctx ends, alternating GET and POST with a
// unique body. The request in flight when ctx ends is finished, not
// cancelled, so that each has a definite outcome.
func chaosWork(ctx context.Context, c *rekey.Client, w int) chaosWorker {
	res := chaosWorker{classes: map[string]int{}}
	for seq := 0; ctx.Err() == nil; seq++ {
		method, path, body := http.MethodGet, fmt.Sprintf("echo?w=%d&seq=%d", w, seq), []byte(nil)
		if seq%2 == 1 {
			method, path = http.MethodPost, "echo"
			body = fmt.Appendf(nil, `{"worker": %d, "seq": %d, "text": "chaos \u00e9\t"}`, w, seq)
		}
		var echo struct {
			Body json.RawMessage `json:"body"` // the body as the service received it, byte for byte
		}
		req, err := c.NewRequest(context.WithoutCancel(ctx), method, path, body)
		if err == nil {
			_, err = c.Do(req, &echo)
		}
		if err != nil {
			res.failed++
			class := chaosClass(err)
			res.classes[class]++
			if class == "" {
				res.unclassified = append(res.unclassified, err.Error())
			}
			if body != nil {
				res.unacked = append(res.unacked, string(body))
			}
			continue
		}
		res.ok++
		if body != nil {
			res.acked = append(res.acked, string(body))
			if string(echo.Body) != string(body) {
				res.echoBad = append(res.echoBad, string(body))
			}
		}
	}
	return res
}

func chaosClasses(classes map[string]int) string {
	if len(classes) == 0 {
		return "none"
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, c := range names {
		name := c
		if name == "" {
			name = "UNCLASSIFIED"
		}
		parts[i] = fmt.Sprintf("%d %s", classes[c], name)
	}
	return strings.Join(parts, ", ")
}
