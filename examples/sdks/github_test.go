package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-github/v84/github"
)

// The GitHub REST API: "Authorization: Bearer <token>", request IDs in
// X-GitHub-Request-Id, and this 401 for a bad token
// (internal/apierr/testdata/rejections/github-bad-credentials.json); errors
// are {"message", "documentation_url"}
// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
var githubAPI = vendor{
	name:            "github",
	keyHeader:       "Authorization",
	scheme:          "Bearer",
	requestIDHeader: "X-GitHub-Request-Id",
	rejection:       `{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}`,
	unavailable:     `{"message": "Service Unavailable", "documentation_url": "https://docs.github.com/rest"}`,
	serve:           serveGitHub,
}

// serveGitHub answers "Create an issue" and "Get the authenticated user" in
// the shapes of https://docs.github.com/en/rest/issues/issues#create-an-issue
// and https://docs.github.com/en/rest/users/users#get-the-authenticated-user.
func serveGitHub(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/repos/octocat/hello-world/issues":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 1, "number": 1347, "title": "Found a bug", "state": "open", "html_url": "https://github.com/octocat/Hello-World/issues/1347"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		fmt.Fprint(w, `{"login": "octocat", "id": 1, "type": "User"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}`)
	}
}

// newGitHub wires go-github to rekey: rekey's http.Client and the API's
// base URL; no token (WithAuthToken would add a transport of its own).
// go-github has no retry layer, so retries is ignored.
func newGitHub(hc *http.Client, base string) *github.Client {
	c := github.NewClient(hc)
	c.BaseURL, _ = url.Parse(base + "/")
	return c
}

var githubSDK = sdk{
	name:   "go-github",
	vendor: githubAPI,
	keys:   "github_pat_rekeytest",
	call: func(ctx context.Context, hc *http.Client, base string, _ int) error {
		issue, _, err := newGitHub(hc, base).Issues.Create(ctx, "octocat", "hello-world", &github.IssueRequest{Title: github.Ptr("Found a bug")})
		if err == nil && issue.GetNumber() != 1347 {
			return fmt.Errorf("unexpected issue %+v", issue)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, _ int) error {
		_, _, err := newGitHub(hc, base).Users.Get(ctx, "")
		return err
	},
	status: func(err error) (int, bool) {
		var e *github.ErrorResponse
		if errors.As(err, &e) {
			return e.Response.StatusCode, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e *github.ErrorResponse
		if !errors.As(err, &e) || e.Message != "Bad credentials" || e.Response.Header.Get("X-GitHub-Request-Id") != "req_github_2" {
			return fmt.Errorf("%#v; want *github.ErrorResponse \"Bad credentials\" from the replay", err)
		}
		return nil
	},
	dump: func(err error) string {
		var e *github.ErrorResponse
		if !errors.As(err, &e) {
			return ""
		}
		return fmt.Sprintf("%+v %+v %+v", *e, e.Response.Header, e.Response.Request.Header)
	},
}

// TestGitHub runs the scenarios with github.com/google/go-github/v84.
func TestGitHub(t *testing.T) { runSDK(t, githubSDK) }
