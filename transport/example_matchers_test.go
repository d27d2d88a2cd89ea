package transport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// fakeSlack answers like Slack's Web API: 200 {"ok": false, "error":
// "token_revoked"} for any token but the current one.
func fakeSlack(current string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Header.Get("Authorization") != "Bearer "+current {
			io.WriteString(w, `{"ok":false,"error":"token_revoked"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
}

// Slack answers a revoked token with a 200, which only a matcher that sees
// 2xx responses can recognise.
func ExampleSlack() {
	srv := fakeSlack("xoxb-new-token-0000000000")
	defer srv.Close()

	hc := &http.Client{Transport: &transport.Transport{
		Credentials: credentials.Static("xoxb-old-token-0000000000"),
		Refresh: func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
			return credentials.Credential{Key: "xoxb-new-token-0000000000"}, nil // e.g. Slack's token rotation
		},
		IsRejection: transport.Slack(),
		OnEvent:     func(ev transport.Event) { fmt.Println(ev.Kind, ev.StatusCode, ev.Cause) },
	}}
	resp, err := hc.Get(srv.URL + "/api/auth.test")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body) // the body, line by line
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	// Output:
	// key rejected 200 revoked
	// request replayed 200 revoked
	// {"ok":true}
}

// AWS API Gateway answers an invalid API key with a bare 403
// {"message":"Forbidden"}; its x-amzn-ErrorType header tells it apart from
// a wrong path (MissingAuthenticationTokenException).
func ExampleStatusHeader() {
	m := transport.AnyOf(transport.IsInvalidKeyRejection,
		transport.StatusHeader(http.StatusForbidden, "X-Amzn-Errortype", "ForbiddenException"))

	for _, errType := range []string{"ForbiddenException", "MissingAuthenticationTokenException"} {
		resp := &http.Response{StatusCode: 403, Header: http.Header{"X-Amzn-Errortype": {errType}}}
		fmt.Println(errType, m(resp, func() []byte { return []byte(`{"message":"Forbidden"}`) }))
	}
	// Output:
	// ForbiddenException true
	// MissingAuthenticationTokenException false
}

// A rejection that only its wording identifies takes one line: here etcd's
// 400 when an auth token predates a password change.
func ExampleStatusBody() {
	m := transport.AnyOf(transport.IsInvalidKeyRejection,
		transport.StatusBody(http.StatusBadRequest, "etcdserver: revision of auth store is old"))

	for _, body := range []string{
		`{"error":"etcdserver: revision of auth store is old","code":3}`,
		`{"error":"etcdserver: key is not provided","code":3}`,
	} {
		resp := &http.Response{StatusCode: 400, Header: http.Header{}}
		fmt.Println(m(resp, func() []byte { return []byte(body) }))
	}
	// Output:
	// true
	// false
}

// OKFalse is the builder behind Slack, for other APIs that answer 200 with
// {"ok": false, "error": "<code>"}.
func ExampleOKFalse() {
	m := transport.OKFalse("invalid_auth", "token_expired")
	h := http.Header{"Content-Type": {"application/json"}}
	for _, body := range []string{`{"ok":false,"error":"token_expired"}`, `{"ok":false,"error":"channel_not_found"}`, `{"ok":true}`} {
		fmt.Println(m(&http.Response{StatusCode: 200, Header: h}, func() []byte { return []byte(body) }))
	}
	// Output:
	// true
	// false
	// false
}

// GraphQL APIs answer a rejected token with 200 and an errors list; the
// GraphQL matcher recognises UNAUTHENTICATED there, and leaves a scope
// error alone.
func ExampleGraphQL() {
	m := transport.GraphQL()
	h := http.Header{"Content-Type": {"application/json"}}
	for _, body := range []string{
		`{"data":null,"errors":[{"message":"Not authenticated","extensions":{"code":"UNAUTHENTICATED"}}]}`,
		`{"errors":[{"type":"INSUFFICIENT_SCOPES","message":"Your token has not been granted the required scopes"}]}`,
		`{"data":{"viewer":{"login":"octocat"}}}`,
	} {
		fmt.Println(m(&http.Response{StatusCode: 200, Header: h}, func() []byte { return []byte(body) }))
	}
	// Output:
	// true
	// false
	// false
}

// The default matcher reads a 401, 403 or 400 by what it says: a 401 about
// scope is not a rejection, nor is a 400 that names the token only to say
// it lacks scopes.
func ExampleIsInvalidKeyRejection() {
	for _, r := range []struct {
		status int
		body   string
	}{
		{401, `{"error":"invalid_token","error_description":"The access token expired"}`},
		{401, `{"error_summary":"missing_scope/","error":{".tag":"missing_scope"}}`},
		{403, `{"message":"Invalid Application-ID or API key"}`},
		{400, `{"code":4711,"message":"Invalid access token, does not contain scopes:[user:read]."}`},
		{400, `<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`},
	} {
		resp := &http.Response{StatusCode: r.status, Header: http.Header{}}
		fmt.Println(r.status, transport.IsInvalidKeyRejection(resp, func() []byte { return []byte(r.body) }))
	}
	// Output:
	// 401 true
	// 401 false
	// 403 true
	// 400 false
	// 400 true
}
