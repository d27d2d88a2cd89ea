package credentials_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// failing is a provider that never has a key.
var failing = credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
	return credentials.Credential{}, errors.New("secret store unreachable")
})

// With RoundRobin, a member whose provider fails is quarantined and the
// turn goes on to the next member, not to an error.
func TestPoolRoundRobinSkipsAFailingMember(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{RoundRobin: true, Quarantine: time.Hour}, failing, credentials.Static(poolKey1))
	for i := range 3 {
		m, err := p.Pick(bounded(t))
		if err != nil || m.Index != 1 || m.Credential.Key != poolKey1 {
			t.Fatalf("Pick %d = %v, %v; want member 1, the only one with a key", i, m, err)
		}
	}
}

// With RoundRobin and every provider failing, Pick scans every member from
// the last turn, wrapping around the end, and reports each failure.
func TestPoolRoundRobinEveryMemberFailing(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{RoundRobin: true, Quarantine: time.Hour}, failing, failing, failing)
	for i := range 3 {
		_, err := p.Pick(bounded(t))
		if !errors.Is(err, credentials.ErrNoCredentials) {
			t.Fatalf("Pick %d: %v; want ErrNoCredentials", i, err)
		}
		if got := strings.Count(err.Error(), "secret store unreachable"); got != 3 {
			t.Errorf("Pick %d: %q names %d failures, want one per member (3)", i, err, got)
		}
	}
}

// A Cache in front of a one-member Pool: when no other member can take
// over, Refresh waits for the rejected member's own refresh and returns its
// new key.
func TestPoolRefreshAwaitsTheRejectedMember(t *testing.T) {
	var calls atomic.Int64
	rotating := credentials.ProviderFunc(func(context.Context) (credentials.Credential, error) {
		if calls.Add(1) == 1 {
			return credentials.Credential{Key: poolKey0}, nil
		}
		return credentials.Credential{Key: poolKey1}, nil
	})
	p := newTestPool(t, credentials.PoolOptions{}, rotating)
	m, err := p.Pick(bounded(t))
	if err != nil || m.Credential.Key != poolKey0 {
		t.Fatalf("Pick = %v, %v; want the first key", m, err)
	}
	fresh, err := p.Refresh(bounded(t), m.Credential)
	if err != nil || fresh.Key != poolKey1 {
		t.Fatalf("Refresh = %v, %v; want the member's new key", fresh, err)
	}
}

// Refresh with a key that no member holds, and no healthy member left,
// says so with ErrSameKey instead of returning no key and no error.
func TestPoolRefreshWithAKeyNoMemberHolds(t *testing.T) {
	p := newTestPool(t, credentials.PoolOptions{Quarantine: time.Hour}, credentials.Static(poolKey0))
	m, err := p.Pick(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refresh(bounded(t), m.Credential); !errors.Is(err, credentials.ErrSameKey) {
		t.Fatalf("Refresh of the only member's static key: %v; want ErrSameKey", err)
	}
	cred, err := p.Refresh(bounded(t), credentials.Credential{Key: poolKey2})
	if !errors.Is(err, credentials.ErrSameKey) || cred.Key != "" {
		t.Errorf("Refresh of a key no member holds = %v, %v; want no key and ErrSameKey", cred, err)
	}
}

// A longer cooldown replaces a shorter one; a shorter one does not cut a
// longer one short.
func TestPoolLongerCooldownReplacesShorter(t *testing.T) {
	for _, order := range [][2]time.Duration{{time.Millisecond, time.Hour}, {time.Hour, time.Millisecond}} {
		p := newTestPool(t, credentials.PoolOptions{}, credentials.Static(poolKey0), credentials.Static(poolKey1))
		m, err := p.Pick(bounded(t))
		if err != nil || m.Index != 0 {
			t.Fatalf("Pick = %v, %v; want member 0", m, err)
		}
		for _, d := range order {
			if got := p.CoolDown(bounded(t), m, d); got != d {
				t.Errorf("CoolDown(%v) = %v, want the cooldown asked for", d, got)
			}
		}
		time.Sleep(20 * time.Millisecond) // the millisecond cooldown is over; the hour is not
		if m, err := p.Pick(bounded(t)); err != nil || m.Index != 1 {
			t.Errorf("cooldowns %v then %v: Pick = %v, %v; want member 1 while member 0 cools down for the hour", order[0], order[1], m, err)
		}
	}
}
