package rekey_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"github.com/rekeyhq/rekey/transport"
)

// TestWithBasicAuthRejectsBadConfiguration: NewClient reports a Basic
// setting that cannot work, or that conflicts with another placement.
func TestWithBasicAuthRejectsBadConfiguration(t *testing.T) {
	key := rekey.WithCredentials(credentials.Static(clientKey1))
	tests := []struct {
		name    string
		opts    []rekey.Option
		wantErr string
	}{
		{"nil", []rekey.Option{rekey.WithBasicAuth(nil)}, "WithBasicAuth(nil)"},
		{"with a header", []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsUser("")), rekey.WithHeader("X-API-Key")}, "drop WithHeader"},
		{"with a scheme", []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsUser("")), rekey.WithScheme("Token")}, "drop WithHeader, WithScheme"},
		{"with a query parameter", []rekey.Option{rekey.WithQueryParam("key"), rekey.WithBasicAuth(transport.BasicKeyAsPassword("api"))}, "WithQueryParam"},
		{"colon in the user", []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword("api:"))}, "contains a colon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rekey.NewClient("https://api.example.com", append([]rekey.Option{key}, tt.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want one that says %q", err, tt.wantErr)
			}
		})
	}
}

// basicServer accepts "api:<key>" for the keys in valid and answers 401
// otherwise; /echo answers a 403 that quotes the Authorization header it
// got, encoded and decoded, as a careless server might.
func basicServer(t *testing.T, valid ...string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	var mu sync.Mutex
	ok := map[string]bool{}
	for _, k := range valid {
		ok[k] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		user, password, _ := r.BasicAuth()
		mu.Lock()
		accepted := user == "api" && ok[password]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case !accepted:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message": "Invalid private key"}`) // Mailgun's, see internal/apierr/testdata/rejections
		case r.URL.Path == "/echo":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"message": "domain not allowed for %s:%s (%s)"}`, user, password, r.Header.Get("Authorization"))
		default:
			io.WriteString(w, `{"ok": true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

// TestWithBasicAuth: a Client with rekey.WithBasicAuth sends the key as
// Basic auth, recovers from its rejection with one refresh and one replay,
// and shows neither the key nor its encoded pair in errors (a rejection or
// another status quoting the header), logs, or any verb of the Client.
func TestWithBasicAuth(t *testing.T) {
	srv, requests := basicServer(t, clientKey2)
	var logs bytes.Buffer
	var refreshes atomic.Int64
	c, err := rekey.NewClient(srv.URL,
		rekey.WithCredentials(credentials.Static(clientKey1)),
		rekey.WithRefresh(func(context.Context, credentials.Credential) (credentials.Credential, error) {
			refreshes.Add(1)
			return credentials.Credential{Key: clientKey2}, nil
		}),
		rekey.WithBasicAuth(transport.BasicKeyAsPassword("api")),
		rekey.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()

	req, _ := c.NewRequest(ctx, http.MethodGet, "/v3/domains", nil)
	if _, err := c.Do(req, nil); err != nil {
		t.Fatalf("not recovered: %v", err)
	}
	if requests.Load() != 2 || refreshes.Load() != 1 {
		t.Errorf("%d requests, %d refreshes; want 2 and 1", requests.Load(), refreshes.Load())
	}

	req, _ = c.NewRequest(ctx, http.MethodGet, "/echo", nil)
	_, err = c.Do(req, nil)
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("err = %v; want a 403 *APIError that is not the invalid-key rejection", err)
	}

	texts := []string{err.Error(), fmt.Sprintf("%+v", apiErr), fmt.Sprintf("%#v", apiErr), logs.String(),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c)}
	for _, k := range []string{clientKey1, clientKey2} {
		enc := base64.StdEncoding.EncodeToString([]byte("api:" + k))
		for _, form := range []string{k, enc, strings.TrimRight(enc, "=")} {
			for _, text := range texts {
				if strings.Contains(text, form) {
					t.Errorf("%q shows up in: %s", form, text)
				}
			}
		}
	}
	if !strings.Contains(logs.String(), "key rejected") {
		t.Errorf("the log does not report the rejection, so checking it proves nothing:\n%s", logs.String())
	}
}
