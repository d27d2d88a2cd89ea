package azkv

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
)

// API is the part of *azsecrets.Client the Provider calls: GetSecret to
// read a version, NewListSecretPropertiesVersionsPager to poll. Pass the
// client itself; the interface exists so that a wrapped client (one that
// adds tracing, say) fits too.
type API interface {
	GetSecret(ctx context.Context, name, version string, options *azsecrets.GetSecretOptions) (azsecrets.GetSecretResponse, error)
	NewListSecretPropertiesVersionsPager(name string, options *azsecrets.ListSecretPropertiesVersionsOptions) *runtime.Pager[azsecrets.ListSecretPropertiesVersionsResponse]
}

var (
	_ API                   = (*azsecrets.Client)(nil)
	_ credentials.Provider  = (*Provider)(nil)
	_ credentials.Refresher = (*Provider)(nil)
	_ credentials.Poller    = (*Provider)(nil)
)

// Provider reads an API key from one Azure Key Vault secret. It is a
// credentials.Provider (Retrieve reads the current version, or the one
// pinned with [WithVersion]), a credentials.Refresher (Refresh reads it
// again after a rejection and says at once when nothing changed) and a
// credentials.Poller (PollInterval and Poll let a Cache pick up a rotated
// key before the API revokes the old one).
//
// The Provider itself reads Key Vault on every call: put it behind a
// credentials.Cache (rekey.WithCredentials and transport.Transport do),
// which calls it on first use, after a rejection, ahead of the key's expiry
// and at the poll interval, never per request, and once for all goroutines.
//
// Every error of Retrieve and Refresh is an [*Error] marked
// credentials.Permanent: the SDK's retry policy has already retried what can
// be retried (429, 5xx, connection errors), so a Cache does not retry on
// top. No error, log record or fmt verb shows the secret. A Provider is safe
// for concurrent use.
type Provider struct {
	api   API
	name  string
	vault string // the vault's host, when known at construction
	cfg   config

	seenVault atomic.Pointer[string]  // the vault's host, as seen in a response
	last      atomic.Pointer[version] // the last version read successfully
}

// New returns a Provider for the secret name, read through api, usually the
// *azsecrets.Client of azsecrets.NewClient (its vault URL, TokenCredential,
// retry policy and transport apply). It makes no call: the first read
// happens on first use. name is the secret's name, not its identifier URL.
func New(api API, name string, opts ...Option) (*Provider, error) {
	if c, ok := api.(*azsecrets.Client); api == nil || ok && c == nil {
		return nil, fmt.Errorf("azkv: New: nil client: pass an *azsecrets.Client (azsecrets.NewClient), or use azkv.NewFromURL")
	}
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if cfg.clientOpts != nil {
		return nil, fmt.Errorf("azkv: New: WithClientOptions applies to NewFromURL only: set those options on the client you pass")
	}
	return newProvider(api, name, "", cfg)
}

// NewFromURL returns a Provider for the secret name in the vault at
// vaultURL (https://<vault-name>.vault.azure.net/), authenticated by cred:
// any azcore.TokenCredential, such as azidentity.NewDefaultAzureCredential
// (a managed identity, workload identity, the Azure CLI's login...). It
// creates the *azsecrets.Client with [WithClientOptions], if given. It
// makes no call: the first read happens on first use, and starts with Key
// Vault's bearer challenge (one unauthenticated request answered 401, which
// names the tenant and resource for the token).
func NewFromURL(vaultURL string, cred azcore.TokenCredential, name string, opts ...Option) (*Provider, error) {
	host, err := checkVaultURL(vaultURL)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, fmt.Errorf("azkv: NewFromURL: nil TokenCredential: pass one, such as azidentity.NewDefaultAzureCredential(nil)")
	}
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if !isName(name) { // before creating the client, for the clearer message
		return nil, nameError(name)
	}
	client, err := azsecrets.NewClient(vaultURL, tokenCredential{cred}, cfg.clientOpts)
	if err != nil {
		return nil, fmt.Errorf("azkv: NewFromURL: creating the Key Vault client: %w", err)
	}
	return newProvider(client, name, host, cfg)
}

func configure(opts []Option) (config, error) {
	cfg := config{poll: DefaultPollInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return config{}, err
		}
	}
	if cfg.version != "" {
		if cfg.pollSet && cfg.poll > 0 {
			return config{}, fmt.Errorf("azkv: WithVersion(%q) and WithPollInterval(%v): a pinned version never changes, so there is nothing to poll: drop one of them", cfg.version, cfg.poll)
		}
		if cfg.pollByGet {
			return config{}, fmt.Errorf("azkv: WithVersion(%q) and WithPollByGet: a pinned version never changes, so it is not polled: drop WithPollByGet", cfg.version)
		}
		cfg.poll = 0
	}
	return cfg, nil
}

