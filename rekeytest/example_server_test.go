package rekeytest_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// IssueKey mints a key directly, for test setup; it prints redacted.
func ExampleServer_IssueKey() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	key := srv.IssueKey()
	fmt.Println(strings.HasPrefix(key.Key, rekeytest.KeyPrefix), len(key.Key), key.Expiry.IsZero())
	fmt.Println(credentials.Validate(key.Key))
	// Output:
	// true 40 true
	// <nil>
}

// Revoke invalidates one key at once, as a leaked key would be; the
// others keep working.
func ExampleServer_Revoke() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	leaked, other := srv.IssueKey(), srv.IssueKey()
	fmt.Println(srv.Revoke(leaked.Key), srv.Revoke(leaked.Key))
	fmt.Println(status(srv, leaked.Key), status(srv, other.Key))
	// Output:
	// true false
	// 401 200
}

// RotateAll revokes every key issued so far; keys minted afterwards work.
func ExampleServer_RotateAll() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	before := srv.IssueKey()
	srv.RotateAll()
	after := srv.IssueKey()
	fmt.Println(status(srv, before.Key), status(srv, after.Key))
	// Output:
	// 401 200
}

// SetFaults turns faults on and off while a test runs: here every request
// of a phase fails, then the service recovers.
func ExampleServer_SetFaults() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	key := srv.IssueKey()

	srv.SetFaults(rekeytest.Faults{UnavailableRate: 1})
	fmt.Println(status(srv, key.Key), status(srv, key.Key))
	srv.SetFaults(rekeytest.Faults{})
	fmt.Println(status(srv, key.Key))
	fmt.Println("503s:", srv.Stats().Faults.Unavailable)
	// Output:
	// 503 503
	// 200
	// 503s: 2
}

// Bodies lets a test check that every body arrived exactly once, as sent,
// even when requests were replayed after a key refresh.
func ExampleServer_Bodies() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	client := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static(srv.IssueKey().Key),
		Refresh:     srv.Refresh,
	}}
	srv.RotateAll() // the first POST is rejected, then replayed with a new key

	var wg sync.WaitGroup
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(srv.URL+"/v1/echo", "application/json", strings.NewReader(body))
			if err != nil {
				fmt.Println(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	got := map[string]int{}
	for _, b := range srv.Bodies() {
		got[string(b)]++
	}
	fmt.Println(got)
	// Output:
	// map[{"n":1}:1 {"n":2}:1]
}

// Stats counts what the server saw, for a test's assertions.
func ExampleServer_Stats() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	key := srv.IssueKey()
	status(srv, key.Key)
	status(srv, "rk_test_neverIssuedByThisServer0001")
	st := srv.Stats()
	fmt.Printf("requests %d, accepted %d, rejections %d, live keys %d\n", st.Requests, st.Accepted, st.Rejections, st.LiveKeys)
	// Output:
	// requests 2, accepted 1, rejections 1, live keys 1
}

// A refresh hook written against an API's key endpoint, tested against
// the fake: it posts the account secret and reads the new key.
func ExampleServer_AccountSecret() {
	srv := rekeytest.NewServer()
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AccountSecret())
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 201 Created
}
