package credentials_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"golang.org/x/oauth2"

	"github.com/rekeyhq/rekey/credentials"
)

// An application with an OAuth2 refresh token hands its token source to
// rekey. When the API rejects a token that oauth2 still thinks valid (it
// was revoked), Refresh gets a new one from the token endpoint instead of
// the rejected one from oauth2's cache.
func ExampleFromTokenSource() {
	var issued atomic.Int64
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token":  fmt.Sprintf("at_example_token_%d", n),
			"token_type":    "Bearer",
			"expires_in":    3600,
			"refresh_token": "rt_example",
		})
	}))
	defer tokenEndpoint.Close()

	conf := &oauth2.Config{ClientID: "app", Endpoint: oauth2.Endpoint{TokenURL: tokenEndpoint.URL}}
	ts := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "rt_example"})
	p := credentials.FromTokenSource(ts)
	fmt.Println(p)

	ctx := context.Background()
	cred, _ := p.Retrieve(ctx)
	fmt.Println("first:", credentials.Redact(cred.Key))

	// The API answered 401 to cred; a credentials.Cache does this itself.
	cred, err := p.(credentials.Refresher).Refresh(ctx, cred)
	fmt.Println("after:", credentials.Redact(cred.Key), err)
	fmt.Println("tokens issued:", issued.Load())
	// Output:
	// credentials.FromTokenSource(*oauth2.reuseTokenSource)
	// first: at_…en_1
	// after: at_…en_2 <nil>
	// tokens issued: 2
}

// Code that takes an oauth2.TokenSource, such as oauth2.Transport or a
// client library's option, can use any Provider.
func ExampleTokenSource() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		fmt.Fprint(w, scheme+" "+credentials.Redact(key))
	}))
	defer api.Close()

	cache := &credentials.Cache{Provider: credentials.Static("sk_test_4eC39HqLyjWDarjt")}
	defer cache.Close()
	client := &http.Client{Transport: &oauth2.Transport{Source: credentials.TokenSource(cache)}}

	resp, err := client.Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("the API saw:", string(body))
	// Output:
	// the API saw: Bearer sk_test_…arjt
}
