package awssm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/awssm"
)

func TestRetrieve(t *testing.T) {
	key := newKey()
	expiry := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		value      string
		byARN      bool
		opts       []awssm.Option
		wantExpiry time.Time
	}{
		{name: "whole SecretString", value: key},
		{name: "surrounding whitespace trimmed", value: " " + key + "\n"},
		{name: "by ARN", value: key, byARN: true},
		{name: "JSON field", value: `{"api_key":"` + key + `","owner":"billing"}`, opts: []awssm.Option{awssm.WithField("api_key")}},
		{name: "expiry field RFC 3339", value: `{"api_key":"` + key + `","expires_at":"2030-01-02T15:04:05Z"}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("expires_at")}, wantExpiry: expiry},
		{name: "expiry field Unix seconds", value: `{"api_key":"` + key + `","expires_at":1893596645}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("expires_at")}, wantExpiry: expiry},
		{name: "expiry field Unix seconds as a string", value: `{"api_key":"` + key + `","expires_at":"1893596645"}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("expires_at")}, wantExpiry: expiry},
		{name: "expiry field null is unknown", value: `{"api_key":"` + key + `","expires_at":null}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("expires_at")}},
		{name: "expiry field missing is unknown", value: `{"api_key":"` + key + `"}`,
			opts: []awssm.Option{awssm.WithField("api_key"), awssm.WithExpiryField("expires_at")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			f.Create("prod/api", tt.value)
			id := "prod/api"
			if tt.byARN {
				id = f.ARN("prod/api")
			}
			p, logs := newProvider(t, f, id, tt.opts...)
			cred, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if cred.Key != key {
				t.Errorf("Retrieve returned %v, want the stored key", cred)
			}
			if !cred.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("Expiry = %v, want %v", cred.Expiry, tt.wantExpiry)
			}
			if n := f.Calls("GetSecretValue"); n != 1 {
				t.Errorf("GetSecretValue calls = %d, want 1", n)
			}
			assertNoSecret(t, []string{key}, p, cred, logs.String())
		})
	}
}

// WithKeyLifetime dates the expiry from the version's CreatedDate, as the
// service reports it.
func TestRetrieveKeyLifetime(t *testing.T) {
	f := newFakeSM(t)
	before := time.Now().Add(-time.Second)
	f.Create("prod/api", newKey())
	p, _ := newProvider(t, f, "prod/api", awssm.WithKeyLifetime(90*24*time.Hour))
	cred, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	lo, hi := before.Add(90*24*time.Hour), time.Now().Add(90*24*time.Hour+time.Second)
	if cred.Expiry.Before(lo) || cred.Expiry.After(hi) {
		t.Errorf("Expiry = %v, want CreatedDate + 90 days (between %v and %v)", cred.Expiry, lo, hi)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	f := newFakeSM(t)
	c := f.client()
	tests := []struct {
		name string
		api  awssm.API
		id   string
		opts []awssm.Option
		want string
	}{
		{name: "nil client", id: "x", want: "nil client"},
		{name: "empty secret ID", api: c, want: "empty secret ID"},
		{name: "padded secret ID", api: c, id: " prod/api", want: "not a valid name or ARN"},
		{name: "empty field", api: c, id: "x", opts: []awssm.Option{awssm.WithField("")}, want: "WithField: empty"},
		{name: "expiry field without field", api: c, id: "x", opts: []awssm.Option{awssm.WithExpiryField("exp")}, want: "needs WithField"},
		{name: "same field twice", api: c, id: "x", opts: []awssm.Option{awssm.WithField("k"), awssm.WithExpiryField("k")}, want: "both name"},
		{name: "negative lifetime", api: c, id: "x", opts: []awssm.Option{awssm.WithKeyLifetime(-time.Second)}, want: "must be positive"},
		{name: "negative rotation wait", api: c, id: "x", opts: []awssm.Option{awssm.WithRotation(-time.Second)}, want: "must not be negative"},
		{name: "zero retry attempts", api: c, id: "x", opts: []awssm.Option{awssm.WithRetryMaxAttempts(0)}, want: "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var api awssm.API
			if tt.api != nil {
				api = tt.api
			}
			p, err := awssm.New(api, tt.id, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "awssm: ") {
				t.Fatalf("New = %v, %v; want an error containing %q", p, err, tt.want)
			}
		})
	}
	if n := f.Reads(); n != 0 {
		t.Errorf("New made %d calls; it must not call the service", n)
	}
}

func TestProviderFormatting(t *testing.T) {
	f := newFakeSM(t)
	p, _ := newProvider(t, f, "prod/api", awssm.WithField("api_key"), awssm.WithRotation(0))
	want := `awssm.Provider{SecretID: "prod/api", Field: "api_key", Rotation: on}`
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := sprintf(verb, p); got != want {
			t.Errorf("%s of the Provider = %s, want %s", verb, got, want)
		}
	}
	if p.PollInterval() != awssm.DefaultPollInterval {
		t.Errorf("PollInterval = %v, want the default %v", p.PollInterval(), awssm.DefaultPollInterval)
	}
	var _ credentials.Refresher = p
}
