package gcpsm

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"

	"github.com/rekeyhq/rekey/credentials"
)

var (
	_ credentials.Provider  = (*Provider)(nil)
	_ credentials.Refresher = (*Provider)(nil)
	_ credentials.Poller    = (*Provider)(nil)
)

// Provider reads an API key from one Google Secret Manager secret. It is a
// credentials.Provider (Retrieve reads the version: "latest" by default), a
// credentials.Refresher (Refresh reads it again after a rejection and fails
// at once with credentials.ErrSameKey when the version did not change) and a
// credentials.Poller (Poll compares the version's number, from metadata
// alone, so that a rotated key is picked up before the old one is revoked).
//
// The Provider calls Secret Manager on every call: put it behind a
// credentials.Cache (rekey.WithCredentials and transport.Transport do), which
// calls it on first use, after a rejection, ahead of a known expiry and at
// the poll interval, never per request, and once for all goroutines.
//
// Every error it returns is an [*Error] marked credentials.Permanent (but a
// payload whose checksum does not match, which a new read may fix): the
// client has already retried what its retry policy retries, so the Cache does
// not retry on top. No error, log record or fmt verb shows the secret. A
// Provider is safe for concurrent use.
type Provider struct {
	client  *secretmanager.Client
	secret  string // projects/P/secrets/S or projects/P/locations/L/secrets/S
	version string // "latest", a version number or an alias
	cfg     config
	log     *slog.Logger

	last atomic.Pointer[version] // the last version read successfully

	mu     sync.Mutex
	warned string // the versions last logged as "newest not enabled, using"
}

// version is one secret version as read: its number and the key in it.
type version struct {
	id      string // the version number the service answered with
	cred    credentials.Credential
	skipped string // when it was read instead of "latest": "version N, the newest, is DISABLED"
}

