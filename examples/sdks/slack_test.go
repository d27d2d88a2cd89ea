package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// The Slack Web API: "Authorization: Bearer xoxb-..." (or a token form
// field), and every error, a bad token included, as 200 {"ok": false,
// "error": "..."}: invalid_auth, token_revoked, token_expired, ...
// (https://docs.slack.dev/authentication/tokens,
// internal/apierr/testdata/rejections/slack-invalid-auth.json). A 5xx comes
// with an HTML page (as slack-go's checkStatusCode notes).
var slackAPI = vendor{
	name:            "slack",
	keyHeader:       "Authorization",
	scheme:          "Bearer",
	rejectionStatus: http.StatusOK,
	rejection:       `{"ok": false, "error": "invalid_auth"}`,
	unavailable:     `<html><body><h1>503 Service Unavailable</h1></body></html>`,
	serve:           serveSlack,
}

// serveSlack answers chat.postMessage and chat.getPermalink in the shapes of
// https://docs.slack.dev/reference/methods/chat.postMessage and
// https://docs.slack.dev/reference/methods/chat.getPermalink.
func serveSlack(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/chat.postMessage":
		form, _ := url.ParseQuery(string(body))
		if form.Get("channel") == "" || form.Has("token") {
			a.problem("chat.postMessage form %q: want a channel and no token field", form.Encode())
		}
		fmt.Fprintf(w, `{"ok": true, "channel": %q, "ts": "1503435956.000247", "message": {"text": %q, "type": "message", "ts": "1503435956.000247"}}`,
			form.Get("channel"), form.Get("text"))
	case r.Method == http.MethodGet && r.URL.Path == "/api/chat.getPermalink":
		fmt.Fprintf(w, `{"ok": true, "channel": %q, "permalink": "https://ghostbusters.slack.com/archives/C1H9RESGA/p135854651500008"}`, r.URL.Query().Get("channel"))
	default:
		fmt.Fprint(w, `{"ok": false, "error": "unknown_method"}`)
	}
}

// slackHeaderAuth is how slack-go's requests reach rekey. slack-go sends the
// token as a "token" form field in most methods (chat.postMessage,
// auth.test, conversations.list: 199 of them in v0.36) and as
// "Authorization: Bearer" in the others. rekey puts the key in the header,
// and Slack accepts the header for every method
// (https://docs.slack.dev/authentication/tokens), so this drops slack-go's
// placeholder from form bodies: the header is then the only token.
type slackHeaderAuth struct{ hc *http.Client }

func (s slackHeaderAuth) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return s.hc.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("token") {
		return s.send(req, string(body))
	}
	form.Del("token")
	return s.send(req, form.Encode())
}

func (s slackHeaderAuth) send(req *http.Request, body string) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	return s.hc.Do(r)
}

// newSlack wires slack-go to rekey: the placeholder token, rekey's
// http.Client behind slackHeaderAuth, the API's base URL. slack-go retries
// nothing by default; retries > 0 turns on its connection, 429 and 5xx
// handlers with short waits.
func newSlack(hc *http.Client, base string, retries int) *slack.Client {
	opts := []slack.Option{slack.OptionHTTPClient(slackHeaderAuth{hc}), slack.OptionAPIURL(base + "/api/")}
	if retries > 0 {
		cfg := slack.RetryConfig{MaxRetries: retries, BackoffInitial: time.Millisecond, BackoffMax: 2 * time.Millisecond}
		cfg.Handlers = append(slack.AllBuiltinRetryHandlers(cfg), slack.NewServerErrorRetryHandler(cfg))
		opts = append(opts, slack.OptionRetryConfig(cfg)) // after OptionHTTPClient, which it wraps
	}
	return slack.New(placeholder, opts...)
}

var slackSDK = sdk{
	name:          "slack-go",
	vendor:        slackAPI,
	keys:          "xoxb-rekeytest-",
	options:       []rekey.Option{rekey.WithRejection(transport.Slack())},
	optInRetries:  2,
	sdkRetries5xx: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		channel, ts, err := newSlack(hc, base, retries).PostMessageContext(ctx, "C123ABC456", slack.MsgOptionText("Hello from rekey", false))
		if err == nil && (channel != "C123ABC456" || ts != "1503435956.000247") {
			return fmt.Errorf("unexpected answer %q %q", channel, ts)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		_, err := newSlack(hc, base, retries).GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C123ABC456", Ts: "1503435956.000247"})
		return err
	},
	status: func(err error) (int, bool) {
		var ok slack.SlackErrorResponse
		var code slack.StatusCodeError
		switch {
		case errors.As(err, &ok):
			return http.StatusOK, true // Slack's errors come in a 200
		case errors.As(err, &code):
			return code.Code, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e slack.SlackErrorResponse
		if !errors.As(err, &e) || e.Err != "invalid_auth" {
			return fmt.Errorf("%#v; want slack.SlackErrorResponse invalid_auth", err)
		}
		return nil
	},
	dump: func(err error) string { return fmt.Sprintf("%+v %#v", err, err) },
}

// TestSlack runs the scenarios with github.com/slack-go/slack.
func TestSlack(t *testing.T) { runSDK(t, slackSDK) }

// TestSlackTokenRevoked: a revoked token (token_revoked) is recovered from
// like invalid_auth, and a failed recovery says the token was revoked.
func TestSlackTokenRevoked(t *testing.T) {
	revoked := slackSDK
	revoked.vendor.rejection = `{"ok": false, "error": "token_revoked"}` // internal/apierr/testdata/rejections/slack-token-revoked.json
	r := newRig(t, revoked, false, true)
	if err := revoked.call(context.Background(), r.hc, r.base, 0); err != nil {
		t.Fatalf("not recovered: %v", err)
	}
	r.counts(t, 2, 1)

	r = newRig(t, revoked, false, false)
	err := revoked.call(context.Background(), r.hc, r.base, 0)
	var apiErr *rekey.APIError
	if !errors.As(err, &apiErr) || apiErr.Cause != rekey.CauseRevoked || apiErr.Code != "token_revoked" {
		t.Fatalf("err = %v; want rekey's *APIError with cause revoked", err)
	}
	r.counts(t, 2, 1)
}

// TestSlackFormTokenWithoutAdapter shows why slackHeaderAuth is there:
// without it, chat.postMessage reaches Slack with two tokens, slack-go's
// placeholder in the form and rekey's key in the header.
func TestSlackFormTokenWithoutAdapter(t *testing.T) {
	api := startFakeAPI(slackAPI)
	t.Cleanup(api.Close)
	key := "xoxb-rekeytest-00000000000000000001"
	api.accept(key)
	rk, err := rekey.NewClient(api.URL, rekey.WithCredentials(credentials.Static(key)), rekey.WithRejection(transport.Slack()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rk.Close() })
	c := slack.New(placeholder, slack.OptionHTTPClient(rk.HTTPClient()), slack.OptionAPIURL(api.URL+"/api/"))
	if _, _, err := c.PostMessageContext(context.Background(), "C123ABC456", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if p := api.wireProblems(); len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "placeholder in its body") {
		t.Errorf("wire problems %q; want the placeholder token in the form body", p)
	}
}
