package rekeytest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestFailNextBurst(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	srv.FailNext(3, http.StatusServiceUnavailable, 1500*time.Millisecond)

	// Minting keys is not part of the burst: a refresh during an outage works.
	if _, err := srv.Refresh(t.Context(), srv.IssueKey()); err != nil {
		t.Fatalf("Refresh during the burst: %v", err)
	}
	for i := 0; i < 3; i++ {
		a := send(t, srv, "GET", "/v1/echo", bearer, key, "")
		var e struct{ Error string }
		a.json(t, &e)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "2" || e.Error != "Service Unavailable" {
			t.Fatalf("request %d: %d Retry-After %q %s; want 503, Retry-After 2 (1.5s rounded up)", i, a.status, a.header.Get("Retry-After"), a.body)
		}
	}
	if a := send(t, srv, "GET", "/v1/echo", bearer, key, ""); a.status != http.StatusOK {
		t.Fatalf("after the burst: %d %s", a.status, a.body)
	}
	st := srv.Stats()
	if st.Faults.Burst != 3 || st.Faults.Total() != 3 || st.Accepted != 1 {
		t.Errorf("Stats = %+v; want 3 burst faults, 1 accepted", st)
	}
}

func TestFailNextReplacesAndCancels(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	srv.FailNext(5, http.StatusBadGateway, 0)
	srv.FailNext(1, http.StatusTooManyRequests, time.Second)
	if a := send(t, srv, "GET", "/v1/echo", bearer, key, ""); a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Errorf("%d Retry-After %q; want the replacing 429 with Retry-After 1", a.status, a.header.Get("Retry-After"))
	}
	srv.FailNext(5, http.StatusBadGateway, 0)
	srv.FailNext(0, http.StatusBadGateway, 0)
	if a := send(t, srv, "GET", "/v1/echo", bearer, key, ""); a.status != http.StatusOK || a.header.Get("Retry-After") != "" {
		t.Errorf("after FailNext(0, ...): %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
}

func TestFailNext401IsASpuriousRejection(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	srv.FailNext(1, http.StatusUnauthorized, 0)
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, key, ""))
	if a := send(t, srv, "GET", "/v1/echo", bearer, key, ""); a.status != http.StatusOK {
		t.Errorf("the key should still work: %d", a.status)
	}
	if st := srv.Stats(); st.Rejections != 0 || st.Faults.Burst != 1 {
		t.Errorf("Rejections %d, Burst %d; want 0, 1", st.Rejections, st.Faults.Burst)
	}
}

func TestUnavailableRate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{
		{"no Retry-After", 0, ""},
		{"Retry-After in whole seconds", 2 * time.Second, "2"},
		{"sub-second rounds up to 1", time.Millisecond, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, rekeytest.WithFaults(rekeytest.Faults{UnavailableRate: 1, RetryAfter: tc.retryAfter}))
			a := send(t, srv, "GET", "/v1/echo", bearer, srv.IssueKey().Key, "")
			if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != tc.want ||
				a.header.Get("Content-Type") != "application/json" {
				t.Errorf("%d Retry-After %q %s; want 503 Retry-After %q", a.status, a.header.Get("Retry-After"), a.body, tc.want)
			}
			if st := srv.Stats(); st.Faults.Unavailable != 1 || st.Accepted != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestDropRateOneGivesAClientError(t *testing.T) {
	srv := newServer(t, rekeytest.WithFaults(rekeytest.Faults{DropRate: 1}))
	key := srv.IssueKey().Key
	for _, method := range []string{"GET", "POST"} {
		if a, err := trySend(t.Context(), srv, method, "/v1/echo", bearer, key, `{"n":1}`); err == nil {
			t.Errorf("%s: got %d %s, want a transport error", method, a.status, a.body)
		}
	}
	if st := srv.Stats(); st.Faults.Dropped < 2 || st.Accepted != 0 || len(srv.Bodies()) != 0 {
		t.Errorf("Stats = %+v; want at least 2 drops, nothing accepted", st)
	}
	srv.SetFaults(rekeytest.Faults{})
	if a := send(t, srv, "GET", "/v1/echo", bearer, key, ""); a.status != http.StatusOK {
		t.Errorf("after SetFaults(Faults{}): %d", a.status)
	}
}

func TestDelaySlowsTheAnswer(t *testing.T) {
	const delay = 30 * time.Millisecond
	srv := newServer(t, rekeytest.WithFaults(rekeytest.Faults{Delay: delay}))
	start := time.Now()
	a := send(t, srv, "GET", "/v1/echo", bearer, srv.IssueKey().Key, "")
	if took := time.Since(start); a.status != http.StatusOK || took < delay {
		t.Errorf("%d after %v; want 200 after at least %v", a.status, took, delay)
	}
	if d := srv.Stats().Faults.Delayed; d != 1 {
		t.Errorf("Delayed = %d, want 1", d)
	}
}

// logLines collects a server's log and signals each line.
type logLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLogLines() *logLines { return &logLines{lines: make(chan string, 1000)} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	select {
	case l.lines <- string(p):
	default:
	}
	return len(p), nil
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// await waits for a line containing s.
func (l *logLines) await(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line := <-l.lines:
			if strings.Contains(line, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no log line with %q within 5s; log:\n%s", s, l)
		}
	}
}

func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	logs := newLogLines()
	srv := newServer(t,
		rekeytest.WithFaults(rekeytest.Faults{Delay: time.Hour}),
		rekeytest.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := trySend(ctx, srv, "GET", "/v1/echo", bearer, srv.IssueKey().Key, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The handler notices too, without waiting for Close.
	logs.await(t, "client gave up during injected delay")
}

func TestCloseCutsAnInjectedDelayShort(t *testing.T) {
	srv := rekeytest.NewServer(rekeytest.WithFaults(rekeytest.Faults{Delay: time.Hour}))
	t.Cleanup(srv.Close)
	key := srv.IssueKey().Key
	errc := make(chan error, 1)
	go func() {
		a, err := trySend(context.Background(), srv, "GET", "/v1/echo", bearer, key, "")
		if err == nil {
			err = errors.New("no error")
			if a.status == http.StatusOK {
				err = errors.New("an answer 200 from a server closed mid-delay")
			}
		}
		errc <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); srv.Stats().Faults.Delayed == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the delay")
		}
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the hour-long delay")
	}
	if err := testwait.Recv(t, errc, testwait.Timeout, "the client's request to end"); err == nil || strings.Contains(err.Error(), "200") || strings.Contains(err.Error(), "no error") {
		t.Errorf("client got %v, want a transport error", err)
	}
}