func newProvider(api API, name, host string, cfg config) (*Provider, error) {
	if !isName(name) {
		return nil, nameError(name)
	}
	return &Provider{api: api, name: name, vault: host, cfg: cfg}, nil
}

// nameError explains an invalid secret name, with the likely mistake.
func nameError(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("azkv: empty secret name: give the name shown by az keyvault secret list")
	case strings.HasPrefix(name, "https://"):
		return fmt.Errorf("azkv: secret name %q is an identifier URL: give the secret's name, the vault URL to NewFromURL (or the client), and the version, if you pin one, to azkv.WithVersion", truncate(name))
	case strings.Contains(name, "/"):
		return fmt.Errorf("azkv: secret name %q contains '/': give the name alone, and pin a version with azkv.WithVersion", truncate(name))
	}
	return fmt.Errorf("azkv: secret name %q is not valid: Key Vault names are 1 to 127 letters, digits and dashes", truncate(name))
}

// checkVaultURL checks that u is a vault's URL and returns its host.
func checkVaultURL(u string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil || u == "" {
		return "", fmt.Errorf("azkv: NewFromURL: vault URL %q is not a URL: give https://<vault-name>.vault.azure.net/", truncate(u))
	}
	switch {
	case parsed.Scheme != "https":
		return "", fmt.Errorf("azkv: NewFromURL: vault URL %q: Key Vault is reached over https only (the SDK sends no token over http)", truncate(u))
	case parsed.Host == "" || parsed.User != nil:
		return "", fmt.Errorf("azkv: NewFromURL: vault URL %q has no host (or has user information): give https://<vault-name>.vault.azure.net/", truncate(u))
	case strings.HasPrefix(parsed.Path, "/secrets/"):
		return "", fmt.Errorf("azkv: NewFromURL: %q is a secret identifier: give the vault URL (%s://%s/), the secret's name, and azkv.WithVersion for a pinned version", truncate(u), parsed.Scheme, parsed.Host)
	case parsed.Path != "" && parsed.Path != "/", parsed.RawQuery != "", parsed.Fragment != "":
		return "", fmt.Errorf("azkv: NewFromURL: vault URL %q has a path, query or fragment: give https://<vault-name>.vault.azure.net/ alone", truncate(u))
	}
	return parsed.Host, nil
}

// Name returns the name of the secret the Provider reads.
func (p *Provider) Name() string { return p.name }

// Retrieve reads the secret's current version (or the pinned one) with one
// GET and returns its key, with the version's expiration date as the
// key's expiry. It implements credentials.Provider.
func (p *Provider) Retrieve(ctx context.Context) (credentials.Credential, error) {
	v, err := p.read(ctx, "Retrieve")
	if err != nil {
		return credentials.Credential{}, credentials.Permanent(err)
	}
	return v.cred, nil
}

// Refresh replaces the key the API rejected (or that is about to expire)
// with one GET of the secret's current version. It returns that version's
// key if it is another key. If the version did not change, or a new version
// holds the same key, reading again cannot help: Refresh fails at once with
// an [*Error] matching credentials.ErrSameKey, marked credentials.Permanent,
// so that the Cache neither retries nor backs off. The exception is a
// refresh ahead of expiry that finds the same key with a later expiration
// date (an operator extended it): that is returned. It implements
// credentials.Refresher.
func (p *Provider) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	prev := p.last.Load()
	v, err := p.read(ctx, "Refresh")
	if err != nil {
		return credentials.Credential{}, credentials.Permanent(err)
	}
	if v.cred.Key != rejected.Key {
		return v.cred, nil
	}
	reason, _ := credentials.RefreshReasonFrom(ctx)
	if reason != credentials.ReasonRejected && v.cred.Expiry.After(rejected.Expiry) && !rejected.Expiry.IsZero() {
		return v.cred, nil // only the expiry moved: what a refresh ahead of expiry looks for
	}
	e := &Error{Op: "Refresh", Name: p.name, Version: v.id, Vault: p.vaultHost(), Kind: credentials.ErrSameKey}
	switch {
	case p.cfg.version != "":
		e.msg = "the pinned version still holds the key being replaced (rejected by the API, or about to expire)"
		e.hint = "pin the version that holds the new key (azkv.WithVersion), or drop WithVersion to follow the current version"
	case prev != nil && prev.id == v.id:
		e.msg = "the current version did not change: it still holds the key being replaced (rejected by the API, or about to expire)"
		e.hint = "set the new key as a new version (az keyvault secret set --vault-name " + p.vaultName() + " --name " + p.name + " --file <key file>)"
	default:
		e.msg = "the current version holds the key being replaced again"
		e.hint = "set the new key as a new version (az keyvault secret set --vault-name " + p.vaultName() + " --name " + p.name + " --file <key file>)"
	}
	return credentials.Credential{}, credentials.Permanent(e)
}

