package credentials_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/testwait"
)

// Observers are told of every event, each with a Context (the rejected
// request's, for a quarantine); stop unregisters its own observer and no
// other.
func TestPoolObserveStopUnregistersOnlyItsObserver(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour}, credentials.Static(poolKey0), credentials.Static(poolKey1))
	var mu sync.Mutex
	seen := map[string][]credentials.PoolEvent{}
	record := func(name string) func(credentials.PoolEvent) {
		return func(ev credentials.PoolEvent) {
			mu.Lock()
			defer mu.Unlock()
			seen[name] = append(seen[name], ev)
		}
	}
	stopFirst := p.Observe(record("first"))
	stopSecond := p.Observe(record("second"))
	t.Cleanup(stopSecond)
	stopFirst()
	stopFirst() // idempotent

	events := observe(t, p)
	m, err := p.Pick(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	type requestKey struct{}
	ctx := context.WithValue(bounded(t), requestKey{}, "req-1")
	p.Reject(ctx, m) // a static key cannot be replaced: quarantined
	events.await(t, credentials.MemberQuarantined, 0)

	mu.Lock()
	defer mu.Unlock()
	if len(seen["first"]) != 0 {
		t.Errorf("a stopped observer was told of %d events", len(seen["first"]))
	}
	var quarantined bool
	for _, ev := range seen["second"] {
		if ev.Context == nil {
			t.Errorf("%v event without a Context", ev.Kind)
		}
		if ev.Kind == credentials.MemberQuarantined {
			quarantined = true
			if got := ev.Context.Value(requestKey{}); got != "req-1" {
				t.Errorf("the quarantine's Context carries %v, want the values of the request rejected (req-1)", got)
			}
		}
	}
	if !quarantined {
		t.Errorf("the observer still registered saw %v, want the quarantine among them", seen["second"])
	}
}

// A quarantined member whose source has a new key comes back at once, not
// after the Quarantine: here a key file replaced while the member is out.
// Holding the rejected key, it stays out.
func TestPoolQuarantinedMemberReturnsWithANewKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api-key")
	write := func(key string) {
		tmp := filepath.Join(dir, "api-key.tmp")
		if err := os.WriteFile(tmp, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(poolKey0)
	file := credentials.FileWith(path, credentials.FileOptions{PollInterval: 10 * time.Millisecond})
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour}, file, credentials.Static(poolKey1))
	events := observe(t, p)

	m, err := p.Pick(bounded(t))
	if err != nil || m.Index != 0 {
		t.Fatalf("Pick = %v, %v; want member 0", m, err)
	}
	p.Reject(bounded(t), m) // the file still holds the same key: quarantined
	events.await(t, credentials.MemberQuarantined, 0)
	time.Sleep(50 * time.Millisecond) // several poll intervals: the file is read again, same key
	for i := range 3 {
		if m, err := p.Pick(bounded(t)); err != nil || m.Index != 1 {
			t.Fatalf("Pick %d with member 0 quarantined on the key it still holds = %v, %v; want member 1", i, m, err)
		}
	}

	write(poolKey2)
	testwait.Until(t, testwait.Timeout, "member 0 back with the file's new key", func() bool {
		m, err := p.Pick(bounded(t))
		return err == nil && m.Index == 0 && m.Credential.Key == poolKey2
	})
	events.await(t, credentials.MemberRestored, 0)
}

// A QuarantineError names the member, its redacted key, when it is read
// again and why, without repeating the package's prefix.
func TestQuarantineErrorText(t *testing.T) {
	until := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		err  *credentials.QuarantineError
		want string
	}{
		{&credentials.QuarantineError{Member: 1, Key: credentials.Redact(poolKey1), Until: until, Err: credentials.ErrSameKey},
			"credentials: pool member 1 (" + credentials.Redact(poolKey1) + ") quarantined until 2026-12-01T15:00:00Z: " + strings.TrimPrefix(credentials.ErrSameKey.Error(), "credentials: ")},
		{&credentials.QuarantineError{Member: 0, Until: until, Err: errors.New("vault: permission denied")},
			"credentials: pool member 0 quarantined until 2026-12-01T15:00:00Z: vault: permission denied"},
		{&credentials.QuarantineError{Member: 2, Until: until},
			"credentials: pool member 2 quarantined until 2026-12-01T15:00:00Z: no new key"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\nwant      %q", got, tc.want)
		}
	}
}
