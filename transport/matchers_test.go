package transport_test

import (
	"bufio"

	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
	"github.com/rekeyhq/rekey/transport"
)

func TestMatchers(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	apigw := transport.StatusHeader(403, "X-Amzn-Errortype", "ForbiddenException")
	tests := []struct {
		name    string
		m       transport.Matcher
		status  int
		header  http.Header
		body    string
		want    bool
		readsIt bool // whether the matcher may read the body
	}{
		{"slack revoked", transport.Slack(), 200, jsonHeader, `{"ok":false,"error":"token_revoked"}`, true, true},
		{"slack expired", transport.Slack(), 200, jsonHeader, `{"ok":false,"error":"token_expired"}`, true, true},
		{"slack missing_scope", transport.Slack(), 200, jsonHeader, `{"ok":false,"error":"missing_scope","needed":"chat:write"}`, false, true},
		{"slack success", transport.Slack(), 200, jsonHeader, `{"ok":true,"error":"token_revoked"}`, false, true},
		{"slack without ok", transport.Slack(), 200, jsonHeader, `{"error":"token_revoked"}`, false, true},
		{"slack 401 via the default", transport.Slack(), 401, jsonHeader, `{}`, true, true},
		{"okfalse on a 4xx", transport.OKFalse("invalid_auth"), 400, jsonHeader, `{"ok":false,"error":"invalid_auth"}`, false, false},
		{"okfalse on an event stream", transport.OKFalse("invalid_auth"), 200, http.Header{"Content-Type": {"text/event-stream"}}, `{"ok":false,"error":"invalid_auth"}`, false, false},
		{"okfalse on html", transport.OKFalse("invalid_auth"), 200, http.Header{"Content-Type": {"text/html"}}, `{"ok":false,"error":"invalid_auth"}`, false, false},
		{"okfalse without a content type", transport.OKFalse("invalid_auth"), 200, http.Header{}, `{"ok":false,"error":"invalid_auth"}`, true, true},
		{"okfalse problem+json", transport.OKFalse("x"), 200, http.Header{"Content-Type": {"application/problem+json"}}, `{"ok":false,"error":"x"}`, true, true},
		{"okfalse broken json", transport.OKFalse("x"), 200, jsonHeader, `{"ok":false,"error":"x"`, false, true},
		{"okfalse without codes", transport.OKFalse(), 200, jsonHeader, `{"ok":false,"error":"x"}`, false, false},
		{"okfalse on a 299, the last 2xx", transport.OKFalse("x"), 299, jsonHeader, `{"ok":false,"error":"x"}`, true, true},
		{"okfalse on a 300", transport.OKFalse("x"), 300, jsonHeader, `{"ok":false,"error":"x"}`, false, false},
		{"api gateway forbidden", apigw, 403, http.Header{"X-Amzn-Errortype": {"ForbiddenException"}}, `{"message":"Forbidden"}`, true, false},
		{"api gateway wrong path", apigw, 403, http.Header{"X-Amzn-Errortype": {"MissingAuthenticationTokenException"}}, `{"message":"Missing Authentication Token"}`, false, false},
		{"api gateway other status", apigw, 400, http.Header{"X-Amzn-Errortype": {"ForbiddenException"}}, ``, false, false},
		{"header present, any value", transport.StatusHeader(403, "X-Reason", ""), 403, http.Header{"X-Reason": {"k"}}, ``, true, false},
		{"header absent, any value", transport.StatusHeader(403, "X-Reason", ""), 403, http.Header{}, ``, false, false},
		{"etcd one-liner", transport.StatusBody(400, "revision of auth store is old"), 400, jsonHeader, `{"error":"etcdserver: revision of auth store is old","code":3}`, true, true},
		{"status body, other status", transport.StatusBody(400, "revision of auth store is old"), 500, jsonHeader, `revision of auth store is old`, false, false},
		{"status body, other text", transport.StatusBody(400, "revision of auth store is old"), 400, jsonHeader, `{"error":"bad"}`, false, true},
		{"status body, empty text", transport.StatusBody(400, ""), 400, jsonHeader, `anything`, false, false},
		{"status body 200, event stream", transport.StatusBody(200, "expired"), 200, http.Header{"Content-Type": {"text/event-stream"}}, `data: expired`, false, false},
		{"status body 300, event stream: only a 2xx stream is left unread", transport.StatusBody(300, "expired"), 300, http.Header{"Content-Type": {"text/event-stream"}}, `data: expired`, true, true},
		{"any of none", transport.AnyOf(), 401, jsonHeader, ``, false, false},
		{"any of skips nil", transport.AnyOf(nil, transport.IsInvalidKeyRejection), 401, jsonHeader, ``, true, true},
		{"default: 400 says key invalid", transport.IsInvalidKeyRejection, 400, jsonHeader, `{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_EXPIRED"}]}}`, true, true},
		{"default: 400 about the payload", transport.IsInvalidKeyRejection, 400, jsonHeader, `{"error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, false, true},
		{"default: 200 never", transport.IsInvalidKeyRejection, 200, jsonHeader, `{"error":"Invalid API Key"}`, false, false},
		{"default: 429 never", transport.IsInvalidKeyRejection, 429, jsonHeader, `{"error":"Invalid API Key"}`, false, false},
		{"default: 401 with an empty body", transport.IsInvalidKeyRejection, 401, jsonHeader, ``, true, true},
		{"default: 401 about scope only", transport.IsInvalidKeyRejection, 401, jsonHeader, `{"error":"insufficient_scope","error_description":"The request requires higher privileges"}`, false, true},
		{"default: 401 scope in the challenge only", transport.IsInvalidKeyRejection, 401, http.Header{"Www-Authenticate": {`Bearer error="insufficient_scope"`}}, ``, false, true},
		{"default: 401 naming the key and other causes", transport.IsInvalidKeyRejection, 401, jsonHeader, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, true, true},
		{"default: 403 naming the key and permissions", transport.IsInvalidKeyRejection, 403, jsonHeader, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, false, true},
		{"default: 403 invalid token in the challenge", transport.IsInvalidKeyRejection, 403, http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, ``, true, true},
		{"graphql unauthenticated", transport.GraphQL(), 200, jsonHeader, `{"data":null,"errors":[{"message":"m","extensions":{"code":"UNAUTHENTICATED"}}]}`, true, true},
		{"graphql unauthenticated on a 299, the last 2xx", transport.GraphQL(), 299, jsonHeader, `{"data":null,"errors":[{"message":"m","extensions":{"code":"UNAUTHENTICATED"}}]}`, true, true},
		{"graphql unauthenticated, any case, not first", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"message":"a"},{"message":"b","extensions":{"code":"unauthenticated"}}]}`, true, true},
		{"graphql says the token expired", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"message":"Your access token has expired","extensions":{"code":"AUTH_ERROR"}}]}`, true, true},
		{"graphql forbidden", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"message":"Forbidden","extensions":{"code":"FORBIDDEN"}}]}`, false, true},
		{"graphql expired token lacking scope", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"message":"Token expired or missing scope"}]}`, false, true},
		{"graphql success", transport.GraphQL(), 200, jsonHeader, `{"data":{"viewer":{"login":"x"}}}`, false, true},
		{"graphql empty errors", transport.GraphQL(), 200, jsonHeader, `{"data":null,"errors":[]}`, false, true},
		{"graphql broken json", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}`, false, true},
		{"graphql non-string code", transport.GraphQL(), 200, jsonHeader, `{"errors":[{"message":"m","extensions":{"code":401}}]}`, false, true},
		{"graphql on html", transport.GraphQL(), 200, http.Header{"Content-Type": {"text/html"}}, `{"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}`, false, false},
		{"graphql on a 3xx", transport.GraphQL(), 304, jsonHeader, `{"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}`, false, false},
		{"graphql 401 via the default", transport.GraphQL(), 401, jsonHeader, `{"errors":[{"message":"Unauthorized"}]}`, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads := 0
			body := func() []byte { reads++; return []byte(tt.body) }
			resp := &http.Response{StatusCode: tt.status, Header: tt.header}
			if got := tt.m(resp, body); got != tt.want {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
			if reads > 0 && !tt.readsIt {
				t.Errorf("read the body, which this response does not need")
			}
		})
	}
}

