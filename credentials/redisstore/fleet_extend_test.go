package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// extendAPI is an API that extends its one key instead of replacing it:
// POST /v1/keys issues the key, POST /v1/keys/extend pushes its expiry to
// a TTL from now, GET /v1/echo accepts the key until it expires.
type extendAPI struct {
	*httptest.Server
	secret string
	ttl    time.Duration

	mu       sync.Mutex
	key      string
	expiry   time.Time
	issued   int
	left     []time.Duration // time the key had left at each extension
	accepted int
	refused  int
}

func newExtendAPI(t *testing.T, ttl time.Duration) *extendAPI {
	a := &extendAPI{secret: "acct_secret_" + newKey(), ttl: ttl}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *extendAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/echo":
		if bearer == "" || bearer != a.key || !now.Before(a.expiry) {
			a.refused++
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"Invalid API Key","message":"The API key provided is not valid or has expired."}`)
			return
		}
		a.accepted++
		fmt.Fprint(w, `{}`)
		return
	case r.Method != http.MethodPost || bearer != a.secret:
		w.WriteHeader(http.StatusForbidden)
		return
	case r.URL.Path == "/v1/keys":
		a.issued++
		a.key = newKey()
	case r.URL.Path == "/v1/keys/extend":
		var body struct{ Key string }
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Key != a.key || !now.Before(a.expiry) {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":"not the current key, or expired"}`)
			return
		}
		a.left = append(a.left, a.expiry.Sub(now))
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	a.expiry = now.Add(a.ttl)
	json.NewEncoder(w).Encode(map[string]string{"key": a.key, "expires_at": a.expiry.Format(time.RFC3339Nano)})
}

func (a *extendAPI) extensions() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Duration(nil), a.left...)
}

// extendOverHTTP is the refresh hook of a worker in extend mode: it issues
// the first key and extends it afterwards, with the account secret.
func extendOverHTTP(base, secret string) credentials.RefreshFunc {
	return func(ctx context.Context, old credentials.Credential) (credentials.Credential, error) {
		url, body := base+"/v1/keys", ""
		if old.Key != "" {
			b, _ := json.Marshal(map[string]string{"key": old.Key})
			url, body = base+"/v1/keys/extend", string(b)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return credentials.Credential{}, err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return credentials.Credential{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return credentials.Credential{}, fmt.Errorf("POST %s: %s", url, resp.Status)
		}
		var got struct {
			Key       string    `json:"key"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return credentials.Credential{}, err
		}
		return credentials.Credential{Key: got.Key, Expiry: got.ExpiresAt}, nil
	}
}

// Four processes share a key that the API extends rather than replaces.
// Each expiry must cost one call to the extend endpoint for the whole fleet:
// the first process to reach it extends the key and stores the new expiry,
// the others take that from Redis.
//
// Each process's Cache refreshes a key at most 0.6 of its life before it
// expires (half, plus up to a fifth of that as jitter), so a legitimate
// extension finds the key with at most 0.6 TTL left. A second extension of
// the same expiry comes right after the first, when the key has nearly the
// whole TTL left.
func TestFleetExtendsOncePerExpiry(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t, rdb)
	const ttl = 3 * time.Second
	api := newExtendAPI(t, ttl)

	ws := fleetAt(t, 4, api.URL, api.secret, prefix, envLease+"=5s", envMode+"=extend")
	for _, w := range ws {
		w.next(t, "ready", 30*time.Second)
	}
	const expiries = 3
	for deadline := time.Now().Add(30 * time.Second); len(api.extensions()) < expiries; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d extensions after 30s, want %d", len(api.extensions()), expiries)
		}
	}
	var ok int64
	var warnings []string
	for _, w := range ws {
		r := w.finish(t)
		if r.Failed != 0 {
			t.Errorf("worker %d: %d failed requests (of %d), e.g. %q", r.PID, r.Failed, r.OK+r.Failed, r.Errors)
		}
		ok += r.OK
		warnings = append(warnings, r.Warnings...)
	}

	left := api.extensions()
	api.mu.Lock()
	issued, accepted, refused := api.issued, api.accepted, api.refused
	api.mu.Unlock()
	t.Logf("%d requests succeeded; API: %d accepted, %d refused, %d key issued, %d extensions with %v left",
		ok, accepted, refused, issued, len(left), left)
	if issued != 1 {
		t.Errorf("%d keys issued, want 1 for the whole fleet", issued)
	}
	// A process that found Redis unavailable (a call slower than the
	// Store's 1 s timeout: a loaded machine) refreshes on its own, by
	// design, and may extend an expiry another process extended. That is
	// excused only when a worker warned of it in this run.
	for i, l := range left {
		if l <= ttl*7/10 {
			continue
		}
		if len(warnings) > 0 {
			t.Logf("extension %d came with %v of the key's %v left, after a Store warning: %q", i+1, l, ttl, warnings)
			continue
		}
		t.Errorf("extension %d came with %v of the key's %v left: the same expiry was extended twice", i+1, l, ttl)
	}
}
