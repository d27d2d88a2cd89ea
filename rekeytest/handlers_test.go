package rekeytest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestKeyPlacements(t *testing.T) {
	srv := newServer(t)
	good := srv.IssueKey().Key
	revoked := srv.IssueKey().Key
	srv.Revoke(revoked)
	for _, tc := range []struct {
		name  string
		place placement
	}{
		{"Authorization: Bearer", bearer},
		{"Authorization: bearer (any case)", func(r *http.Request, k string) { r.Header.Set("Authorization", "BEARER "+k) }},
		{"X-API-Key", apiKeyHeader},
		{"api_key query parameter", queryParam},
		{"Basic auth, key as the password", func(r *http.Request, k string) { r.SetBasicAuth("api", k) }},
		{"Basic auth, key as the user", func(r *http.Request, k string) { r.SetBasicAuth(k, "") }},
		{"Basic auth, key as the user, fixed password", func(r *http.Request, k string) { r.SetBasicAuth(k, "X") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := send(t, srv, "GET", "/v1/echo", tc.place, good, ""); a.status != http.StatusOK {
				t.Errorf("valid key: %d %s", a.status, a.body)
			}
			wantRejection(t, send(t, srv, "GET", "/v1/echo", tc.place, revoked, ""))
		})
	}
}

func TestEveryBadKeyGetsTheExactRejection(t *testing.T) {
	clk := newClock()
	srv := newServer(t, rekeytest.WithKeyTTL(time.Minute), rekeytest.WithClock(clk.now))
	expired := srv.IssueKey().Key
	clk.advance(time.Minute)
	revoked := srv.IssueKey().Key
	srv.Revoke(revoked)
	live := srv.IssueKey().Key
	cases := []struct {
		name  string
		place placement
		key   string
	}{
		{"no key", nil, ""},
		{"empty bearer", bearer, ""},
		{"unknown key", bearer, "rk_test_00000000000000000000000000000000"},
		{"key in quotes", bearer, `"` + live + `"`},
		{"key with a Bearer prefix pasted in", apiKeyHeader, "Bearer " + live},
		{"truncated key", apiKeyHeader, live[:len(live)-1]},
		{"the account secret", bearer, srv.AccountSecret()},
		{"expired key", bearer, expired},
		{"revoked key", queryParam, revoked},
		{"valid key under another scheme", func(r *http.Request, k string) { r.Header.Set("Authorization", "Token "+k) }, live},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, srv, "GET", "/v1/echo", tc.place, tc.key, "")
			wantRejection(t, a)
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
			}
		})
	}
	// Every endpoint but /v1/keys is protected, including unknown paths.
	for _, path := range []string{"/v1/key", "/v1/forbidden", "/v1/nowhere", "/"} {
		wantRejection(t, send(t, srv, "GET", path, nil, "", ""))
	}
	if got, want := srv.Stats().Rejections, int64(len(cases)+4); got != want {
		t.Errorf("Rejections = %d, want %d", got, want)
	}
}

func TestEchoGET(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	a := send(t, srv, "GET", "/v1/echo?b=2&a=1&a=3", queryParam, key, "")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	if bytes.Contains(a.body, []byte(key)) {
		t.Fatal("the echo contains the key")
	}
	var got echoAnswer
	a.json(t, &got)
	if got.Method != "GET" || got.Path != "/v1/echo" || got.Body != nil {
		t.Errorf("echo = %+v", got)
	}
	if got.Query.Has("api_key") || got.Query.Get("b") != "2" || strings.Join(got.Query["a"], ",") != "1,3" {
		t.Errorf("query = %v, want a=[1 3], b=[2], no api_key", got.Query)
	}
}

func TestEchoReturnsAndRecordsTheBodyExactlyAsSent(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	bodies := []struct{ method, body string }{
		{"POST", `{"n":1}`},
		{"PUT", "{ \"spaced\" : [1, 2 ,3],\n \"html\": \"<a&b>\", \"u\": \"\u00e9\\u00e9\" }"},
		{"POST", `[]`},
		{"POST", `"just a string"`},
		{"POST", ``}, // empty: echoed as null, recorded as empty
	}
	for _, b := range bodies {
		a := send(t, srv, b.method, "/v1/echo", bearer, key, b.body)
		if a.status != http.StatusOK {
			t.Fatalf("%s %q: %d %s", b.method, b.body, a.status, a.body)
		}
		var got echoAnswer
		a.json(t, &got)
		want := b.body
		if want == "" {
			want = "null"
		}
		if got.Method != b.method || string(got.Body) != want {
			t.Errorf("%s echoed %s %s, want the body byte for byte: %s", b.method, got.Method, got.Body, want)
		}
	}
	// Rejected and invalid bodies are not recorded.
	wantRejection(t, send(t, srv, "POST", "/v1/echo", bearer, "rk_test_notakeynotakeynotakey000000", `{"lost":true}`))
	if a := send(t, srv, "POST", "/v1/echo", bearer, key, `{"broken":`); a.status != http.StatusBadRequest {
		t.Errorf("invalid JSON: %d %s, want 400", a.status, a.body)
	}
	got := srv.Bodies()
	if len(got) != len(bodies) {
		t.Fatalf("Bodies() has %d bodies, want %d", len(got), len(bodies))
	}
	for i, b := range bodies {
		if string(got[i]) != b.body {
			t.Errorf("Bodies()[%d] = %q, want %q", i, got[i], b.body)
		}
	}
	got[0][0] = 'X' // a copy: the server's record is untouched
	if srv.Bodies()[0][0] != '{' {
		t.Error("Bodies returned the server's own slices")
	}
}

