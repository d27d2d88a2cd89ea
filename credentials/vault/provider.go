package vault

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rekeyhq/rekey/credentials"
)

// Provider reads an API key from one field of a secret in a KV version 2
// secrets engine. It is a [credentials.Provider], a [credentials.Refresher]
// and a poller (PollInterval and Poll), meant to sit behind a
// [credentials.Cache] (every rekey Client and Transport puts one in front of
// it): Vault is read on first use, after a rejection, ahead of a known
// expiry and, for a new version, at the poll interval; never per request.
//
// Create it with [New]. It is safe for concurrent use. Printing it, with any
// verb or through slog, shows the mount, path and field, never the key or
// the token.
type Provider struct {
	client *api.Client
	mount  string
	path   string
	field  string
	cfg    config

	last atomic.Pointer[version] // the last version read successfully
}

var (
	_ credentials.Provider  = (*Provider)(nil)
	_ credentials.Refresher = (*Provider)(nil)
	_ credentials.Poller    = (*Provider)(nil)
)

// version is one KV v2 version of the secret, as read.
type version struct {
	n    int
	cred credentials.Credential
}

// New returns a Provider for the field field of the secret at path in the
// KV version 2 mount mount: the key the vault CLI shows with
// "vault kv get -mount=<mount> -field=<field> <path>". Give path without the
// "data/" segment of the HTTP API; the Provider adds it.
//
// client carries Vault's address, TLS settings, namespace and token. A nil
// client is created with api.NewClient(api.DefaultConfig()), which reads
// VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT and the other
// variables the vault CLI reads. Keeping the token valid (renewing it, or
// logging in again) is the client owner's job, as with any Vault client;
// Vault Agent or Vault Proxy with auto-auth does it for you.
//
// New makes no request: Vault is first read when a key is needed.
func New(client *api.Client, mount, path, field string, opts ...Option) (*Provider, error) {
	mount = strings.Trim(mount, "/")
	path = strings.Trim(path, "/")
	switch {
	case mount == "":
		return nil, fmt.Errorf(`vault: New: empty mount: give the KV version 2 mount path, such as "secret"`)
	case path == "":
		return nil, fmt.Errorf("vault: New: empty path: give the secret's path inside the mount %q", mount)
	case field == "":
		return nil, fmt.Errorf("vault: New: empty field: give the name of the field holding the key in %s/%s", mount, path)
	}
	cfg := config{poll: DefaultPollInterval}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.expiryField != "" && cfg.expiryMeta != "" {
		return nil, fmt.Errorf("vault: New: both WithExpiryField and WithExpiryMetadata were given: choose one")
	}
	if client == nil {
		conf := api.DefaultConfig()
		if conf.Error != nil {
			return nil, fmt.Errorf("vault: New: reading the Vault client configuration from the environment: %w", conf.Error)
		}
		c, err := api.NewClient(conf)
		if err != nil {
			return nil, fmt.Errorf("vault: New: creating the Vault client from the environment (VAULT_ADDR etc.): %w", err)
		}
		client = c
	}
	return &Provider{client: client, mount: mount, path: path, field: field, cfg: cfg}, nil
}

// Retrieve reads the latest version of the secret (one GET of
// <mount>/data/<path>) and returns the key in its field, with the expiry
// the options say where to find. It implements [credentials.Provider].
//
// Errors are [*Error] values marked [credentials.Permanent]: the Vault
// client has already retried what it retries (5xx answers, 412, 429 and
// connection failures, MaxRetries times, 2 by default, VAULT_MAX_RETRIES),
// so the Cache does not multiply those retries; it tries again after its
// Cooldown.
func (p *Provider) Retrieve(ctx context.Context) (credentials.Credential, error) {
	v, err := p.read(ctx, "read", 0)
	if err != nil {
		return credentials.Credential{}, err
	}
	return v.cred, nil
}

// Refresh reads the latest version of the secret again after the API
// rejected the key rejected (or ahead of its expiry), with one request to
// Vault. It implements [credentials.Refresher].
//
// If the latest version still holds the rejected key (its version number
// did not change, or a new version repeats the key), there is nothing newer
// to try: Refresh fails at once with an [*Error] that matches
// [credentials.ErrSameKey], marked [credentials.Permanent] so that the
// Cache neither retries nor backs off. The exception is a refresh ahead of
// expiry that finds the same key with a later expiry: that is returned.
func (p *Provider) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	prev := p.last.Load()
	v, err := p.read(ctx, "refresh", 0)
	if err != nil {
		return credentials.Credential{}, err
	}
	if v.cred.Key != rejected.Key {
		return v.cred, nil
	}
	if !rejected.Expiry.IsZero() && v.cred.Expiry.After(rejected.Expiry) {
		return v.cred, nil // only the expiry moved: a refresh ahead of expiry wants that
	}
	what := fmt.Sprintf("the latest version (%d) holds the same key again", v.n)
	if prev != nil && prev.n == v.n {
		what = fmt.Sprintf("version %d is still the latest", v.n)
	}
	return credentials.Credential{}, credentials.Permanent(&Error{
		Op:   "refresh",
		Path: p.dataPath(),
		Problem: fmt.Sprintf("nothing newer than the rejected key: %s; "+
			"write the new key as a new version (vault kv patch -mount=%s %s %s=<new key>) or run the rotation, then retry",
			what, p.mount, p.path, p.field),
		kind: credentials.ErrSameKey,
	})
}

// PollInterval is how often a [credentials.Cache] checks Vault for a new
// version of the secret (set with [WithPollInterval]); zero or negative
// means never.
func (p *Provider) PollInterval() time.Duration { return p.cfg.poll }

// String describes the Provider by Vault's address, the mount, the path and
// the field; never the key or the token.
func (p *Provider) String() string {
	return fmt.Sprintf("vault.Provider{Addr: %q, Mount: %q, Path: %q, Field: %q}", p.client.Address(), p.mount, p.path, p.field)
}

// Format implements fmt.Formatter so that no verb dumps the Provider's
// fields (the Vault client holds the token).
func (p *Provider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue implements slog.LogValuer with the same facts as String.
func (p *Provider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", p.client.Address()),
		slog.String("mount", p.mount),
		slog.String("path", p.path),
		slog.String("field", p.field),
	)
}

func (p *Provider) dataPath() string     { return p.mount + "/data/" + p.path }
func (p *Provider) metadataPath() string { return p.mount + "/metadata/" + p.path }
