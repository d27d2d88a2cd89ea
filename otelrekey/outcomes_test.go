package otelrekey_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

// The replay outcomes other than a recovery, each from one real request
// against rekeytest, on a span the test starts around the request.
func TestReplayOutcomes(t *testing.T) {
	skip := []attribute.Key{"server.address", "server.port"}
	for _, tc := range []struct {
		name string
		// mint returns the refresh hook for srv; other is a second server.
		mint func(srv, other *rekeytest.Server) credentials.RefreshFunc
		// request builds the request; a body without GetBody cannot be replayed.
		request    func(ctx context.Context, url string) *http.Request
		rejections int64
		replays    map[string]int64
		events     []string
	}{
		{
			name: "not replayed",
			mint: func(srv, _ *rekeytest.Server) credentials.RefreshFunc { return srv.Refresh },
			request: func(ctx context.Context, url string) *http.Request {
				body := io.MultiReader(strings.NewReader(`{"n": 1}`)) // no GetBody
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
				return req
			},
			rejections: 1,
			replays:    map[string]int64{"rekey.replay.outcome=not_replayed": 1},
			events:     []string{otelrekey.EventKeyRejected, otelrekey.EventRequestNotReplayed},
		},
		{
			name: "rejected again",
			// The hook mints keys on the wrong server: valid there, not here.
			mint: func(_, other *rekeytest.Server) credentials.RefreshFunc { return other.Refresh },
			request: func(ctx context.Context, url string) *http.Request {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				return req
			},
			rejections: 2,
			replays:    map[string]int64{"rekey.replay.outcome=replayed": 1, "rekey.replay.outcome=rejected_again": 1},
			events:     []string{otelrekey.EventKeyRejected, otelrekey.EventRequestReplayed, otelrekey.EventReplayRejected},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSDK(t)
			srv, other := rekeytest.NewServer(), rekeytest.NewServer()
			t.Cleanup(srv.Close)
			t.Cleanup(other.Close)
			tel := s.telemetry(t)
			client, err := rekey.NewClient(srv.URL,
				rekey.WithCredentials(credentials.Static(srv.IssueKey().Key)),
				rekey.WithRefresh(tc.mint(srv, other)),
				rekey.WithHooks(tel.Hooks()), rekey.WithoutRetries())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			srv.RotateAll()

			ctx, span := s.tp.Tracer("test").Start(context.Background(), "request")
			_, err = client.HTTPClient().Do(tc.request(ctx, srv.URL+"/v1/echo"))
			span.End()
			if !errors.Is(err, rekey.ErrInvalidAPIKey) {
				t.Fatalf("err = %v, want ErrInvalidAPIKey", err)
			}

			rm := s.collect(t)
			equalCounts(t, "rejections", points(t, rm, otelrekey.MetricRejections, "{rejection}", skip...),
				map[string]int64{"http.response.status_code=401,rekey.key.cause=unknown": tc.rejections})
			equalCounts(t, "replays", points(t, rm, otelrekey.MetricReplays, "{replay}", skip...), tc.replays)
			equalCounts(t, "refreshes", points(t, rm, otelrekey.MetricRefreshes, "{refresh}"), map[string]int64{
				"rekey.refresh.outcome=success,rekey.refresh.reason=initial":  1,
				"rekey.refresh.outcome=success,rekey.refresh.reason=rejected": 1,
			})
			var got []string
			for _, sp := range s.spans.Ended() {
				if sp.Name() == "request" {
					got = rekeyEvents(sp)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.events, " ") {
				t.Errorf("events on the request's span: %v, want %v", got, tc.events)
			}
		})
	}
}