// TestAnyOfReadsTheBodyOnce: the matchers combined share one bounded read.
func TestAnyOfReadsTheBodyOnce(t *testing.T) {
	var read atomic.Int64
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: &meteredBody{ReadCloser: io.NopCloser(strings.NewReader(`{"ok":true,"padding":"` + strings.Repeat("p", 1000) + `"}`)), n: &read}, Request: r}, nil
	})
	tr := &transport.Transport{Base: base, Credentials: credentials.Static(oldKey), MaxErrorBody: 100,
		IsRejection: transport.AnyOf(transport.OKFalse("a"), transport.OKFalse("b"), transport.StatusBody(200, "zzz"))}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if read.Load() != 100 {
		t.Errorf("the matchers read %d bytes, want one read bounded at MaxErrorBody (100)", read.Load())
	}
	got, _ := io.ReadAll(testwait.Progressing(resp.Body))
	resp.Body.Close()
	if !strings.HasSuffix(string(got), `"}`) || len(got) != len(`{"ok":true,"padding":""}`)+1000 {
		t.Errorf("body not restored whole: %d bytes", len(got))
	}
}

// TestDefaultMatcherLeavesSuccessBodiesAlone: with the default matcher a
// 2xx or 3xx body is not read at all, so a stream starts flowing at once.
func TestDefaultMatcherLeavesSuccessBodiesAlone(t *testing.T) {
	for _, status := range []int{200, 204, 206, 301, 304} {
		var read atomic.Int64
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{}, Request: r,
				Body: &meteredBody{ReadCloser: io.NopCloser(strings.NewReader(`{"error":"Invalid API Key"}`)), n: &read}}, nil
		})
		tr := &transport.Transport{Base: base, Credentials: credentials.Static(oldKey)}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if read.Load() != 0 {
			t.Errorf("%d: the transport read %d bytes of the body", status, read.Load())
		}
		resp.Body.Close()
	}
}

