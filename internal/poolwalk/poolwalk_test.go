package poolwalk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/internal/apierr"
)

// source is a provider that hands out its keys in turn, then fails with
// err (or, with no err, keeps handing out the last key). With a gate, each
// read after the first waits for it.
type source struct {
	mu    sync.Mutex
	keys  []string
	err   error
	reads int
	gate  chan struct{}
}

func (s *source) Retrieve(ctx context.Context) (credentials.Credential, error) {
	s.mu.Lock()
	n := s.reads
	s.reads++
	s.mu.Unlock()
	if n > 0 && s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return credentials.Credential{}, ctx.Err()
		}
	}
	switch {
	case n < len(s.keys):
		return credentials.Credential{Key: s.keys[n]}, nil
	case s.err != nil:
		return credentials.Credential{}, s.err
	}
	return credentials.Credential{Key: s.keys[len(s.keys)-1]}, nil
}

// testContext bounds a test's waits: a regression fails in seconds.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func key(name string) string { return "pw" + strings.Repeat("0123456789", 3) + "x" + name }

// newPool returns a Pool of the sources, closed when the test ends.
func newPool(t *testing.T, sources ...*source) *credentials.Pool {
	t.Helper()
	providers := make([]credentials.Provider, len(sources))
	for i, s := range sources {
		providers[i] = s
	}
	p := credentials.NewPoolWith(credentials.PoolOptions{Quarantine: time.Hour}, providers...)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// refuse records that the API refused the request sent with m (status 401,
// cause), after prev if any, and takes m out of rotation as the transport
// does.
func refuse(t *testing.T, p *credentials.Pool, m credentials.Member, prev *Refusal, cause apierr.KeyCause) *Refusal {
	t.Helper()
	r := &Refusal{Err: &apierr.APIError{StatusCode: 401, InvalidKey: true, Cause: cause}, Key: m}
	if prev != nil {
		r.Follow(prev, func(string) {})
	}
	p.Reject(context.Background(), m)
	return r
}

func TestFollowChainsAndScrubsEarlierKeys(t *testing.T) {
	a := &Refusal{Err: &apierr.APIError{}, Key: credentials.Member{Index: 2, Credential: credentials.Credential{Key: "ka"}}}
	b := &Refusal{Err: &apierr.APIError{}, Key: credentials.Member{Index: 0, Credential: credentials.Credential{Key: "kb"}}}
	c := &Refusal{Err: &apierr.APIError{}, Key: credentials.Member{Index: 5, Credential: credentials.Credential{Key: "kc"}}}
	var scrubbed []string
	b.Follow(a, func(k string) { scrubbed = append(scrubbed, k) })
	c.Follow(b, func(k string) { scrubbed = append(scrubbed, k) })
	if want := []string{"ka", "kb", "ka"}; !slices.Equal(scrubbed, want) {
		t.Errorf("scrubbed %q, want %q (each earlier key, newest first)", scrubbed, want)
	}
	tried := c.Tried()
	for i := range 7 {
		if want := i == 0 || i == 2 || i == 5; tried.Has(i) != want {
			t.Errorf("Tried().Has(%d) = %v, want %v", i, tried.Has(i), want)
		}
	}
	if got := a.Tried(); !got.Has(2) || got.Has(0) {
		t.Errorf("the first refusal's Tried holds members after it")
	}
}

// TestRenewFirstRejectedMemberWithANewKey: the request was rejected with
// member 0, then 1; member 0's refresh brings a new key, and Renew returns
// it without waiting for member 1.
func TestRenewFirstRejectedMemberWithANewKey(t *testing.T) {
	ctx := testContext(t)
	s0 := &source{keys: []string{key("a0"), key("a1")}}
	s1 := &source{keys: []string{key("b0"), key("b1")}, gate: make(chan struct{})}
	defer close(s1.gate)
	p := newPool(t, s0, s1)
	m0, err := p.Pick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := refuse(t, p, m0, nil, apierr.CauseExpired)
	m1, ok := p.Next(ctx, first.Tried())
	if !ok || m1.Index != 1 {
		t.Fatalf("Next = %v, %v; want member 1", m1, ok)
	}
	second := refuse(t, p, m1, first, apierr.CauseRevoked)

	got, err := second.Renew(ctx, p)
	if err != nil || got.Index != 0 || got.Credential.Key != key("a1") {
		t.Fatalf("Renew = %v, %v; want member 0 with its new key", got, err)
	}
}

// TestRenewNoMemberPoolError: no member has a new key; the error lists the
// members the request was sent with, oldest first, with the API's answer
// and why each has no new key, then the member that was never read.
func TestRenewNoMemberPoolError(t *testing.T) {
	ctx := testContext(t)
	down := errors.New("secret store unavailable")
	s0 := &source{keys: []string{key("a0")}}            // the same key again: no new key
	s1 := &source{keys: []string{key("b0")}, err: down} // its refresh fails
	s2 := &source{keys: []string{key("c0")}}            // never read: no key yet
	p := newPool(t, s0, s1, s2)
	m0, err := p.Pick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := refuse(t, p, m0, nil, apierr.CauseExpired)
	m1, ok := p.Next(ctx, first.Tried())
	if !ok || m1.Index != 1 {
		t.Fatalf("Next = %v, %v; want member 1", m1, ok)
	}
	second := refuse(t, p, m1, first, apierr.CauseRevoked)

	_, err = second.Renew(ctx, p)
	var pe *apierr.PoolError
	if !errors.As(err, &pe) {
		t.Fatalf("Renew error = %v, want a *apierr.PoolError", err)
	}
	if len(pe.Members) != 3 {
		t.Fatalf("PoolError has %d members, want 3: %v", len(pe.Members), pe)
	}
	want := []struct {
		index, status int
		key           string
		cause         apierr.KeyCause
		why           string
	}{
		{0, 401, credentials.Redact(key("a0")), apierr.CauseExpired, "returned the rejected key again"},
		{1, 401, credentials.Redact(key("b0")), apierr.CauseRevoked, down.Error()},
		{2, 0, "", apierr.CauseUnknown, "no key yet"},
	}
	for i, w := range want {
		m := pe.Members[i]
		if m.Index != w.index || m.StatusCode != w.status || m.Key != w.key || m.Cause != w.cause ||
			m.Err == nil || !strings.Contains(m.Err.Error(), w.why) {
			t.Errorf("member %d: %+v, want index %d, status %d, key %q, cause %v, why %q", i, m, w.index, w.status, w.key, w.cause, w.why)
		}
	}
	for _, k := range []string{key("a0"), key("b0"), key("c0")} {
		if msg := fmt.Sprintf("%v %+v", err, pe.Members); strings.Contains(msg, k) {
			t.Errorf("the error holds a key: %s", msg)
		}
	}
	if again := second.PoolError(); len(again.Members) != 3 {
		t.Errorf("PoolError after Renew: %d members, want the same 3", len(again.Members))
	}
}

// TestRenewOtherMemberBackByNow: the request was rejected with member 0,
// whose refresh brings nothing; member 1, out of rotation when the request
// was sent, has a key by now, and Renew returns it.
func TestRenewOtherMemberBackByNow(t *testing.T) {
	ctx := testContext(t)
	s0 := &source{keys: []string{key("a0")}, err: errors.New("no new key")}
	s1 := &source{keys: []string{key("b0")}}
	p := newPool(t, s0, s1)
	if _, ok := p.Next(ctx, credentials.MemberSet(0).With(0)); !ok { // member 1 reads its key
		t.Fatal("Next found no member 1")
	}
	m0, err := p.Pick(ctx)
	if err != nil || m0.Index != 0 {
		t.Fatalf("Pick = %v, %v", m0, err)
	}
	r := refuse(t, p, m0, nil, apierr.CauseUnknown)
	got, err := r.Renew(ctx, p)
	if err != nil || got.Index != 1 || got.Credential.Key != key("b0") {
		t.Fatalf("Renew = %v, %v; want member 1 and its key", got, err)
	}
}

// TestRenewHonoursContext: a caller that stops waiting gets its context's
// error, not a PoolError.
func TestRenewHonoursContext(t *testing.T) {
	s0 := &source{keys: []string{key("a0"), key("a1")}, gate: make(chan struct{})}
	defer close(s0.gate)
	p := newPool(t, s0)
	m0, err := p.Pick(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	r := refuse(t, p, m0, nil, apierr.CauseUnknown)
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := r.Renew(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Renew with a cancelled context = %v, want context.Canceled", err)
	}
}
