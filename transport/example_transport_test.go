package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// A Transport under any *http.Client: the key comes from the environment,
// and after a rotation the refresh hook mints a new one and the request is
// replayed once. The caller sees only the answer.
func ExampleTransport() {
	api := rekeytest.NewServer()
	defer api.Close()
	rotated := api.IssueKey()
	api.RotateAll()                           // the key below is revoked since
	os.Setenv("EXAMPLE_API_KEY", rotated.Key) // in an application: export EXAMPLE_API_KEY=...

	tr := &transport.Transport{
		Credentials: credentials.Env("EXAMPLE_API_KEY"),
		Refresh:     api.Refresh, // a credentials.RefreshFunc: POST /v1/keys
		OnEvent:     func(ev transport.Event) { fmt.Println(ev.Kind, ev.StatusCode) },
	}
	defer tr.Close()
	client := &http.Client{Transport: tr}

	resp, err := client.Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// key rejected 401
	// request replayed 401
	// 200 OK
}

// keySeen is an API that says in which header, under which scheme, a
// request carried a key (redacted).
func keySeen() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range []string{"Authorization", "X-Api-Key", "Api-Key"} {
			if v := r.Header.Get(name); v != "" {
				words := strings.Fields(v)
				words[len(words)-1] = credentials.Redact(words[len(words)-1])
				fmt.Printf("%s: %s\n", name, strings.Join(words, " "))
			}
		}
		if v := r.URL.Query().Get("api_key"); v != "" {
			fmt.Printf("?api_key=%s (other query: %s)\n", credentials.Redact(v), r.URL.Query().Get("q"))
		}
	}))
}

// send makes one GET through rt and reports an error, if any.
func send(rt http.RoundTripper, url string) {
	resp, err := (&http.Client{Transport: rt}).Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
}

// Header and Scheme place the key: "Authorization: Bearer <key>" by
// default; a custom header carries the bare key unless Scheme says
// otherwise; NoScheme sends the bare key in Authorization.
func ExampleTransport_header() {
	api := keySeen()
	defer api.Close()
	key := credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")

	send(&transport.Transport{Credentials: key}, api.URL)
	send(&transport.Transport{Credentials: key, Scheme: "Token"}, api.URL)
	send(&transport.Transport{Credentials: key, Scheme: transport.NoScheme}, api.URL)
	send(&transport.Transport{Credentials: key, Header: "X-API-Key"}, api.URL)
	send(&transport.Transport{Credentials: key, Header: "Api-Key", Scheme: "Key"}, api.URL)
	// Output:
	// Authorization: Bearer sk_live_…p7dc
	// Authorization: Token sk_live_…p7dc
	// Authorization: sk_live_…p7dc
	// X-Api-Key: sk_live_…p7dc
	// Api-Key: Key sk_live_…p7dc
}

// Query sends the key as a URL query parameter, for APIs that take it
// nowhere else. The caller's query is kept; rekey's errors, events and
// logs print URLs without their query.
func ExampleTransport_query() {
	api := keySeen()
	defer api.Close()
	send(&transport.Transport{
		Credentials: credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
		Query:       "api_key",
	}, api.URL+"/search?q=rekey")
	// Output:
	// ?api_key=sk_live_…p7dc (other query: rekey)
}

// Hosts lists the only hosts that receive the key: a request elsewhere
// (a link followed from a response, a webhook URL) goes without it.
func ExampleTransport_hosts() {
	api, other := keySeen(), keySeen()
	defer api.Close()
	defer other.Close()
	tr := &transport.Transport{
		Credentials: credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
		Hosts:       []string{strings.TrimPrefix(api.URL, "http://")}, // "api.example.com" in real life
	}
	fmt.Println("to the API:")
	send(tr, api.URL)
	fmt.Println("to another host:")
	send(tr, other.URL)
	// Output:
	// to the API:
	// Authorization: Bearer sk_live_…p7dc
	// to another host:
}

// inProcess answers requests in the process, standing in for a network.
type inProcess func(*http.Request) (*http.Response, error)

func (f inProcess) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// A key goes over plain http only to a loopback host. AllowInsecureHTTP
// lifts that, for a trusted network; without it nothing is sent.
func ExampleTransport_allowInsecureHTTP() {
	network := inProcess(func(req *http.Request) (*http.Response, error) {
		fmt.Println("sent to", req.URL.Host)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	key := credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")

	send(&transport.Transport{Base: network, Credentials: key}, "http://billing.internal/v1/invoices")
	send(&transport.Transport{Base: network, Credentials: key, AllowInsecureHTTP: true}, "http://billing.internal/v1/invoices")
	// Output:
	// Get "http://billing.internal/v1/invoices": rekey: refused to send an API key over an insecure connection: http://billing.internal/v1/invoices is plain http to a host that is not loopback: use https, or set AllowInsecureHTTP (rekey.WithInsecureHTTP) for a trusted network
	// sent to billing.internal
}

// With ReturnResponse, a rejection that recovery could not fix comes back
// as the API's own response, for an SDK that decodes it into its own error
// type. By default it is an error matching rekey.ErrInvalidAPIKey.
func ExampleTransport_returnResponse() {
	api := rekeytest.NewServer()
	defer api.Close()
	noNewKey := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		return credentials.Credential{}, errors.New("key vault: access denied")
	}
	revoked := credentials.Static("rk_test_revokedLongAgo000000000")

	_, err := (&http.Client{Transport: &transport.Transport{Credentials: revoked, Refresh: noNewKey}}).Get(api.URL + "/v1/echo")
	fmt.Println("error:", errors.Is(err, rekey.ErrInvalidAPIKey))

	resp, err := (&http.Client{Transport: &transport.Transport{Credentials: revoked, Refresh: noNewKey, ReturnResponse: true}}).Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("response:", resp.StatusCode, string(body))
	// Output:
	// error: true
	// response: 401 {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
}

// CredentialError says that no key could be had, so nothing was sent.
func ExampleCredentialError() {
	tr := &transport.Transport{Credentials: credentials.Env("EXAMPLE_UNSET_API_KEY")}
	_, err := (&http.Client{Transport: tr}).Get("https://api.example.com/v1/things?page=2")
	var noKey *transport.CredentialError
	if errors.As(err, &noKey) {
		fmt.Println(noKey.Method, noKey.URL)
		fmt.Println(noKey.Err)
	}
	fmt.Println(errors.Is(err, credentials.ErrNoCredentials))
	// Output:
	// GET https://api.example.com/v1/things
	// credentials: environment variable EXAMPLE_UNSET_API_KEY is not set: export it with your API key
	// true
}