func TestSeedMakesFaultsReproducible(t *testing.T) {
	faults := rekeytest.Faults{UnavailableRate: 0.5}
	run := func() string {
		srv := newServer(t, rekeytest.WithSeed(42), rekeytest.WithFaults(faults))
		key := srv.IssueKey().Key
		var b strings.Builder
		for i := 0; i < 40; i++ {
			if send(t, srv, "GET", "/v1/echo", bearer, key, "").status == http.StatusOK {
				b.WriteByte('.')
			} else {
				b.WriteByte('X')
			}
		}
		return b.String()
	}
	first, second := run(), run()
	if first != second {
		t.Errorf("same seed, different faults:\n%s\n%s", first, second)
	}
	if !strings.Contains(first, ".") || !strings.Contains(first, "X") {
		t.Errorf("rate 0.5 gave %s; want both outcomes", first)
	}
}

func TestKeyEndpointFaultsAreOptInAndRetryable(t *testing.T) {
	srv := newServer(t, rekeytest.WithFaults(rekeytest.Faults{UnavailableRate: 1}))
	if _, err := srv.Refresh(t.Context(), srv.IssueKey()); err != nil {
		t.Fatalf("faults reached /v1/keys without KeyEndpoint: %v", err)
	}
	srv.SetFaults(rekeytest.Faults{UnavailableRate: 1, KeyEndpoint: true})
	_, err := srv.Refresh(t.Context(), srv.IssueKey())
	var perm *backoff.PermanentError
	if err == nil || !strings.Contains(err.Error(), "503") || errors.As(err, &perm) {
		t.Errorf("Refresh = %v; want a retryable error naming the 503", err)
	}
}

func TestInvalidFaultSettingsPanic(t *testing.T) {
	srv := newServer(t)
	start := func(opt rekeytest.Option) { rekeytest.NewServer(opt).Close() }
	for name, call := range map[string]func(){
		"UnavailableRate above 1": func() { srv.SetFaults(rekeytest.Faults{UnavailableRate: 1.01}) },
		"negative DropRate":       func() { srv.SetFaults(rekeytest.Faults{DropRate: -0.1}) },
		"negative Delay":          func() { srv.SetFaults(rekeytest.Faults{Delay: -time.Second}) },
		"negative Jitter":         func() { srv.SetFaults(rekeytest.Faults{Jitter: -time.Second}) },
		"negative RetryAfter":     func() { srv.SetFaults(rekeytest.Faults{RetryAfter: -time.Second}) },
		"WithFaults":              func() { start(rekeytest.WithFaults(rekeytest.Faults{DropRate: 2})) },
		"FailNext negative n":     func() { srv.FailNext(-1, 503, 0) },
		"FailNext 200":            func() { srv.FailNext(1, 200, 0) },
		"FailNext negative wait":  func() { srv.FailNext(1, 503, -time.Second) },
		"negative TTL":            func() { start(rekeytest.WithKeyTTL(-time.Second)) },
		"negative rotation":       func() { start(rekeytest.WithRotateEvery(-time.Second)) },
		"malformed secret":        func() { start(rekeytest.WithAccountSecret("short")) },
		"nil clock":               func() { start(rekeytest.WithClock(nil)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "rekeytest: ") {
					t.Errorf("recovered %v, want a rekeytest panic", r)
				}
			}()
			call()
		})
	}
}
