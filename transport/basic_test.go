package transport_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// basicForms lists every form in which a key sent in Basic auth could show:
// the key, the encoded pair (with and without padding) and the decoded pair.
func basicForms(b *transport.BasicAuth, key string) []string {
	pair := b.User + ":" + key
	if b.KeyAsUser {
		pair = key + ":" + b.Password
	}
	enc := base64.StdEncoding.EncodeToString([]byte(pair))
	return []string{key, pair, enc, strings.TrimRight(enc, "=")}
}

// basicAPI accepts the keys in valid presented in Basic auth the way b
// sends them (the key in the right half, the other half as b says), and
// rejects every other request with a 401 that quotes back what it got: the
// header, the encoded pair without padding, the decoded pair and the user
// name, as a careless server might.
type basicAPI struct {
	*httptest.Server
	b        *transport.BasicAuth
	requests atomic.Int64
	mu       sync.Mutex
	valid    map[string]bool
	headers  []string // every Authorization header received
}

func newBasicAPI(t *testing.T, b *transport.BasicAuth, valid ...string) *basicAPI {
	t.Helper()
	a := &basicAPI{b: b, valid: map[string]bool{}}
	for _, k := range valid {
		a.valid[k] = true
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *basicAPI) serve(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	io.Copy(io.Discard, r.Body)
	header := r.Header.Get("Authorization")
	user, password, ok := r.BasicAuth()
	key, fixedOK := password, user == a.b.User
	if a.b.KeyAsUser {
		key, fixedOK = user, password == a.b.Password
	}
	a.mu.Lock()
	a.headers = append(a.headers, header)
	accepted := ok && fixedOK && a.valid[key]
	a.mu.Unlock()
	if accepted {
		io.WriteString(w, "ok")
		return
	}
	enc := strings.TrimPrefix(header, "Basic ")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d %s", n, strings.TrimRight(enc, "=")))
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `{"error": %q, "message": "Invalid credentials for user %s (%s:%s), key %s"}`,
		header, user, user, password, strings.TrimRight(enc, "="))
}

func (a *basicAPI) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.headers...)
}

// basicModes are the two forms of Basic auth, with the APIs that use them.
var basicModes = []struct {
	name string
	b    func() *transport.BasicAuth
}{
	{"key as password, Mailgun", func() *transport.BasicAuth { return transport.BasicKeyAsPassword("api") }},
	{"key as password, Atlassian email", func() *transport.BasicAuth { return transport.BasicKeyAsPassword("jane@example.com") }},
	{"key as user, Stripe", func() *transport.BasicAuth { return transport.BasicKeyAsUser("") }},
	{"key as user, Freshdesk", func() *transport.BasicAuth { return transport.BasicKeyAsUser("X") }},
}

// TestBasicAuthHeader: the header is exactly RFC 7617's
// "Basic base64(user:password)", with the key in the half the mode says;
// it replaces the caller's own Authorization and leaves the request alone.
func TestBasicAuthHeader(t *testing.T) {
	for _, mode := range basicModes {
		t.Run(mode.name, func(t *testing.T) {
			b := mode.b()
			api := newBasicAPI(t, b, oldKey)
			client := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(oldKey), Basic: b}}
			req, _ := http.NewRequest(http.MethodGet, api.URL+"/v3/domains", nil)
			req.Header.Set("Authorization", "Basic c2V0LWJ5LXJla2V5OnBsYWNlaG9sZGVy") // an SDK's own, replaced
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("answered %d %q; want the key accepted in Basic auth", resp.StatusCode, body)
			}
			want := "Basic " + basicForms(b, oldKey)[2]
			if got := api.seen(); len(got) != 1 || got[0] != want {
				t.Errorf("Authorization = %q, want exactly [%q]", got, want)
			}
			if req.Header.Get("Authorization") != "Basic c2V0LWJ5LXJla2V5OnBsYWNlaG9sZGVy" || len(req.Header) != 1 {
				t.Errorf("caller's request modified: %v", req.Header)
			}
		})
	}
}

