package otelrekey_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

// With a credentials.Pool, the metrics and the request's span say which
// member was rejected (index), which one the request failed over to (index
// and redacted key) and which one was quarantined; the members' refreshes
// are counted as a single key's are; no key, and no piece of one beyond its
// redacted form, is in the telemetry.
func TestPoolMembers(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	primary, standby := srv.IssueKey().Key, srv.IssueKey().Key
	pool := credentials.NewPoolWith(credentials.PoolOptions{Quarantine: time.Hour}, credentials.Static(primary), credentials.Static(standby))
	t.Cleanup(func() { pool.Close() })

	s := newSDK(t)
	tel := s.telemetry(t)
	client, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(pool), rekey.WithHooks(tel.Hooks()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	// Registered after the Client's: told after the Telemetry.
	quarantined := make(chan struct{}, 1)
	stop := pool.Observe(func(ev credentials.PoolEvent) {
		if ev.Kind == credentials.MemberQuarantined {
			quarantined <- struct{}{}
		}
	})
	t.Cleanup(stop)
	do := func() {
		t.Helper()
		ctx, span := s.tp.Tracer("test").Start(t.Context(), "request")
		defer span.End()
		req, _ := client.NewRequest(ctx, http.MethodGet, "echo", nil)
		if _, err := client.Do(req, nil); err != nil {
			t.Fatal(err)
		}
	}
	do()
	srv.Revoke(primary)
	do()
	select {
	case <-quarantined:
	case <-time.After(10 * time.Second):
		t.Fatal("no quarantine within 10s")
	}

	rm := s.collect(t)
	skip := []attribute.Key{"server.address", "server.port"}
	equalCounts(t, "rejections", points(t, rm, otelrekey.MetricRejections, "{rejection}", skip...),
		map[string]int64{"http.response.status_code=401,rekey.key.cause=unknown,rekey.pool.member=0": 1})
	equalCounts(t, "failovers", points(t, rm, otelrekey.MetricFailovers, "{failover}", skip...),
		map[string]int64{"http.response.status_code=401,rekey.pool.member=1": 1})
	equalCounts(t, "transitions", points(t, rm, otelrekey.MetricTransitions, "{transition}"),
		map[string]int64{"rekey.pool.member.transition=quarantined,rekey.pool.member=0": 1})
	refreshes := points(t, rm, otelrekey.MetricRefreshes, "{refresh}")
	if refreshes["error.type=same_key,rekey.refresh.outcome=failure,rekey.refresh.reason=rejected"] != 1 ||
		refreshes["rekey.refresh.outcome=success,rekey.refresh.reason=initial"] != 2 {
		t.Errorf("refreshes %v: want the members' first keys and the primary's failed refresh", refreshes)
	}

	var events []string
	for _, sp := range s.spans.Ended() {
		for _, ev := range sp.Events() {
			var b strings.Builder
			b.WriteString(ev.Name)
			for _, kv := range ev.Attributes {
				if kv.Key == otelrekey.PoolMemberKey || kv.Key == otelrekey.PoolMemberRedactedKey {
					b.WriteString(" " + string(kv.Key) + "=" + fmt.Sprint(kv.Value.AsInterface()))
				}
			}
			events = append(events, b.String())
		}
	}
	for _, want := range []string{
		"rekey.key.rejected rekey.pool.member=0 rekey.pool.member.redacted_key=" + credentials.Redact(primary),
		"rekey.pool.failover rekey.pool.member=1 rekey.pool.member.redacted_key=" + credentials.Redact(standby),
	} {
		if !contains(events, want) {
			t.Errorf("span events %q lack %q", events, want)
		}
	}

	text := telemetryText(t, &run{sdk: s, requests: make([]sdktrace.ReadOnlySpan, 2), refreshes: make([]sdktrace.ReadOnlySpan, len(s.spans.Ended())-2)})
	for _, leak := range keyPieces(text, []string{primary, standby}, "") {
		t.Error(leak)
	}
}

// OnPoolEvent, registered with a Pool directly (a bare transport), counts
// a restoration.
func TestPoolEventRestored(t *testing.T) {
	s := newSDK(t)
	tel := s.telemetry(t)
	tel.OnPoolEvent(credentials.PoolEvent{Kind: credentials.MemberRestored, Member: 2, Key: "rk_test_…abcd"})
	tel.OnPoolEvent(credentials.PoolEvent{Kind: credentials.MemberRefresh, Member: 2,
		Refresh: credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, Reason: credentials.ReasonRejected, ID: 0}})
	rm := s.collect(t)
	equalCounts(t, "transitions", points(t, rm, otelrekey.MetricTransitions, "{transition}"),
		map[string]int64{"rekey.pool.member.transition=restored,rekey.pool.member=2": 1})
	equalCounts(t, "refreshes", points(t, rm, otelrekey.MetricRefreshes, "{refresh}"),
		map[string]int64{"rekey.refresh.outcome=success,rekey.refresh.reason=rejected": 1})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