// TestPeekedStreamIsRestored: a matcher that peeks at a 2xx event stream
// gets its first MaxErrorBody bytes as soon as they arrive, without waiting
// for the rest, and the caller then reads the whole stream, byte for byte.
func TestPeekedStreamIsRestored(t *testing.T) {
	chunks := []string{"data: {\"delta\":\"one\"}\n\n", "data: {\"delta\":\"two\"}\n\n", "data: [DONE]\n\n"}
	more := make(chan struct{})
	srv := newAPI(t)
	sendRest := sync.OnceFunc(func() { close(more) })
	t.Cleanup(sendRest) // before the server's Close, which waits for this handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunks[0])
		w.(http.Flusher).Flush()
		<-more // the rest only once the caller has the response
		for _, c := range chunks[1:] {
			io.WriteString(w, c)
			w.(http.Flusher).Flush()
		}
	})
	var peeked []byte
	tr := &transport.Transport{
		Credentials:  credentials.Static(oldKey),
		MaxErrorBody: int64(len(chunks[0])),
		IsRejection: func(resp *http.Response, body func() []byte) bool {
			peeked = append([]byte(nil), body()...)
			return false
		},
	}
	resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
	sendRest()
	if err != nil {
		t.Fatal(err)
	}
	if string(peeked) != chunks[0] {
		t.Errorf("peeked %q, want the first chunk %q", peeked, chunks[0])
	}
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			events = append(events, line)
		}
	}
	resp.Body.Close()
	if want := []string{`data: {"delta":"one"}`, `data: {"delta":"two"}`, `data: [DONE]`}; fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("stream read as %q, want %q", events, want)
	}
}

// TestSlackRecoversEndToEnd: Slack's 200 {"ok":false,"error":"token_revoked"}
// triggers a refresh and a replay with transport.Slack, and nothing without it.
func TestSlackRecoversEndToEnd(t *testing.T) {
	srv := newAPI(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Header.Get("Authorization") != "Bearer "+newKey {
			io.WriteString(w, `{"ok":false,"error":"token_revoked"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C1"}`)
	})
	for _, tt := range []struct {
		name      string
		m         transport.Matcher
		body      string
		refreshes int64
	}{
		{"default passes it through", nil, `{"ok":false,"error":"token_revoked"}`, 0},
		{"slack matcher recovers", transport.Slack(), `{"ok":true,"channel":"C1"}`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var refreshes atomic.Int64
			tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, &refreshes), IsRejection: tt.m}
			resp, err := get(t, &http.Client{Transport: tr}, srv.URL+"/api/chat.postMessage")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != tt.body || refreshes.Load() != tt.refreshes {
				t.Errorf("got %q after %d refreshes, want %q after %d", got, refreshes.Load(), tt.body, tt.refreshes)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDefaultMatcherAllocatesNothingOnSuccess: the default costs a status
// comparison on a 2xx or 3xx, with no body read and no allocation.
func TestDefaultMatcherAllocatesNothingOnSuccess(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}}
	body := func() []byte { panic("the default read a 2xx body") }
	if n := testing.AllocsPerRun(100, func() { transport.IsInvalidKeyRejection(resp, body) }); n != 0 {
		t.Errorf("IsInvalidKeyRejection allocates %v times on a 200", n)
	}
}
