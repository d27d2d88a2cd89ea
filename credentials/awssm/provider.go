package awssm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials"
)

// Version stages that Secrets Manager's rotation uses.
const (
	StageCurrent = "AWSCURRENT"
	StagePending = "AWSPENDING"
)

// API is the part of *secretsmanager.Client the Provider calls. Pass the
// client itself; the interface exists so that a wrapped client (one that
// adds tracing, say) fits too.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	RotateSecret(ctx context.Context, in *secretsmanager.RotateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

var (
	_ credentials.Poller    = (*Provider)(nil)
	_ credentials.Refresher = (*Provider)(nil)
)

// Provider reads an API key from one AWS Secrets Manager secret. It is a
// credentials.Provider (Retrieve reads AWSCURRENT), a credentials.Refresher
// (Refresh replaces a rejected key: AWSCURRENT if it moved on, else a
// rotation's AWSPENDING version, else, with [WithRotation], a rotation it
// starts) and a poller (PollInterval and Poll let a Cache pick up a rotated
// key before the API revokes the old one).
//
// The Provider itself reads Secrets Manager on every call: put it behind a
// credentials.Cache (rekey.WithCredentials and transport.Transport do), which
// calls it on first use, after a rejection, ahead of a known expiry and at
// the poll interval, never per request, and once for all goroutines.
//
// Every error it returns is an [*Error] marked credentials.Permanent: the
// SDK's retryer has already retried what can be retried (throttling, 5xx,
// connection errors), so a Cache does not retry on top. No error, log record
// or fmt verb shows the secret. A Provider is safe for concurrent use.
type Provider struct {
	api      API
	id       string
	cfg      config
	log      *slog.Logger
	callOpts []func(*secretsmanager.Options)

	mu       sync.Mutex
	version  string                // VersionId of AWSCURRENT at the last read
	rejected map[[32]byte]struct{} // fingerprints of keys rejected while AWSCURRENT was version
	extended string                // version last offered as the same key with a later expiry
}

