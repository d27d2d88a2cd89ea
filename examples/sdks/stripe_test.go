package sdks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/rekeyhq/rekey"
)

// The Stripe API: "Authorization: Bearer sk_...", the API version in
// Stripe-Version, request IDs in Request-Id, and this 401 body for a wrong
// key (masked in the message, as the API does).
var stripeAPI = vendor{
	name:            "stripe",
	keyHeader:       "Authorization",
	scheme:          "Bearer",
	requestIDHeader: "Request-Id",
	rejection: `{"error": {"message": "Invalid API Key provided: sk_test_*****************0001",` +
		` "type": "invalid_request_error", "doc_url": "https://stripe.com/docs/error-codes"}}`,
	unavailable: `{"error": {"message": "The Stripe API is temporarily unavailable.", "type": "api_error"}}`,
	required:    map[string]string{"Stripe-Version": stripe.APIVersion},
	serve:       serveStripe,
}

func serveStripe(a *fakeAPI, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/customers":
		if r.Header.Get("Idempotency-Key") == "" {
			a.problem("POST /v1/customers without the Idempotency-Key stripe-go adds")
		}
		form, _ := url.ParseQuery(string(body))
		fmt.Fprintf(w, `{"id": "cus_new", "object": "customer", "email": %q, "livemode": false}`, form.Get("email"))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/customers/"):
		fmt.Fprintf(w, `{"id": %q, "object": "customer", "email": "jenny@example.com", "livemode": false}`, strings.TrimPrefix(r.URL.Path, "/v1/customers/"))
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error": {"message": "Unrecognized request URL (%s: %s).", "type": "invalid_request_error"}}`, r.Method, r.URL.Path)
	}
}

// stripeLog collects what stripe-go logs, to check that no key is there.
type stripeLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *stripeLog) log(format string, v ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
	l.mu.Unlock()
}
func (l *stripeLog) Debugf(format string, v ...any) { l.log(format, v...) }
func (l *stripeLog) Infof(format string, v ...any)  { l.log(format, v...) }
func (l *stripeLog) Warnf(format string, v ...any)  { l.log(format, v...) }
func (l *stripeLog) Errorf(format string, v ...any) { l.log(format, v...) }

func (l *stripeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// stripeLogs is where every stripe client of the tests logs.
var stripeLogs = new(stripeLog)

// newStripe wires stripe-go to rekey: placeholder key, rekey's
// http.Client, the API's base URL.
func newStripe(hc *http.Client, base string, retries int) *stripe.Client {
	cfg := &stripe.BackendConfig{
		HTTPClient:    hc,
		URL:           stripe.String(base),
		LeveledLogger: stripeLogs,
	}
	if retries >= 0 {
		cfg.MaxNetworkRetries = stripe.Int64(int64(retries))
	}
	return stripe.NewClient(placeholder, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

var stripeSDK = sdk{
	name:             "stripe",
	vendor:           stripeAPI,
	keys:             "sk_test_rekeytest",
	sdkRetries:       2,
	retriesErrors:    true,
	rekeyRetriesPOST: true, // stripe-go adds an Idempotency-Key to every POST
	call: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		c, err := newStripe(hc, base, retries).V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("jenny@example.com")})
		if err == nil && (c.ID != "cus_new" || c.Email != "jenny@example.com") {
			return fmt.Errorf("unexpected customer %+v", c)
		}
		return err
	},
	get: func(ctx context.Context, hc *http.Client, base string, retries int) error {
		_, err := newStripe(hc, base, retries).V1Customers.Retrieve(ctx, "cus_123", nil)
		return err
	},
	status: func(err error) (int, bool) {
		var e *stripe.Error
		if errors.As(err, &e) {
			return e.HTTPStatusCode, true
		}
		return 0, false
	},
	dump: func(err error) string {
		var e *stripe.Error
		if !errors.As(err, &e) {
			return ""
		}
		return fmt.Sprintf("%+v %#v", *e, e.LastResponse) + stripeLogs.String()
	},
}

// TestStripe runs the scenarios with github.com/stripe/stripe-go/v85.
func TestStripe(t *testing.T) { runSDK(t, stripeSDK) }

// TestStripeTypedErrorAndLogs: in response mode the Stripe error carries
// the API's own facts (type, message, request ID), and nothing stripe-go
// logs about the failed requests, in either mode, shows a key.
func TestStripeTypedErrorAndLogs(t *testing.T) {
	r := newRig(t, stripeSDK, false, false, rekey.WithReturnResponse())
	err := stripeSDK.get(context.Background(), r.hc, r.base, 0)
	var e *stripe.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v; want *stripe.Error", err)
	}
	if e.Type != stripe.ErrorTypeInvalidRequest || e.RequestID != "req_stripe_2" || !strings.HasPrefix(e.Msg, "Invalid API Key provided") {
		t.Errorf("stripe.Error = type %q, request %q, message %q; want the replay's rejection as the API sent it", e.Type, e.RequestID, e.Msg)
	}
	errMode := newRig(t, stripeSDK, false, false)
	err2 := stripeSDK.get(context.Background(), errMode.hc, errMode.base, 0)
	if !errors.Is(err2, rekey.ErrInvalidAPIKey) {
		t.Fatalf("error mode: err = %v; want ErrInvalidAPIKey", err2)
	}
	logs := stripeLogs.String()
	if !strings.Contains(logs, "invalid API key") {
		t.Errorf("stripe-go logged nothing about rekey's error; the check below would prove nothing:\n%s", logs)
	}
	r.noKey(t, err, logs)
	errMode.noKey(t, err2, logs, io.EOF.Error())
}