// New returns a Provider for the secret name, read through client: the
// *secretmanager.Client of cloud.google.com/go/secretmanager/apiv1, built as
// your application builds it (secretmanager.NewClient(ctx) with Application
// Default Credentials, or any option.ClientOption), so that any
// authentication works. The Provider never closes the client.
//
// name is the secret's resource name, projects/PROJECT/secrets/SECRET (the
// project by ID or number), or projects/PROJECT/locations/LOCATION/secrets/SECRET
// for a regional secret (build the client with the regional endpoint,
// secretmanager.LOCATION.rep.googleapis.com:443). A name ending in
// /versions/VERSION is taken as [WithVersion](VERSION).
//
// New checks the name and the options and makes no call: Secret Manager is
// first read when a key is needed.
func New(client *secretmanager.Client, name string, opts ...Option) (*Provider, error) {
	if client == nil {
		return nil, fmt.Errorf("gcpsm: New: nil client: pass the *secretmanager.Client of secretmanager.NewClient(ctx)")
	}
	secret, ver, err := parseName(name)
	if err != nil {
		return nil, fmt.Errorf("gcpsm: New: %w", err)
	}
	cfg := config{version: VersionLatest, poll: DefaultPollInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if ver != "" {
		if cfg.version != VersionLatest && cfg.version != ver {
			return nil, fmt.Errorf("gcpsm: New: the name ends in /versions/%s but WithVersion(%q) was given: choose one", ver, cfg.version)
		}
		cfg.version = ver
	}
	if cfg.expiryField != "" && cfg.field == "" {
		return nil, fmt.Errorf("gcpsm: New: WithExpiryField(%q) needs WithField: name the JSON field that holds the key", cfg.expiryField)
	}
	if cfg.expiryField != "" && cfg.expiryField == cfg.field {
		return nil, fmt.Errorf("gcpsm: New: WithField and WithExpiryField both name %q", cfg.field)
	}
	if kindOf(cfg.version) == kindNumber {
		if cfg.pollSet && cfg.poll > 0 {
			return nil, fmt.Errorf("gcpsm: New: WithPollInterval(%v) with version %s pinned: a version's data never changes, "+
				"so there is nothing to poll; point an alias at the version to follow rotations (WithVersion(alias))", cfg.poll, cfg.version)
		}
		cfg.poll = 0
	}
	p := &Provider{client: client, secret: secret, version: cfg.version, cfg: cfg, log: cfg.logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// Secret returns the secret's resource name, without a version.
func (p *Provider) Secret() string { return p.secret }

// Version returns the version the Provider reads: "latest", a version number
// or an alias.
func (p *Provider) Version() string { return p.version }

// Retrieve reads the version (one AccessSecretVersion call) and returns its
// key, with the expiry the options say where to find. When "latest" names a
// version that is disabled or destroyed, it reads the newest enabled version
// instead (one ListSecretVersions, and a second AccessSecretVersion). It
// implements credentials.Provider.
func (p *Provider) Retrieve(ctx context.Context) (credentials.Credential, error) {
	v, err := p.read(ctx)
	if err != nil {
		return credentials.Credential{}, err
	}
	return v.cred, nil
}

// Refresh reads the version again after the API rejected the key rejected
// (or ahead of its expiry), with one AccessSecretVersion call, and returns
// its key if it is another one. It implements credentials.Refresher.
//
// If the read still holds the rejected key (the version number did not
// change, or a new version repeats the key), there is nothing newer to try:
// Refresh fails at once with an [*Error] matching credentials.ErrSameKey,
// marked credentials.Permanent so that the Cache neither retries nor backs
// off. The exception is a refresh ahead of expiry that finds the same key
// with a later expiry: that is returned.
func (p *Provider) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	prev := p.last.Load()
	v, err := p.read(ctx)
	if err != nil {
		return credentials.Credential{}, err
	}
	if v.cred.Key != rejected.Key {
		return v.cred, nil
	}
	if !rejected.Expiry.IsZero() && v.cred.Expiry.After(rejected.Expiry) {
		return v.cred, nil // only the expiry moved: what a refresh ahead of expiry looks for
	}
	what := "version " + v.id + ", a new version, holds the same key again"
	if prev != nil && prev.id == v.id {
		what = "version " + v.id + " is still the one " + p.describeVersion() + " names"
	}
	hint := p.sameKeyHint()
	if v.skipped != "" {
		what += " (" + v.skipped + ")"
		hint = "enable the newest version, or " + hint
	}
	return credentials.Credential{}, credentials.Permanent(&Error{
		Secret: p.secret, Version: p.version, Op: "AccessSecretVersion", Kind: credentials.ErrSameKey,
		msg:  "nothing newer than the key being replaced (rejected by the API, or about to expire): " + what,
		hint: hint,
	})
}

// describeVersion names the version the Provider reads, for messages.
func (p *Provider) describeVersion() string {
	switch kindOf(p.version) {
	case kindLatest:
		return `"latest" (the newest enabled version)`
	case kindAlias:
		return "alias " + strconv.Quote(p.version)
	}
	return "the pinned version"
}

// sameKeyHint says how to put a new key where this Provider looks.
func (p *Provider) sameKeyHint() string {
	id, flags := shortID(p.secret), gcloudFlags(p.secret)
	switch kindOf(p.version) {
	case kindAlias:
		return "add the new key as a version (gcloud secrets versions add " + id + flags + " --data-file=-) and move the alias to it " +
			"(gcloud secrets update " + id + flags + " --update-version-aliases=" + p.version + "=<version>)"
	case kindNumber:
		return "the Provider is pinned to version " + p.version + ", whose data never changes: " +
			"pin a newer version (gcpsm.WithVersion), or follow \"latest\" or an alias instead"
	}
	return "add the new key as a new version (gcloud secrets versions add " + id + flags + " --data-file=-) or run the rotation"
}

// String describes the Provider by its secret, version and field, never a key.
func (p *Provider) String() string {
	s := "gcpsm.Provider{Secret: " + strconv.Quote(p.secret) + ", Version: " + strconv.Quote(p.version)
	if p.cfg.field != "" {
		s += ", Field: " + strconv.Quote(p.cfg.field)
	}
	return s + "}"
}

// Format implements fmt.Formatter: every verb prints String, so that %+v and
// %#v do not dump the Provider's fields (the client, the last key read).
func (p *Provider) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(p.String()))
		return
	}
	fmt.Fprint(f, p.String())
}

// LogValue implements slog.LogValuer with the same facts as String.
func (p *Provider) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("secret", p.secret), slog.String("version", p.version)}
	if p.cfg.field != "" {
		attrs = append(attrs, slog.String("field", p.cfg.field))
	}
	return slog.GroupValue(attrs...)
}
