package gcpsm_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/gcpsm"
)

// Every failed read: an *Error that matches its sentinel, carries the gRPC
// code, names the secret and the call, says what to do, is made after a
// bounded number of calls, and never contains the secret. A Cache in front
// makes no more calls than one Retrieve: the client has retried what it
// retries.
func TestRetrieveErrors(t *testing.T) {
	key := newKey()
	tests := []struct {
		name   string
		setup  func(f *fakeSM)                                     // the store, before the read
		client func(t *testing.T, f *fakeSM) *secretmanager.Client // default f.client(t)
		opts   []gcpsm.Option
		is     []error
		code   codes.Code
		want   []string // in the message
		calls  int      // AccessSecretVersion calls that reached the server
	}{
		{name: "secret not found", setup: func(f *fakeSM) { f.put("other", key) },
			is: []error{gcpsm.ErrNotFound, credentials.ErrNoCredentials}, code: codes.NotFound, calls: 1,
			want: []string{"gcpsm: secret projects/my-project/secrets/billing-api-key version latest: AccessSecretVersion: NOT_FOUND: Secret [projects/123456789012/secrets/billing-api-key] not found or has no versions:",
				"gcloud secrets describe billing-api-key --project=my-project", "gcloud secrets versions add billing-api-key --project=my-project --data-file=-"}},
		{name: "pinned version not found", setup: func(f *fakeSM) { f.put(secretID, key) }, opts: []gcpsm.Option{gcpsm.WithVersion("9")},
			is: []error{gcpsm.ErrNotFound}, code: codes.NotFound, calls: 1,
			want: []string{"version 9 does not exist", "gcloud secrets versions list billing-api-key --project=my-project"}},
		{name: "alias not set", setup: func(f *fakeSM) { f.put(secretID, key) }, opts: []gcpsm.Option{gcpsm.WithVersion("prod")},
			is: []error{gcpsm.ErrNotFound}, code: codes.NotFound, calls: 1,
			want: []string{`the secret has no alias "prod"`, "--update-version-aliases=prod=<version>"}},
		{name: "permission denied", setup: func(f *fakeSM) { f.put(secretID, key); f.deny("secretmanager.versions.access") },
			is: []error{gcpsm.ErrPermissionDenied}, code: codes.PermissionDenied, calls: 1,
			want: []string{"PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource 'projects/my-project/secrets/billing-api-key/versions/latest' (or it may not exist): grant",
				"grant the caller roles/secretmanager.secretAccessor on the secret", "gcloud secrets add-iam-policy-binding billing-api-key --project=my-project",
				"secretmanager.versions.access", "check the name too"}},
		{name: "API not enabled", setup: func(f *fakeSM) { f.put(secretID, key); f.disabled = true },
			is: []error{gcpsm.ErrPermissionDenied}, code: codes.PermissionDenied, calls: 1,
			want: []string{"Secret Manager API has not been used in project 123456789012", "gcloud services enable secretmanager.googleapis.com --project=123456789012"}},
		{name: "credentials refused", setup: func(f *fakeSM) { f.put(secretID, key); f.unauthed = true },
			is: []error{gcpsm.ErrUnauthenticated}, code: codes.Unauthenticated, calls: 1,
			want: []string{"UNAUTHENTICATED: Request had invalid authentication credentials", "Application Default Credentials"}},
		{name: "latest is disabled, and no version is enabled", setup: func(f *fakeSM) {
			f.put(secretID, key)
			f.put(secretID, newKey())
			f.setState(secretID, 1, secretmanagerpb.SecretVersion_DISABLED)
			f.setState(secretID, 2, secretmanagerpb.SecretVersion_DISABLED)
		},
			is: []error{gcpsm.ErrVersionDisabled, credentials.ErrNoCredentials}, code: codes.FailedPrecondition, calls: 1,
			want: []string{"FAILED_PRECONDITION: Secret Version [projects/123456789012/secrets/billing-api-key/versions/2] is in DISABLED state: version 2",
				`the newest ("latest" names it whatever its state), is disabled`, "gcloud secrets versions enable 2 --secret=billing-api-key --project=my-project",
				"gcloud secrets versions add billing-api-key", "; no version of the secret is enabled"}},
		{name: "latest is disabled, and listing the enabled versions is denied", setup: func(f *fakeSM) {
			f.put(secretID, key)
			f.put(secretID, newKey())
			f.setState(secretID, 2, secretmanagerpb.SecretVersion_DISABLED)
			f.deny("secretmanager.versions.list")
		},
			is: []error{gcpsm.ErrVersionDisabled}, code: codes.FailedPrecondition, calls: 1,
			want: []string{"looking for an older enabled version failed too: gcpsm: secret projects/my-project/secrets/billing-api-key version latest: ListSecretVersions: PERMISSION_DENIED",
				"secretmanager.versions.list", "roles/secretmanager.viewer"}},
		{name: "latest is destroyed, and no version is enabled", setup: func(f *fakeSM) {
			f.put(secretID, key)
			f.put(secretID, newKey())
			f.setState(secretID, 1, secretmanagerpb.SecretVersion_DESTROYED)
			f.setState(secretID, 2, secretmanagerpb.SecretVersion_DESTROYED)
		},
			is: []error{gcpsm.ErrVersionDestroyed, credentials.ErrNoCredentials}, code: codes.FailedPrecondition, calls: 1,
			want: []string{"versions/2] is in DESTROYED state: version 2, the newest, is destroyed", `"latest" names it until a newer version exists`, "gcloud secrets versions add billing-api-key"}},
		{name: "a pinned version is destroyed", setup: func(f *fakeSM) {
			f.put(secretID, key)
			f.put(secretID, newKey())
			f.setState(secretID, 1, secretmanagerpb.SecretVersion_DESTROYED)
		}, opts: []gcpsm.Option{gcpsm.WithVersion("1")},
			is: []error{gcpsm.ErrVersionDestroyed}, code: codes.FailedPrecondition, calls: 1,
			want: []string{"version 1: AccessSecretVersion: FAILED_PRECONDITION", "its data is gone: add a new version"}},
		{name: "alias on a disabled version", setup: func(f *fakeSM) {
			f.put(secretID, key)
			f.setAlias(secretID, "prod", 1)
			f.setState(secretID, 1, secretmanagerpb.SecretVersion_DISABLED)
		}, opts: []gcpsm.Option{gcpsm.WithVersion("prod")},
			is: []error{gcpsm.ErrVersionDisabled}, code: codes.FailedPrecondition, calls: 1,
			want: []string{"version prod: AccessSecretVersion", "gcloud secrets versions enable 1 --secret=billing-api-key"}},
		{name: "access quota, bounded attempts", setup: func(f *fakeSM) { f.put(secretID, key); f.exhaust("AccessSecretVersion", 1000) },
			client: func(t *testing.T, f *fakeSM) *secretmanager.Client { return fastRetries(f.client(t)) },
			opts:   []gcpsm.Option{gcpsm.WithRetryMaxAttempts(3)},
			is:     []error{gcpsm.ErrQuotaExceeded}, code: codes.ResourceExhausted, calls: 3,
			want: []string{"RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Access requests'", "(after 3 calls)",
				`"Access requests" quota (90,000 a minute`}},
		{name: "quota that clears within the client's retries", setup: func(f *fakeSM) { f.put(secretID, key); f.exhaust("AccessSecretVersion", 2) },
			client: func(t *testing.T, f *fakeSM) *secretmanager.Client { return fastRetries(f.client(t)) },
			calls:  3}, // no error: two RESOURCE_EXHAUSTED answers, then the key
		{name: "empty payload", setup: func(f *fakeSM) { f.put(secretID, " \n") },
			is: []error{gcpsm.ErrNoKey, credentials.ErrNoCredentials}, calls: 1,
			want: []string{"the payload is empty (version 1)", "gcloud secrets versions add"}},
		{name: "payload not JSON although a field was asked for", setup: func(f *fakeSM) { f.put(secretID, key) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key")}, is: []error{gcpsm.ErrNoKey}, calls: 1,
			want: []string{`not a JSON object, so it has no field "api_key"`, "drop gcpsm.WithField"}},
		{name: "JSON with trailing data", setup: func(f *fakeSM) { f.put(secretID, jsonPayload(key)+" "+key) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key")}, is: []error{gcpsm.ErrNoKey}, calls: 1, want: []string{"not a JSON object"}},
		{name: "missing field", setup: func(f *fakeSM) { f.put(secretID, `{"token":"`+key+`","db_password":"`+otherValue+`"}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key")}, is: []error{gcpsm.ErrNoKey, credentials.ErrNoCredentials}, calls: 1,
			want: []string{`no field "api_key" (its fields: "db_password", "token")`, "gcpsm.WithField"}},
		{name: "key pasted as a field name", setup: func(f *fakeSM) { f.put(secretID, `{"`+key+`":"x"}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key")}, is: []error{gcpsm.ErrNoKey}, calls: 1, want: []string{"sk_live_…"}},
		{name: "field not a string", setup: func(f *fakeSM) { f.put(secretID, `{"api_key":12345678901234567890}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key")}, is: []error{gcpsm.ErrNoKey}, calls: 1, want: []string{"holds a number, not a string", "store the key as a JSON string"}},
		{name: "expiry field malformed", setup: func(f *fakeSM) { f.put(secretID, `{"api_key":"`+key+`","exp":"next tuesday `+key+`"}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key"), gcpsm.WithExpiryField("exp")}, calls: 1,
			want: []string{`the expiry field "exp" is neither an RFC 3339 time nor Unix seconds (the value is not shown)`}},
		{name: "malformed key", setup: func(f *fakeSM) { f.put(secretID, "Bearer "+key) },
			is: []error{credentials.ErrMalformedKey}, calls: 1,
			want: []string{"malformed API key from Secret Manager projects/my-project/secrets/billing-api-key/versions/1", `"Bearer"`}},
		{name: "Secret Manager unreachable", setup: func(f *fakeSM) { f.put(secretID, key) },
			client: func(t *testing.T, f *fakeSM) *secretmanager.Client { return fastRetries(unreachableClient(t)) },
			opts:   []gcpsm.Option{gcpsm.WithRetryMaxAttempts(2)}, code: codes.Unavailable, calls: 0,
			want: []string{"UNAVAILABLE: ", "(after 2 calls)", "could not reach Secret Manager"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			tt.setup(f)
			c := f.client(t)
			if tt.client != nil {
				c = tt.client(t, f)
			}
			p, err := gcpsm.New(c, secretName, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			cred, err := p.Retrieve(ctx)
			if calls := f.count("AccessSecretVersion"); calls != tt.calls {
				t.Errorf("Retrieve made %d AccessSecretVersion calls; want %d", calls, tt.calls)
			}
			if tt.want == nil {
				if err != nil || cred.Key != key {
					t.Fatalf("Retrieve = %v, %v; want the key", cred, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Retrieve = %v; want an error", cred)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false; err = %v", target, err)
				}
			}
			var e *gcpsm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *gcpsm.Error", err)
			}
			if e.Code != tt.code || e.Secret != secretName || e.Op != "AccessSecretVersion" {
				t.Errorf("Error{Code %v, Secret %q, Op %q}; want %v, %q, AccessSecretVersion", e.Code, e.Secret, e.Op, tt.code, secretName)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%s", w, err)
				}
			}
			assertNoSecret(t, []string{key}, err, p)

			// A Cache in front stops at once: no retry on top of the client's.
			f.resetCounts()
			cache := &credentials.Cache{Provider: p}
			defer cache.Close()
			if _, err := cache.Retrieve(ctx); err == nil {
				t.Fatal("Cache.Retrieve succeeded")
			}
			if calls := f.count("AccessSecretVersion"); calls > tt.calls {
				t.Errorf("through a Cache: %d calls; want at most %d, as many as one Retrieve", calls, tt.calls)
			}
		})
	}
}

// unreachableClient is a client whose endpoint refuses connections.
func unreachableClient(t *testing.T) *secretmanager.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	c, err := secretmanager.NewClient(context.Background(), option.WithEndpoint(addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// With the client's own retry policy (RESOURCE_EXHAUSTED retried until the
// deadline), the read ends at the caller's deadline, and the error still
// says that the quota ran out, not merely that time was up.
func TestQuotaUntilTheDeadline(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, key)
	f.exhaust("AccessSecretVersion", 1<<30)
	p, err := gcpsm.New(fastRetries(f.client(t)), secretName)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the server has answered a few times: ordered by the
	// server's count, not by a timer.
	go func() {
		defer cancel()
		deadline := time.Now().Add(30 * time.Second) // against a hang, not a timing assertion
		for f.count("AccessSecretVersion") < 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}()
	_, err = p.Retrieve(ctx)
	var e *gcpsm.Error
	if !errors.Is(err, gcpsm.ErrQuotaExceeded) || !errors.As(err, &e) || e.Code != codes.ResourceExhausted {
		t.Fatalf("Retrieve = %v; want ErrQuotaExceeded with code ResourceExhausted", err)
	}
	if e.Attempts < 3 || !strings.Contains(err.Error(), "retried by the client; gave up after") || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("error does not say the client retried until the caller gave up (attempts %d):\n%s", e.Attempts, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the context's error is not reachable with errors.Is: %v", err)
	}
	assertNoSecret(t, []string{key}, err)
}

// A caller's deadline that cuts the one call short: the error says so, and
// matches context.DeadlineExceeded.
func TestDeadlineDuringACall(t *testing.T) {
	f := newFakeSM(t)
	f.put(secretID, newKey())
	f.holdAccess() // the answer never comes before the deadline
	p, _ := newProvider(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Retrieve(ctx)
	var e *gcpsm.Error
	if !errors.As(err, &e) || e.Code != codes.DeadlineExceeded || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Retrieve = %v; want a *gcpsm.Error with code DeadlineExceeded matching context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "AccessSecretVersion: DEADLINE_EXCEEDED: ") || !strings.Contains(err.Error(), "did not answer in time") ||
		strings.Contains(err.Error(), "retried by the client") {
		t.Errorf("error does not say the one call ran out of time:\n%s", err)
	}
}

// The client's own error stays reachable with errors.As, with the service's
// status and ErrorInfo.
func TestErrorUnwrapsTheClientError(t *testing.T) {
	f := newFakeSM(t)
	f.put(secretID, newKey())
	f.exhaust("AccessSecretVersion", 1)
	p, _ := newProvider(t, f, gcpsm.WithRetryMaxAttempts(1))
	_, err := p.Retrieve(context.Background())
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.GRPCStatus().Code() != codes.ResourceExhausted || ae.Reason() != "RATE_LIMIT_EXCEEDED" {
		t.Fatalf("errors.As(*apierror.APIError) on %v: %v", err, ae)
	}
	var e *gcpsm.Error
	if !errors.As(err, &e) || e.Reason != "RATE_LIMIT_EXCEEDED" || e.Attempts != 1 {
		t.Errorf("Error.Reason %q, Attempts %d; want RATE_LIMIT_EXCEEDED, 1", e.Reason, e.Attempts)
	}
}

// A payload whose CRC32C does not match is not used, and the error is not
// permanent: a Cache tries the read again.
func TestCorruptPayloadIsRetried(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, key)
	f.corrupt = true
	p, _ := newProvider(t, f)
	_, err := p.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not match its CRC32C checksum") {
		t.Fatalf("Retrieve = %v; want a checksum error", err)
	}
	assertNoSecret(t, []string{key}, err)
	f.resetCounts()
	cache := &credentials.Cache{Provider: p, RefreshAttempts: 3}
	defer cache.Close()
	if _, err := cache.Retrieve(context.Background()); err == nil {
		t.Fatal("Cache.Retrieve succeeded")
	}
	if n := f.count("AccessSecretVersion"); n != 3 {
		t.Errorf("a Cache with RefreshAttempts 3 made %d reads; want 3 (the error is transient)", n)
	}
}
