package rekey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

func TestAPIErrorMessagesAndClasses(t *testing.T) {
	hookErr := errors.New("vault: permission denied")
	seedMsg := "The API key provided is not valid or has expired."
	tests := []struct {
		name  string
		err   *rekey.APIError
		text  string
		is    []error
		isNot []error
	}{
		{
			name:  "replayed and still rejected",
			err:   &rekey.APIError{StatusCode: 401, Code: "Invalid API Key", Message: seedMsg, RequestID: "req_1", InvalidKey: true, Replayed: true},
			text:  "rekey: invalid API key (401): The API key provided is not valid or has expired; refreshed once, still rejected (request ID req_1)",
			is:    []error{rekey.ErrInvalidAPIKey},
			isNot: []error{rekey.ErrRefreshFailed, rekey.ErrRateLimited, rekey.ErrServer},
		},
		{
			name:  "refresh failed",
			err:   &rekey.APIError{StatusCode: 401, Code: "Invalid API Key", Message: seedMsg, InvalidKey: true, RefreshFailed: true, Err: hookErr, Method: "GET", URL: "https://api.example.com/v1"},
			text:  "rekey: invalid API key for GET https://api.example.com/v1 (401): The API key provided is not valid or has expired; refreshing the key failed: vault: permission denied",
			is:    []error{rekey.ErrInvalidAPIKey, rekey.ErrRefreshFailed, hookErr},
			isNot: []error{context.Canceled},
		},
		{
			name:  "caller gave up waiting",
			err:   &rekey.APIError{StatusCode: 401, InvalidKey: true, Err: context.DeadlineExceeded},
			text:  "rekey: invalid API key (401): Unauthorized; gave up waiting for a new key: context deadline exceeded",
			is:    []error{rekey.ErrInvalidAPIKey, context.DeadlineExceeded},
			isNot: []error{rekey.ErrRefreshFailed},
		},
		{
			name: "not replayed",
			err:  &rekey.APIError{StatusCode: 403, Code: "key_revoked", Message: "Key revoked.", InvalidKey: true, NotReplayed: "its body cannot be re-read"},
			text: "rekey: invalid API key (403 key_revoked): Key revoked; key refreshed but request not replayed: its body cannot be re-read",
			is:   []error{rekey.ErrInvalidAPIKey},
		},
		{
			name:  "rate limited",
			err:   &rekey.APIError{StatusCode: 429, Code: "rate_limited", Message: "Slow down."},
			text:  "rekey: rate limited (429 rate_limited): Slow down",
			is:    []error{rekey.ErrRateLimited},
			isNot: []error{rekey.ErrInvalidAPIKey, rekey.ErrServer},
		},
		{
			name:  "server error without a body",
			err:   &rekey.APIError{StatusCode: 503},
			text:  "rekey: server error (503): Service Unavailable",
			is:    []error{rekey.ErrServer},
			isNot: []error{rekey.ErrInvalidAPIKey, rekey.ErrRateLimited},
		},
		{
			name:  "other client error",
			err:   &rekey.APIError{StatusCode: 404, Code: "not_found", Message: "No such widget."},
			text:  "rekey: request failed (404 not_found): No such widget",
			isNot: []error{rekey.ErrInvalidAPIKey, rekey.ErrServer, rekey.ErrRateLimited},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() =\n  %s\nwant\n  %s", got, tt.text)
			}
			wrapped := fmt.Errorf("calling the API: %w", tt.err)
			for _, target := range tt.is {
				if !errors.Is(wrapped, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(wrapped, target) {
					t.Errorf("errors.Is(err, %v) = true", target)
				}
			}
			var apiErr *rekey.APIError
			if !errors.As(wrapped, &apiErr) || apiErr != tt.err {
				t.Error("errors.As did not find the *APIError")
			}
		})
	}
}

// The root re-exports each error value; it must be the very same value, so
// that errors.Is matches whichever package's name the caller uses.
func TestErrorsAreDefinedOnce(t *testing.T) {
	if rekey.ErrNoCredentials != credentials.ErrNoCredentials || rekey.ErrMalformedKey != credentials.ErrMalformedKey {
		t.Error("rekey re-exports a different value than package credentials defines")
	}
	err := credentials.Validate("")
	if !errors.Is(err, rekey.ErrMalformedKey) {
		t.Errorf("errors.Is(credentials error, rekey.ErrMalformedKey) = false")
	}
	sentinels := []error{rekey.ErrInvalidAPIKey, rekey.ErrRefreshFailed, rekey.ErrInsecureRequest, rekey.ErrNoCredentials,
		rekey.ErrMalformedKey, rekey.ErrRateLimited, rekey.ErrServer}
	for i, a := range sentinels {
		if !strings.HasPrefix(a.Error(), "rekey: ") && !strings.HasPrefix(a.Error(), "credentials: ") {
			t.Errorf("%q lacks its package prefix", a)
		}
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Errorf("%q matches %q", a, b)
			}
		}
	}
}
