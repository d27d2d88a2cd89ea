package sdks_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// sdk adapts one vendor SDK to the scenarios every SDK runs.
type sdk struct {
	name    string
	vendor  vendor
	keys    string         // prefix of the test keys, as the vendor's keys look
	options []rekey.Option // where rekey puts the key

	// sdkRetries is the SDK's default number of retries.
	sdkRetries int
	// optInRetries, for an SDK that retries nothing by default but can be
	// told to (genai, slack-go, resty), is the number of retries the "SDK
	// retries on" cases turn on.
	optInRetries int
	// sdkRetries5xx reports whether the SDK retries a 5xx response, or
	// only connection errors (stripe-go: an API error it decoded is not
	// retried).
	sdkRetries5xx bool
	// retriesErrors reports whether the SDK retries an error from
	// http.Client.Do, rekey's included: most take any such error for a
	// connection failure; slack-go retries only errors whose text says
	// "connection reset", "connection refused" or "EOF".
	retriesErrors bool
	// rekeyRetriesPOST reports whether rekey's retry layer retries the
	// SDK's POSTs: only those with an Idempotency-Key (Stripe adds one).
	rekeyRetriesPOST bool

	// call makes one ordinary call (a POST) through hc to the API at base,
	// with the SDK's retries set to retries (-1 keeps the SDK's default).
	call func(ctx context.Context, hc *http.Client, base string, retries int) error
	// get makes one GET, likewise.
	get func(ctx context.Context, hc *http.Client, base string, retries int) error
	// stream, if the SDK streams, makes one streamed call and returns the
	// text of its events, sending on read after each event it reads.
	stream func(ctx context.Context, hc *http.Client, base string, read chan<- struct{}) (string, error)
	// streamed is the text stream must return.
	streamed string
	// status returns the HTTP status of the SDK's own error type in err
	// (for slack-go's ok:false error, 200: the status Slack sends it with).
	status func(err error) (int, bool)
	// own, if set, checks that err is the SDK's own error for the API's
	// rejection, with the API's facts (its code, its message).
	own func(err error) error
	// dump returns what the SDK's error value can print of its request
	// and response (its debugging helpers), to check that no key is there.
	dump func(err error) string
}

// Retry counts of rekey's layer in these tests.
const rekeyAttempts = 4

// rig is one rekey.Client in front of one fake API, with a refresh hook
// that mints numbered keys.
type rig struct {
	api       *fakeAPI
	rk        *rekey.Client
	hc        *http.Client
	base      string
	refreshes atomic.Int64
	mu        sync.Mutex
	keys      []string // every key rekey was given
}

// newRig starts s's fake API and a rekey.Client for it. The first key is
// accepted if firstValid; the keys the hook mints, if mintedValid.
func newRig(t *testing.T, s sdk, firstValid, mintedValid bool, opts ...rekey.Option) *rig {
	t.Helper()
	r := &rig{api: newFakeAPI(t, s.vendor)}
	first := r.key(s, 0)
	if firstValid {
		r.api.accept(first)
	}
	mint := func(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
		k := r.key(s, r.refreshes.Add(1))
		if mintedValid {
			r.api.accept(k)
		}
		return credentials.Credential{Key: k}, nil
	}
	all := []rekey.Option{
		rekey.WithCredentials(credentials.Static(first)),
		rekey.WithRefresh(mint),
		rekey.WithRetryPolicy(transport.RetryPolicy{MaxAttempts: rekeyAttempts, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}),
	}
	if tr := r.api.transport(); tr != nil {
		all = append(all, rekey.WithTransport(tr))
		t.Cleanup(tr.CloseIdleConnections)
	}
	all = append(append(all, s.options...), opts...)
	rk, err := rekey.NewClient(r.api.baseURL(), all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rk.Close() })
	r.rk, r.hc, r.base = rk, rk.HTTPClient(), r.api.baseURL()
	return r
}

// key returns the n-th test key for s, and remembers it.
func (r *rig) key(s sdk, n int64) string {
	k := fmt.Sprintf("%s%020d", s.keys, n)
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.mu.Unlock()
	return k
}

// counts checks the requests the API saw and the refresh hook's calls.
func (r *rig) counts(t *testing.T, requests, refreshes int64) {
	t.Helper()
	if got := r.api.requests.Load(); got != requests {
		t.Errorf("the API saw %d requests, want %d", got, requests)
	}
	if got := r.refreshes.Load(); got != refreshes {
		t.Errorf("the refresh hook was called %d times, want %d", got, refreshes)
	}
}

// noKey checks that no key appears in err, however printed, nor in extra:
// neither the key nor, for an API that takes it in Basic auth, its encoded
// pair (with or without padding).
func (r *rig) noKey(t *testing.T, err error, extra ...string) {
	t.Helper()
	texts := append([]string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}, extra...)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		forms := []string{k}
		if u := r.api.v.basicUser; u != "" {
			enc := base64.StdEncoding.EncodeToString([]byte(u + ":" + k))
			forms = append(forms, enc, strings.TrimRight(enc, "="))
		}
		for _, form := range forms {
			for _, s := range texts {
				if strings.Contains(s, form) {
					t.Errorf("a key is printed: %s", s)
				}
			}
		}
	}
}

// retriesOn returns the retries argument that turns s's retries on, and
// how many retries that makes: the SDK's default, or for an SDK whose
// default is none, optInRetries.
func (s sdk) retriesOn() (arg, n int) {
	if s.sdkRetries == 0 && s.optInRetries > 0 {
		return s.optInRetries, s.optInRetries
	}
	return -1, s.sdkRetries
}

