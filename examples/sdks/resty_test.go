package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/transport"
)

// The Mailgun API, called through resty: HTTP Basic auth with the user
// "api" and the API key as the password
// (https://documentation.mailgun.com/docs/mailgun/api-reference/authentication),
// and {"message": "Invalid private key"} in a 401 for a bad key
// (internal/apierr/testdata/rejections/mailgun-invalid-private-key.json).
var mailgunAPI = vendor{
	name:        "mailgun",
	keyHeader:   "Authorization",
	basicUser:   "api",
	rejection:   `{"message": "Invalid private key"}`,
	unavailable: `{"message": "Service Unavailable"}`,
	serve:       serveMailgun,
}

// serveMailgun answers "Send an email" and "Get domains" in the shapes of
// https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
// and .../tag/Domains/.
func serveMailgun(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v3/samples.mailgun.org/messages":
		if form, _ := url.ParseQuery(string(body)); form.Get("to") == "" {
			a.problem("messages form %q: no recipient", body)
		}
		fmt.Fprint(w, `{"id": "<20111114174239.25659.5817@samples.mailgun.org>", "message": "Queued. Thank you."}`)
	case r.Method == http.MethodGet && r.URL.Path == "/v3/domains":
		fmt.Fprint(w, `{"total_count": 1, "items": [{"name": "samples.mailgun.org", "state": "active"}]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message": "Not Found"}`)
	}
}

// mailgunError is the body of a Mailgun error, for resty's SetError.
type mailgunError struct {
	Message string `json:"message"`
}

// restyError turns resty's answer to an error status (a *resty.Response
// and no error) into an error, as an application's wrapper would.
type restyError struct{ resp *resty.Response }

func (e *restyError) Error() string {
	return fmt.Sprintf("mailgun: %s: %s", e.resp.Status(), e.resp.Error().(*mailgunError).Message)
}

// newResty wires resty to rekey: rekey's http.Client and the API's base URL;
// no SetBasicAuth (rekey sets it). resty retries nothing by default;
// retries > 0 turns its retries on for errors and 5xx, with short waits. A
// retry condition replaces resty's default (retry on an error), so it
// names errors too.
func newResty(hc *http.Client, base string, retries int) *resty.Client {
	c := resty.NewWithClient(hc).SetBaseURL(base).SetError(&mailgunError{})
	if retries > 0 {
		c.SetRetryCount(retries).SetRetryWaitTime(time.Millisecond).SetRetryMaxWaitTime(2 * time.Millisecond).
			AddRetryCondition(func(r *resty.Response, err error) bool { return err != nil || r.StatusCode() >= 500 })
	}
	return c
}

// restyDo sends req and returns a *restyError for an error status.
func restyDo(resp *resty.Response, err error) error {
	if err == nil && resp.IsError() {
		return &restyError{resp}
	}
	return err
}

var restySDK = sdk{
	name:          "resty",
	vendor:        mailgunAPI,
	keys:          "key-rekeytest",
	options:       []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword("api"))},
	optInRetries:  2,
	sdkRetries5xx: true,
	retriesErrors: true,
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		var sent struct{ Message string }
		resp, err := newResty(hc, base, retries).R().SetContext(ctx).SetResult(&sent).
			SetFormData(map[string]string{"from": "Excited User <mailgun@samples.mailgun.org>", "to": "jane@example.com", "subject": "Hello", "text": "Testing"}).
			Post("/v3/samples.mailgun.org/messages")
		if err := restyDo(resp, err); err != nil {
			return err
		}
		if sent.Message != "Queued. Thank you." {
			return fmt.Errorf("unexpected answer %q", resp.Body())
		}
		return nil
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		return restyDo(newResty(hc, base, retries).R().SetContext(ctx).Get("/v3/domains"))
	},
	status: func(err error) (int, bool) {
		var e *restyError
		if errors.As(err, &e) {
			return e.resp.StatusCode(), true
		}
		return 0, false
	},
	own: func(err error) error {
		var e *restyError
		if !errors.As(err, &e) || e.resp.Error().(*mailgunError).Message != "Invalid private key" {
			return fmt.Errorf("%#v; want resty's response with Mailgun's error decoded by SetError", err)
		}
		return nil
	},
	dump: func(err error) string {
		var e *restyError
		if !errors.As(err, &e) {
			return ""
		}
		return fmt.Sprintf("%+v %+v %+v", e.resp.Header(), e.resp.Request.Header, e.resp.RawResponse.Request.Header)
	},
}

// TestResty runs the scenarios with github.com/go-resty/resty/v2, the key
// sent in HTTP Basic auth by rekey, as Mailgun takes it.
func TestResty(t *testing.T) { runSDK(t, restySDK) }