func TestEchoBodyLimit(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	big := `"` + strings.Repeat("x", 1<<20) + `"`
	if a := send(t, srv, "POST", "/v1/echo", bearer, key, big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d %s, want 413", a.status, a.body)
	}
	if len(srv.Bodies()) != 0 {
		t.Error("an oversized body was recorded")
	}
}

func TestForbiddenIsAPermissionProblemNotAKeyProblem(t *testing.T) {
	srv := newServer(t)
	a := send(t, srv, "GET", "/v1/forbidden", apiKeyHeader, srv.IssueKey().Key, "")
	var e struct{ Error, Message string }
	a.json(t, &e)
	if a.status != http.StatusForbidden || e.Error != "Forbidden" || e.Message != "This key lacks the admin scope." {
		t.Errorf("%d %s", a.status, a.body)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Rejections != 0 {
		t.Errorf("Accepted %d, Rejections %d; want 1, 0 (the key was fine)", st.Accepted, st.Rejections)
	}
}

func TestKeyStatus(t *testing.T) {
	clk := newClock()
	for _, tc := range []struct {
		name string
		opts []rekeytest.Option
	}{
		{"with TTL", []rekeytest.Option{rekeytest.WithKeyTTL(90 * time.Minute), rekeytest.WithClock(clk.now)}},
		{"without TTL", []rekeytest.Option{rekeytest.WithClock(clk.now)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts...)
			cred := srv.IssueKey()
			a := send(t, srv, "GET", "/v1/key", bearer, cred.Key, "")
			var got struct {
				Valid       bool      `json:"valid"`
				RedactedKey string    `json:"redacted_key"`
				IssuedAt    time.Time `json:"issued_at"`
				ExpiresAt   time.Time `json:"expires_at"` // null decodes to zero
			}
			a.json(t, &got)
			if a.status != http.StatusOK || !got.Valid || got.RedactedKey != credentials.Redact(cred.Key) ||
				!got.IssuedAt.Equal(clk.now()) || !got.ExpiresAt.Equal(cred.Expiry) {
				t.Errorf("%d %s; want valid, %s, issued %v, expires %v", a.status, a.body,
					credentials.Redact(cred.Key), clk.now(), cred.Expiry)
			}
		})
	}
}

func TestMethodsAndPaths(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"DELETE", "/v1/echo", http.StatusMethodNotAllowed, "GET, POST, PUT"},
		{"POST", "/v1/key", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v1/nowhere", http.StatusNotFound, ""},
	} {
		a := send(t, srv, tc.method, tc.path, bearer, key, "")
		var e struct{ Error string }
		a.json(t, &e) // JSON even here
		if a.status != tc.want || a.header.Get("Allow") != tc.allow || e.Error == "" {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q", tc.method, tc.path, a.status, a.header.Get("Allow"), a.body, tc.want, tc.allow)
		}
	}
	a := send(t, srv, "GET", "/v1/keys", bearer, srv.AccountSecret(), "")
	if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/keys: %d Allow %q", a.status, a.header.Get("Allow"))
	}
}

func TestEveryResponseCarriesAUniqueRequestID(t *testing.T) {
	srv := newServer(t)
	key := srv.IssueKey().Key
	var answers []answer
	answers = append(answers,
		send(t, srv, "GET", "/v1/echo", bearer, key, ""),
		send(t, srv, "POST", "/v1/echo", bearer, key, "{}"),
		send(t, srv, "GET", "/v1/echo", nil, "", ""),
		send(t, srv, "GET", "/v1/forbidden", bearer, key, ""),
		send(t, srv, "GET", "/v1/nowhere", bearer, key, ""),
		send(t, srv, "POST", "/v1/keys", bearer, srv.AccountSecret(), ""),
		send(t, srv, "POST", "/v1/keys", nil, "", ""),
	)
	srv.FailNext(1, http.StatusServiceUnavailable, 0)
	answers = append(answers, send(t, srv, "GET", "/v1/echo", bearer, key, ""))
	seen := make(map[string]bool)
	for i, a := range answers {
		id := a.header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Errorf("answer %d (%d): X-Request-Id %q is missing or repeated", i, a.status, id)
		}
		seen[id] = true
	}
}
