package awssm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
)

// Every failure of a read: a clear error naming the secret, the call and
// what to do, matching its sentinel, made after a bounded number of calls,
// and never containing the secret.
func TestRetrieveErrors(t *testing.T) {
	key := newKey()
	tests := []struct {
		name     string
		value    string // the stored SecretString
		secretID string // default "prod/api"
		opts     []awssm.Option
		setup    func(f *fakeSM)
		is       []error
		want     []string // substrings of the message
		calls    map[string]int
	}{
		{name: "not found", secretID: "prod/nope", value: key,
			is:    []error{awssm.ErrNotFound, credentials.ErrNoCredentials},
			want:  []string{`"prod/nope"`, "GetSecretValue AWSCURRENT", "ResourceNotFoundException", "can't find the specified secret", "request id req-", "name or ARN", "region"},
			calls: map[string]int{"GetSecretValue": 1}},
		{name: "access denied", value: key, setup: func(f *fakeSM) { f.Deny("GetSecretValue") },
			is:    []error{awssm.ErrAccessDenied},
			want:  []string{"AccessDeniedException", "grant the caller secretsmanager:GetSecretValue", "kms:Decrypt"},
			calls: map[string]int{"GetSecretValue": 1}},
		{name: "throttled beyond the SDK's retries", value: key, setup: func(f *fakeSM) { f.Throttle(1000) },
			is:    []error{awssm.ErrThrottled},
			want:  []string{"ThrottlingException", "Rate exceeded", "gave up after 3 attempts", "WithPollInterval"},
			calls: map[string]int{"GetSecretValue": 3}},
		{name: "scheduled for deletion", value: key, setup: func(f *fakeSM) {
			f.ScheduleDeletion("prod/api", time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC))
		},
			is:    []error{awssm.ErrDeleted, credentials.ErrNoCredentials},
			want:  []string{"InvalidRequestException", "marked for deletion", "scheduled for deletion on 2030-05-06T07:08:09Z", "RestoreSecret"},
			calls: map[string]int{"GetSecretValue": 1, "DescribeSecret": 1}},
		{name: "missing JSON field", value: `{"token":"` + key + `","owner":"billing"}`, opts: []awssm.Option{awssm.WithField("api_key")},
			is:    []error{awssm.ErrNoKey, credentials.ErrNoCredentials},
			want:  []string{`no field "api_key"`, `"owner", "token"`, "WithField"},
			calls: map[string]int{"GetSecretValue": 1}},
		{name: "SecretString not JSON although a field was asked for", value: key, opts: []awssm.Option{awssm.WithField("api_key")},
			is:    []error{awssm.ErrNoKey},
			want:  []string{"not a JSON object", `"api_key"`, "drop awssm.WithField"},
			calls: map[string]int{"GetSecretValue": 1}},
		{name: "JSON with trailing garbage", value: `{"api_key":"` + key + `"} ` + key, opts: []awssm.Option{awssm.WithField("api_key")},
			is: []error{awssm.ErrNoKey}, want: []string{"not a JSON object"}},
		{name: "field not a string", value: `{"api_key":12345678901234567890}`, opts: []awssm.Option{awssm.WithField("api_key")},
			is: []error{awssm.ErrNoKey}, want: []string{`field "api_key"`, "a number, not a string", "store the key as a JSON string"}},
		{name: "empty SecretString", value: "  ",
			is: []error{awssm.ErrNoKey}, want: []string{"SecretString is empty"}},
		{name: "malformed key", value: "Bearer " + key,
			is: []error{credentials.ErrMalformedKey}, want: []string{`AWS secret "prod/api"`, "Bearer"}},
		{name: "bad expiry field", value: `{"api_key":"` + key + `","exp":"next tuesday"}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("exp")},
			want: []string{`expiry field "exp"`, "RFC 3339"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			f.Create("prod/api", tt.value)
			if tt.setup != nil {
				tt.setup(f)
			}
			id := tt.secretID
			if id == "" {
				id = "prod/api"
			}
			p, logs := newProvider(t, f, id, tt.opts...)
			cred, err := p.Retrieve(context.Background())
			if err == nil {
				t.Fatalf("Retrieve = %v, nil; want an error", cred)
			}
			var e *awssm.Error
			if !errors.As(err, &e) || e.SecretID != id {
				t.Errorf("error %v is not an *awssm.Error for %q", err, id)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("error does not match %v: %v", target, err)
				}
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "awssm: ") {
				t.Errorf("error is not prefixed with the package: %v", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q: %v", w, msg)
				}
			}
			for op, n := range tt.calls {
				if got := f.Calls(op); got != n {
					t.Errorf("%s calls = %d, want %d", op, got, n)
				}
			}
			assertNoSecret(t, []string{key, tt.value}, err, e, p, logs.String())
		})
	}
}

// The SDK's errors stay reachable with errors.As, for callers who branch on
// them, and the error reaches the application through a rekey Client.
func TestErrorsThroughClient(t *testing.T) {
	f := newFakeSM(t)
	p, _ := newProvider(t, f, "prod/missing")
	c, err := rekey.NewClient("http://127.0.0.1:1", rekey.WithCredentials(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = get(context.Background(), c)
	var nf *types.ResourceNotFoundException
	if !errors.Is(err, awssm.ErrNotFound) || !errors.Is(err, credentials.ErrNoCredentials) || !errors.As(err, &nf) {
		t.Fatalf("request = %v; want an error matching awssm.ErrNotFound, credentials.ErrNoCredentials and *types.ResourceNotFoundException", err)
	}
	if n := f.Calls("GetSecretValue"); n != 1 {
		t.Errorf("GetSecretValue calls = %d, want 1: a missing secret is not retried", n)
	}
}

// Throttling is the SDK retryer's job: a short burst is absorbed by it,
// with each attempt counted at the server; WithRetryMaxAttempts raises the
// number of attempts for the Provider's calls.
func TestThrottlingRetriedBySDK(t *testing.T) {
	t.Run("burst absorbed by the default retryer", func(t *testing.T) {
		f := newFakeSM(t)
		key := newKey()
		f.Create("prod/api", key)
		f.Throttle(2)
		p, _ := newProvider(t, f, "prod/api")
		cred, err := p.Retrieve(context.Background())
		if err != nil || cred.Key != key {
			t.Fatalf("Retrieve = %v, %v; want the key after the SDK retried", cred, err)
		}
		if n := f.Calls("GetSecretValue"); n != 3 {
			t.Errorf("GetSecretValue attempts = %d, want 3 (2 throttled, then success)", n)
		}
	})
	t.Run("WithRetryMaxAttempts", func(t *testing.T) {
		f := newFakeSM(t)
		f.Create("prod/api", newKey())
		f.Throttle(1000)
		p, err := awssm.New(f.client(fastRetries), "prod/api", awssm.WithRetryMaxAttempts(5))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Retrieve(context.Background())
		if !errors.Is(err, awssm.ErrThrottled) || !strings.Contains(err.Error(), "after 5 attempts") {
			t.Fatalf("Retrieve error = %v; want ErrThrottled after 5 attempts", err)
		}
		if n := f.Calls("GetSecretValue"); n != 5 {
			t.Errorf("GetSecretValue attempts = %d, want 5", n)
		}
	})
}
