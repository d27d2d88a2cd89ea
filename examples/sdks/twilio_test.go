package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/twilio/twilio-go"
	tclient "github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/transport"
)

// twilioSID is the account SID: the user name of Twilio's Basic auth; the
// auth token (the key rekey rotates) is the password.
const twilioSID = "AC0123456789abcdef0123456789abcdef"

// The Twilio REST API at https://api.twilio.com (twilio-go's base URL is
// fixed, so the fake API takes that host over TLS on loopback): HTTP Basic
// auth with the account SID as the user and the auth token as the password
// (https://www.twilio.com/docs/usage/requests-to-twilio), and error 20003
// for a bad token (internal/apierr/testdata/rejections/twilio-authenticate.json).
var twilioAPI = vendor{
	name:        "twilio",
	keyHeader:   "Authorization",
	basicUser:   twilioSID,
	host:        "api.twilio.com",
	placeholder: "SETBYREKEY", // twilio-go accepts only letters and digits in a password
	rejection:   `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`,
	unavailable: `{"code": 20503, "message": "Service Unavailable", "more_info": "https://www.twilio.com/docs/errors/20503", "status": 503}`,
	serve:       serveTwilio,
}

// serveTwilio answers "Create a Message" and "Fetch an Account" in the
// shapes of https://www.twilio.com/docs/messaging/api/message-resource and
// https://www.twilio.com/docs/iam/api/account.
func serveTwilio(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/2010-04-01/Accounts/"+twilioSID+"/Messages.json":
		form, _ := url.ParseQuery(string(body))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"account_sid": %q, "api_version": "2010-04-01", "body": %q, "direction": "outbound-api", "from": %q,`+
			` "num_segments": "1", "sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": %q}`,
			twilioSID, form.Get("Body"), form.Get("From"), form.Get("To"))
	case r.Method == http.MethodGet && r.URL.Path == "/2010-04-01/Accounts/"+twilioSID+".json":
		fmt.Fprintf(w, `{"sid": %q, "friendly_name": "My Account", "status": "active", "type": "Full"}`, twilioSID)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"code": 20404, "message": "The requested resource %s was not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}`, r.URL.Path)
	}
}

// newTwilio wires twilio-go to rekey: the account SID and a placeholder
// token (twilio-go sets Basic auth itself; rekey's header replaces it), and
// rekey's http.Client. twilio-go has no retry layer, so retries is ignored.
func newTwilio(hc *http.Client) *twilio.RestClient {
	c := &tclient.Client{Credentials: tclient.NewCredentials(twilioSID, "SETBYREKEY"), HTTPClient: hc}
	c.SetAccountSid(twilioSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

var twilioSDK = sdk{
	name:    "twilio-go",
	vendor:  twilioAPI,
	keys:    "f0e1d2c3b4a5",
	options: []rekey.Option{rekey.WithBasicAuth(transport.BasicKeyAsPassword(twilioSID))},
	call: func(_ context.Context, hc *http.Client, _ string, _ int) error {
		params := (&twilioapi.CreateMessageParams{}).SetTo("+15558675310").SetFrom("+15017122661").SetBody("Hello from rekey")
		m, err := newTwilio(hc).Api.CreateMessage(params)
		if err == nil && (m.Status == nil || *m.Status != "queued" || *m.Body != "Hello from rekey") {
			return fmt.Errorf("unexpected message %+v", m)
		}
		return err
	},
	get: func(_ context.Context, hc *http.Client, _ string, _ int) error {
		_, err := newTwilio(hc).Api.FetchAccount(twilioSID)
		return err
	},
	status: func(err error) (int, bool) {
		var e *tclient.TwilioRestError
		if errors.As(err, &e) {
			return e.Status, true
		}
		return 0, false
	},
	own: func(err error) error {
		var e *tclient.TwilioRestError
		if !errors.As(err, &e) || e.Code != 20003 || e.Message != "Authenticate" {
			return fmt.Errorf("%#v; want *client.TwilioRestError 20003 Authenticate", err)
		}
		return nil
	},
	dump: func(err error) string { return fmt.Sprintf("%+v %#v", err, err) },
}

// TestTwilio runs the scenarios with github.com/twilio/twilio-go, the key
// sent in HTTP Basic auth by rekey.
func TestTwilio(t *testing.T) { runSDK(t, twilioSDK) }
