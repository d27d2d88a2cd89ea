package rekeytest

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// An Option configures a [Server] created by [NewServer]. Options are checked
// once, by NewServer, which panics on an invalid one (a negative duration, a
// fault rate outside [0, 1], a malformed account secret): these are mistakes
// in the test itself, reported where they are made.
type Option func(*config)

// config is the Server's configuration, fixed at NewServer except for faults.
type config struct {
	keyTTL        time.Duration
	accountSecret string
	revokeOnIssue bool
	idempotency   bool
	rotateEvery   time.Duration
	faults        Faults
	seed          int64
	seeded        bool
	logger        *slog.Logger
	now           func() time.Time
}

// WithKeyTTL makes every key expire d after it is issued. Zero, the default,
// means keys never expire (they still stop working when revoked).
func WithKeyTTL(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			panic(fmt.Sprintf("rekeytest: WithKeyTTL(%v): negative TTL", d))
		}
		c.keyTTL = d
	}
}

// WithAccountSecret sets the secret that authorizes POST /v1/keys, instead of
// a random one. It must pass [credentials.Validate].
func WithAccountSecret(secret string) Option {
	return func(c *config) {
		if err := credentials.Validate(secret); err != nil {
			panic("rekeytest: WithAccountSecret: " + err.Error())
		}
		c.accountSecret = secret
	}
}

// WithRevokeOnIssue makes minting a key (over HTTP, by [Server.Refresh] or
// by [Server.IssueKey]) revoke every key issued before it, as many real APIs
// do: at most one key is valid at a time.
func WithRevokeOnIssue(on bool) Option {
	return func(c *config) { c.revokeOnIssue = on }
}

// WithIdempotency makes the server honour the Idempotency-Key header on
// POST and PUT /v1/echo the way Stripe's API documents it
// (https://docs.stripe.com/api/idempotent_requests): the first request with
// a key is performed and its answer remembered; a later request with the
// same key, method, path and body is not performed again but gets the same
// answer, with the header "Idempotent-Replayed: true", and counts in
// [Stats].IdempotentReplays; the same key with a different request is
// answered 422 {"error": "Idempotency Key Reused"}. Only requests that were
// performed are remembered: a rejected key, an injected fault or a body
// that could not be read leaves the key free, so the request can be sent
// again. Keys are remembered for the server's life.
//
// With it, [Server.Bodies] shows what a client that retries with
// idempotency keys gets applied: a body retried after a lost answer appears
// once, and twice only if the client sent it again under a new key. Off,
// the default, the server performs every request it lets through.
func WithIdempotency(on bool) Option {
	return func(c *config) { c.idempotency = on }
}

// WithRotateEvery revokes every key (as [Server.RotateAll] does) every d, in
// a background goroutine that [Server.Close] stops. Zero, the default, means
// no background rotation.
func WithRotateEvery(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			panic(fmt.Sprintf("rekeytest: WithRotateEvery(%v): negative interval", d))
		}
		c.rotateEvery = d
	}
}

// WithFaults starts the server with fault injection f already on, as
// [Server.SetFaults] would set it.
func WithFaults(f Faults) Option {
	return func(c *config) {
		if err := f.check("WithFaults"); err != nil {
			panic(err.Error())
		}
		c.faults = f
	}
}

// WithSeed makes the random fault decisions reproducible: two servers with
// the same seed and the same Faults make the same decisions for the same
// sequence of requests (in arrival order). Keys are always drawn from
// crypto/rand, whatever the seed.
func WithSeed(seed int64) Option {
	return func(c *config) { c.seed, c.seeded = seed, true }
}

// WithLogger logs one line per request (method, path, status, request ID and
// any injected fault) to l. Keys, secrets and query strings are never logged.
// A nil l, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock makes the server read the time from now instead of [time.Now],
// for issuing and expiring keys; tests can then expire a key without
// waiting. Expiries handed out (by IssueKey, Refresh and POST /v1/keys) are
// on that clock, so keep it near real time when rekey's credentials.Cache
// will judge them. Background rotation and injected delays still use real
// time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			panic("rekeytest: WithClock(nil)")
		}
		c.now = now
	}
}
