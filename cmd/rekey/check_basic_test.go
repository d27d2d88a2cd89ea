package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// basicAPI is an API that takes the key only in HTTP Basic auth: as the
// password of user "api" (Mailgun) on /mailgun, as the user name with an
// empty password (Stripe) on /stripe. It answers a wrong key with
// Mailgun's documented 401 (internal/apierr/testdata/rejections).
func basicAPI(t *testing.T, valid string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		user, password, ok := r.BasicAuth()
		accepted := ok && (r.URL.Path == "/mailgun" && user == "api" && password == valid ||
			r.URL.Path == "/stripe" && user == valid && password == "")
		w.Header().Set("Content-Type", "application/json")
		if !accepted {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Invalid private key"}`)
			return
		}
		io.WriteString(w, `{"items": []}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestCheckBasicAuth(t *testing.T) {
	const valid = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	const revoked = "key-0000000000000000000000000000dead"
	srv, requests := basicAPI(t, valid)
	preEncoded := base64.StdEncoding.EncodeToString([]byte("api:" + valid))
	tests := []struct {
		name      string
		key       string
		args      []string
		code      int
		stdout    string
		stderrHas string
		requests  int64
	}{
		{"key as the password", valid, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api"}, 0, "valid\n", "200 OK", 1},
		{"revoked key as the password", revoked, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api"}, 1, "invalid: Invalid private key\n", "cause: invalid", 1},
		{"key as the user, empty password", valid, []string{"--url", srv.URL + "/stripe", "--basic-password", ""}, 0, "valid\n", "200 OK", 1},
		{"Bearer where Basic is needed", valid, []string{"--url", srv.URL + "/mailgun"}, 1, "invalid: Invalid private key\n", "401", 1},
		{"colon in a key sent as the user", "sk_test_abc:defghijklmnop", []string{"--url", srv.URL + "/stripe", "--basic-password", ""}, 2, "", "colon", 0},
		{"pair encoded by hand", preEncoded, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api"}, 2, "", "already a base64-encoded", 0},
		{"both Basic flags", valid, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api", "--basic-password", "X"}, 2, "", "--basic-user and --basic-password conflict", 0},
		{"Basic and a header", valid, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api", "--header", "X-API-Key"}, 2, "", "--header and --basic-user conflict", 0},
		{"colon in the user", valid, []string{"--url", srv.URL + "/mailgun", "--basic-user", "api:x"}, 2, "", "contains a colon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			t.Setenv("REKEY_CHECK_KEY", tt.key)
			code, stdout, stderr := runCmd(t, append([]string{"check", "--key-env", "REKEY_CHECK_KEY"}, tt.args...)...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderrHas)
			}
			if got := requests.Load(); got != tt.requests {
				t.Errorf("%d requests reached the API, want %d", got, tt.requests)
			}
			for _, k := range []string{valid, revoked, tt.key} {
				for _, form := range []string{k, base64.StdEncoding.EncodeToString([]byte("api:" + k)), base64.StdEncoding.EncodeToString([]byte(k + ":"))} {
					assertNoKeys(t, stdout+stderr, strings.TrimRight(form, "="))
				}
			}
		})
	}
}
