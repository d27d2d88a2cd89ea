package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rekeyhq/rekey/internal/testwait"
)

// tokenServer is an OAuth2 token endpoint for the refresh-token grant. It
// rotates the refresh token on every use and refuses a stale one, so a
// client that loses track of the rotation (or calls oauth2's refresher
// concurrently) fails loudly.
type tokenServer struct {
	*httptest.Server
	hits atomic.Int64

	mu      sync.Mutex
	refresh string // the one valid refresh token
	reissue bool   // hand out the same access token every time
}

func newTokenServer(t *testing.T) *tokenServer {
	s := &tokenServer{refresh: "rt_0"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.FormValue("grant_type") != "refresh_token" || r.FormValue("refresh_token") != s.refresh {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant"}`)
		return
	}
	n := s.hits.Add(1)
	s.refresh = fmt.Sprintf("rt_%d", n)
	if s.reissue {
		n = 1
	}
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":  accessToken(n),
		"token_type":    "Bearer",
		"expires_in":    3600,
		"refresh_token": s.refresh,
	})
}

func accessToken(n int64) string { return fmt.Sprintf("at_test_%06d_Zm9vYmFy", n) }

// tokenSource is what an application has: oauth2.Config.TokenSource, a
// reuse cache around the refresh-token flow.
func (s *tokenServer) tokenSource(initial *oauth2.Token) oauth2.TokenSource {
	conf := &oauth2.Config{
		ClientID:     "rekey-test",
		ClientSecret: "client-secret",
		Endpoint:     oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client())
	return conf.TokenSource(ctx, initial)
}

func TestFromTokenSourceRefreshBypassesReuseCache(t *testing.T) {
	srv := newTokenServer(t)
	ts := srv.tokenSource(&oauth2.Token{RefreshToken: "rt_0"})
	p := FromTokenSource(ts)
	ctx := context.Background()
	expect := func(what string, got Credential, err error, n int64) {
		t.Helper()
		if err != nil || got.Key != accessToken(n) {
			t.Fatalf("%s = %v, %v; want access token %d", what, got, err, n)
		}
		if until := time.Until(got.Expiry); until < 59*time.Minute || until > time.Hour {
			t.Errorf("%s: Expiry in %v, want about an hour", what, until)
		}
	}
	hits := func(want int64) {
		t.Helper()
		if got := srv.hits.Load(); got != want {
			t.Fatalf("token endpoint hit %d times, want %d", got, want)
		}
	}

	first, err := p.Retrieve(ctx)
	expect("Retrieve", first, err, 1)
	again, err := p.Retrieve(ctx)
	expect("second Retrieve", again, err, 1)
	hits(1)

	// The API rejects token 1; the reuse cache still thinks it valid.
	if tok, err := ts.Token(); err != nil || tok.AccessToken != first.Key || !tok.Valid() {
		t.Fatalf("ts.Token() = %v, %v; want token 1, still valid to oauth2", tok, err)
	}
	second, err := p.(Refresher).Refresh(ctx, first)
	expect("Refresh(token 1)", second, err, 2)
	hits(2)
	got, err := p.Retrieve(ctx)
	expect("Retrieve after Refresh", got, err, 2)

	// A late rejection of token 1 costs nothing.
	got, err = p.(Refresher).Refresh(ctx, first)
	expect("stale Refresh(token 1)", got, err, 2)
	hits(2)

	// The next refresh presents the rotated refresh token (the server
	// refuses any other): the bypass shares oauth2's refresher state.
	third, err := p.(Refresher).Refresh(ctx, second)
	expect("Refresh(token 2)", third, err, 3)
	hits(3)
}