// New returns a Provider for the secret secretID (its name or ARN), read
// through api, usually the *secretsmanager.Client of
// secretsmanager.NewFromConfig. It makes no call: the first read happens on
// first use. The client's region, credentials and retryer apply.
func New(api API, secretID string, opts ...Option) (*Provider, error) {
	if api == nil {
		return nil, fmt.Errorf("awssm: New: nil client: pass a *secretsmanager.Client")
	}
	if secretID == "" {
		return nil, fmt.Errorf("awssm: New: empty secret ID: pass the secret's name or ARN")
	}
	if strings.TrimSpace(secretID) != secretID || len(secretID) > 2048 {
		return nil, fmt.Errorf("awssm: New: secret ID %q is not a valid name or ARN (surrounding whitespace, or longer than 2048 characters)", truncate(secretID))
	}
	cfg := config{poll: DefaultPollInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.expiryField != "" && cfg.field == "" {
		return nil, fmt.Errorf("awssm: New: WithExpiryField(%q) needs WithField: name the JSON field that holds the key", cfg.expiryField)
	}
	if cfg.expiryField != "" && cfg.expiryField == cfg.field {
		return nil, fmt.Errorf("awssm: New: WithField and WithExpiryField both name %q", cfg.field)
	}
	p := &Provider{api: api, id: secretID, cfg: cfg, log: cfg.logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	if n := cfg.maxAttempts; n > 0 {
		p.callOpts = append(p.callOpts, func(o *secretsmanager.Options) {
			if o.Retryer == nil {
				o.Retryer = retry.NewStandard()
			}
			o.Retryer = retry.AddWithMaxAttempts(o.Retryer, n)
		})
	}
	return p, nil
}

// SecretID returns the name or ARN the Provider reads.
func (p *Provider) SecretID() string { return p.id }

// Retrieve reads the AWSCURRENT version of the secret and returns its key.
// It implements credentials.Provider.
func (p *Provider) Retrieve(ctx context.Context) (credentials.Credential, error) {
	v, err := p.read(ctx, StageCurrent, "")
	if err != nil {
		return credentials.Credential{}, credentials.Permanent(err)
	}
	p.seeCurrent(v.id)
	return v.cred, nil
}

// Refresh replaces the key the API rejected. It reads AWSCURRENT again and
// returns it if it holds another key (the secret was rotated or updated).
// If AWSCURRENT still holds the rejected key and a rotation is under way
// (an AWSPENDING version with another key), it returns the AWSPENDING key.
// Otherwise, with [WithRotation], it starts the secret's rotation and waits
// for AWSCURRENT to change; without it, it fails at once with an error
// matching credentials.ErrSameKey, marked credentials.Permanent: reading
// the store again cannot help. It implements credentials.Refresher.
func (p *Provider) Refresh(ctx context.Context, rejected credentials.Credential) (credentials.Credential, error) {
	cur, err := p.read(ctx, StageCurrent, "")
	if err != nil {
		return credentials.Credential{}, credentials.Permanent(err)
	}
	p.seeCurrent(cur.id)
	if cur.cred.Key == rejected.Key && cur.cred.Expiry.After(rejected.Expiry) && p.extendOnce(cur.id) {
		// The same key with a later expiry: what a refresh ahead of expiry
		// looks for. Offered once per version, so that a key the API did
		// reject is not offered again and again.
		return cur.cred, nil
	}
	p.reject(rejected.Key)
	if !p.wasRejected(cur.cred.Key) {
		return cur.cred, nil
	}
	pend, ok, err := p.pending(ctx, cur.id)
	if err != nil {
		return credentials.Credential{}, credentials.Permanent(err)
	}
	if ok {
		p.log.InfoContext(ctx, "awssm: AWSCURRENT still holds the rejected key; using the AWSPENDING version of a rotation under way",
			slog.String("secret_id", p.id), slog.String("current_version", cur.id), slog.String("pending_version", pend.id))
		return pend.cred, nil
	}
	if p.cfg.rotate {
		return p.rotate(ctx, cur.id, rejected.Key)
	}
	return credentials.Credential{}, credentials.Permanent(&Error{
		SecretID: p.id, Kind: credentials.ErrSameKey,
		msg: "AWSCURRENT (version " + cur.id + ") still holds the key being replaced (rejected by the API, or about to expire) " +
			"and no rotation is under way (no AWSPENDING version with another key)",
		hint: "put the new key in the secret (aws secretsmanager put-secret-value), rotate it (aws secretsmanager rotate-secret), " +
			"or let the Provider start the rotation with awssm.WithRotation",
	})
}

// pending reads the AWSPENDING version and reports whether it holds a key
// that is new: not AWSCURRENT's version, not a rejected key. A missing
// AWSPENDING label, or an empty version left by a failed rotation, is no
// pending key, not an error.
func (p *Provider) pending(ctx context.Context, currentID string) (version, bool, error) {
	v, err := p.read(ctx, StagePending, "")
	if err != nil {
		e, ok := err.(*Error)
		if ok && e.local {
			p.log.WarnContext(ctx, "awssm: ignoring an AWSPENDING version that holds no usable key (a failed rotation can leave one)",
				slog.String("secret_id", p.id), slog.Any("error", e))
			return version{}, false, nil
		}
		if ok && e.Kind == ErrNotFound {
			return version{}, false, nil
		}
		return version{}, false, err
	}
	if v.id == currentID || p.wasRejected(v.cred.Key) {
		return version{}, false, nil
	}
	return v, true, nil
}

// seeCurrent records the VersionId of AWSCURRENT; when it moved, the keys
// rejected under the previous version are forgotten.
func (p *Provider) seeCurrent(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != p.version {
		p.version = id
		clear(p.rejected)
	}
}

// extendOnce reports whether version id has not been offered before as the
// same key with a later expiry, and records that it now is.
func (p *Provider) extendOnce(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.extended == id {
		return false
	}
	p.extended = id
	return true
}

func (p *Provider) seenCurrent() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version
}

// reject remembers a rejected key (as a fingerprint), so that a later
// refresh does not offer it again while AWSCURRENT stays the same version.
func (p *Provider) reject(key string) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rejected == nil {
		p.rejected = make(map[[32]byte]struct{})
	}
	p.rejected[sha256.Sum256([]byte(key))] = struct{}{}
}

func (p *Provider) wasRejected(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.rejected[sha256.Sum256([]byte(key))]
	return ok
}

// String describes the Provider by its secret ID and options, never a key.
func (p *Provider) String() string {
	s := "awssm.Provider{SecretID: " + strconv.Quote(p.id)
	if p.cfg.field != "" {
		s += ", Field: " + strconv.Quote(p.cfg.field)
	}
	if p.cfg.rotate {
		s += ", Rotation: on"
	}
	return s + "}"
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

// LogValue implements slog.LogValuer: the secret ID and the key's field.
func (p *Provider) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("secret_id", p.id)}
	if p.cfg.field != "" {
		attrs = append(attrs, slog.String("field", p.cfg.field))
	}
	return slog.GroupValue(attrs...)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
