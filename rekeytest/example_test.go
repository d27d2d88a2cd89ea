package rekeytest_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// A test of code that calls an API: start the fake service, issue a key,
// use it, revoke it, and see the rejection the code must handle.
func Example() {
	srv := rekeytest.NewServer() // in a test: t.Cleanup(srv.Close)
	defer srv.Close()
	key := srv.IssueKey()

	get := func() {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/echo?q=hello", nil)
		req.Header.Set("Authorization", "Bearer "+key.Key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	}
	get()
	srv.Revoke(key.Key)
	get()

	st := srv.Stats()
	fmt.Println("accepted:", st.Accepted, "rejected:", st.Rejections)
	// Output:
	// 200 {"method":"GET","path":"/v1/echo","query":{"q":["hello"]}}
	// 401 {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
	// accepted: 1 rejected: 1
}

// Server.Refresh is a credentials.RefreshFunc: with it, rekey's transport
// recovers from a rotation by minting a key over HTTP and replaying the
// request, and the application never sees the 401.
func ExampleServer_Refresh() {
	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	defer srv.Close()

	client := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static(srv.IssueKey().Key),
		Refresh:     srv.Refresh,
	}}
	srv.RotateAll() // the key the client holds is now revoked

	resp, err := client.Get(srv.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	st := srv.Stats()
	fmt.Println(resp.StatusCode, "after", st.Rejections, "rejection and", st.KeysIssued, "keys issued")
	// Output:
	// 200 after 1 rejection and 2 keys issued
}

// FailNext scripts an outage: the next requests answer 503 with
// Retry-After, then service resumes.
func ExampleServer_FailNext() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	key := srv.IssueKey()
	srv.FailNext(2, http.StatusServiceUnavailable, 3*time.Second)

	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/echo", nil)
		req.Header.Set("X-API-Key", key.Key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 503 Retry-After="3"
	// 503 Retry-After="3"
	// 200 Retry-After=""
}