func TestFromTokenSourceUsesInitialToken(t *testing.T) {
	srv := newTokenServer(t)
	saved := &oauth2.Token{AccessToken: "at_saved_Zm9vYmFy", RefreshToken: "rt_0", Expiry: time.Now().Add(time.Hour)}
	p := FromTokenSource(srv.tokenSource(saved))
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != saved.AccessToken || srv.hits.Load() != 0 {
		t.Fatalf("Retrieve = %v, %v after %d hits; want the saved token without a hit", got, err, srv.hits.Load())
	}
	got, err = p.(Refresher).Refresh(context.Background(), got)
	if err != nil || got.Key != accessToken(1) {
		t.Fatalf("Refresh(saved) = %v, %v; want access token 1", got, err)
	}
}

// cachingSource caches like a reuse source, but is not one: the adapter
// cannot see through it.
type cachingSource struct {
	once sync.Once
	tok  *oauth2.Token
	src  oauth2.TokenSource
}

func (c *cachingSource) Token() (*oauth2.Token, error) {
	c.once.Do(func() { c.tok, _ = c.src.Token() })
	return c.tok, nil
}

func TestFromTokenSourceSameTokenAgain(t *testing.T) {
	reissuing := newTokenServer(t)
	reissuing.reissue = true
	cases := map[string]func(t *testing.T) oauth2.TokenSource{
		"endpoint reissues the token": func(*testing.T) oauth2.TokenSource {
			return reissuing.tokenSource(&oauth2.Token{RefreshToken: "rt_0"})
		},
		"static source": func(*testing.T) oauth2.TokenSource {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken(1)})
		},
		"opaque cache": func(t *testing.T) oauth2.TokenSource {
			return &cachingSource{src: newTokenServer(t).tokenSource(&oauth2.Token{RefreshToken: "rt_0"})}
		},
	}
	for name, source := range cases {
		t.Run(name, func(t *testing.T) {
			p := FromTokenSource(source(t))
			first, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.(Refresher).Refresh(context.Background(), first)
			if !errors.Is(err, ErrSameKey) || !strings.Contains(err.Error(), "returned the rejected access token") {
				t.Fatalf("Refresh = %v, want ErrSameKey saying the source returned the rejected token", err)
			}
			if strings.Contains(err.Error(), first.Key) {
				t.Errorf("error %q contains the token", err)
			}
			// Retrieve does not hand the rejected token out again either.
			if got, err := p.Retrieve(context.Background()); !errors.Is(err, ErrSameKey) {
				t.Errorf("Retrieve after a failed Refresh = %v, %v; want ErrSameKey", got, err)
			}
		})
	}
}

func TestFromTokenSourceConcurrentUse(t *testing.T) {
	srv := newTokenServer(t)
	p := FromTokenSource(srv.tokenSource(&oauth2.Token{RefreshToken: "rt_0"}))
	ctx := context.Background()
	var refreshes atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				c, err := p.Retrieve(ctx)
				if err != nil {
					t.Errorf("Retrieve: %v", err)
					return
				}
				if (g+i)%5 == 0 {
					refreshes.Add(1)
					n, err := p.(Refresher).Refresh(ctx, c)
					if err != nil || n.Key == c.Key {
						t.Errorf("Refresh = %v, %v; want a token other than the rejected one", n, err)
						return
					}
				}
				_ = fmt.Sprint(p) // printing races with nothing
			}
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the goroutines")
	if hits := srv.hits.Load(); hits > refreshes.Load()+1 {
		t.Errorf("token endpoint hit %d times for %d refreshes", hits, refreshes.Load())
	}
}

// Behind a Cache, concurrent rejections of one token cost one token request.
func TestFromTokenSourceBehindCache(t *testing.T) {
	srv := newTokenServer(t)
	cache := &Cache{Provider: FromTokenSource(srv.tokenSource(&oauth2.Token{RefreshToken: "rt_0"}))}
	t.Cleanup(func() { cache.Close() })
	ctx := context.Background()
	first, err := cache.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := cache.Invalidate(ctx, first); err != nil || got.Key != accessToken(2) {
				t.Errorf("Invalidate = %v, %v; want access token 2", got, err)
			}
		}()
	}
	testwait.Group(t, &wg, testwait.Timeout, "the rejected callers")
	if hits := srv.hits.Load(); hits != 2 {
		t.Errorf("token endpoint hit %d times, want 2", hits)
	}
}

