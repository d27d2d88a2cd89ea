package otelrekey_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

// Every refresh reason becomes its attribute value.
func TestRefreshReasons(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t)
	reasons := []credentials.RefreshReason{credentials.ReasonInitial, credentials.ReasonRejected, credentials.ReasonExpiring, credentials.ReasonExpired}
	for i, r := range reasons {
		id := uint64(1000 + i)
		tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshStarted, Reason: r, ID: id})
		tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, Reason: r, ID: id, Attempts: 1, Duration: time.Millisecond})
	}
	equalCounts(t, "refreshes", points(t, s.collect(t), otelrekey.MetricRefreshes, "{refresh}"), map[string]int64{
		"rekey.refresh.outcome=success,rekey.refresh.reason=initial":  1,
		"rekey.refresh.outcome=success,rekey.refresh.reason=rejected": 1,
		"rekey.refresh.outcome=success,rekey.refresh.reason=expiring": 1,
		"rekey.refresh.outcome=success,rekey.refresh.reason=expired":  1,
	})
	if n := len(s.spans.Ended()); n != len(reasons) {
		t.Errorf("%d spans, want %d", n, len(reasons))
	}
}

// Two Caches share one Telemetry and refresh at once; the one that started
// first fails last. Each span ends with its own outcome, under the span of
// the request that started it.
func TestOverlappingRefreshesKeepTheirSpans(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t)
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)

	gateA, gateB := make(chan struct{}), make(chan struct{})
	started := make(chan struct{}, 2)
	gated := func(gate chan struct{}, fail bool) credentials.RefreshFunc {
		return func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			started <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done(): // Close, if the test fails before opening the gate
				return credentials.Credential{}, ctx.Err()
			}
			if fail {
				return credentials.Credential{}, credentials.Permanent(errors.New("key service refused"))
			}
			return srv.Refresh(ctx, rejected)
		}
	}
	a := &credentials.Cache{Refresh: gated(gateA, true), OnRefresh: tel.OnRefresh}
	b := &credentials.Cache{Refresh: gated(gateB, false), OnRefresh: tel.OnRefresh}
	t.Cleanup(func() { a.Close(); b.Close() })

	tracer := s.tp.Tracer("test")
	ctxA, spanA := tracer.Start(context.Background(), "request A")
	ctxB, spanB := tracer.Start(context.Background(), "request B")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Retrieve(ctxA) }()
	testwait.Recv(t, started, testwait.Timeout, "A's refresh to start") // under way before B's starts
	doneB := make(chan struct{})
	go func() { defer close(doneB); b.Retrieve(ctxB) }()
	testwait.Recv(t, started, testwait.Timeout, "B's refresh to start")
	close(gateB) // B ends first, while A's refresh is still under way
	testwait.Recv(t, doneB, testwait.Timeout, "B's Retrieve to return")
	close(gateA)
	testwait.Group(t, &wg, testwait.Timeout, "A's Retrieve to return")
	spanA.End()
	spanB.End()

	byParent := map[string]string{} // request span name → refresh outcome
	names := map[[8]byte]string{spanA.SpanContext().SpanID(): "request A", spanB.SpanContext().SpanID(): "request B"}
	for _, sp := range s.spans.Ended() {
		if sp.Name() != otelrekey.SpanRefresh {
			continue
		}
		outcome := "ok"
		if sp.Status().Code == codes.Error {
			outcome = "error: " + sp.Status().Description
		}
		byParent[names[sp.Parent().SpanID()]] = outcome
	}
	if len(byParent) != 2 || byParent["request A"] != "error: key service refused" || byParent["request B"] != "ok" {
		t.Errorf("refresh spans by parent: %v; want A's failed, B's ok", byParent)
	}
}

// An end event whose start was not seen (no ID: built by hand, or from a
// refresh source that reports its own events) still makes a whole span,
// backdated by its duration.
func TestEndWithoutStartMakesAWholeSpan(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t)
	tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshFailed, Reason: credentials.ReasonExpiring,
		Duration: 2 * time.Second, Attempts: 3, Err: context.DeadlineExceeded})
	spans := s.spans.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	sp := spans[0]
	if d := sp.EndTime().Sub(sp.StartTime()); d < 2*time.Second {
		t.Errorf("span lasts %v, want the refresh's 2s", d)
	}
	if got := encode(attribute.NewSet(sp.Attributes()...)); got != "error.type=timeout,rekey.refresh.attempts=3,rekey.refresh.reason=expiring" {
		t.Errorf("attributes %s", got)
	}
	if sp.Status().Code != codes.Error || !strings.Contains(sp.Status().Description, "deadline") {
		t.Errorf("status %v", sp.Status())
	}
}
