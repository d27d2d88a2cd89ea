package transport_test

import (
	"fmt"
	"net/http"

	"github.com/rekeyhq/rekey/transport"
)

// SaysKeyInvalid is the test the default matcher applies to a 400 or 403:
// the key noun and a state word close together, as whole words.
func ExampleSaysKeyInvalid() {
	for _, body := range []string{
		`{"error": "Invalid API Key"}`,
		`{"error": {"code": 400, "message": "Request failed.", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}`,
		`{"message": "The access token provided has been revoked."}`,
		`{"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}`,
		`{"message": "User is not authorized to perform this action"}`,
	} {
		fmt.Println(transport.SaysKeyInvalid([]byte(body)))
	}
	// Output:
	// true
	// true
	// true
	// false
	// false
}

// AnyOf adds the rejections an API has besides the default's: here the
// Google Maps web services, which answer a bad key with a 200.
func ExampleAnyOf() {
	m := transport.AnyOf(transport.IsInvalidKeyRejection,
		transport.StatusBody(http.StatusOK, "The provided API key is invalid."),
		transport.StatusBody(http.StatusOK, "The provided API key is expired."))

	h := http.Header{"Content-Type": {"application/json"}}
	for _, c := range []struct {
		status int
		body   string
	}{
		{200, `{"error_message": "The provided API key is expired.", "results": [], "status": "REQUEST_DENIED"}`},
		{200, `{"results": [], "status": "ZERO_RESULTS"}`},
		{401, ``},
	} {
		fmt.Println(c.status, m(&http.Response{StatusCode: c.status, Header: h}, func() []byte { return []byte(c.body) }))
	}
	// Output:
	// 200 true
	// 200 false
	// 401 true
}

// A BasicAuth built by hand, for an API not covered by BasicKeyAsUser and
// BasicKeyAsPassword's comments: Freshdesk takes the key as the user name
// with the password "X". Validate reports a pair that cannot work.
func ExampleBasicAuth() {
	freshdesk := &transport.BasicAuth{KeyAsUser: true, Password: "X"}
	fmt.Println(freshdesk, freshdesk.Validate())

	wrong := &transport.BasicAuth{User: "api", Password: "secret"} // both halves fixed: where does the key go?
	fmt.Println(wrong.Validate())
	// Output:
	// transport.BasicAuth{KeyAsUser: true, Password: "****"} <nil>
	// rekey: BasicAuth has a Password and the key as the password: set KeyAsUser to send the key as the user name (see transport.BasicKeyAsUser), or leave Password empty
}