// blockingSource returns a token only when told to.
type blockingSource struct {
	release chan struct{}
	calls   atomic.Int64
}

func (b *blockingSource) Token() (*oauth2.Token, error) {
	b.calls.Add(1)
	<-b.release
	return &oauth2.Token{AccessToken: accessToken(1)}, nil
}

func TestFromTokenSourceRespectsContext(t *testing.T) {
	src := &blockingSource{release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(src.release) })
	t.Cleanup(release) // also when the test fails before releasing it
	p := FromTokenSource(src)
	for _, what := range []string{"caller", "waiter"} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		// The source blocks until released below, so returning at all, with
		// the context's error, shows that Retrieve did not wait for it.
		_, err := p.Retrieve(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Retrieve = %v; want DeadlineExceeded", what, err)
		}
	}
	release()
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != accessToken(1) {
		t.Fatalf("Retrieve after release = %v, %v", got, err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source called %d times, want 1: its abandoned call's token is kept", n)
	}
}

func TestTokenSourceFromProvider(t *testing.T) {
	key := "sk_test_oauth2_4eC39HqLyjWDarjt"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	}))
	t.Cleanup(api.Close)
	client := &http.Client{Transport: &oauth2.Transport{Source: TokenSource(Static(key)), Base: api.Client().Transport}}
	resp, err := client.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "Bearer "+key {
		t.Errorf("API saw Authorization %q, want Bearer and the key", got)
	}

	// Round trip: Provider -> TokenSource -> Provider.
	got, err := FromTokenSource(TokenSource(Static(key))).Retrieve(context.Background())
	if err != nil || got.Key != key {
		t.Errorf("round trip = %v, %v", got, err)
	}
	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	tok, err := TokenSource(ProviderFunc(func(context.Context) (Credential, error) {
		return Credential{Key: key, Expiry: expiry}, nil
	})).Token()
	if err != nil || tok.AccessToken != key || tok.TokenType != "Bearer" || !tok.Expiry.Equal(expiry) {
		t.Errorf("Token() = %+v, %v", tok, err)
	}
	if _, err := TokenSource(Env("REKEY_TEST_SURELY_UNSET_VARIABLE")).Token(); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Token() from an unset variable: err = %v, want ErrNoCredentials", err)
	}
	if _, err := TokenSource(nil).Token(); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("TokenSource(nil).Token(): err = %v", err)
	}
	if _, err := FromTokenSource(nil).Retrieve(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("FromTokenSource(nil).Retrieve: err = %v", err)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keyHolder is a Provider without a String method: printing it would dump
// its key.
type keyHolder struct{ key string }

func (k keyHolder) Retrieve(context.Context) (Credential, error) { return Credential{Key: k.key}, nil }

func TestOAuth2AdaptersNeverPrintTokens(t *testing.T) {
	key := "sk_test_oauth2_4eC39HqLyjWDarjt"
	srv := newTokenServer(t)
	from := FromTokenSource(srv.tokenSource(&oauth2.Token{RefreshToken: "rt_0"}))
	if _, err := from.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		v      any
		want   string
		secret string
	}{
		{from, "credentials.FromTokenSource(*oauth2.reuseTokenSource)", accessToken(1)},
		{TokenSource(Static(key)), "credentials.TokenSource(credentials.Static(sk_test_…arjt))", key},
		{TokenSource(keyHolder{key}), "credentials.TokenSource(credentials.keyHolder)", key},
	}
	for _, tc := range cases {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			got := fmt.Sprintf(verb, tc.v)
			if got != tc.want || strings.Contains(got, tc.secret) {
				t.Errorf("Sprintf(%s) = %s, want %s", verb, got, tc.want)
			}
		}
	}
}
