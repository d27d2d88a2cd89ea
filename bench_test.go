package rekey_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

const benchKey = "rk_live_benchmarkKey0000000000000001"

// benchServer answers GET /v1/things/1 with a small JSON object when the
// request carries benchKey.
func benchServer(b *testing.B) *httptest.Server {
	body := []byte(`{"id": "thing_1", "name": "widget", "count": 3}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+benchKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkClient compares a request and JSON decode through rekey.Client
// (retry layer, credential layer) with the same request made with a bare
// net/http client setting the header itself, on the same loopback server.
func BenchmarkClient(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()

	b.Run("rekey", func(b *testing.B) {
		c, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(credentials.Static(benchKey)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			req, err := c.NewRequest(ctx, http.MethodGet, "things/1", nil)
			if err != nil {
				b.Fatal(err)
			}
			var v thing
			if _, err := c.Do(req, &v); err != nil || v.Count != 3 {
				b.Fatal(err)
			}
		}
	})

	b.Run("net/http", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/things/1", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", rekey.DefaultUserAgent)
			req.Header.Set("Authorization", "Bearer "+benchKey)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v thing
			err = json.NewDecoder(resp.Body).Decode(&v)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || v.Count != 3 || resp.StatusCode != 200 {
				b.Fatal(err)
			}
		}
	})

	// go-retryablehttp on its own (retries, no key recovery), the library
	// rekey's retry layer builds on, for the cost of its Request wrapper.
	b.Run("go-retryablehttp", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		rc := retryablehttp.NewClient()
		rc.HTTPClient = &http.Client{Transport: tr}
		rc.Logger = nil
		b.ReportAllocs()
		for b.Loop() {
			req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/things/1", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", rekey.DefaultUserAgent)
			req.Header.Set("Authorization", "Bearer "+benchKey)
			resp, err := rc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v thing
			err = json.NewDecoder(resp.Body).Decode(&v)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || v.Count != 3 || resp.StatusCode != 200 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClientParallel is BenchmarkClient with every core sending.
func BenchmarkClientParallel(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	b.Run("rekey", func(b *testing.B) {
		c, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(credentials.Static(benchKey)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := c.NewRequest(ctx, http.MethodGet, "things/1", nil)
				var v thing
				if _, err := c.Do(req, &v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("net/http", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/things/1", nil)
				req.Header.Set("Accept", "application/json")
				req.Header.Set("User-Agent", rekey.DefaultUserAgent)
				req.Header.Set("Authorization", "Bearer "+benchKey)
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var v thing
				json.NewDecoder(resp.Body).Decode(&v)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
}
