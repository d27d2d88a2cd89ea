package vault

import (
	"fmt"
	"time"
)

// DefaultPollInterval is how often, by default, a [credentials.Cache] in
// front of a [Provider] asks Vault whether the secret has a new version: one
// metadata read per minute per process, and only while the key is in use.
const DefaultPollInterval = time.Minute

// Option configures a [Provider]; pass options to [New].
type Option func(*config) error

type config struct {
	poll        time.Duration
	expiryField string // a field of the version's data
	expiryMeta  string // a key of the secret's custom_metadata
}

// WithPollInterval sets how often a [credentials.Cache] in front of the
// Provider checks Vault for a new version of the secret, so that a key
// rotated in Vault is used before the old one is revoked at the API. Each
// check is one read of <mount>/metadata/<path> (a few hundred bytes, no
// secret in it); the secret itself is read only when the version changed.
// The Cache polls lazily, from requests that use the key: an idle process
// makes no call. Zero or a negative d turns polling off; a rotated key is
// then picked up only after the API rejects the old one. The default is
// [DefaultPollInterval].
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		c.poll = d
		return nil
	}
}

// WithExpiryField reads the key's expiry from the field name of the same
// version's data, next to the key: an RFC 3339 time ("2026-01-02T15:04:05Z")
// or a Unix time in seconds, as a string or a number. A version without that
// field has no known expiry. This is the better place for an expiry than
// custom metadata: it is written atomically with the key, one value per
// version.
func WithExpiryField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("vault: WithExpiryField: empty field name")
		}
		c.expiryField = name
		return nil
	}
}

// WithExpiryMetadata reads the key's expiry from the key name of the
// secret's custom_metadata (vault kv metadata put -custom-metadata
// name=2026-01-02T15:04:05Z ...), in the formats [WithExpiryField] accepts.
// Custom metadata belongs to the secret, not to a version: whoever writes a
// new version must update it too, or the new key inherits the old expiry.
func WithExpiryMetadata(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("vault: WithExpiryMetadata: empty metadata key")
		}
		c.expiryMeta = name
		return nil
	}
}
