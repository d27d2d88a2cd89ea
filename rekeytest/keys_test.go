package rekeytest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestIssuedKeysAreLongRandomAndURLSafe(t *testing.T) {
	srv := newServer(t)
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		k := srv.IssueKey().Key
		if err := credentials.Validate(k); err != nil {
			t.Fatalf("issued key fails Validate: %v", err)
		}
		if !strings.HasPrefix(k, rekeytest.KeyPrefix) || len(k) != len(rekeytest.KeyPrefix)+32 {
			t.Fatalf("key %s: want %q and 32 characters", credentials.Redact(k), rekeytest.KeyPrefix)
		}
		if url.QueryEscape(k) != k {
			t.Fatalf("key %s is not URL-safe", credentials.Redact(k))
		}
		if seen[k] {
			t.Fatalf("key issued twice after %d keys", i)
		}
		seen[k] = true
	}
	if got := srv.Stats().KeysIssued; got != 1000 {
		t.Errorf("KeysIssued = %d, want 1000", got)
	}
}

func TestKeyExpiresAfterTTL(t *testing.T) {
	const ttl = 50 * time.Millisecond
	srv := newServer(t, rekeytest.WithKeyTTL(ttl))
	before := time.Now()
	cred := srv.IssueKey()
	if cred.Expiry.Before(before.Add(ttl)) || cred.Expiry.After(time.Now().Add(ttl)) {
		t.Fatalf("Expiry %v is not issue time + %v", cred.Expiry, ttl)
	}
	if a := send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""); a.status != http.StatusOK {
		t.Fatalf("fresh key: %d %s", a.status, a.body)
	}
	time.Sleep(time.Until(cred.Expiry) + 5*time.Millisecond) // the one wait this test is about
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""))
	if st := srv.Stats(); st.LiveKeys != 0 || st.Rejections != 1 {
		t.Errorf("after expiry: LiveKeys %d, Rejections %d; want 0, 1", st.LiveKeys, st.Rejections)
	}
}

// clock is a time source a test moves by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestExpiryIsExactWithAnInjectedClock(t *testing.T) {
	clk := newClock()
	srv := newServer(t, rekeytest.WithKeyTTL(time.Hour), rekeytest.WithClock(clk.now))
	cred := srv.IssueKey()
	if want := clk.now().Add(time.Hour); !cred.Expiry.Equal(want) {
		t.Fatalf("Expiry = %v, want %v", cred.Expiry, want)
	}
	clk.advance(time.Hour - time.Nanosecond)
	if a := send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""); a.status != http.StatusOK {
		t.Fatalf("1ns before expiry: %d %s", a.status, a.body)
	}
	clk.advance(time.Nanosecond)
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""))
}

func TestKeysWithoutTTLNeverExpire(t *testing.T) {
	clk := newClock()
	srv := newServer(t, rekeytest.WithClock(clk.now))
	cred := srv.IssueKey()
	if !cred.Expiry.IsZero() {
		t.Fatalf("Expiry = %v, want zero (no TTL)", cred.Expiry)
	}
	clk.advance(100 * 365 * 24 * time.Hour)
	if a := send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""); a.status != http.StatusOK {
		t.Fatalf("after a century: %d %s", a.status, a.body)
	}
}

func TestRevoke(t *testing.T) {
	srv := newServer(t)
	a, b := srv.IssueKey(), srv.IssueKey()
	if !srv.Revoke(a.Key) {
		t.Fatal("Revoke of a live key = false")
	}
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, a.Key, ""))
	if got := send(t, srv, "GET", "/v1/echo", bearer, b.Key, ""); got.status != http.StatusOK {
		t.Errorf("the other key: %d %s", got.status, got.body)
	}
	if srv.Revoke(a.Key) {
		t.Error("second Revoke of the same key = true")
	}
	if srv.Revoke("rk_test_neverissuedneverissuednever00") {
		t.Error("Revoke of an unknown key = true")
	}
	if st := srv.Stats(); st.KeysRevoked != 1 || st.LiveKeys != 1 {
		t.Errorf("KeysRevoked %d, LiveKeys %d; want 1, 1", st.KeysRevoked, st.LiveKeys)
	}
}

