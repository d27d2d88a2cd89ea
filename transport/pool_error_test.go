package transport_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// A request rejected with the one member left in rotation, while the two
// others cool down after 429s, gets a PoolError that names all three: the
// one it was sent with, then the two it was not sent with and why.
func TestPoolErrorNamesTheMembersNotTried(t *testing.T) {
	api := newKeyAPI(t, keyA, keyB, keyC)
	api.outOfQuota(keyB, true, 429, "3600")
	api.outOfQuota(keyC, true, 429, "3600")
	pool := credentials.NewPoolWith(credentials.PoolOptions{RoundRobin: true, FailoverOn: []int{429}},
		newSource(keyA), newSource(keyB), newSource(keyC))
	c, _ := newPoolClient(t, pool, newEventLog())
	for i := range 3 { // round robin: the second and third keys are tried, and cool down
		if _, err := post(t.Context(), c, api.URL+"/v1/charges", fmt.Sprintf(`{"n": %d}`, i)); err != nil {
			t.Fatalf("request %d: %v; want it served by the first key", i, err)
		}
	}
	api.set(keyA, false) // now the first is revoked, and its source has nothing new

	_, err := post(t.Context(), c, api.URL+"/v1/charges", `{"last": true}`)
	var poolErr *rekey.PoolError
	if !errors.As(err, &poolErr) || !errors.Is(err, rekey.ErrInvalidAPIKey) {
		t.Fatalf("error %v: want ErrInvalidAPIKey with a *PoolError", err)
	}
	if len(poolErr.Members) != 3 {
		t.Fatalf("PoolError lists %d members (%+v), want 3", len(poolErr.Members), poolErr.Members)
	}
	for i, want := range []struct {
		index, status int
		key           string
	}{{0, 401, keyA}, {1, 0, keyB}, {2, 0, keyC}} {
		m := poolErr.Members[i]
		if m.Index != want.index || m.StatusCode != want.status || m.Key != credentials.Redact(want.key) || m.Err == nil {
			t.Errorf("member %d: %+v; want index %d, status %d, its redacted key and why", i, m, want.index, want.status)
		}
	}
}

// A replay rejected too (the member's source had a new key, which the API
// refuses as well) ends in an error that carries the PoolError, as every
// failed recovery with a pool does.
func TestPoolReplayRejectedCarriesThePoolError(t *testing.T) {
	api := newKeyAPI(t, keyA)
	a := newSource(keyA)
	c, _ := newPoolClient(t, credentials.NewPool(a), newEventLog())
	if _, err := post(t.Context(), c, api.URL+"/v1/charges", `{"n": 1}`); err != nil {
		t.Fatal(err)
	}
	api.set(keyA, false)
	a.set(keyB) // the new key, which the API does not know either
	_, err := post(t.Context(), c, api.URL+"/v1/charges", `{"n": 2}`)
	var apiErr *rekey.APIError
	var poolErr *rekey.PoolError
	if !errors.As(err, &apiErr) || !apiErr.Replayed || !errors.As(err, &poolErr) {
		t.Fatalf("error %v: want a replayed *APIError carrying a *PoolError", err)
	}
	if len(poolErr.Members) == 0 || poolErr.Members[0].Index != 0 || poolErr.Members[0].StatusCode != 401 {
		t.Errorf("PoolError lists %+v; want member 0 refused with 401", poolErr.Members)
	}
}