// TestBasicAuthRecovery: a rejected key in Basic auth is recognised as in
// any other placement, refreshed once and the request replayed with the new
// key, encoded anew. When the replay is rejected too, nothing the caller
// can print (the error in every verb, the events, a log of both) shows the
// key or its encoded pair, though the server quoted them all back; the user
// name it echoed may stay.
func TestBasicAuthRecovery(t *testing.T) {
	for _, mode := range basicModes {
		t.Run(mode.name, func(t *testing.T) {
			b := mode.b()
			api := newBasicAPI(t, b, newKey)
			var refreshes atomic.Int64
			client := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, &refreshes), Basic: b}}
			resp, err := get(t, client, api.URL+"/v1/thing")
			if err != nil {
				t.Fatalf("not recovered: %v", err)
			}
			resp.Body.Close()
			if api.requests.Load() != 2 || refreshes.Load() != 1 {
				t.Errorf("%d requests, %d refreshes; want 2 and 1", api.requests.Load(), refreshes.Load())
			}
			if got := api.seen(); len(got) != 2 || got[1] != "Basic "+basicForms(b, newKey)[2] {
				t.Errorf("headers %q; want the replay to carry the new key", got)
			}
		})
		t.Run(mode.name+"/still rejected", func(t *testing.T) {
			b := mode.b()
			api := newBasicAPI(t, b) // accepts nothing
			var mu sync.Mutex
			var events []transport.Event
			tr := &transport.Transport{
				Credentials: credentials.Static(oldKey), Refresh: fixedKey(newKey), Basic: b,
				OnEvent: func(ev transport.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() },
			}
			_, err := get(t, &http.Client{Transport: tr}, api.URL+"/v1/thing")
			var apiErr *rekey.APIError
			if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) || !apiErr.Replayed {
				t.Fatalf("err = %v; want the replay's rejection", err)
			}
			if api.requests.Load() != 2 {
				t.Errorf("%d requests, want 2", api.requests.Load())
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			mu.Lock()
			for _, ev := range events {
				log.Warn(ev.Kind.String(), "event", ev)
			}
			mu.Unlock()
			log.Error("failed", "err", err, "api_error", apiErr, "transport", tr)
			texts := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", apiErr), fmt.Sprintf("%#v", apiErr),
				fmt.Sprintf("%q", err), fmt.Sprintf("%v %+v %#v %s", tr, tr, tr, tr), logs.String()}
			for _, k := range []string{oldKey, newKey} {
				for _, form := range basicForms(b, k) {
					for _, text := range texts {
						if strings.Contains(text, form) {
							t.Errorf("%q shows up in: %s", form, text)
						}
					}
				}
			}
			if !b.KeyAsUser && !strings.Contains(apiErr.Message, "user "+b.User) {
				t.Errorf("message %q lost the user name the server echoed; only the key is secret", apiErr.Message)
			}
		})
	}
}

