package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// keyReporter is an API that says where each request carried a key, with
// the key redacted.
func keyReporter() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("Authorization"); v != "" {
			scheme, key, found := strings.Cut(v, " ")
			if !found {
				scheme, key = "", v
			}
			fmt.Printf("%s got Authorization: %q + %s\n", r.URL.Path, scheme, credentials.Redact(key))
		}
		if v := r.Header.Get("X-API-Key"); v != "" {
			fmt.Printf("%s got X-API-Key: %s\n", r.URL.Path, credentials.Redact(v))
		}
		if v := r.URL.Query().Get("key"); v != "" {
			fmt.Printf("%s got ?key=%s\n", r.URL.Path, credentials.Redact(v))
		}
		if r.Header.Get("Authorization")+r.Header.Get("X-API-Key")+r.URL.Query().Get("key") == "" {
			fmt.Printf("%s got no key\n", r.URL.Path)
		}
		w.Write([]byte(`{}`))
	}))
}

// exampleGet sends GET path through client and reports an error, if any.
func exampleGet(client *rekey.Client, path string) {
	req, err := client.NewRequest(context.Background(), "GET", path, nil)
	if err == nil {
		_, err = client.Do(req, nil)
	}
	if err != nil {
		fmt.Println(err)
	}
}

// An API that wants "X-API-Key: <key>" (the bare key: a custom header
// carries no scheme unless WithScheme adds one).
func ExampleWithHeader() {
	api := keyReporter()
	defer api.Close()
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithHeader("X-API-Key"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/v1/things")
	// Output:
	// /v1/things got X-API-Key: sk_live_…p7dc
}

// An API that wants "Authorization: Token <key>" instead of Bearer.
// transport.NoScheme ("-") sends the bare key in Authorization.
func ExampleWithScheme() {
	api := keyReporter()
	defer api.Close()
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithScheme("Token"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/v1/things")
	// Output:
	// /v1/things got Authorization: "Token" + sk_live_…p7dc
}

// An API that takes the key only in the URL, as ?key=<key> (Google Maps web
// services, for one). rekey's errors and logs print URLs without their query.
func ExampleWithQueryParam() {
	api := keyReporter()
	defer api.Close()
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("AIzaSyD4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithQueryParam("key"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	exampleGet(client, "/maps/api/geocode/json?address=Paris")
	// Output:
	// /maps/api/geocode/json got ?key=…p7dc
}

// The key goes to the base URL's host only; WithHosts adds others, such as
// an upload host. Through HTTPClient, a request to any other host is sent
// without the key.
func ExampleWithHosts() {
	api, uploads, elsewhere := keyReporter(), keyReporter(), keyReporter()
	defer api.Close()
	defer uploads.Close()
	defer elsewhere.Close()

	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc")),
		rekey.WithHosts(strings.TrimPrefix(uploads.URL, "http://")), // "uploads.example.com" in real life
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	hc := client.HTTPClient()
	for _, u := range []string{api.URL + "/v1/files", uploads.URL + "/upload", elsewhere.URL + "/elsewhere"} {
		resp, err := hc.Get(u)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	// Output:
	// /v1/files got Authorization: "Bearer" + sk_live_…p7dc
	// /upload got Authorization: "Bearer" + sk_live_…p7dc
	// /elsewhere got no key
}

// rekey sends a key over plain http only to loopback hosts, and NewClient
// says so at once. WithInsecureHTTP lifts that, for a trusted network.
func ExampleWithInsecureHTTP() {
	key := rekey.WithCredentials(credentials.Static("sk_live_4eC39HqLyjWDarjtT1zdp7dc"))

	_, err := rekey.NewClient("http://billing.internal:8080", key)
	fmt.Println(errors.Is(err, rekey.ErrInsecureRequest))
	fmt.Println(err)

	client, err := rekey.NewClient("http://billing.internal:8080", key, rekey.WithInsecureHTTP())
	fmt.Println(client, err)
	client.Close()
	// Output:
	// true
	// rekey: refused to send an API key over an insecure connection: base URL http://billing.internal:8080 is plain http to a host that is not loopback: use https, or pass rekey.WithInsecureHTTP() for a trusted network
	// rekey.Client{BaseURL: http://billing.internal:8080/} <nil>
}
