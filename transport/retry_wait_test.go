package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		maxAfter   time.Duration
		wantWait   time.Duration
		wantCalls  int64
	}{
		{"seconds", "1", 0, time.Second, 2},
		// Far enough ahead that the time the test takes to get there, on any
		// machine, stays within the tolerance below.
		{"HTTP date", time.Now().Add(40 * time.Second).UTC().Format(http.TimeFormat), time.Minute, 40 * time.Second, 2},
		{"date in the past", "Wed, 21 Oct 2015 07:28:00 GMT", 0, 0, 2},
		{"over the cap: not retried", "120", 10 * time.Second, 0, 1},
		{"unparsable: backoff", "soon", 0, fastPolicy.MaxWait, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p RetryPolicy = fastPolicy
			p.MaxRetryAfter = tt.maxAfter
			resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {tt.retryAfter}}}
			if got := p.retry(context.Background(), resp, nil); got != (tt.wantCalls > 1) {
				t.Fatalf("retry = %v", got)
			}
			if tt.wantCalls == 1 {
				return
			}
			got := p.wait(1, resp)
			if got > tt.wantWait || got < tt.wantWait-10*time.Second {
				t.Errorf("wait = %v, want about %v", got, tt.wantWait)
			}
		})
	}
}

func TestRetryAfterOneSecondWaitsAboutASecond(t *testing.T) {
	srv := newScript(t, 429, 200)
	srv.header.Set("Retry-After", "1")
	var events []RetryEvent
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, &events)
	start := time.Now()
	resp, err := send(t, c, "GET", srv.URL+"/things", nil, nil)
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v", resp, err)
	}
	// At least the second asked for; how much longer depends on the
	// machine, and the event below says exactly what was scheduled.
	if elapsed < time.Second {
		t.Errorf("took %v, want at least the second Retry-After asked for", elapsed)
	}
	if len(events) != 1 || events[0].Wait != time.Second || events[0].StatusCode != 429 {
		t.Errorf("events = %+v, want one retry after 1s for a 429", events)
	}
}

func TestContextEndsDuringWaitReturnsPromptly(t *testing.T) {
	srv := newScript(t, 503)
	srv.header.Set("Retry-After", "20")
	c := stack(fastPolicy, credentials.Static(retryOldKey), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/things", nil)
	start := time.Now()
	_, err := c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	// Returning before the 20 s Retry-After shows that the context cut the
	// wait short; 100 ms against 20 s leaves any machine its margin.
	if d := time.Since(start); d >= 20*time.Second {
		t.Errorf("returned after %v, want before the 20s Retry-After", d)
	}
}
