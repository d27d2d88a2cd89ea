package vault

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Poll reports whether the secret holds a key other than current. It reads
// the secret's metadata (one GET of <mount>/metadata/<path>, which holds no
// secret value) and compares current_version with the version of the last
// key read; only when it changed does it read that version (a second GET).
// If current is not the last key this Provider read, it reads the latest
// version directly. With [WithExpiryMetadata], a changed expiry in the
// metadata is reported too (the same key, changed), with no further read.
// "Unchanged" is not an error.
//
// A [credentials.Cache] calls Poll every [Provider.PollInterval] while its
// key is in use, and swaps a changed key in for every goroutine, so a key
// rotated in Vault is used before the old one is revoked. An error (Vault
// sealed, the metadata path not readable, the new version deleted) leaves
// the current key in use.
func (p *Provider) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	last := p.last.Load()
	if last == nil || last.cred.Key != current.Key {
		v, err := p.read(ctx, "poll", 0)
		if err != nil {
			return credentials.Credential{}, false, err
		}
		return changed(current, v)
	}
	path := p.metadataPath()
	s, err := p.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return credentials.Credential{}, false, p.fail(ctx, "poll", path, err)
	}
	if s == nil || s.Data == nil {
		return credentials.Credential{}, false, p.notFound(ctx, "poll", path)
	}
	n, ok := intValue(s.Data["current_version"])
	if !ok {
		return credentials.Credential{}, false, credentials.Permanent(&Error{Op: "poll", Path: path, kind: ErrNotKVv2,
			Problem: "the metadata carries no current_version: is this a KV version 2 mount? (vault secrets list -detailed)"})
	}
	if n == last.n {
		return p.expiryMoved(current, s.Data)
	}
	versions, _ := s.Data["versions"].(map[string]any)
	if md, ok := versions[strconv.Itoa(n)].(map[string]any); ok {
		destroyed, _ := md["destroyed"].(bool)
		when, _ := md["deletion_time"].(string)
		if destroyed || (when != "" && isPast(when)) {
			return credentials.Credential{}, false, credentials.Permanent(p.deleted("poll", path, n, md))
		}
	}
	v, err := p.read(ctx, "poll", n)
	if err != nil {
		return credentials.Credential{}, false, err
	}
	return changed(current, v)
}

// expiryMoved reports a new expiry for the same key when the expiry lives in
// the custom metadata (WithExpiryMetadata), which changes without a new
// version; the metadata read has it already.
func (p *Provider) expiryMoved(current credentials.Credential, md map[string]any) (credentials.Credential, bool, error) {
	if p.cfg.expiryMeta == "" {
		return current, false, nil
	}
	cm, _ := md["custom_metadata"].(map[string]any)
	exp, err := parseExpiry(cm[p.cfg.expiryMeta])
	if err != nil {
		return credentials.Credential{}, false, credentials.Permanent(&Error{Op: "poll", Path: p.metadataPath(),
			Problem: fmt.Sprintf("the custom metadata %q %v: write an RFC 3339 time (2026-01-02T15:04:05Z) or Unix seconds (the value is not shown)",
				p.cfg.expiryMeta, err)})
	}
	if exp.Equal(current.Expiry) {
		return current, false, nil
	}
	cred := credentials.Credential{Key: current.Key, Expiry: exp}
	if last := p.last.Load(); last != nil && last.cred.Key == current.Key {
		p.last.Store(&version{n: last.n, cred: cred})
	}
	return cred, true, nil
}

func changed(current credentials.Credential, v *version) (credentials.Credential, bool, error) {
	if v.cred.Key == current.Key {
		return current, false, nil
	}
	return v.cred, true, nil
}

// isPast reports whether an RFC 3339 deletion_time has passed (KV v2 sets a
// future one on versions that delete_version_after will delete).
func isPast(rfc3339 string) bool {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	return err == nil && !t.After(time.Now()) // unparsable: let the read of the version tell
}
