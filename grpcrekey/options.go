package grpcrekey

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
)

// Defaults for the options of [New].
const (
	// DefaultMetadataKey is the metadata that carries the key, as
	// "authorization: Bearer <key>".
	DefaultMetadataKey = "authorization"
	// DefaultScheme precedes the key in DefaultMetadataKey.
	DefaultScheme = "Bearer"
	// DefaultStreamReplayLimit is how many messages a stream keeps, until
	// its first response arrives, so that it can be replayed.
	DefaultStreamReplayLimit = 64
)

// An Option configures [Credentials]; pass options to [New], which checks
// them once.
type Option func(*config) error

type config struct {
	mdKey       string
	scheme      string
	schemeSet   bool
	refresh     credentials.RefreshFunc
	isRejection Matcher
	hooks       rekey.Hooks
	log         *slog.Logger
	insecure    bool
	streamLimit int
}

// WithMetadataKey sets the metadata (the gRPC header) that carries the key:
// "token" for etcd, "x-goog-api-key" for Google's APIs, "api-key" for
// several vector databases. The name is case-insensitive and sent in lower
// case, as HTTP/2 requires. The default is [DefaultMetadataKey].
func WithMetadataKey(name string) Option {
	return func(c *config) error {
		if err := checkMetadataKey(name); err != nil {
			return fmt.Errorf("WithMetadataKey(%q): %w", name, err)
		}
		c.mdKey = strings.ToLower(name)
		return nil
	}
}

// WithScheme sets the word that precedes the key and a space, as in
// "Bearer <key>"; an empty s sends the bare key. Without this option the
// scheme is [DefaultScheme] when the metadata key is "authorization", and
// nothing for any other metadata key (x-goog-api-key, token, api-key take
// the bare key).
func WithScheme(s string) Option {
	return func(c *config) error {
		if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return fmt.Errorf("WithScheme(%q): a scheme is one word of printable ASCII, such as Bearer, or empty for the bare key", s)
		}
		c.scheme, c.schemeSet = s, true
		return nil
	}
}

// WithRefresh sets how a new key is obtained after a rejection, for
// example by logging in again or minting a key through the vendor's API. It
// is called with the rejected credential, once for however many calls saw
// the rejection, and retried with bounded backoff (see [credentials.Cache]).
// Without it, the provider is asked again, bypassing the cache. It cannot
// be combined with a *credentials.Cache as the provider: set Refresh on
// the Cache instead.
func WithRefresh(fn credentials.RefreshFunc) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("WithRefresh(nil): pass a credentials.RefreshFunc, or omit the option to ask the provider again")
		}
		c.refresh = fn
		return nil
	}
}

// WithRejection sets how the API's invalid-key rejection is recognised
// among the calls' error statuses; see [Matcher]. The default is
// [IsInvalidKeyRejection]. Combine it with an API's own answer with
// [AnyOf], for example etcd's:
//
//	grpcrekey.WithRejection(grpcrekey.AnyOf(grpcrekey.IsInvalidKeyRejection,
//		grpcrekey.StatusMessage(codes.InvalidArgument, "etcdserver: revision of auth store is old")))
func WithRejection(m Matcher) Option {
	return func(c *config) error {
		if m == nil {
			return errors.New("WithRejection(nil): pass a Matcher, or omit the option for IsInvalidKeyRejection")
		}
		c.isRejection = m
		return nil
	}
}

// WithHooks sets callbacks for what the Credentials do on their own: key
// rejections, replays and refreshes, with the same [rekey.Hooks] (and so
// the same otelrekey.Telemetry.Hooks) as a rekey.Client. A gRPC call
// reports as follows: [transport.Event].Method is the full method name
// ("/package.Service/Method"), URL is "grpc://<authority>/package.Service/Method",
// StatusCode the HTTP status that google.rpc.Code maps the gRPC code to
// (401 for Unauthenticated, 403 for PermissionDenied, 400 for
// InvalidArgument), RequestID the google.rpc.RequestInfo's request ID, and
// Cause the rekey.KeyCause. RetryScheduled is never called (gRPC has its
// own retries). With a *credentials.Cache as the provider, the Refresh
// hooks are not called: set the Cache's OnRefresh instead. With a
// *credentials.Pool, events say which member they are about
// (Event.Pooled, Member, MemberKey, as for HTTP), Failover and
// MemberCooldown are called too, and MemberQuarantined, MemberRestored and
// the Refresh hooks hear the Pool's members (until Close). No event
// carries a key. Later WithHooks options replace earlier ones.
//
// [transport.Event]: https://pkg.go.dev/github.com/rekeyhq/rekey/transport#Event
func WithHooks(h rekey.Hooks) Option {
	return func(c *config) error {
		c.hooks = h
		return nil
	}
}

// WithLogger logs rejections, replays and refreshes to l, at the levels a
// rekey.Client uses (warn for a rejection, info for a replay and a new key,
// error when recovery failed); with a *credentials.Pool, also failovers,
// cooldowns, quarantines and restorations, each record about a member with
// its "member" index and redacted "member_key". No record carries a key.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger(nil): pass a *slog.Logger, or omit the option")
		}
		c.log = l
		return nil
	}
}

// WithInsecureTransport allows sending the key over a connection without
// transport security (insecure.NewCredentials()) to a peer that is not on
// this machine. Without it, such a call fails before anything is sent, with
// an error matching rekey.ErrInsecureRequest; a loopback address or a Unix
// socket is always allowed. Use it only on a trusted network, or for an
// in-process connection such as bufconn.
func WithInsecureTransport() Option {
	return func(c *config) error {
		c.insecure = true
		return nil
	}
}

// WithStreamReplayLimit sets how many messages a stream keeps (references,
// not copies: gRPC forbids changing a message after SendMsg) until its
// first response arrives, so that a stream rejected before any response can
// be opened again with the new key and the messages sent again. A stream
// that sent more before its rejection is not replayed: the caller gets the
// error and the key is still refreshed. n = 0 turns stream replay off. The
// default is [DefaultStreamReplayLimit].
func WithStreamReplayLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithStreamReplayLimit(%d): must be 0 (no stream replay) or more", n)
		}
		c.streamLimit = n
		return nil
	}
}

// checkMetadataKey refuses names that gRPC reserves or that cannot carry a
// text value: an empty name, a pseudo-header (":authority"), "grpc-" names,
// a binary "-bin" name, and characters outside the legal set (lowercase
// letters, digits, '-', '_', '.'; upper case is folded).
func checkMetadataKey(name string) error {
	lower := strings.ToLower(name)
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.HasPrefix(lower, "grpc-"):
		return errors.New(`names starting with "grpc-" are reserved by gRPC`)
	case strings.HasSuffix(lower, "-bin"):
		return errors.New(`a "-bin" name carries binary values, not a key`)
	case lower == "te" || lower == "content-type" || lower == "user-agent":
		return errors.New("gRPC sets this header itself")
	}
	for _, r := range lower {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q is not allowed in a metadata name (use lowercase letters, digits, '-', '_' and '.')", r)
		}
	}
	return nil
}
