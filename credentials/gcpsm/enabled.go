package gcpsm

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
)

// maxListed bounds the versions one search for the newest enabled version
// reads (100 pages of 100), so that a secret with an endless listing cannot
// hold a read or a poll.
const maxListed = 10_000

// read reads the version the Provider follows. Secret Manager's "latest" is
// the most recently created version whatever its state, and reading it fails
// (FAILED_PRECONDITION) when that version is disabled or destroyed; a
// Provider on "latest" then reads the newest enabled version instead, found
// with one ListSecretVersions (filter state:ENABLED). A version number or an
// alias names one version: it is read or it fails.
func (p *Provider) read(ctx context.Context) (*version, error) {
	v, err := p.access(ctx, p.version, "")
	if err == nil || kindOf(p.version) != kindLatest {
		return v, err
	}
	var e *Error
	if !errors.As(err, &e) || (e.Kind != ErrVersionDisabled && e.Kind != ErrVersionDestroyed) {
		return nil, err
	}
	id, lerr := p.newestEnabled(ctx)
	switch {
	case lerr != nil:
		e.hint += "; looking for an older enabled version failed too: " + lerr.Error()
		return nil, err
	case id == "":
		e.hint += "; no version of the secret is enabled"
		return nil, err
	}
	p.warnOnce(ctx, e.resolved, e.state, id)
	return p.access(ctx, id, skipped(e.resolved, e.state))
}

// newestEnabled returns the number of the newest enabled version of the
// secret, or "" when none is: one ListSecretVersions with the filter
// state:ENABLED (more pages only past 100 enabled versions). It takes the
// highest number rather than the first listed, since the API does not
// promise an order.
func (p *Provider) newestEnabled(ctx context.Context) (string, error) {
	opt, seen := p.retry(p.client.CallOptions.ListSecretVersions)
	it := p.client.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{
		Parent: p.secret, Filter: "state:ENABLED", PageSize: 100,
	}, opt)
	var best int64
	for range maxListed {
		sv, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return "", p.classify(ctx, "ListSecretVersions", p.version, err, seen)
		}
		if sv.GetState() != secretmanagerpb.SecretVersion_ENABLED {
			continue
		}
		if n, err := strconv.ParseInt(versionID(sv.GetName()), 10, 64); err == nil && n > best {
			best = n
		}
	}
	if best == 0 {
		return "", nil
	}
	return strconv.FormatInt(best, 10), nil
}

// warnOnce logs, once per pair, that the newest version is not enabled and
// which version the Provider uses instead.
func (p *Provider) warnOnce(ctx context.Context, newest, state, using string) {
	p.mu.Lock()
	seen := p.warned == newest+"/"+using
	p.warned = newest + "/" + using
	p.mu.Unlock()
	if seen {
		return
	}
	p.log.WarnContext(ctx, `gcpsm: the newest version of the secret is not enabled; using the newest enabled version instead of "latest"`,
		slog.String("secret", p.secret), slog.String("newest_version", newest), slog.String("state", state),
		slog.String("using_version", using))
}

func skipped(newest, state string) string {
	return "version " + newest + ", the newest, is " + state
}
