package otelrekey_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/transport"
)

// The cause an API states (Slack's token_revoked, token_expired) reaches the
// rejection counter and the span event, so that a dashboard can tell a
// revoked key (a leak?) from a routine expiry.
func TestRejectionCause(t *testing.T) {
	for _, tc := range []struct{ code, cause string }{
		{"token_revoked", "revoked"},
		{"token_expired", "expired"},
		{"invalid_auth", "invalid"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			const oldKey, newKey = "xoxb-old-0000-cause-test", "xoxb-new-1111-cause-test"
			var requests atomic.Int64
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				if r.Header.Get("Authorization") == "Bearer "+newKey {
					fmt.Fprint(w, `{"ok":true}`)
					return
				}
				fmt.Fprintf(w, `{"ok":false,"error":%q}`, tc.code)
			}))
			t.Cleanup(api.Close)

			s := newSDK(t)
			tel := s.telemetry(t)
			client, err := rekey.NewClient(api.URL,
				rekey.WithCredentials(credentials.Static(oldKey)),
				rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
					return credentials.Credential{Key: newKey}, nil
				}),
				rekey.WithRejection(transport.Slack()),
				rekey.WithHooks(tel.Hooks()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })

			ctx, span := s.tp.Tracer("test").Start(context.Background(), "request")
			req, _ := client.NewRequest(ctx, http.MethodPost, "chat.postMessage", nil)
			_, err = client.Do(req, nil)
			span.End()
			if err != nil || requests.Load() != 2 {
				t.Fatalf("Do = %v after %d requests; want recovery in 2", err, requests.Load())
			}

			rm := s.collect(t)
			equalCounts(t, "rejections", points(t, rm, otelrekey.MetricRejections, "{rejection}", "server.address", "server.port"),
				map[string]int64{"http.response.status_code=200,rekey.key.cause=" + tc.cause: 1})
			var found bool
			for _, sp := range s.spans.Ended() {
				for _, ev := range sp.Events() {
					if ev.Name != otelrekey.EventKeyRejected {
						continue
					}
					for _, kv := range ev.Attributes {
						if kv.Key == otelrekey.KeyCauseKey && kv.Value == attribute.StringValue(tc.cause) {
							found = true
						}
					}
				}
			}
			if !found {
				t.Errorf("no %s event with %s=%s", otelrekey.EventKeyRejected, otelrekey.KeyCauseKey, tc.cause)
			}
			if strings.Contains(fmt.Sprint(rm), oldKey) {
				t.Error("a metric holds the key")
			}
		})
	}
}