// PollInterval is how often a credentials.Cache in front of the Provider
// calls Poll: [WithPollInterval], [DefaultPollInterval] by default; zero
// (no polling) with [WithVersion].
func (p *Provider) PollInterval() time.Duration { return p.cfg.poll }

// Poll reports whether the secret's newest usable version holds another
// key, or another expiration date, than current. "Unchanged" is not an
// error. An error (access revoked, throttling, no usable version left)
// leaves the current key in use; the Cache reports it through OnRefresh.
//
// By default Poll lists the secret's versions, properties only
// (NewListSecretPropertiesVersionsPager: one request per 25 versions, in no
// documented order), and picks the newest usable one: enabled, not expired
// (unless [WithoutExpiry]) and already valid (its nbf, not before, passed),
// newest by its created time, which is how Key Vault defines its current
// version. Key Vault's times are whole seconds: among versions created in
// the same second, the one the Provider holds wins if it is one of them,
// then the later updated, then the greater version ID. If that version,
// and its attributes, content type and tags, are those of the version the
// Provider last read, nothing more is asked: no value crosses the network,
// and the vault's audit log records a listing, not a SecretGet. Otherwise
// Poll reads that version with one GET. A newest version that is disabled,
// expired or not yet valid is skipped, so that an operator can stage a
// version before enabling it.
//
// With [WithPollByGet], Poll is one GET of the current version, which
// carries the new key when the version changed.
func (p *Provider) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	var v *version
	var err error
	if p.cfg.pollByGet || p.cfg.version != "" {
		v, err = p.read(ctx, "Poll")
	} else {
		var same bool
		v, same, err = p.pollByList(ctx, current)
		if same {
			return current, false, nil
		}
	}
	if err != nil {
		return current, false, err
	}
	if v.cred.Key == current.Key && v.cred.Expiry.Equal(current.Expiry) {
		return current, false, nil
	}
	return v.cred, true, nil
}

// String describes the Provider by its vault (when given to NewFromURL),
// secret name and options, never a key.
func (p *Provider) String() string {
	var b strings.Builder
	b.WriteString("azkv.Provider{")
	if p.vault != "" {
		b.WriteString("Vault: " + strconv.Quote(p.vault) + ", ")
	}
	b.WriteString("Name: " + strconv.Quote(p.name))
	if p.cfg.version != "" {
		b.WriteString(", Version: " + strconv.Quote(p.cfg.version))
	}
	if p.cfg.field != "" {
		b.WriteString(", Field: " + strconv.Quote(p.cfg.field))
	}
	if p.cfg.fieldTag != "" {
		b.WriteString(", FieldTag: " + strconv.Quote(p.cfg.fieldTag))
	}
	if p.cfg.pollByGet {
		b.WriteString(", PollByGet: true")
	}
	return b.String() + "}"
}

// Format implements fmt.Formatter: every verb prints String, so that %+v
// and %#v do not dump the Provider's fields.
func (p *Provider) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(p.String()))
		return
	}
	fmt.Fprint(f, p.String())
}

// LogValue implements slog.LogValuer: the vault, the secret's name and the
// key's field.
func (p *Provider) LogValue() slog.Value {
	var attrs []slog.Attr
	if p.vault != "" {
		attrs = append(attrs, slog.String("vault", p.vault))
	}
	attrs = append(attrs, slog.String("secret", p.name))
	if p.cfg.version != "" {
		attrs = append(attrs, slog.String("version", p.cfg.version))
	}
	if p.cfg.field != "" {
		attrs = append(attrs, slog.String("field", p.cfg.field))
	}
	return slog.GroupValue(attrs...)
}

// vaultHost is the vault's host: given at construction, or seen in a
// response; "" before the first response of a client built by the caller.
func (p *Provider) vaultHost() string {
	if p.vault != "" {
		return p.vault
	}
	if h := p.seenVault.Load(); h != nil {
		return *h
	}
	return ""
}

// vaultDomains are the DNS suffixes of Key Vault's vaults in Azure's
// clouds (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#dns-suffixes-for-object-identifiers).
var vaultDomains = []string{".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de"}

// vaultName is the vault's name for az commands in hints: the first label
// of a Key Vault host, or "<vault>".
func (p *Provider) vaultName() string {
	h := p.vaultHost()
	for _, d := range vaultDomains {
		if name, ok := strings.CutSuffix(h, d); ok && name != "" && !strings.Contains(name, ".") {
			return name
		}
	}
	return "<vault>"
}
