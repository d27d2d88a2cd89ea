package azkv

import (
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// DefaultPollInterval is how often, by default, a credentials.Cache in
// front of a [Provider] checks whether the secret has a new version: five
// minutes, well within the grace period a two-key rotation usually leaves
// the old key. Checks are made only while the key is in use: at most 288 a
// day per process. Each lists the secret's versions, one request per 25
// versions, and reads a value only when the newest version changed
// ([WithPollByGet]: one GET instead).
const DefaultPollInterval = 5 * time.Minute

// Option configures a [Provider]; pass options to [New] or [NewFromURL].
type Option func(*config) error

type config struct {
	version    string                   // pinned version; "": the current one
	field      string                   // JSON field holding the key; "": the whole value
	fieldTag   string                   // tag whose value names the JSON field; "": none
	poll       time.Duration            // PollInterval; <= 0: off
	noExpiry   bool                     // ignore the exp attribute
	pollByGet  bool                     // poll with a GET of the current version, not a listing
	clientOpts *azsecrets.ClientOptions // NewFromURL only
	pollSet    bool
}

// WithVersion pins the Provider to one version of the secret (the last
// segment of its identifier, 32 hexadecimal characters) instead of the
// current one. A pinned version never changes its value, so polling is off
// and a refresh after a rejection fails at once with an error matching
// credentials.ErrSameKey that says to pin the new version.
func WithVersion(version string) Option {
	return func(c *config) error {
		if version == "" {
			return fmt.Errorf("azkv: WithVersion: empty version: omit the option to read the current version")
		}
		if !isVersion(version) {
			return fmt.Errorf("azkv: WithVersion(%q): a version is the last segment of the secret's identifier, letters and digits only (32 hexadecimal characters)", truncate(version))
		}
		c.version = version
		return nil
	}
}

// WithField reads the key from one string field of a secret whose value is
// a JSON object, such as {"api_key": "sk_live_…", "account": "billing"},
// instead of taking the whole value. Set the secret's content type to
// application/json to say that it holds JSON (az keyvault secret set
// --content-type application/json). A value that is not a JSON object, or
// has no such string field, is an error matching [ErrNoKey].
func WithField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("azkv: WithField: empty field name")
		}
		c.field = name
		return nil
	}
}

// WithFieldTag lets each version of the secret name the JSON field that
// holds the key, in its tag tag (az keyvault secret set --tags
// rekey-field=api_key). A version without the tag uses the field of
// [WithField], if given; with neither, the whole value is the key unless
// the content type says the value is JSON, which is then an error matching
// [ErrNoKey]. Tags are metadata, never secret: the field's name may appear
// in errors.
func WithFieldTag(tag string) Option {
	return func(c *config) error {
		if tag == "" {
			return fmt.Errorf("azkv: WithFieldTag: empty tag name")
		}
		c.fieldTag = tag
		return nil
	}
}

// WithPollInterval sets how often a credentials.Cache in front of the
// Provider checks the secret for a new version, so that a key rotated in
// Key Vault is used before the API revokes the old one. Checks are made
// only while the key is used, once per process (see [Provider.Poll] for
// what each costs). Zero or negative turns polling off: the key is then
// read again only after a rejection or ahead of its expiry. The default is
// [DefaultPollInterval]; with [WithVersion], polling is off and a positive
// interval is an error.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		c.poll, c.pollSet = d, true
		return nil
	}
}

// WithPollByGet makes each poll one GET of the secret's current version
// (value included) instead of a listing of its versions (properties only,
// 25 to a page) followed by a GET only when the newest version changed.
//
// Choose it for a secret with many versions: a listing costs
// ceil(versions/25) requests at every poll, a GET one request whatever the
// history (a secret rotated daily for a year holds 365 versions: 15 pages
// per poll). The price is that every poll transfers the value and is
// recorded as a SecretGet in the vault's audit log. It also needs no List
// permission (the "Key Vault Secrets User" role has both; an access policy
// may grant Get alone). A poll by GET follows Key Vault's current version,
// the newest, even when it is disabled or expired (an error matching
// [ErrDisabled] or [ErrExpired], the current key kept), where a listing
// skips it.
func WithPollByGet() Option {
	return func(c *config) error {
		c.pollByGet = true
		return nil
	}
}

// WithoutExpiry ignores the secret's expiration date (its exp attribute).
// By default the key's expiry is the version's exp: the Cache reads the
// secret again shortly before it, and a version past it is an error
// matching [ErrExpired], although Key Vault itself still returns the value.
// Use this option where exp is not the API key's real expiry, for example a
// date an Azure Policy requires on every secret; the key is then used until
// the API rejects it.
func WithoutExpiry() Option {
	return func(c *config) error {
		c.noExpiry = true
		return nil
	}
}

// WithClientOptions sets the options of the *azsecrets.Client that
// [NewFromURL] creates: its transport, retry policy (Retry.MaxRetries,
// 3 by default), telemetry, and DisableChallengeResourceVerification, which
// a vault reached under a name outside Key Vault's domains (a test server, a
// custom DNS name) needs. It is an error with [New], whose client is
// already built.
func WithClientOptions(o *azsecrets.ClientOptions) Option {
	return func(c *config) error {
		if o == nil {
			return fmt.Errorf("azkv: WithClientOptions: nil options: omit the option for the defaults")
		}
		c.clientOpts = o
		return nil
	}
}

// isVersion reports whether s can be a Key Vault version: letters and
// digits, at most 64 (Key Vault's own are 32 hexadecimal characters).
func isVersion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) {
			return false
		}
	}
	return true
}

// isName reports whether s is a valid secret name: 1 to 127 letters, digits
// and dashes (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault).
func isName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && r != '-' {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
