package gcpsm

import (
	"context"
	"log/slog"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/rekeyhq/rekey/credentials"
)

// PollInterval is how often a credentials.Cache in front of the Provider
// calls Poll: [WithPollInterval], [DefaultPollInterval] by default; zero when
// the Provider is pinned to a version number, or polling is off.
func (p *Provider) PollInterval() time.Duration { return p.cfg.poll }

// Poll reports whether the version the Provider reads ("latest", or the
// alias) now holds a key other than current. It costs one GetSecretVersion
// call on that version, which returns the metadata of the version it resolves
// to (its number and state) and no payload; only when the number moved to an
// enabled version does it read that version's payload (AccessSecretVersion).
// "Unchanged" is not an error. It implements credentials.Poller.
//
// GetSecretVersion rather than ListSecretVersions: both are one "read
// request" of the project's quota, free of charge, but GetSecretVersion
// resolves "latest" and aliases exactly as AccessSecretVersion does, so Poll
// and Refresh agree on which version is current, and it answers with one
// small message, where a list depends on an order the API does not promise.
//
// A newest version that is DISABLED or DESTROYED (a bad rotation switched
// off) leaves the key in use as it is: Poll logs it once (see [WithLogger])
// and reports no change; a refresh after a rejection then fails with
// [ErrVersionDisabled] or [ErrVersionDestroyed], which say what to do. If
// current is not the last key this Provider read, Poll reads the version
// directly.
func (p *Provider) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	last := p.last.Load()
	if last == nil || last.cred.Key != current.Key {
		v, err := p.access(ctx, p.version)
		if err != nil {
			return current, false, err
		}
		return changed(current, v)
	}
	opt, seen := p.retry(p.client.CallOptions.GetSecretVersion)
	sv, err := p.client.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{
		Name: p.secret + "/versions/" + p.version,
	}, opt)
	if err != nil {
		return current, false, credentials.Permanent(p.classify(ctx, "GetSecretVersion", p.version, err, seen))
	}
	id := versionID(sv.GetName())
	if id == last.id {
		return current, false, nil
	}
	if state := sv.GetState(); state != secretmanagerpb.SecretVersion_ENABLED {
		p.warnOnce(ctx, id, state)
		return current, false, nil
	}
	v, err := p.access(ctx, id) // that version, not the name again: what was seen is what is read
	if err != nil {
		return current, false, err
	}
	return changed(current, v)
}

// warnOnce logs, once per version, that the version the Provider follows
// resolved to one that is not enabled.
func (p *Provider) warnOnce(ctx context.Context, id string, state secretmanagerpb.SecretVersion_State) {
	p.mu.Lock()
	seen := p.warned == id
	p.warned = id
	p.mu.Unlock()
	if seen {
		return
	}
	p.log.WarnContext(ctx, "gcpsm: the version the Provider follows is not enabled; keeping the key in use",
		slog.String("secret", p.secret), slog.String("version", p.version),
		slog.String("resolved_version", id), slog.String("state", state.String()))
}

func changed(current credentials.Credential, v *version) (credentials.Credential, bool, error) {
	if v.cred.Key == current.Key && v.cred.Expiry.Equal(current.Expiry) {
		return current, false, nil
	}
	return v.cred, true, nil
}