// TestBasicAuthLocalValidation: a key that cannot go where Basic auth puts
// it fails before anything is sent, with an error that says why and never
// shows the key; a refreshed key that cannot go there fails the recovery
// instead of being sent.
func TestBasicAuthLocalValidation(t *testing.T) {
	const colonKey = "rk_test_ABCDEF:GHIJKLMNOP0001"
	preEncoded := base64.StdEncoding.EncodeToString([]byte("api:" + oldKey))
	tests := []struct {
		name    string
		b       *transport.BasicAuth
		key     string
		wantErr string // "" means sent
	}{
		{"colon in a key sent as the user", transport.BasicKeyAsUser(""), colonKey, "colon at byte 15"},
		{"colon in a key sent as the password is fine (RFC 7617)", transport.BasicKeyAsPassword("api"), colonKey, ""},
		{"pair pasted as the password", transport.BasicKeyAsPassword("api"), "api:" + oldKey, "starts with the user name and a colon"},
		{"pair encoded by hand, as the password", transport.BasicKeyAsPassword("api"), preEncoded, "already a base64-encoded"},
		{"pair encoded by hand, as the user", transport.BasicKeyAsUser(""), base64.StdEncoding.EncodeToString([]byte(oldKey + ":")), "already a base64-encoded"},
		{"scheme pasted in", transport.BasicKeyAsPassword("api"), "Basic " + preEncoded, `"Basic" scheme`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newBasicAPI(t, tt.b, tt.key)
			tr := &transport.Transport{Credentials: credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
				return credentials.Credential{Key: tt.key}, nil // ProviderFunc runs credentials.Validate: only the scheme fails it
			}), Basic: tt.b}
			resp, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v; want the key sent", err)
				}
				resp.Body.Close()
				if api.requests.Load() != 1 {
					t.Errorf("%d requests, want 1", api.requests.Load())
				}
				return
			}
			var credErr *transport.CredentialError
			if !errors.Is(err, rekey.ErrMalformedKey) || !errors.As(err, &credErr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want a CredentialError matching ErrMalformedKey that says %q", err, tt.wantErr)
			}
			if api.requests.Load() != 0 {
				t.Errorf("%d requests sent with a key Basic auth cannot carry", api.requests.Load())
			}
			for _, form := range basicForms(tt.b, tt.key) {
				if strings.Contains(err.Error(), form) {
					t.Errorf("error shows %q: %v", form, err)
				}
			}
		})
	}

	t.Run("refreshed key with a colon, as the user", func(t *testing.T) {
		b := transport.BasicKeyAsUser("")
		api := newBasicAPI(t, b)
		var refreshes atomic.Int64
		tr := &transport.Transport{Credentials: credentials.Static(oldKey), Refresh: countingRefresh(colonKey, &refreshes), Basic: b}
		_, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
		if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, rekey.ErrRefreshFailed) || !errors.Is(err, rekey.ErrMalformedKey) {
			t.Fatalf("err = %v; want the rejection, a failed refresh and the malformed key", err)
		}
		if api.requests.Load() != 1 || refreshes.Load() != 1 {
			t.Errorf("%d requests, %d refreshes; want 1 and 1 (no replay with the unusable key)", api.requests.Load(), refreshes.Load())
		}
	})
}

// TestBasicAuthConfiguration: a Basic setting that cannot work fails every
// request with an error saying what to change; nothing is sent.
func TestBasicAuthConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		tr      *transport.Transport
		wantErr string
	}{
		{"with Query", &transport.Transport{Basic: transport.BasicKeyAsUser(""), Query: "api_key"}, "both Basic and Query"},
		{"with another header", &transport.Transport{Basic: transport.BasicKeyAsUser(""), Header: "X-API-Key"}, `Header "X-API-Key"`},
		{"with a scheme", &transport.Transport{Basic: transport.BasicKeyAsUser(""), Scheme: "Bearer"}, "both Basic and a Scheme"},
		{"colon in the user", &transport.Transport{Basic: transport.BasicKeyAsPassword("api:x")}, "contains a colon"},
		{"control character in the user", &transport.Transport{Basic: transport.BasicKeyAsPassword("api\n")}, "control character"},
		{"control character in the password", &transport.Transport{Basic: transport.BasicKeyAsUser("X\r")}, "Password contains a control character"},
		{"user and the key as user", &transport.Transport{Basic: &transport.BasicAuth{User: "api", KeyAsUser: true}}, "KeyAsUser and a User"},
		{"password and the key as password", &transport.Transport{Basic: &transport.BasicAuth{User: "api", Password: "X"}}, "set KeyAsUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newBasicAPI(t, transport.BasicKeyAsUser(""), oldKey)
			tr := tt.tr
			tr.Credentials = credentials.Static(oldKey)
			_, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want one that says %q", err, tt.wantErr)
			}
			if api.requests.Load() != 0 {
				t.Errorf("%d requests sent", api.requests.Load())
			}
		})
	}
	// Authorization, in any case, is where Basic auth goes anyway.
	api := newBasicAPI(t, transport.BasicKeyAsUser(""), oldKey)
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Basic: transport.BasicKeyAsUser(""), Header: "authorization"}
	resp, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
	if err != nil {
		t.Fatalf("Header authorization with Basic: %v", err)
	}
	resp.Body.Close()
}