// runSDK runs every scenario against s.
func runSDK(t *testing.T, s sdk) {
	ctx := context.Background()
	const sdkDefault = -1

	for _, mode := range []struct {
		name string
		opts []rekey.Option
	}{{"error mode", nil}, {"response mode", []rekey.Option{rekey.WithReturnResponse()}}} {
		t.Run("recovery/"+mode.name, func(t *testing.T) {
			r := newRig(t, s, false, true, mode.opts...)
			if err := s.call(ctx, r.hc, r.base, sdkDefault); err != nil {
				t.Fatalf("call: %v; want success after one refresh", err)
			}
			r.counts(t, 2, 1)
		})
	}

	on, onRetries := s.retriesOn()

	t.Run("failed recovery/response mode", func(t *testing.T) {
		// Both retry layers on: neither retries the rejection.
		r := newRig(t, s, false, false, rekey.WithReturnResponse())
		err := s.call(ctx, r.hc, r.base, on)
		if status, ok := s.status(err); !ok || status != s.vendor.rejectStatus() {
			t.Fatalf("err = %v (%T); want the SDK's own error with status %d", err, err, s.vendor.rejectStatus())
		}
		if s.own != nil {
			if problem := s.own(err); problem != nil {
				t.Errorf("the SDK's error: %v", problem)
			}
		}
		if errors.Is(err, rekey.ErrInvalidAPIKey) {
			t.Errorf("the SDK's error also matches rekey.ErrInvalidAPIKey; it should be the SDK's alone")
		}
		r.counts(t, 2, 1)
		r.noKey(t, err, s.dump(err))
	})

	t.Run("failed recovery/error mode, SDK retries off", func(t *testing.T) {
		r := newRig(t, s, false, false)
		err := s.call(ctx, r.hc, r.base, 0)
		var apiErr *rekey.APIError
		if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) || !apiErr.Replayed {
			t.Fatalf("err = %v; want rekey's *APIError for a replayed request, through the SDK's wrapping", err)
		}
		wantID := ""
		if s.vendor.requestIDHeader != "" {
			wantID = fmt.Sprintf("req_%s_2", s.vendor.name)
		}
		if apiErr.RequestID != wantID {
			t.Errorf("RequestID = %q, want %q (the replay's)", apiErr.RequestID, wantID)
		}
		r.counts(t, 2, 1)
		r.noKey(t, err)
	})

	if onRetries > 0 {
		t.Run("failed recovery/error mode, SDK retries on", func(t *testing.T) {
			// Each SDK retry sends one request; none refreshes, since the
			// default RejectedKeyCooldown (10s) outlasts the SDK's retry window.
			r := newRig(t, s, false, false)
			err := s.call(ctx, r.hc, r.base, on)
			if !s.retriesErrors {
				var apiErr *rekey.APIError
				if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) || !apiErr.Replayed {
					t.Fatalf("err = %v; want rekey's *APIError for the replay, not retried by the SDK", err)
				}
				r.counts(t, 2, 1)
				r.noKey(t, err)
				return
			}
			if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.Is(err, credentials.ErrRefreshedKeyRejected) {
				t.Fatalf("err = %v; want ErrInvalidAPIKey and ErrRefreshedKeyRejected through the SDK's wrapping", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "refreshed once, the new key was rejected too") || strings.Contains(msg, "returned the rejected key again") {
				t.Errorf("message %q does not say that the refreshed key was rejected too", msg)
			}
			r.counts(t, 2+int64(onRetries), 1)
			r.noKey(t, err)
		})
	}

	if s.stream != nil {
		t.Run("stream after recovery", func(t *testing.T) {
			r := newRig(t, s, false, true, rekey.WithReturnResponse(), rekey.WithoutRetries())
			read := make(chan struct{}, 1)
			r.api.gate = read
			text, err := s.stream(ctx, r.hc, r.base, read)
			if err != nil || text != s.streamed {
				t.Fatalf("stream = %q, %v; want %q, event by event", text, err, s.streamed)
			}
			r.counts(t, 2, 1)
		})
	}

	retries := []struct {
		name     string
		opts     []rekey.Option
		retries  int
		get      bool
		requests int64
	}{
		{"SDK retries, rekey's off", []rekey.Option{rekey.WithoutRetries()}, on, false, map[bool]int64{true: 1 + int64(onRetries), false: 1}[s.sdkRetries5xx]},
		{"rekey's retries, SDK's off, GET", nil, 0, true, rekeyAttempts},
		{"rekey's retries, SDK's off, POST", nil, 0, false, map[bool]int64{true: rekeyAttempts, false: 1}[s.rekeyRetriesPOST]},
		{"both on, GET: they multiply", nil, on, true, map[bool]int64{true: 1 + int64(onRetries), false: 1}[s.retriesErrors] * rekeyAttempts},
	}
	for _, tt := range retries {
		t.Run("503/"+tt.name, func(t *testing.T) {
			r := newRig(t, s, true, true, append(tt.opts, rekey.WithReturnResponse())...)
			r.api.failNext(-1)
			call := s.call
			if tt.get {
				call = s.get
			}
			err := call(ctx, r.hc, r.base, tt.retries)
			status, typed := s.status(err)
			switch {
			case typed && status != http.StatusServiceUnavailable:
				t.Errorf("the SDK's error has status %d, want 503", status)
			case !typed && !errors.Is(err, rekey.ErrServer):
				t.Errorf("err = %v; want the SDK's 503 or rekey.ErrServer", err)
			}
			r.counts(t, tt.requests, 0)
		})
	}
}
