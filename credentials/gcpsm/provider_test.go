package gcpsm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/rekeyhq/rekey/credentials/gcpsm"
)

// New checks the name and every option before any call, and says what to
// give instead.
func TestNewChecksItsInput(t *testing.T) {
	f := newFakeSM(t)
	c := f.client(t)
	tests := []struct {
		name string
		sec  string
		opts []gcpsm.Option
		want string
	}{
		{name: "empty name", sec: "", want: "empty secret name: give projects/PROJECT/secrets/SECRET"},
		{name: "bare secret ID", sec: "billing-api-key", want: `"billing-api-key" is a secret ID; give the full resource name projects/PROJECT/secrets/billing-api-key`},
		{name: "no projects/ prefix", sec: "my-project/secrets/x", want: "does not start with projects/"},
		{name: "whitespace", sec: secretName + "\n", want: "surrounding whitespace"},
		{name: "too many segments", sec: secretName + "/versions/3/x", want: "is not of the form"},
		{name: "bad project", sec: "projects/My_Project/secrets/x", want: `"My_Project" is not a project ID or number`},
		{name: "bad secret ID", sec: "projects/my-project/secrets/a.b", want: "may hold only letters, digits, hyphens and underscores"},
		{name: "bad location", sec: "projects/my-project/locations/US/secrets/x", want: "is not a location"},
		{name: "version zero", sec: secretName + "/versions/0", want: "version numbers start at 1"},
		{name: "Latest capitalised", sec: secretName, opts: []gcpsm.Option{gcpsm.WithVersion("Latest")}, want: `write "latest" in lowercase`},
		{name: "bad alias", sec: secretName, opts: []gcpsm.Option{gcpsm.WithVersion("-prod")}, want: "neither \"latest\", a version number nor an alias"},
		{name: "two versions", sec: secretName + "/versions/3", opts: []gcpsm.Option{gcpsm.WithVersion("4")}, want: "choose one"},
		{name: "empty field", sec: secretName, opts: []gcpsm.Option{gcpsm.WithField("")}, want: "WithField: empty field name"},
		{name: "expiry without field", sec: secretName, opts: []gcpsm.Option{gcpsm.WithExpiryField("exp")}, want: "needs WithField"},
		{name: "expiry field is the key field", sec: secretName, opts: []gcpsm.Option{gcpsm.WithField("k"), gcpsm.WithExpiryField("k")}, want: "both name"},
		{name: "zero attempts", sec: secretName, opts: []gcpsm.Option{gcpsm.WithRetryMaxAttempts(0)}, want: "must be at least 1"},
		{name: "polling a pinned version", sec: secretName + "/versions/3", opts: []gcpsm.Option{gcpsm.WithPollInterval(time.Minute)}, want: "nothing to poll"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := gcpsm.New(c, tt.sec, tt.opts...)
			if err == nil {
				t.Fatalf("New = %v; want an error", p)
			}
			if !strings.HasPrefix(err.Error(), "gcpsm: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q; want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := gcpsm.New(nil, secretName); err == nil || !strings.Contains(err.Error(), "nil client") {
		t.Errorf("New(nil) = %v; want a nil client error", err)
	}
	if f.count("AccessSecretVersion")+f.count("GetSecretVersion") != 0 {
		t.Errorf("New made calls to Secret Manager")
	}
}

// The names an operator copies from the console or gcloud are accepted.
func TestNewAcceptsResourceNames(t *testing.T) {
	c := newFakeSM(t).client(t)
	tests := []struct {
		name, sec, secret, version string
		poll                       time.Duration
	}{
		{"project ID", secretName, secretName, "latest", gcpsm.DefaultPollInterval},
		{"project number", "projects/123456789012/secrets/x_Y-1", "projects/123456789012/secrets/x_Y-1", "latest", gcpsm.DefaultPollInterval},
		{"regional", "projects/my-project/locations/europe-west1/secrets/k", "projects/my-project/locations/europe-west1/secrets/k", "latest", gcpsm.DefaultPollInterval},
		{"with /versions/latest", secretName + "/versions/latest", secretName, "latest", gcpsm.DefaultPollInterval},
		{"pinned version: no polling", secretName + "/versions/7", secretName, "7", 0},
		{"alias", secretName + "/versions/prod", secretName, "prod", gcpsm.DefaultPollInterval},
		{"domain-scoped project", "projects/example.com:my-project/secrets/k", "projects/example.com:my-project/secrets/k", "latest", gcpsm.DefaultPollInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := gcpsm.New(c, tt.sec)
			if err != nil {
				t.Fatal(err)
			}
			if p.Secret() != tt.secret || p.Version() != tt.version || p.PollInterval() != tt.poll {
				t.Errorf("Secret %q, Version %q, PollInterval %v; want %q, %q, %v", p.Secret(), p.Version(), p.PollInterval(), tt.secret, tt.version, tt.poll)
			}
		})
	}
}

// Retrieve reads what the options say: the whole payload, a JSON field, an
// expiry, latest, a pinned version or an alias; one call each.
func TestRetrieve(t *testing.T) {
	k1, k2 := newKey(), newKey()
	exp := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name    string
		setup   func(f *fakeSM)
		opts    []gcpsm.Option
		want    string
		wantExp time.Time
	}{
		{name: "latest, whole payload trimmed", setup: func(f *fakeSM) { f.put(secretID, k1); f.put(secretID, k2+"\n") }, want: k2},
		{name: "JSON field", setup: func(f *fakeSM) { f.put(secretID, jsonPayload(k1)) }, opts: []gcpsm.Option{gcpsm.WithField("api_key")}, want: k1},
		{name: "expiry as RFC 3339", setup: func(f *fakeSM) { f.put(secretID, `{"api_key":"`+k1+`","expires_at":"2031-02-03T04:05:06Z"}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key"), gcpsm.WithExpiryField("expires_at")}, want: k1, wantExp: exp},
		{name: "expiry as Unix seconds", setup: func(f *fakeSM) { f.put(secretID, `{"api_key":"`+k1+`","exp":1927857906}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key"), gcpsm.WithExpiryField("exp")}, want: k1, wantExp: exp},
		{name: "expiry null: unknown", setup: func(f *fakeSM) { f.put(secretID, `{"api_key":"`+k1+`","exp":null}`) },
			opts: []gcpsm.Option{gcpsm.WithField("api_key"), gcpsm.WithExpiryField("exp")}, want: k1},
		{name: "pinned version", setup: func(f *fakeSM) { f.put(secretID, k1); f.put(secretID, k2) }, opts: []gcpsm.Option{gcpsm.WithVersion("1")}, want: k1},
		{name: "alias", setup: func(f *fakeSM) { f.put(secretID, k1); f.put(secretID, k2); f.setAlias(secretID, "prod", 1) },
			opts: []gcpsm.Option{gcpsm.WithVersion("prod")}, want: k1},
		{name: "latest skips nothing: an older disabled version does not matter", setup: func(f *fakeSM) {
			f.put(secretID, k1)
			f.put(secretID, k2)
			f.setState(secretID, 1, secretmanagerpb.SecretVersion_DISABLED)
		}, want: k2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(t)
			tt.setup(f)
			p, logs := newProvider(t, f, tt.opts...)
			cred, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cred.Key != tt.want || !cred.Expiry.Equal(tt.wantExp) {
				t.Errorf("Retrieve = key %s, expiry %v; want %s, %v", cred, cred.Expiry, tt.want, tt.wantExp)
			}
			if n := f.count("AccessSecretVersion"); n != 1 {
				t.Errorf("Retrieve made %d AccessSecretVersion calls; want 1", n)
			}
			assertNoSecret(t, []string{k1, k2}, p, logs.String())
		})
	}
}

// "latest" whose newest version is not enabled: the newest enabled version
// is read instead, found with one ListSecretVersions, and the fallback is
// logged.
func TestRetrieveTheNewestEnabledVersion(t *testing.T) {
	f := newFakeSM(t)
	keys := []string{newKey(), newKey(), newKey(), newKey()}
	for _, k := range keys {
		f.put(secretID, k)
	}
	f.setState(secretID, 3, secretmanagerpb.SecretVersion_DISABLED)
	f.setState(secretID, 4, secretmanagerpb.SecretVersion_DESTROYED)
	p, logs := newProvider(t, f)
	cred, err := p.Retrieve(context.Background())
	if err != nil || cred.Key != keys[1] {
		t.Fatalf("Retrieve = %v, %v; want version 2's key", cred, err)
	}
	if a, l := f.count("AccessSecretVersion"), f.count("ListSecretVersions"); a != 2 || l != 1 {
		t.Errorf("AccessSecretVersion %d, ListSecretVersions %d; want 2 (latest, refused; then version 2) and 1", a, l)
	}
	if !strings.Contains(logs.String(), `"newest_version":"4","state":"DESTROYED","using_version":"2"`) {
		t.Errorf("the fallback was not logged:\n%s", logs)
	}
	assertNoSecret(t, keys, logs.String(), p)
}

// The search for the newest enabled version reads every page of the
// listing: the API promises no order.
func TestNewestEnabledAcrossPages(t *testing.T) {
	f := newFakeSM(t)
	var keys []string
	for range 205 {
		keys = append(keys, newKey())
		f.put(secretID, keys[len(keys)-1])
	}
	f.setState(secretID, 205, secretmanagerpb.SecretVersion_DISABLED)
	p, _ := newProvider(t, f)
	cred, err := p.Retrieve(context.Background())
	if err != nil || cred.Key != keys[203] {
		t.Fatalf("Retrieve = %v, %v; want version 204's key", cred, err)
	}
	if l := f.count("ListSecretVersions"); l != 3 {
		t.Errorf("ListSecretVersions %d; want 3 pages of at most 100 for 204 enabled versions", l)
	}
}

// Printing the Provider, with any verb or through slog, shows where the key
// comes from, never the key, even after a read.
func TestProviderPrintsNoSecret(t *testing.T) {
	f := newFakeSM(t)
	key := newKey()
	f.put(secretID, jsonPayload(key))
	p, _ := newProvider(t, f, gcpsm.WithField("api_key"))
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `gcpsm.Provider{Secret: "projects/my-project/secrets/billing-api-key", Version: "latest", Field: "api_key"}`
	if got := p.String(); got != want {
		t.Errorf("String() = %s; want %s", got, want)
	}
	assertNoSecret(t, []string{key}, p)
}
