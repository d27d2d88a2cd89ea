package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// meteredBase wraps a real transport and counts the response bytes read.
type meteredBase struct {
	base http.RoundTripper
	read atomic.Int64
}

func (m *meteredBase) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.base.RoundTrip(r)
	if err == nil {
		resp.Body = &meteredBody{ReadCloser: resp.Body, n: &m.read}
	}
	return resp, err
}

type meteredBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestRejectionBodies(t *testing.T) {
	huge := strings.Repeat("A", 8<<20)
	tests := []struct {
		name        string
		body        string
		contentType string
		wantCode    string
		wantMessage string
	}{
		{"seed JSON", seedBody, "application/json", "Invalid API Key", "The API key provided is not valid or has expired."},
		{"nested error object", `{"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}`, "application/json", "invalid_api_key", "Incorrect API key provided."},
		{"oauth style", `{"error": "invalid_token", "error_description": "The access token expired"}`, "application/json", "invalid_token", "The access token expired"},
		{"malformed JSON", `{"error": "Invalid API Key", "message": `, "application/json", "", `{"error": "Invalid API Key", "message":`},
		{"plain text", "Unauthorized: bad key\n", "text/plain", "", "Unauthorized: bad key"},
		{"empty body", "", "", "", ""},
		{"html page", "<html><body><h1>401</h1></body></html>", "text/html", "", ""},
		{"huge body", huge, "text/plain", "", strings.Repeat("A", 512) + "…"},
		{"wrong JSON types", `{"error": 42, "message": ["a"]}`, "application/json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPI(t)
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, tt.body)
			})
			base := &meteredBase{base: http.DefaultTransport}
			tr := &transport.Transport{Base: base, Credentials: credentials.Static(oldKey), Refresh: countingRefresh(newKey, new(atomic.Int64))}
			_, err := get(t, &http.Client{Transport: tr}, srv.URL)
			var apiErr *rekey.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("want *APIError, got %v", err)
			}
			if apiErr.StatusCode != 401 || apiErr.Code != tt.wantCode || apiErr.Message != tt.wantMessage {
				t.Errorf("got status %d code %q message %.80q; want 401 %q %.80q", apiErr.StatusCode, apiErr.Code, apiErr.Message, tt.wantCode, tt.wantMessage)
			}
			// Two responses (the rejection and the replay's), each read at most to the cap.
			if got := base.read.Load(); got > 2*transport.DefaultMaxErrorBody {
				t.Errorf("read %d bytes of rejection bodies, cap is %d each", got, transport.DefaultMaxErrorBody)
			}
			if msg := err.Error(); len(msg) > 2000 {
				t.Errorf("error message is %d bytes long", len(msg))
			}
		})
	}
}

func TestBadCredentialInputsFailClearlyWithoutSending(t *testing.T) {
	srv := newAPI(t, oldKey)
	t.Setenv("REKEY_TEST_UNSET", "")
	tests := []struct {
		name     string
		provider credentials.Provider
		want     error
		hint     string
	}{
		{"empty key", credentials.Static(""), credentials.ErrMalformedKey, "empty"},
		{"pasted bearer prefix", credentials.Static("Bearer " + oldKey), credentials.ErrMalformedKey, `"Bearer" scheme`},
		{"quoted key", credentials.Static(`"` + oldKey + `"`), credentials.ErrMalformedKey, "quotes"},
		{"line break inside", credentials.Static(oldKey[:10] + "\n" + oldKey[10:]), credentials.ErrMalformedKey, "line break"},
		{"unset variable", credentials.Env("REKEY_TEST_DEFINITELY_UNSET"), credentials.ErrNoCredentials, "not set"},
		{"empty variable", credentials.Env("REKEY_TEST_UNSET"), credentials.ErrNoCredentials, "empty"},
		{"missing file", credentials.File(t.TempDir() + "/nope"), credentials.ErrNoCredentials, "does not exist"},
		{"nil provider", nil, nil, "no Credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.requests.Load()
			tr := &transport.Transport{Credentials: tt.provider}
			body := &trackedBody{Reader: strings.NewReader("x")}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
			_, err := (&http.Client{Transport: tr}).Do(req)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("err = %q, want it to say %q", err, tt.hint)
			}
			if strings.Contains(err.Error(), oldKey[8:]) {
				t.Errorf("error contains the key: %v", err)
			}
			if srv.requests.Load() != before {
				t.Error("a request was sent with a bad credential")
			}
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
		})
	}
}

func TestCancelledContextBeforeFirstKey(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	tr := &transport.Transport{Credentials: credentials.ProviderFunc(func(ctx context.Context) (credentials.Credential, error) {
		<-block
		return credentials.Credential{Key: oldKey}, nil
	})}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestKeyNeverPrinted formats every value that holds or meets a key, with
// every verb, and checks that the key's secret part never shows.
func TestKeyNeverPrinted(t *testing.T) {
	const key = "rk_live_S3CR3TS3CR3TS3CR3TS3CR3T9f2c"
	secret := key[8 : len(key)-4]
	srv := newAPI(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-"+key) // a server that echoes the key back
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error": "Invalid API Key", "message": "The API key %s is not valid."}`, key)
	})
	var events []transport.Event
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	cache := &credentials.Cache{
		Provider: credentials.Static(key),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			logger.Info("refreshing", "rejected", rejected)
			return credentials.Credential{}, fmt.Errorf("mint failed for %v", rejected)
		},
		RefreshAttempts: 1,
		OnRefresh:       func(ev credentials.RefreshEvent) { logger.Info("refresh", "event", ev) },
	}
	tr := &transport.Transport{Credentials: cache, OnEvent: func(e transport.Event) { events = append(events, e) }}
	_, err := get(t, &http.Client{Transport: tr}, srv.URL+"/v1?api_key="+key)
	if err == nil {
		t.Fatal("want an error")
	}
	var apiErr *rekey.APIError
	errors.As(err, &apiErr)
	cred := credentials.Credential{Key: key}
	values := []any{cred, &cred, tr, cache, credentials.Static(key), apiErr, events,
		struct{ C credentials.Credential }{cred}, []credentials.Credential{cred}, map[string]any{"c": cred}}
	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		logger.Info("value", "v", v)
	}
	// err.Error() includes the caller's own URL (from *url.Error); rekey's part must not add to it.
	out.WriteString(apiErr.Error())
	for _, text := range []string{out.String(), logs.String()} {
		if strings.Contains(text, secret) {
			i := strings.Index(text, secret)
			t.Errorf("key printed: ...%s...", text[max(0, i-120):min(len(text), i+40)])
		}
	}
}
