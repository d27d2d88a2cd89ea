package gcpsm

import (
	"context"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/rekeyhq/rekey/credentials"
)

// PollInterval is how often a credentials.Cache in front of the Provider
// calls Poll: [WithPollInterval], [DefaultPollInterval] by default; zero when
// the Provider is pinned to a version number, or polling is off.
func (p *Provider) PollInterval() time.Duration { return p.cfg.poll }

// Poll reports whether the version the Provider follows now holds a key
// other than current. It costs one GetSecretVersion call on that version
// ("latest", or the alias), which returns the metadata of the version it
// resolves to (its number and state) and no payload; only when the number
// moved to an enabled version does it read that version's payload
// (AccessSecretVersion). "Unchanged" is not an error. It implements
// credentials.Poller.
//
// GetSecretVersion rather than ListSecretVersions: both are one "read
// request" of the project's quota, free of charge, but GetSecretVersion
// resolves "latest" and aliases exactly as AccessSecretVersion does, answers
// with one small message, and depends on no list order, which the API does
// not promise.
//
// When "latest" names a version that is not enabled (a bad rotation switched
// off, or the version in use disabled to roll it back), Poll also lists the
// enabled versions (one ListSecretVersions) and moves to the newest enabled
// one, as [Provider.Retrieve] does: a rollback is picked up like a rotation.
// An alias that names a version not enabled keeps the key in use. If current
// is not the last key this Provider read, Poll reads the version directly.
func (p *Provider) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	last := p.last.Load()
	if last == nil || last.cred.Key != current.Key {
		v, err := p.read(ctx)
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
	id, enabled, skip := versionID(sv.GetName()), sv.GetState() == secretmanagerpb.SecretVersion_ENABLED, ""
	switch {
	case enabled && id == last.id, !enabled && kindOf(p.version) != kindLatest:
		return current, false, nil
	case !enabled:
		newest := id
		skip = skipped(id, sv.GetState().String())
		if id, err = p.newestEnabled(ctx); err != nil {
			return current, false, credentials.Permanent(err)
		}
		if id == "" {
			return current, false, nil // nothing enabled to move to: the key in use stays
		}
		p.warnOnce(ctx, newest, sv.GetState().String(), id)
		if id == last.id {
			return current, false, nil
		}
	}
	v, err := p.access(ctx, id, skip) // that version, not the name again: what was seen is what is read
	if err != nil {
		return current, false, err
	}
	return changed(current, v)
}

func changed(current credentials.Credential, v *version) (credentials.Credential, bool, error) {
	if v.cred.Key == current.Key && v.cred.Expiry.Equal(current.Expiry) {
		return current, false, nil
	}
	return v.cred, true, nil
}
