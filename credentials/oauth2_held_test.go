package credentials

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// countingSource issues a new access token on every call, valid for life.
type countingSource struct {
	calls atomic.Int64
	life  time.Duration
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	n := s.calls.Add(1)
	return &oauth2.Token{AccessToken: accessToken(n), Expiry: time.Now().Add(s.life)}, nil
}

// A token is handed out again only while it has more than ten seconds to
// live, as oauth2.ReuseTokenSource does: one closer to its expiry is
// replaced before use.
func TestFromTokenSourceHoldsATokenUntilTenSecondsBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		life  time.Duration
		calls int64
	}{
		{time.Hour, 1},
		{5 * time.Second, 3}, // within the ten seconds: fetched every time
	} {
		src := &countingSource{life: tc.life}
		p := FromTokenSource(src)
		for range 3 {
			if _, err := p.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := src.calls.Load(); n != tc.calls {
			t.Errorf("tokens living %v: the source was called %d times for 3 Retrieve calls; want %d", tc.life, n, tc.calls)
		}
	}
}

// FromTokenSource(TokenSource(p)) refreshes through p; when p, read again,
// hands back the key just rejected, the error names p, not an OAuth2 token
// source.
func TestFromTokenSourceRoundTripSameKey(t *testing.T) {
	same := ProviderFunc(func(context.Context) (Credential, error) {
		return Credential{Key: "sk_test_oauth2_4eC39HqLyjWDarjt"}, nil
	})
	p := FromTokenSource(TokenSource(same))
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.(Refresher).Refresh(context.Background(), cur)
	if !errors.Is(err, ErrSameKey) || !strings.Contains(err.Error(), "the Provider behind") {
		t.Errorf("Refresh = %v; want ErrSameKey naming the Provider behind the token source", err)
	}
}
