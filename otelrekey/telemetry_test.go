package otelrekey_test

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rekeyhq/rekey/otelrekey"
)

const rotations = 3

// The metrics of the scripted run, exactly.
func TestScriptedRunMetrics(t *testing.T) {
	r := scriptedRun(t, rotations)
	before := time.Now()
	rm := r.sdk.collect(t)
	after := time.Now()
	server := "server.address=127.0.0.1,server.port=" + r.port

	equalCounts(t, otelrekey.MetricRejections, points(t, rm, otelrekey.MetricRejections, "{rejection}"), map[string]int64{
		"http.response.status_code=401,rekey.key.cause=unknown," + server: rotations + 1, // each rotation, and the failed refresh
	})
	refreshes := map[string]int64{
		"rekey.refresh.outcome=success,rekey.refresh.reason=initial":                      1,
		"rekey.refresh.outcome=success,rekey.refresh.reason=rejected":                     rotations,
		"error.type=same_key,rekey.refresh.outcome=failure,rekey.refresh.reason=rejected": 1,
	}
	equalCounts(t, otelrekey.MetricRefreshes, points(t, rm, otelrekey.MetricRefreshes, "{refresh}"), refreshes)
	equalCounts(t, otelrekey.MetricRefreshDuration, points(t, rm, otelrekey.MetricRefreshDuration, "s"), refreshes)
	equalCounts(t, otelrekey.MetricReplays, points(t, rm, otelrekey.MetricReplays, "{replay}"), map[string]int64{
		"rekey.replay.outcome=replayed," + server: rotations,
	})
	equalCounts(t, otelrekey.MetricRetries, points(t, rm, otelrekey.MetricRetries, "{retry}"), map[string]int64{
		"error.type=503,http.response.status_code=503," + server: 1,
	})

	// The gauges describe the last key minted, as of the collection.
	age, ok := gauge(t, rm, otelrekey.MetricKeyAge)
	within(t, otelrekey.MetricKeyAge, age, ok, 0, after.Sub(r.lastMint).Seconds())
	ttl, ok := gauge(t, rm, otelrekey.MetricKeyTimeToExpiry)
	within(t, otelrekey.MetricKeyTimeToExpiry, ttl, ok, r.lastExpiry.Sub(after).Seconds(), r.lastExpiry.Sub(before).Seconds())
}

// The spans of the scripted run, exactly: one per request from otelhttp,
// one per refresh as the child of the request that started it, and the
// recovery as events on the request's span.
func TestScriptedRunSpans(t *testing.T) {
	r := scriptedRun(t, rotations)
	if len(r.requests) != rotations+3 || len(r.refreshes) != rotations+2 {
		t.Fatalf("%d request spans and %d refresh spans, want %d and %d", len(r.requests), len(r.refreshes), rotations+3, rotations+2)
	}
	retryReq, failReq := rotations+1, rotations+2

	// Recovery events on each request's span.
	for i, s := range r.requests {
		var want []string
		switch {
		case i == firstRequest:
		case i <= rotations:
			want = []string{otelrekey.EventKeyRejected, otelrekey.EventRequestReplayed}
		case i == retryReq:
			want = []string{otelrekey.EventRequestRetry}
		case i == failReq:
			want = []string{otelrekey.EventKeyRejected}
		}
		if got := rekeyEvents(s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("request %d: events %v, want %v", i, got, want)
		}
		for _, ev := range s.Events() {
			attrs := attribute.NewSet(ev.Attributes...)
			switch ev.Name {
			case otelrekey.EventKeyRejected:
				if v, _ := attrs.Value("http.response.status_code"); v.AsInt64() != 401 {
					t.Errorf("request %d: %s has status %v, want 401", i, ev.Name, valueText(v))
				}
				if v, _ := attrs.Value(otelrekey.RequestIDKey); len(v.AsString()) < 5 {
					t.Errorf("request %d: %s has no API request ID", i, ev.Name)
				}
			case otelrekey.EventRequestRetry:
				if got := encode(attrs, otelrekey.RetryWaitKey); got != "error.type=503,http.response.status_code=503,rekey.retry.attempt=1" {
					t.Errorf("request %d: retry event attributes %s", i, got)
				}
			}
		}
	}

	// Each refresh span is the child of the request that needed the key.
	parents := []int{firstRequest}
	for i := 1; i <= rotations; i++ {
		parents = append(parents, i)
	}
	parents = append(parents, failReq)
	for j, s := range r.refreshes {
		req := r.requests[parents[j]]
		if s.Parent().SpanID() != req.SpanContext().SpanID() || s.SpanContext().TraceID() != req.SpanContext().TraceID() {
			t.Errorf("refresh %d: parent %v, want request %d's span %v", j, s.Parent().SpanID(), parents[j], req.SpanContext().SpanID())
		}
		attrs := attribute.NewSet(s.Attributes()...)
		reason, attempts := "rejected", "1"
		if j == 0 {
			reason = "initial"
		}
		failed := j == len(r.refreshes)-1
		want := "rekey.refresh.attempts=" + attempts + ",rekey.refresh.reason=" + reason
		if failed {
			want = "error.type=same_key,rekey.refresh.attempts=1,rekey.refresh.reason=rejected" // a source that returns the rejected key is not asked again
		}
		if got := encode(attrs); got != want {
			t.Errorf("refresh %d: attributes %s, want %s", j, got, want)
		}
		switch st := s.Status(); {
		case failed && (st.Code != codes.Error || st.Description == ""):
			t.Errorf("failed refresh: status %v, want Error with a description", st)
		case failed && (len(s.Events()) != 1 || s.Events()[0].Name != "exception"):
			t.Errorf("failed refresh: events %v, want the error recorded", s.Events())
		case !failed && (st.Code != codes.Unset || len(s.Events()) != 0):
			t.Errorf("refresh %d: status %v and %d events, want neither", j, st, len(s.Events()))
		}
		if !s.EndTime().After(s.StartTime()) || s.EndTime().After(req.EndTime()) {
			t.Errorf("refresh %d: from %v to %v, not inside its request (ends %v)", j, s.StartTime(), s.EndTime(), req.EndTime())
		}
	}
}

// rekeyEvents returns the names of the events otelrekey added to s.
func rekeyEvents(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, ev := range s.Events() {
		if len(ev.Name) > 6 && ev.Name[:6] == "rekey." {
			names = append(names, ev.Name)
		}
	}
	return names
}
