package rekeytest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestRefreshMintsOverHTTPWithExpiry(t *testing.T) {
	const ttl = 100 * time.Millisecond // short: sub-second precision must survive JSON
	srv := newServer(t, rekeytest.WithKeyTTL(ttl))
	before := time.Now()
	cred, err := srv.Refresh(t.Context(), credentials.Credential{})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if err := credentials.Validate(cred.Key); err != nil {
		t.Fatal(err)
	}
	if cred.Expired() || cred.Expiry.Before(before.Add(ttl)) || cred.Expiry.After(after.Add(ttl)) {
		t.Errorf("Expiry %v; want within [%v, %v]", cred.Expiry, before.Add(ttl), after.Add(ttl))
	}
	if st := srv.Stats(); st.Requests != 1 || st.KeysIssued != 1 {
		t.Errorf("Requests %d, KeysIssued %d; want 1 each (minted over HTTP)", st.Requests, st.KeysIssued)
	}
	if a := send(t, srv, "GET", "/v1/echo", bearer, cred.Key, ""); a.status != http.StatusOK {
		t.Errorf("refreshed key: %d %s", a.status, a.body)
	}
}

func TestRefreshNoTTLMeansZeroExpiry(t *testing.T) {
	srv := newServer(t)
	cred, err := srv.Refresh(t.Context(), credentials.Credential{})
	if err != nil || !cred.Expiry.IsZero() {
		t.Errorf("Refresh = %v, %v; want a key with zero Expiry", cred, err)
	}
}

func TestRefreshIsARefreshFuncForTheCache(t *testing.T) {
	srv := newServer(t, rekeytest.WithRevokeOnIssue(true), rekeytest.WithKeyTTL(time.Hour))
	first := srv.IssueKey()
	cache := &credentials.Cache{Provider: credentials.Static(first.Key), Refresh: srv.Refresh}
	t.Cleanup(func() { cache.Close() })
	if got, err := cache.Retrieve(t.Context()); err != nil || got.Key != first.Key {
		t.Fatalf("Retrieve = %v, %v", got, err)
	}
	srv.RotateAll()
	wantRejection(t, send(t, srv, "GET", "/v1/echo", bearer, first.Key, ""))
	next, err := cache.Invalidate(t.Context(), credentials.Credential{Key: first.Key})
	if err != nil {
		t.Fatal(err)
	}
	if next.Key == first.Key || next.Expiry.IsZero() {
		t.Errorf("Invalidate = %v; want a new key with an expiry", next)
	}
	if a := send(t, srv, "GET", "/v1/echo", bearer, next.Key, ""); a.status != http.StatusOK {
		t.Errorf("the cache's new key: %d %s", a.status, a.body)
	}
}

func TestRefreshHonoursContext(t *testing.T) {
	srv := newServer(t, rekeytest.WithFaults(rekeytest.Faults{Delay: time.Hour, KeyEndpoint: true}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := srv.Refresh(ctx, credentials.Credential{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
}
