package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/corpus"
	"github.com/rekeyhq/rekey/transport"
)

// corpusMatcher returns the ready-made matcher a corpus case names: what a
// user of that API passes to rekey.WithRejection.
func corpusMatcher(name string) transport.Matcher {
	switch name {
	case "slack":
		return transport.Slack()
	case "aws-api-gateway":
		return transport.AnyOf(transport.IsInvalidKeyRejection,
			transport.StatusHeader(http.StatusForbidden, "X-Amzn-Errortype", "ForbiddenException"))
	case "google-maps":
		return transport.AnyOf(transport.IsInvalidKeyRejection,
			transport.StatusBody(http.StatusOK, "The provided API key is invalid."),
			transport.StatusBody(http.StatusOK, "The provided API key is expired."))
	case "graphql":
		return transport.GraphQL()
	}
	return nil
}

// corpusServer answers a request that carries a rejected key with the
// recorded response (quoting back the key it received where the recording
// does) and any other with 200 "recovered".
type corpusServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	rejected map[string]bool
}

func newCorpusServer(t *testing.T, c corpus.Case, rejected ...string) *corpusServer {
	t.Helper()
	s := &corpusServer{rejected: map[string]bool{}}
	for _, k := range rejected {
		s.rejected[k] = true
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, password, ok := r.BasicAuth(); ok {
			key = password
		}
		s.mu.Lock()
		reject := s.rejected[key]
		s.mu.Unlock()
		if !reject {
			io.WriteString(w, "recovered")
			return
		}
		for k, v := range c.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(c.Status)
		w.Write(c.BodyFor(key))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestCorpus runs every recorded response through a real Transport over
// loopback, with the default matcher and with the matcher the case names:
// a recognised rejection is refreshed once and replayed once, and the
// replay succeeds; any other response reaches the caller untouched (status,
// headers, body) with no refresh. When the replay is rejected too, the
// error carries the recorded code, message, request ID and cause, and the
// key appears in no error text, formatted value, event or log line.
func TestCorpus(t *testing.T) {
	cases, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		configs := []string{""}
		if c.Matcher != "" {
			configs = append(configs, c.Matcher)
		}
		for _, m := range configs {
			want := c.Expect.Default
			name := c.Name() + "/default"
			if m != "" {
				want, name = c.Expect.Recognised, c.Name()+"/"+m
			}
			t.Run(name, func(t *testing.T) {
				if want {
					corpusRecovers(t, c, corpusMatcher(m))
					corpusStillRejected(t, c, corpusMatcher(m))
				} else {
					corpusPassesThrough(t, c, corpusMatcher(m))
				}
			})
		}
	}
}

// corpusTransport is a Transport that sends the key where c's API expects
// it: in Basic auth (as the password) for the APIs that take it there,
// else as Authorization: Bearer.
func corpusTransport(c corpus.Case, srv *corpusServer, m transport.Matcher, refreshes *atomic.Int64, events *[]transport.Event) *http.Client {
	var mu sync.Mutex
	var basic *transport.BasicAuth
	if strings.HasPrefix(c.KeyHeader, "Authorization: Basic") {
		basic = transport.BasicKeyAsPassword("api")
	}
	return &http.Client{Transport: &transport.Transport{
		Basic:       basic,
		Base:        srv.Client().Transport,
		Credentials: credentials.Static(oldKey),
		Refresh:     countingRefresh(newKey, refreshes),
		IsRejection: m,
		OnEvent: func(ev transport.Event) {
			mu.Lock()
			defer mu.Unlock()
			*events = append(*events, ev)
		},
	}}
}

func corpusRecovers(t *testing.T, c corpus.Case, m transport.Matcher) {
	srv := newCorpusServer(t, c, oldKey)
	var refreshes atomic.Int64
	var events []transport.Event
	resp, err := get(t, corpusTransport(c, srv, m, &refreshes, &events), srv.URL+"/v1/thing")
	if err != nil {
		t.Fatalf("not recovered: %v", err)
	}
	if got := readAll(t, resp); got != "recovered" || resp.StatusCode != 200 {
		t.Errorf("replay answered %d %q, want 200 recovered", resp.StatusCode, got)
	}
	if refreshes.Load() != 1 || srv.requests.Load() != 2 {
		t.Errorf("%d refreshes and %d requests, want 1 refresh and 2 requests (one replay)", refreshes.Load(), srv.requests.Load())
	}
	if len(events) != 2 || events[0].Kind != transport.EventKeyRejected || events[1].Kind != transport.EventReplayed {
		t.Fatalf("events %+v, want key rejected then replayed", events)
	}
	ev := events[0]
	if ev.StatusCode != c.Status || ev.RequestID != c.Expect.RequestID || ev.Cause.String() != c.Expect.Cause {
		t.Errorf("event status %d, request ID %q, cause %v; want %d, %q, %s", ev.StatusCode, ev.RequestID, ev.Cause, c.Status, c.Expect.RequestID, c.Expect.Cause)
	}
}

func corpusStillRejected(t *testing.T, c corpus.Case, m transport.Matcher) {
	srv := newCorpusServer(t, c, oldKey, newKey)
	var refreshes atomic.Int64
	var events []transport.Event
	resp, err := get(t, corpusTransport(c, srv, m, &refreshes, &events), srv.URL+"/v1/thing?api_key=q")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a rejected replay returned %d and no error", resp.StatusCode)
	}
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("error %v is not an invalid-key *rekey.APIError", err)
	}
	if apiErr.StatusCode != c.Status || apiErr.Code != c.Expect.Code || apiErr.Message != c.Expect.Message || apiErr.RequestID != c.Expect.RequestID {
		t.Errorf("decoded %d code %q message %q request ID %q\nwant    %d code %q message %q request ID %q",
			apiErr.StatusCode, apiErr.Code, apiErr.Message, apiErr.RequestID, c.Status, c.Expect.Code, c.Expect.Message, c.Expect.RequestID)
	}
	if apiErr.Cause.String() != c.Expect.Cause || !apiErr.Replayed || refreshes.Load() != 1 || srv.requests.Load() != 2 {
		t.Errorf("cause %v, replayed %v after %d refreshes and %d requests; want cause %s, replayed once",
			apiErr.Cause, apiErr.Replayed, refreshes.Load(), srv.requests.Load(), c.Expect.Cause)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, ev := range events {
		log.LogAttrs(context.Background(), slog.LevelWarn, ev.Kind.String(), slog.Any("event", ev), slog.String("cause", ev.Cause.String()))
	}
	log.Error("request failed", "err", err, "api_error", apiErr)
	texts := map[string]string{
		"Error()": err.Error(), "%v": fmt.Sprintf("%v", err), "%+v": fmt.Sprintf("%+v", apiErr),
		"%#v": fmt.Sprintf("%#v", apiErr), "%q": fmt.Sprintf("%q", err), "slog": logs.String(),
	}
	for form, text := range texts {
		for _, k := range []string{oldKey, newKey} {
			if strings.Contains(text, k) {
				t.Errorf("%s contains a key: %s", form, text)
			}
		}
	}
	if !strings.Contains(err.Error(), "refreshed once, still rejected") {
		t.Errorf("error %q does not say what happened", err)
	}
}

func corpusPassesThrough(t *testing.T, c corpus.Case, m transport.Matcher) {
	srv := newCorpusServer(t, c, oldKey)
	var refreshes atomic.Int64
	var events []transport.Event
	resp, err := get(t, corpusTransport(c, srv, m, &refreshes, &events), srv.URL+"/v1/thing")
	if err != nil {
		t.Fatalf("not passed through: %v", err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != c.Status || body != string(c.BodyFor(oldKey)) {
		t.Errorf("passed through as %d %q, want %d %q", resp.StatusCode, body, c.Status, c.BodyFor(oldKey))
	}
	for k, v := range c.Headers {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if refreshes.Load() != 0 || srv.requests.Load() != 1 || len(events) != 0 {
		t.Errorf("%d refreshes, %d requests, %d events; want none, one, none", refreshes.Load(), srv.requests.Load(), len(events))
	}
}
