package credentials_test

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

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// oauthAPI is an OAuth2 token endpoint (client-credentials grant) and an API
// that accepts the tokens it issued until they are revoked.
type oauthAPI struct {
	*httptest.Server
	issued atomic.Int64 // tokens issued by POST /token

	mu      sync.Mutex
	valid   map[string]bool
	refused int // requests refused with 401
}

func newOAuthAPI(t *testing.T) *oauthAPI {
	a := &oauthAPI{valid: map[string]bool{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func oauthToken(n int64) string { return fmt.Sprintf("at_roundtrip_%06d_Zm9vYmFy", n) }

func (a *oauthAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/token" {
		id, secret, _ := r.BasicAuth()
		if r.FormValue("grant_type") != "client_credentials" || id != "rekey-test" || secret != "client-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		tok := oauthToken(a.issued.Add(1))
		a.mu.Lock()
		a.valid[tok] = true
		a.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !a.valid[tok] {
		a.refused++
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_token","message":"The access token is revoked."}`)
		return
	}
	fmt.Fprintf(w, `{"token":%q}`, tok)
}

func (a *oauthAPI) revoke(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.valid, tok)
}

// One part of a program shares its Cache as an oauth2.TokenSource; another
// turns that TokenSource back into a Provider for a rekey Transport. When the
// API revokes the token, the Transport's refresh must reach the Cache
// behind the TokenSource (and, through it, the token endpoint) rather than
// get the revoked token back.
func TestFromTokenSourceOfTokenSourceRefreshes(t *testing.T) {
	api := newOAuthAPI(t)
	conf := &clientcredentials.Config{
		ClientID: "rekey-test", ClientSecret: "client-secret",
		TokenURL: api.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader,
	}
	oauthCtx := context.WithValue(context.Background(), oauth2.HTTPClient, api.Client())
	shared := &credentials.Cache{Provider: credentials.FromTokenSource(conf.TokenSource(oauthCtx))}
	t.Cleanup(func() { shared.Close() })
	exported := credentials.TokenSource(shared) // handed to another part of the program

	tr := &transport.Transport{Credentials: credentials.FromTokenSource(exported), Base: api.Client().Transport}
	t.Cleanup(func() { tr.Close() })
	client := &http.Client{Transport: tr}
	get := func(what string) string {
		t.Helper()
		resp, err := client.Get(api.URL + "/v1/me")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", what, resp.Status, body)
		}
		return string(body)
	}

	if got := get("first request"); !strings.Contains(got, oauthToken(1)) {
		t.Fatalf("first request used %s, want token 1", got)
	}
	api.revoke(oauthToken(1))
	if got := get("after revocation"); !strings.Contains(got, oauthToken(2)) {
		t.Fatalf("request after revocation used %s, want token 2", got)
	}
	if n, refused := api.issued.Load(), api.refused; n != 2 || refused != 1 {
		t.Errorf("%d tokens issued and %d requests refused, want 2 and 1", n, refused)
	}
	// The other users of the shared Cache see the new token too.
	tok, err := exported.Token()
	if err != nil || tok.AccessToken != oauthToken(2) {
		t.Errorf("the exported TokenSource gives %v, %v; want token 2", tok, err)
	}
}

// The round trip keeps the Cache's own errors, and the rule that a refresh
// must not yield the rejected key again.
func TestFromTokenSourceOfTokenSourceErrors(t *testing.T) {
	key := "sk_test_roundtrip_4eC39HqLyjWDarjt"
	p := credentials.FromTokenSource(credentials.TokenSource(credentials.Static(key)))
	got, err := p.Retrieve(context.Background())
	if err != nil || got.Key != key {
		t.Fatalf("Retrieve = %v, %v", got, err)
	}
	_, err = p.(credentials.Refresher).Refresh(context.Background(), got)
	if !errors.Is(err, credentials.ErrSameKey) || strings.Contains(err.Error(), key) {
		t.Errorf("Refresh of a static key = %v, want ErrSameKey without the key", err)
	}
	_, err = credentials.FromTokenSource(credentials.TokenSource(credentials.Env("REKEY_TEST_SURELY_UNSET_VARIABLE"))).Retrieve(context.Background())
	if !errors.Is(err, credentials.ErrNoCredentials) || strings.Count(err.Error(), "credentials: ") != 1 {
		t.Errorf("Retrieve from an unset variable = %v, want the Env provider's own error", err)
	}
}
