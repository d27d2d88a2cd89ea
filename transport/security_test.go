package transport_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// keyLeaks reports which of the places a key could hide on r carry key,
// in the clear or inside HTTP Basic auth.
func keyLeaks(r *http.Request, key string) []string {
	var where []string
	for name, values := range r.Header {
		for _, v := range values {
			if strings.Contains(v, key) {
				where = append(where, "header "+name)
			}
			if enc, ok := strings.CutPrefix(v, "Basic "); ok {
				if pair, err := base64.StdEncoding.DecodeString(enc); err == nil && strings.Contains(string(pair), key) {
					where = append(where, "header "+name+" (Basic)")
				}
			}
		}
	}
	if strings.Contains(r.URL.RawQuery, key) {
		where = append(where, "query")
	}
	return where
}

func TestRedirectCarriesKeyOnlyToTheSameHost(t *testing.T) {
	for _, placement := range []struct {
		name string
		tr   func() *transport.Transport
	}{
		{"Authorization", func() *transport.Transport { return &transport.Transport{} }},
		{"X-API-Key", func() *transport.Transport { return &transport.Transport{Header: "X-API-Key"} }},
		{"query", func() *transport.Transport { return &transport.Transport{Query: "api_key"} }},
		{"Basic, key as password", func() *transport.Transport { return &transport.Transport{Basic: transport.BasicKeyAsPassword("api")} }},
		{"Basic, key as user", func() *transport.Transport { return &transport.Transport{Basic: transport.BasicKeyAsUser("X")} }},
	} {
		t.Run(placement.name, func(t *testing.T) {
			var leaked atomic.Value
			leaked.Store([]string(nil))
			// "Another host": same loopback machine, but a different port is a
			// different authority, which is what a browser and net/http compare.
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaked.Store(keyLeaks(r, oldKey))
				io.WriteString(w, "other host")
			}))
			t.Cleanup(other.Close)
			var sameHostKeyed atomic.Bool
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/away":
					http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
				case "/moved":
					http.Redirect(w, r, "/here", http.StatusMovedPermanently)
				case "/here":
					sameHostKeyed.Store(len(keyLeaks(r, oldKey)) > 0)
					io.WriteString(w, "same host")
				}
			}))
			t.Cleanup(origin.Close)

			tr := placement.tr()
			tr.Credentials = credentials.Static(oldKey)
			client := &http.Client{Transport: tr}

			resp, err := get(t, client, origin.URL+"/away")
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); body != "other host" {
				t.Fatalf("redirect not followed: %q", body)
			}
			if where := leaked.Load().([]string); len(where) > 0 {
				t.Errorf("key sent to another host on a redirect, in %v", where)
			}

			resp, err = get(t, client, origin.URL+"/moved")
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); body != "same host" || !sameHostKeyed.Load() {
				t.Errorf("same-host redirect: body %q, key sent %v; want the key on the same host", body, sameHostKeyed.Load())
			}
		})
	}
}

func TestPlainHTTPToNonLoopbackIsRefusedBeforeSending(t *testing.T) {
	var dials atomic.Int64
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("test network: no route")
	}}
	tests := []struct {
		name, url string
		allow     bool
		wantErr   error
		wantDials int64
	}{
		{"plain http to a public name", "http://api.example.com/v1/things?api_key=x", false, rekey.ErrInsecureRequest, 0},
		{"plain http to a private address", "http://10.1.2.3/v1", false, rekey.ErrInsecureRequest, 0},
		{"explicitly allowed", "http://api.example.com/v1", true, nil, 1},
		{"https", "https://api.example.com/v1", false, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dials.Store(0)
			tr := &transport.Transport{Base: base, Credentials: credentials.Static(oldKey), AllowInsecureHTTP: tt.allow}
			body := &trackedBody{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest(http.MethodPost, tt.url, body)
			_, err := (&http.Client{Transport: tr}).Do(req)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && errors.Is(err, rekey.ErrInsecureRequest) {
				t.Errorf("refused a request that should go out: %v", err)
			}
			if got := dials.Load(); got != tt.wantDials {
				t.Errorf("dialled %d times, want %d", got, tt.wantDials)
			}
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
			if err != nil && strings.Contains(err.Error(), oldKey) {
				t.Errorf("error leaks the key: %v", err)
			}
			// http.Client's *url.Error quotes the caller's own URL once;
			// rekey's part of the message must not repeat the query.
			if err != nil && strings.Count(err.Error(), "api_key=x") > 1 {
				t.Errorf("rekey's part of the error repeats the query string: %v", err)
			}
		})
	}
}

func TestLoopbackHostsAllowedOverPlainHTTP(t *testing.T) {
	srv := newAPI(t, oldKey)
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	client := &http.Client{Transport: &transport.Transport{Credentials: credentials.Static(oldKey)}}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := get(t, client, "http://"+net.JoinHostPort(host, port)+"/")
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestHostsAllowListScopesTheKey(t *testing.T) {
	srv := newAPI(t, oldKey)
	u, _ := url.Parse(srv.URL)
	tests := []struct {
		hosts  []string
		keyed  bool
		status int
	}{
		{[]string{u.Host}, true, 200},
		{[]string{"127.0.0.1"}, true, 200},
		{[]string{"api.example.com"}, false, 401},
		{[]string{"127.0.0.1:1"}, false, 401},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.hosts), func(t *testing.T) {
			tr := &transport.Transport{Credentials: credentials.Static(oldKey), Hosts: tt.hosts}
			resp, err := get(t, &http.Client{Transport: tr}, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// A request sent without a key is not "our" rejection: the 401 passes through.
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestKeyPlacements(t *testing.T) {
	tests := []struct {
		name       string
		tr         func() *transport.Transport
		header     string
		query      string
		wantHeader string
	}{
		{"default bearer", func() *transport.Transport { return &transport.Transport{} }, "Authorization", "", "Bearer " + oldKey},
		{"custom header", func() *transport.Transport { return &transport.Transport{Header: "x-api-key"} }, "X-Api-Key", "", oldKey},
		{"custom scheme", func() *transport.Transport { return &transport.Transport{Scheme: "Token"} }, "Authorization", "", "Token " + oldKey},
		{"bare authorization", func() *transport.Transport { return &transport.Transport{Scheme: transport.NoScheme} }, "Authorization", "", oldKey},
		{"query parameter", func() *transport.Transport { return &transport.Transport{Query: "api_key"} }, "", "api_key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
			t.Cleanup(srv.Close)
			tr := tt.tr()
			tr.Credentials = credentials.Static(oldKey)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1?x=1", nil)
			req.Header.Set("Authorization", "caller's own")
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tt.query != "" {
				if q := got.URL.Query(); q.Get(tt.query) != oldKey || q.Get("x") != "1" {
					t.Errorf("query = %q, want api_key and x=1", got.URL.RawQuery)
				}
				if req.URL.RawQuery != "x=1" {
					t.Errorf("caller's URL modified: %q", req.URL.RawQuery)
				}
				if v := got.Header.Get("Authorization"); v != "caller's own" {
					t.Errorf("with the key in the query, the caller's headers must pass untouched: Authorization = %q", v)
				}
				return
			}
			if v := got.Header.Get(tt.header); v != tt.wantHeader {
				t.Errorf("%s = %q, want %q", tt.header, v, tt.wantHeader)
			}
			if req.Header.Get("Authorization") != "caller's own" || len(req.Header) != 1 {
				t.Errorf("caller's headers modified: %v", req.Header)
			}
		})
	}
}