func TestRotateAllRevokesEveryKeyIssuedSoFar(t *testing.T) {
	srv := newServer(t)
	var old []credentials.Credential
	for i := 0; i < 3; i++ {
		old = append(old, srv.IssueKey())
	}
	srv.RotateAll()
	for _, c := range old {
		wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, c.Key, ""))
	}
	fresh := srv.IssueKey()
	if a := send(t, srv, "GET", "/v1/echo", bearer, fresh.Key, ""); a.status != http.StatusOK {
		t.Errorf("key issued after RotateAll: %d %s", a.status, a.body)
	}
	if st := srv.Stats(); st.KeysRevoked != 3 || st.Rotations != 1 || st.LiveKeys != 1 {
		t.Errorf("Stats = %+v; want 3 revoked, 1 rotation, 1 live", st)
	}
}

func TestRevokeOnIssue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		on      bool
		wantOld int // status for the older key once a new one is minted
	}{
		{"off: older keys stay valid", false, http.StatusOK},
		{"on: minting revokes older keys", true, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, rekeytest.WithRevokeOnIssue(tc.on))
			first := srv.IssueKey()
			second := srv.IssueKey() // directly
			third, err := srv.Refresh(t.Context(), second)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []credentials.Credential{first, second} {
				if a := send(t, srv, "GET", "/v1/echo", bearer, c.Key, ""); a.status != tc.wantOld {
					t.Errorf("older key %v: %d, want %d", c, a.status, tc.wantOld)
				}
			}
			if a := send(t, srv, "GET", "/v1/echo", bearer, third.Key, ""); a.status != http.StatusOK {
				t.Errorf("newest key: %d %s", a.status, a.body)
			}
		})
	}
}

func TestRotateEveryRevokesInTheBackground(t *testing.T) {
	srv := newServer(t, rekeytest.WithRotateEvery(10*time.Millisecond))
	cred := srv.IssueKey()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Rotations == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background rotation within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""))
}

func TestMintingNeedsTheAccountSecret(t *testing.T) {
	const secret = "rk_acct_correcthorsebatterystaple0001"
	srv := newServer(t, rekeytest.WithAccountSecret(secret))
	if srv.AccountSecret() != secret {
		t.Fatal("AccountSecret does not return the configured secret")
	}
	apiKey := srv.IssueKey().Key
	for _, tc := range []struct {
		name   string
		header string
		want   int
	}{
		{"right secret", "Bearer " + secret, http.StatusCreated},
		{"scheme is case-insensitive", "bearer " + secret, http.StatusCreated},
		{"missing", "", http.StatusUnauthorized},
		{"wrong secret", "Bearer rk_acct_wrongwrongwrongwrongwrong0002", http.StatusUnauthorized},
		{"an API key is not the secret", "Bearer " + apiKey, http.StatusUnauthorized},
		{"secret with another scheme", "Basic " + secret, http.StatusUnauthorized},
		{"quoted secret", `Bearer "` + secret + `"`, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, srv, "POST", "/v1/keys", func(r *http.Request, _ string) {
				if tc.header != "" {
					r.Header.Set("Authorization", tc.header)
				}
			}, "", "")
			if a.status != tc.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.want)
			}
			if a.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
			}
			if tc.want == http.StatusCreated {
				var got struct {
					Key       string  `json:"key"`
					ExpiresAt *string `json:"expires_at"`
				}
				a.json(t, &got)
				if credentials.Validate(got.Key) != nil || got.ExpiresAt != nil {
					t.Errorf("minted %v, expires_at %v; want a valid key and null (no TTL)", credentials.Credential{Key: got.Key}, got.ExpiresAt)
				}
				return
			}
			if string(a.body) == rekeytest.InvalidKeyBody {
				t.Fatal("a bad account secret got the invalid-API-key body")
			}
			var e struct{ Error, Message string }
			a.json(t, &e)
			if e.Error != "Invalid Account Secret" || e.Message == "" {
				t.Errorf("error body %s", a.body)
			}
		})
	}
	if st := srv.Stats(); st.AccountRejections != 5 || st.Rejections != 0 {
		t.Errorf("AccountRejections %d, Rejections %d; want 5, 0", st.AccountRejections, st.Rejections)
	}
	// And the other way round: the secret is not an API key.
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, secret, ""))
}

func TestRandomAccountSecretIsValidAndUnlikeAKey(t *testing.T) {
	srv := newServer(t)
	s := srv.AccountSecret()
	if err := credentials.Validate(s); err != nil || strings.HasPrefix(s, rekeytest.KeyPrefix) {
		t.Errorf("secret %s: Validate = %v; want valid and not an API key's prefix", credentials.Redact(s), err)
	}
	if other := newServer(t).AccountSecret(); other == s {
		t.Error("two servers share an account secret")
	}
}
