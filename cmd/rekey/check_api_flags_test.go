package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestCheckAPIFlags: what --api needs and what it refuses, each with an
// error that says what to do, exit 2, and no request sent.
func TestCheckAPIFlags(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	t.Setenv("REKEY_CHECK_KEY", presetValidKey)
	key := []string{"--key-env", "REKEY_CHECK_KEY"}
	tests := []struct {
		name      string
		args      []string
		stderrHas string
	}{
		{"unknown API", []string{"--api", "opnai"}, `--api "opnai": no such API; run 'rekey check --list-apis'`},
		{"unknown API, a suggestion", []string{"--api", "strip"}, "did you mean stripe?"},
		{"unknown API, suggestions", []string{"--api", "github-rest"}, "did you mean github?"},
		{"--api and --url", []string{"--api", "openai", "--url", srv.URL}, "--api and --url conflict"},
		{"--api and --header", []string{"--api", "openai", "--header", "X-API-Key"}, "--api and --header conflict: --api openai knows the URL and where the key goes (Authorization: Bearer KEY)"},
		{"--api and --basic-password", []string{"--api", "stripe", "--basic-password", ""}, "--api and --basic-password conflict"},
		{"--basic-user where none is taken", []string{"--api", "openai", "--basic-user", "api"}, "--api openai takes no --basic-user: it sends the key as Authorization: Bearer KEY"},
		{"Twilio without its account SID", []string{"--api", "twilio"}, "--api twilio needs --basic-user: your account SID (AC...)"},
		{"Jira without its site", []string{"--api", "jira", "--basic-user", "you@example.com"}, "--api jira needs --base-url: your Jira site, such as https://SITE.atlassian.net"},
		{"--base-url without --api", []string{"--url", srv.URL, "--base-url", srv.URL}, "--base-url goes with --api"},
		{"relative --base-url", []string{"--api", "openai", "--base-url", "api.example.com"}, "want an absolute http or https URL"},
		{"--base-url with a query", []string{"--api", "openai", "--base-url", srv.URL + "/?key=x"}, "without user information, query or fragment"},
		{"--base-url with user information", []string{"--api", "openai", "--base-url", "https://user:secret@api.example.com"}, "without user information"},
		{"plain http to a remote --base-url", []string{"--api", "openai", "--base-url", "http://api.example.com"}, "plain http"},
		{"neither --url nor --api", nil, "--url is required, such as --url https://api.example.com/v1/me, unless --api names the API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append(append([]string{"check"}, key...), tt.args...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, stdout, stderr, tt.stderrHas)
			}
			assertNoKeys(t, stdout+stderr, presetValidKey, "secret")
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server; usage errors send none", n)
	}
}

// TestCheckAPIBasePathPrefix: --base-url may carry a path prefix, for a
// server installed below the root (Jira at https://example.com/jira); and
// --api ignores case.
func TestCheckAPIBasePathPrefix(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(presetWire["jira-server"].answer))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("REKEY_CHECK_KEY", presetValidKey)
	code, stdout, stderr := runCmd(t, "check", "--api", "Jira-Server", "--key-env", "REKEY_CHECK_KEY", "--base-url", srv.URL+"/jira/")
	if code != exitOK || stdout != "valid\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want valid", code, stdout, stderr)
	}
	if want := "GET /jira/rest/api/2/myself Bearer " + presetValidKey; got.Load() != want {
		t.Errorf("server saw %q, want %q", got.Load(), want)
	}
	if want := "GET " + srv.URL + "/jira/rest/api/2/myself answered 200 OK"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	assertNoKeys(t, stdout+stderr, presetValidKey)
}

// TestCheckListAPIs: --list-apis prints every preset with its request,
// where the key goes and what else it needs, and sends nothing.
func TestCheckListAPIs(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "--list-apis")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	for _, p := range apiPresets {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, p.Name+" ") {
				found = true
				request := p.method() + " " + p.Base + strings.ReplaceAll(p.Path, "{user}", "USER")
				if !strings.Contains(l, request) || !strings.Contains(l, p.placement()) {
					t.Errorf("line %q lacks %q or %q", l, request, p.placement())
				}
				if (p.NeedsBase != "") != strings.Contains(l, "--base-url") || (p.NeedsUser != "") != strings.Contains(l, "--basic-user") {
					t.Errorf("line %q: what else %s needs is wrong", l, p.Name)
				}
			}
		}
		if !found {
			t.Errorf("--list-apis lacks %s:\n%s", p.Name, stdout)
		}
	}
	for _, want := range []string{"openai  ", "GET https://api.openai.com/v1/models", "Authorization: Bearer KEY", "Basic api:KEY", "x-api-key: KEY", "?access_token=KEY"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--list-apis lacks %q", want)
		}
	}
}
