package awssm

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the options of [New].
const (
	// DefaultPollInterval is how often a Cache in front of the Provider
	// checks whether AWSCURRENT moved to a new version: five minutes, well
	// within the grace period a two-key rotation usually leaves the old key
	// (the AWS caching clients refresh hourly by default, which would not
	// be). Each check is one DescribeSecret call (plus one GetSecretValue
	// when the version changed), made only while the key is in use: at most
	// 288 calls a day per process.
	DefaultPollInterval = 5 * time.Minute
	// DefaultRotationWait bounds how long a refresh waits for a rotation
	// started with [WithRotation] to move AWSCURRENT to a new key. It is
	// below credentials.DefaultRefreshTimeout, which bounds the whole refresh.
	DefaultRotationWait = 20 * time.Second
)

// Option configures a [Provider]; pass options to [New].
type Option func(*config) error

type config struct {
	field       string        // JSON field holding the key; "": the whole SecretString
	expiryField string        // JSON field holding the expiry; "": none
	lifetime    time.Duration // key lifetime from the version's CreatedDate; 0: unknown
	poll        time.Duration // PollInterval; <= 0: off
	rotate      bool          // start RotateSecret when the rejected key is still current
	rotateWait  time.Duration
	maxAttempts int // SDK retry attempts per call; 0: the client's own setting
	logger      *slog.Logger
}

// WithField reads the key from one field of a SecretString that holds a
// JSON object, such as {"api_key": "sk_live_…", "expires_at": "…"}, instead
// of taking the whole SecretString. A SecretString that is not a JSON
// object, or has no such string field, is an error matching [ErrNoKey].
func WithField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("awssm: WithField: empty field name")
		}
		c.field = name
		return nil
	}
}

// WithExpiryField reads the key's expiry from a field of the JSON
// SecretString: an RFC 3339 time string ("2026-01-02T15:04:05Z") or a number
// of seconds since the Unix epoch, as a number or a string. A missing or null
// field, or an empty string, means "unknown"; a field of any other form is an
// error. The Cache in front of the Provider
// then reads the secret again shortly before that time. It can be combined
// with [WithField] or used alone (the SecretString must then still be the
// JSON object, and WithField names the key's field).
func WithExpiryField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("awssm: WithExpiryField: empty field name")
		}
		c.expiryField = name
		return nil
	}
}

// WithKeyLifetime says that each key stops working d after its secret
// version was created (the version's CreatedDate): for example the validity
// period the API gives its keys, when the store rotates them on a schedule.
// An expiry field ([WithExpiryField]), when present, takes precedence.
func WithKeyLifetime(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("awssm: WithKeyLifetime(%v): must be positive", d)
		}
		c.lifetime = d
		return nil
	}
}

// WithPollInterval sets how often a credentials.Cache in front of the
// Provider asks whether AWSCURRENT moved to a new version, so that a key
// rotated in the store is used before the API revokes the old one. Each
// check costs one DescribeSecret call per process (and one GetSecretValue
// when the version changed), and checks happen only while the key is used.
// Zero or negative turns polling off: the key is then re-read only on a
// rejection or ahead of its expiry. The default is [DefaultPollInterval].
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		c.poll = d
		return nil
	}
}

// WithRotation makes a refresh after a rejection start the secret's own
// rotation (RotateSecret, with the rotation function already configured on
// the secret) when AWSCURRENT still holds the rejected key and no rotation
// is under way, then wait up to maxWait for AWSCURRENT to hold a new key.
// It is off by default: without it such a refresh fails at once with an
// error matching credentials.ErrSameKey. It needs the
// secretsmanager:RotateSecret permission (and lambda:InvokeFunction on the
// rotation function). maxWait must leave room within the Cache's
// RefreshTimeout (credentials.DefaultRefreshTimeout: 30s); zero means
// [DefaultRotationWait].
func WithRotation(maxWait time.Duration) Option {
	return func(c *config) error {
		if maxWait < 0 {
			return fmt.Errorf("awssm: WithRotation(%v): the wait must not be negative", maxWait)
		}
		if maxWait == 0 {
			maxWait = DefaultRotationWait
		}
		c.rotate, c.rotateWait = true, maxWait
		return nil
	}
}

// WithRetryMaxAttempts sets how many attempts the SDK's retryer makes for
// each Secrets Manager call (throttling, 5xx, connection errors), overriding
// the client's setting for the Provider's calls only. The SDK's standard
// retryer makes 3 attempts with exponential backoff and jitter; the Provider
// does not retry on top of it. n must be at least 1.
func WithRetryMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("awssm: WithRetryMaxAttempts(%d): must be at least 1", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithLogger sets where the Provider logs what an operator wants to know:
// a rotation it found under way or started. nil means slog.Default(). Log
// records never contain a key.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}
