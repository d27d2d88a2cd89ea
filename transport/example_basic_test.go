package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// Mailgun takes the key as the password of the user "api". Here the key in
// use was revoked: rekey recognises the 401, fetches the new key and replays
// the request with it, encoded anew.
func ExampleBasicKeyAsPassword() {
	const current = "key-new0000000000000000000000000001"
	mailgun := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		fmt.Printf("API got user %q, key %s\n", user, credentials.Redact(password))
		if user != "api" || password != current {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Invalid private key"}`)
			return
		}
		io.WriteString(w, `{"total_count": 0, "items": []}`)
	}))
	defer mailgun.Close()

	hc := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static("key-old0000000000000000000000000000"),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: current}, nil // from your secret store
		},
		Basic: transport.BasicKeyAsPassword("api"),
	}}
	resp, err := hc.Get(mailgun.URL + "/v3/domains")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// API got user "api", key key-…0000
	// API got user "api", key key-…0001
	// 200 OK
}

// Stripe also takes the secret key as the user name of Basic auth, with an
// empty password; Freshdesk takes it with the password "X".
func ExampleBasicKeyAsUser() {
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		fmt.Printf("Basic auth %v, key %s, password %q\n", ok, credentials.Redact(user), password)
	}))
	defer stripe.Close()

	hc := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static("sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
		Basic:       transport.BasicKeyAsUser(""),
	}}
	resp, err := hc.Get(stripe.URL + "/v1/balance")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Output:
	// Basic auth true, key sk_test_…p7dc, password ""
}
