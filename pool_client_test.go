package rekey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

func TestNewClientChecksThePool(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []rekey.Option
		want string
	}{
		{"pool and refresh", []rekey.Option{
			rekey.WithCredentials(credentials.NewPool(credentials.Static("rk_test_0123456789abcdef0123"))),
			rekey.WithRefresh(func(ctx context.Context, c credentials.Credential) (credentials.Credential, error) { return c, nil }),
		}, "give a member its own refresh"},
		{"empty pool", []rekey.Option{rekey.WithCredentials(credentials.NewPool())}, "NewPool got no providers"},
		{"nil pool", []rekey.Option{rekey.WithCredentials((*credentials.Pool)(nil))}, "nil *credentials.Pool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rekey.NewClient("https://api.example.com", tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewClient: %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// A Client given a Pool serves every request through a revocation of the
// primary, and its hooks and logger say which member was rejected, used
// for the replay, quarantined and restored, by index and redacted key, and
// never print a key. Close unregisters them from the Pool.
func TestClientWithPoolReportsMembers(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	primary, standby := srv.IssueKey().Key, srv.IssueKey().Key
	src := &rotatingSource{}
	src.set(primary)
	pool := credentials.NewPoolWith(credentials.PoolOptions{Quarantine: 50 * time.Millisecond}, src, credentials.Static(standby))
	t.Cleanup(func() { pool.Close() })

	var logs syncBuffer
	var mu sync.Mutex
	var got []string
	note := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	restored := make(chan credentials.PoolEvent, 8)
	quarantined := make(chan struct{}, 8)
	client, err := rekey.NewClient(srv.URL+"/v1",
		rekey.WithCredentials(pool),
		rekey.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		rekey.WithHooks(rekey.Hooks{
			KeyRejected: func(ev transport.Event) { note(fmt.Sprintf("rejected %d %s", ev.Member, ev.MemberKey)) },
			Failover:    func(ev transport.Event) { note(fmt.Sprintf("failover %d %s", ev.Member, ev.MemberKey)) },
			MemberQuarantined: func(ev credentials.PoolEvent) {
				note(fmt.Sprintf("quarantined %d %s", ev.Member, ev.Key))
				quarantined <- struct{}{}
			},
			MemberRestored: func(ev credentials.PoolEvent) {
				note(fmt.Sprintf("restored %d %s", ev.Member, ev.Key))
				restored <- ev
			},
		}))
	if err != nil {
		t.Fatal(err)
	}

	do := func() {
		t.Helper()
		req, err := client.NewRequest(t.Context(), http.MethodPost, "echo", map[string]int{"n": 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Do(req, nil); err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	do()
	srv.Revoke(primary)
	do()     // rejected with the primary, served by the standby
	select { // its refresh, in the background, finds the same key
	case <-quarantined:
	case <-time.After(10 * time.Second):
		t.Fatal("the primary was not quarantined within 10s")
	}
	rotated := srv.IssueKey().Key
	src.set(rotated)
	var back credentials.PoolEvent
	for deadline := time.Now().Add(10 * time.Second); back.Kind == 0; {
		do()
		select {
		case back = <-restored:
		default:
			if time.Now().After(deadline) {
				t.Fatal("the primary did not come back within 10s")
			}
			time.Sleep(time.Millisecond)
		}
	}

	r0, r1, rr := credentials.Redact(primary), credentials.Redact(standby), credentials.Redact(rotated)
	mu.Lock()
	// The quarantine runs in the background: it may come before the
	// failover's event or after.
	want := []string{"failover 1 " + r1, "quarantined 0 " + r0, "rejected 0 " + r0, "restored 0 " + rr}
	seen := slices.Clone(got)
	slices.Sort(seen)
	if !slices.Equal(seen, want) || got[0] != want[2] || got[3] != want[3] {
		t.Errorf("hooks saw %q, want %q: rejected first, restored last", got, want)
	}
	mu.Unlock()

	lines := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines[rec["msg"].(string)] = rec
	}
	for msg, member := range map[string]string{
		"rekey: API key rejected; failing over, refreshing it in the background": r0,
		"rekey: request replayed with another key of the pool":                   r1,
		"rekey: pool key quarantined: its refresh produced no new key":           r0,
		"rekey: pool key restored":                                               rr,
	} {
		rec, ok := lines[msg]
		if !ok || rec["member_key"] != member {
			t.Errorf("log %q: %v; want member_key %s", msg, rec, member)
		}
	}
	for _, k := range []string{primary, standby, rotated} {
		if strings.Contains(logs.String(), k) {
			t.Fatal("a log line holds a key")
		}
	}

	// Close unregisters the hooks: a later change of the Pool reaches none.
	client.Close()
	mu.Lock()
	n := len(got)
	mu.Unlock()
	m, _ := pool.Pick(t.Context())
	srv.Revoke(rotated)
	pool.Reject(t.Context(), m)
	if _, err := pool.Await(t.Context(), m); err == nil {
		t.Fatal("the rotated key was revoked: want no new key")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Errorf("hooks called after Close: %q", got[n:])
	}
}

// With every key of the pool revoked, Client.Do's error matches
// ErrInvalidAPIKey and names each member by its redacted key.
func TestClientWithPoolAllRevoked(t *testing.T) {
	srv := rekeytest.NewServer()
	t.Cleanup(srv.Close)
	k0, k1 := srv.IssueKey().Key, srv.IssueKey().Key
	pool := credentials.NewPool(credentials.Static(k0), credentials.Static(k1))
	t.Cleanup(func() { pool.Close() })
	client, err := rekey.NewClient(srv.URL+"/v1", rekey.WithCredentials(pool))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	srv.RotateAll()
	req, _ := client.NewRequest(t.Context(), http.MethodGet, "echo", nil)
	_, err = client.Do(req, nil)
	var apiErr *rekey.APIError
	var poolErr *rekey.PoolError
	if !errors.Is(err, rekey.ErrInvalidAPIKey) || !errors.As(err, &apiErr) || !errors.As(err, &poolErr) {
		t.Fatalf("Do: %v; want ErrInvalidAPIKey, *APIError and *PoolError", err)
	}
	if len(poolErr.Members) != 2 {
		t.Fatalf("PoolError lists %d members, want 2", len(poolErr.Members))
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%#v", client)} {
		if strings.Contains(s, k0) || strings.Contains(s, k1) {
			t.Fatalf("%q holds a key", s)
		}
	}
	for _, k := range []string{k0, k1} {
		if !strings.Contains(err.Error(), credentials.Redact(k)) {
			t.Errorf("error %q does not name %s", err, credentials.Redact(k))
		}
	}
	if st := srv.Stats(); st.Rejections != 2 {
		t.Errorf("the server rejected %d requests, want 2 (one per key)", st.Rejections)
	}
}

// rotatingSource is a provider over a key the test rotates, as a secret
// store: read again after a rejection, it yields the same key until then.
type rotatingSource struct{ key atomic.Pointer[string] }

func (s *rotatingSource) set(key string) { s.key.Store(&key) }

func (s *rotatingSource) Retrieve(context.Context) (credentials.Credential, error) {
	return credentials.Credential{Key: *s.key.Load()}, nil
}
