package rekeytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Refresh is a [credentials.RefreshFunc] that mints a new key the way a real
// refresh hook would: over HTTP, with POST /v1/keys and the account secret.
// Hand it to rekey as the refresh hook, e.g. transport.Transport{Refresh:
// srv.Refresh}. rejected is ignored (use [WithRevokeOnIssue] to have minting
// revoke older keys).
//
// The Credential's Expiry is set when keys have a TTL. Errors never contain
// a key or the secret; a rejected account secret is wrapped with
// [credentials.Permanent], since retrying cannot help, while injected faults
// ([Faults].KeyEndpoint) give ordinary, retryable errors. Safe for
// concurrent use.
func (s *Server) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+pathKeys, nil)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("rekeytest: refresh: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.accountSecret)
	resp, err := s.Client().Do(req)
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("rekeytest: refresh: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return credentials.Credential{}, fmt.Errorf("rekeytest: refresh: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e errorBody
		json.Unmarshal(body, &e) //nolint:errcheck // best effort: the status alone is a fine error
		err := fmt.Errorf("rekeytest: refresh: POST %s answered %s (%q, request %s)",
			pathKeys, resp.Status, e.Error, resp.Header.Get("X-Request-Id"))
		if resp.StatusCode == http.StatusUnauthorized {
			err = credentials.Permanent(err)
		}
		return credentials.Credential{}, err
	}
	var got struct {
		Key       string     `json:"key"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return credentials.Credential{}, fmt.Errorf("rekeytest: refresh: decoding the answer: %w", err)
	}
	cred := credentials.Credential{Key: got.Key}
	if got.ExpiresAt != nil {
		cred.Expiry = *got.ExpiresAt
	}
	return cred, nil
}
