package transport_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// memoryBase answers every request in memory, so that the benchmarks
// measure the authenticating layer and nothing else.
type memoryBase struct{ resp http.Response }

func (m *memoryBase) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		panic("request without a key")
	}
	resp := m.resp
	resp.Request = r
	return &resp, nil
}

func newMemoryBase() *memoryBase {
	return &memoryBase{resp: http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}}
}

func benchRequest(b *testing.B) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "https://api.example.com/v1/things", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench/1.0")
	return req
}

func runTransport(b *testing.B, rt http.RoundTripper) {
	req := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkTransport compares the happy path of rekey's Transport with
// golang.org/x/oauth2's Transport on the same in-memory base.
func BenchmarkTransport(b *testing.B) {
	key := "rk_live_" + strings.Repeat("k", 32)
	b.Run("rekey", func(b *testing.B) {
		runTransport(b, &transport.Transport{Base: newMemoryBase(), Credentials: credentials.Static(key)})
	})
	b.Run("oauth2", func(b *testing.B) {
		src := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: key}))
		runTransport(b, &oauth2.Transport{Base: newMemoryBase(), Source: src})
	})
}

// BenchmarkTransportParallel is BenchmarkTransport with every core sending.
func BenchmarkTransportParallel(b *testing.B) {
	key := "rk_live_" + strings.Repeat("k", 32)
	run := func(b *testing.B, rt http.RoundTripper) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req := benchRequest(b)
			for pb.Next() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
	b.Run("rekey", func(b *testing.B) {
		run(b, &transport.Transport{Base: newMemoryBase(), Credentials: credentials.Static(key)})
	})
	b.Run("oauth2", func(b *testing.B) {
		src := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: key}))
		run(b, &oauth2.Transport{Base: newMemoryBase(), Source: src})
	})
}

// BenchmarkTransportHosts is the happy path with a host allow-list, as
// rekey.Client always sets one: the check must not allocate.
func BenchmarkTransportHosts(b *testing.B) {
	key := "rk_live_" + strings.Repeat("k", 32)
	runTransport(b, &transport.Transport{Base: newMemoryBase(), Credentials: credentials.Static(key), Hosts: []string{"api.example.com:443"}})
}

// BenchmarkTransportSlack is the happy path with transport.Slack, which
// must read a 2xx JSON body to tell {"ok": true} from {"ok": false}: the
// price of an API that reports errors in a 200.
func BenchmarkTransportSlack(b *testing.B) {
	key := "xoxb-" + strings.Repeat("k", 32)
	base := &slackBase{}
	runTransport(b, &transport.Transport{Base: base, Credentials: credentials.Static(key), IsRejection: transport.Slack()})
}

// slackBase answers {"ok": true, ...} from memory.
type slackBase struct{}

func (slackBase) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body: io.NopCloser(strings.NewReader(`{"ok":true,"channel":"C123ABC456","ts":"1503435956.000247"}`)), Request: r}, nil
}

// BenchmarkTransportPool is BenchmarkTransport's happy path with a
// credentials.Pool of three keys (primary first, and round robin) against
// one key, so that `benchstat -col /keys` shows what a pool costs: one
// atomic load per member up to the first healthy one, and with round robin
// one atomic add. It must allocate no more than one key does.
func BenchmarkTransportPool(b *testing.B) {
	keys := []credentials.Provider{
		credentials.Static("rk_live_" + strings.Repeat("a", 32)),
		credentials.Static("rk_live_" + strings.Repeat("b", 32)),
		credentials.Static("rk_live_" + strings.Repeat("c", 32)),
	}
	for _, tc := range []struct {
		name  string
		creds credentials.Provider
	}{
		{"keys=1", keys[0]},
		{"keys=3-primary", credentials.NewPool(keys...)},
		{"keys=3-roundrobin", credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true}, keys...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runTransport(b, &transport.Transport{Base: newMemoryBase(), Credentials: tc.creds})
		})
	}
}
