package gcpsm

import (
	"fmt"
	"log/slog"
	"time"
)

// DefaultPollInterval is how often, by default, a credentials.Cache in front
// of a [Provider] asks Secret Manager whether the version it reads moved: five
// minutes. Each check is one GetSecretVersion call, made only while the key is
// in use. Google does not bill it (a management operation), but it draws on
// the project's "Read requests" quota: 600 a minute, shared by every caller in
// the project, so a fleet of N processes polling every I minutes uses N/I of
// it. Five minutes leaves room for about 3,000 processes per project.
const DefaultPollInterval = 5 * time.Minute

// VersionLatest names the most recently created version of a secret. It is
// the version a [Provider] reads unless [WithVersion] says otherwise; when
// that version is disabled or destroyed, the Provider reads the newest
// enabled version instead.
const VersionLatest = "latest"

// Option configures a [Provider]; pass options to [New].
type Option func(*config) error

type config struct {
	version     string        // "latest", a version number or an alias
	field       string        // JSON field holding the key; "": the whole payload
	expiryField string        // JSON field holding the expiry; "": none
	poll        time.Duration // PollInterval; <= 0: off
	pollSet     bool          // WithPollInterval was given
	maxAttempts int           // calls per read, the client's retries included; 0: the client's own policy
	logger      *slog.Logger
}

// WithVersion reads one version of the secret instead of "latest" (the most
// recently created one, [VersionLatest], or the newest enabled one when that
// one is not): a version number such as "3", or a
// version alias such as "prod" (set with gcloud secrets update SECRET
// --update-version-aliases=prod=3). A Provider on an alias follows the alias
// when it is moved; one on a version number reads that version only (its data
// never changes, so nothing is polled, and a rejected key cannot be replaced
// from the store).
func WithVersion(v string) Option {
	return func(c *config) error {
		if err := checkVersion(v); err != nil {
			return fmt.Errorf("gcpsm: WithVersion(%q): %w", truncate(v), err)
		}
		c.version = v
		return nil
	}
}

// WithField reads the key from one string field of a payload that holds a
// JSON object, such as {"api_key": "sk_live_…", "expires_at": "…"}, instead
// of taking the whole payload. A payload that is not a JSON object, or has no
// such string field, is an error matching [ErrNoKey].
func WithField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("gcpsm: WithField: empty field name")
		}
		c.field = name
		return nil
	}
}

// WithExpiryField reads the key's expiry from a field of the same JSON
// payload: an RFC 3339 time ("2026-01-02T15:04:05Z") or a number of seconds
// since the Unix epoch, as a number or a string. A missing or null field,
// or an empty string, means "unknown"; a field of any other form is an error. The Cache in front
// of the Provider then reads the secret again shortly before that time. It
// needs [WithField], which names the key's field.
func WithExpiryField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("gcpsm: WithExpiryField: empty field name")
		}
		c.expiryField = name
		return nil
	}
}

// WithPollInterval sets how often a credentials.Cache in front of the
// Provider asks whether the version it reads ("latest", or the alias) moved
// to a new version, so that a key rotated in the store is used before the old
// one is revoked at the API. Each check is one GetSecretVersion call (version
// metadata, no payload); the payload is read only when the version changed.
// The Cache polls lazily, from requests that use the key: an idle process
// makes no call. Zero or negative turns polling off: a rotated key is then
// picked up only after the API rejects the old one. The default is
// [DefaultPollInterval]. A Provider pinned to a version number does not poll,
// and New refuses a positive interval for it.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		c.poll, c.pollSet = d, true
		return nil
	}
}

// WithRetryMaxAttempts bounds the calls the Provider makes for one read, the
// client's own retries included. The Secret Manager client retries
// AccessSecretVersion on UNAVAILABLE and RESOURCE_EXHAUSTED with backoff from
// 2 s up to 60 s until its 60 s timeout or the caller's deadline (the Cache
// gives a refresh 30 s), and retries GetSecretVersion not at all; the
// Provider keeps that policy (and any you set in the client's CallOptions)
// and stops it after n calls. n must be at least 1.
func WithRetryMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("gcpsm: WithRetryMaxAttempts(%d): must be at least 1", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithLogger sets where the Provider logs what an operator wants to know and
// no error carries: that the newest version is disabled or destroyed, and
// which older, enabled version it reads instead of "latest". nil means
// slog.Default(). Log records never contain a key.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}