// TestBasicAuthNeverPrinted: no verb shows a BasicAuth's fixed password, or
// a Transport's key or encoded pair once it has sent them.
func TestBasicAuthNeverPrinted(t *testing.T) {
	b := transport.BasicKeyAsUser("fixed-password-123")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, b); strings.Contains(s, "fixed-password-123") || !strings.Contains(s, "KeyAsUser") {
			t.Errorf("%s of BasicAuth = %s", verb, s)
		}
	}
	if s := fmt.Sprint(transport.BasicKeyAsPassword("api")); s != `transport.BasicAuth{User: "api"}` {
		t.Errorf("BasicAuth prints as %s", s)
	}
	for _, mode := range basicModes {
		api := newBasicAPI(t, mode.b(), oldKey)
		tr := &transport.Transport{Credentials: credentials.Static(oldKey), Basic: mode.b()}
		resp, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			s := fmt.Sprintf(verb, tr)
			for _, form := range basicForms(mode.b(), oldKey) {
				if strings.Contains(s, form) {
					t.Errorf("%s of a Transport shows %q: %s", verb, form, s)
				}
			}
		}
	}
}

// TestBasicAuthWithExec: a key from credentials.Exec goes out in Basic auth;
// after a rejection the command runs again, is told the rejected key in its
// redacted form only, and its new key is sent, encoded anew.
func TestBasicAuthWithExec(t *testing.T) {
	dir := t.TempDir()
	keyFile, told := filepath.Join(dir, "key"), filepath.Join(dir, "told")
	if err := os.WriteFile(keyFile, []byte(oldKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "key.sh")
	body := "#!/bin/sh\nprintf '%s|%s\\n' \"$REKEY_REASON\" \"$REKEY_REJECTED_KEY_REDACTED\" >> \"$2\"\ncat \"$1\"\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	b := transport.BasicKeyAsPassword("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") // a Twilio account SID
	api := newBasicAPI(t, b, oldKey)
	tr := &transport.Transport{Credentials: credentials.Exec(script, keyFile, told), Basic: b}
	t.Cleanup(func() { tr.Close() })
	client := &http.Client{Transport: tr}
	resp, err := get(t, client, api.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The key is rotated at its source and revoked at the API.
	if err := os.WriteFile(keyFile, []byte(newKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	api.valid = map[string]bool{newKey: true}
	api.mu.Unlock()
	resp, err = get(t, client, api.URL+"/")
	if err != nil {
		t.Fatalf("not recovered: %v", err)
	}
	resp.Body.Close()
	if got := api.seen(); len(got) != 3 || got[2] != "Basic "+basicForms(b, newKey)[2] {
		t.Errorf("headers %q; want the third to carry the command's new key", got)
	}
	out, err := os.ReadFile(told)
	if err != nil {
		t.Fatal(err)
	}
	if want := "initial|\nrejected|" + credentials.Redact(oldKey) + "\n"; string(out) != want {
		t.Errorf("the command was told %q, want %q", out, want)
	}
}

// TestBasicAuthGuards: the host guards hold for Basic auth as for any
// placement: no key to a host not in Hosts (the request goes without
// Authorization), none over plain http to a host that is not loopback
// (refused before dialling). The redirect guard is in
// TestRedirectCarriesKeyOnlyToTheSameHost.
func TestBasicAuthGuards(t *testing.T) {
	b := transport.BasicKeyAsPassword("api")
	api := newBasicAPI(t, b, oldKey)
	tr := &transport.Transport{Credentials: credentials.Static(oldKey), Basic: b, Hosts: []string{"api.mailgun.net"}}
	resp, err := get(t, &http.Client{Transport: tr}, api.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := api.seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("a host not in Hosts got Authorization %q", got)
	}

	var dials atomic.Int64
	base := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("test network: no route")
	}}
	tr = &transport.Transport{Base: base, Credentials: credentials.Static(oldKey), Basic: b}
	_, err = get(t, &http.Client{Transport: tr}, "http://api.mailgun.net/v3/domains")
	if !errors.Is(err, rekey.ErrInsecureRequest) || dials.Load() != 0 {
		t.Errorf("plain http: err = %v after %d dials; want ErrInsecureRequest before any", err, dials.Load())
	}
}

// BenchmarkTransportBasic is BenchmarkTransport's happy path with the key in
// Basic auth: the header is encoded once per key, so a request costs what
// a Bearer one does.
func BenchmarkTransportBasic(b *testing.B) {
	key := "rk_live_" + strings.Repeat("k", 32)
	runTransport(b, &transport.Transport{Base: newMemoryBase(), Credentials: credentials.Static(key), Basic: transport.BasicKeyAsPassword("api")})
}
