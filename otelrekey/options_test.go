package otelrekey_test

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/transport"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  otelrekey.Option
		want string
	}{
		{"nil meter provider", otelrekey.WithMeterProvider(nil), "WithMeterProvider(nil)"},
		{"nil tracer provider", otelrekey.WithTracerProvider(nil), "WithTracerProvider(nil)"},
		{"empty attribute", otelrekey.WithAttributes(attribute.KeyValue{}), "WithAttributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel, err := otelrekey.New(tc.opt)
			if err == nil || tel != nil || !strings.HasPrefix(err.Error(), "otelrekey: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an otelrekey error naming %s", tel, err, tc.want)
			}
		})
	}
}

// With no options, New uses the global providers (no-ops until the
// application sets them), and its hooks are safe to call.
func TestNewDefaultsToGlobalProviders(t *testing.T) {
	tel, err := otelrekey.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	h := tel.Hooks()
	h.KeyRejected(transport.Event{Kind: transport.EventKeyRejected, URL: "https://api.example.com/v1", StatusCode: 401})
	h.RefreshStarted(credentials.RefreshEvent{Phase: credentials.RefreshStarted, ID: 7})
	h.RefreshSucceeded(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, ID: 7})
	h.RetryScheduled(transport.RetryEvent{URL: "https://api.example.com/v1", Attempt: 1})
}

// The gauges report the last key obtained until Close, and nothing after.
func TestCloseUnregistersTheGauges(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t)
	if _, ok := gauge(t, s.collect(t), otelrekey.MetricKeyAge); ok {
		t.Error("key age reported before any key was obtained")
	}
	obtained := time.Now()
	expiry := obtained.Add(time.Hour)
	tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, ID: 1, Expiry: expiry})
	before := time.Now()
	rm := s.collect(t)
	after := time.Now()
	age, ok := gauge(t, rm, otelrekey.MetricKeyAge)
	within(t, "key age", age, ok, 0, after.Sub(obtained).Seconds())
	ttl, ok := gauge(t, rm, otelrekey.MetricKeyTimeToExpiry)
	within(t, "time to expiry", ttl, ok, expiry.Sub(after).Seconds(), expiry.Sub(before).Seconds())
	tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, ID: 2}) // a key with no known expiry
	if _, ok := gauge(t, s.collect(t), otelrekey.MetricKeyTimeToExpiry); ok {
		t.Error("time to expiry reported for a key without an expiry")
	}
	if err := tel.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tel.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := gauge(t, s.collect(t), otelrekey.MetricKeyAge); ok {
		t.Error("key age still reported after Close")
	}
}

// WithAttributes tells clients apart on every measurement and refresh span.
func TestWithAttributes(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t, otelrekey.WithAttributes(attribute.String("rekey.client", "billing")))
	tel.OnEvent(transport.Event{Kind: transport.EventKeyRejected, URL: "https://api.example.com/v1/x", StatusCode: 401})
	tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshStarted, Reason: credentials.ReasonRejected, ID: 1})
	tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, Reason: credentials.ReasonRejected, ID: 1, Attempts: 1})
	tel.OnRetry(transport.RetryEvent{URL: "https://api.example.com/v1/x", Attempt: 1, StatusCode: 429})
	rm := s.collect(t)
	equalCounts(t, "rejections", points(t, rm, otelrekey.MetricRejections, "{rejection}"), map[string]int64{
		"http.response.status_code=401,rekey.client=billing,rekey.key.cause=unknown,server.address=api.example.com": 1,
	})
	equalCounts(t, "refreshes", points(t, rm, otelrekey.MetricRefreshes, "{refresh}"), map[string]int64{
		"rekey.client=billing,rekey.refresh.outcome=success,rekey.refresh.reason=rejected": 1,
	})
	equalCounts(t, "retries", points(t, rm, otelrekey.MetricRetries, "{retry}"), map[string]int64{
		"error.type=429,http.response.status_code=429,rekey.client=billing,server.address=api.example.com": 1,
	})
	if _, ok := gauge(t, rm, otelrekey.MetricKeyAge); !ok {
		t.Error("no key age")
	}
	spans := s.spans.Ended()
	if len(spans) != 1 || encode(attribute.NewSet(spans[0].Attributes()...)) != "rekey.client=billing,rekey.refresh.attempts=1,rekey.refresh.reason=rejected" {
		t.Errorf("refresh spans: %v", spans)
	}
}

// JoinHooks calls every hook in order and leaves a field nil when nobody
// listens.
func TestJoinHooks(t *testing.T) {
	var calls []string
	rec := func(name string) rekey.Hooks {
		return rekey.Hooks{
			KeyRejected:        func(transport.Event) { calls = append(calls, name+" rejected") },
			RequestReplayed:    func(transport.Event) { calls = append(calls, name+" replayed") },
			RequestNotReplayed: func(transport.Event) { calls = append(calls, name+" not replayed") },
			ReplayRejected:     func(transport.Event) { calls = append(calls, name+" replay rejected") },
			RefreshStarted:     func(credentials.RefreshEvent) { calls = append(calls, name+" started") },
			RefreshSucceeded:   func(credentials.RefreshEvent) { calls = append(calls, name+" succeeded") },
			RefreshFailed:      func(credentials.RefreshEvent) { calls = append(calls, name+" failed") },
		}
	}
	only := rekey.Hooks{RetryScheduled: func(transport.RetryEvent) { calls = append(calls, "c retry") }}
	h := otelrekey.JoinHooks(rec("a"), rekey.Hooks{}, rec("b"), only)
	h.KeyRejected(transport.Event{})
	h.RequestReplayed(transport.Event{})
	h.RequestNotReplayed(transport.Event{})
	h.ReplayRejected(transport.Event{})
	h.RefreshStarted(credentials.RefreshEvent{})
	h.RefreshSucceeded(credentials.RefreshEvent{})
	h.RefreshFailed(credentials.RefreshEvent{})
	h.RetryScheduled(transport.RetryEvent{})
	want := "a rejected,b rejected,a replayed,b replayed,a not replayed,b not replayed,a replay rejected,b replay rejected," +
		"a started,b started,a succeeded,b succeeded,a failed,b failed,c retry"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("calls:\n got %s\nwant %s", got, want)
	}
	if none := otelrekey.JoinHooks(rekey.Hooks{}, only); none.KeyRejected != nil || none.RefreshStarted != nil || none.RetryScheduled == nil {
		t.Error("JoinHooks set a hook nobody gave, or dropped one")
	}
}
