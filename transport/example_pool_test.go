package transport_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// A Transport with two keys, the first of which the API has revoked: the
// request is replayed at once with the second, and the caller sees only
// the answer. The events name each member by index and redacted key.
func ExampleTransport_pool() {
	const key1, key2 = "sk_live_key1revoked00000001", "sk_live_key2standby00000002"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key2 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}`)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer api.Close()

	pool := credentials.NewPool(credentials.Static(key1), credentials.Static(key2))
	defer pool.Close()
	hc := &http.Client{Transport: &transport.Transport{
		Credentials: pool,
		OnEvent: func(ev transport.Event) {
			fmt.Println(ev.Kind, ev.StatusCode, "member", ev.Member, ev.MemberKey)
		},
	}}
	resp, err := hc.Post(api.URL+"/v1/messages", "application/json", strings.NewReader(`{"text": "hi"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// key rejected 401 member 0 sk_live_…0001
	// failover 401 member 1 sk_live_…0002
	// 200 ok
}
