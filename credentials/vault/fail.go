package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/rekeyhq/rekey/credentials"
)

// fail turns an error of the Vault client into an [*Error] that says what
// to do, marked Permanent (the client has retried what it retries).
func (p *Provider) fail(ctx context.Context, op, path string, err error) error {
	e := &Error{Op: op, Path: path, err: err}
	var re *api.ResponseError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case ctx.Err() != nil:
		e.Problem = "gave up: " + ctx.Err().Error()
		e.err = ctx.Err()
	case errors.As(err, &re):
		e.StatusCode = re.StatusCode
		p.explain(e, vaultMessages(re.Errors, re.RawError))
	case errors.As(err, &se), errors.As(err, &te), errors.Is(err, io.ErrUnexpectedEOF):
		// The decoder's message may quote the answer: keep it out.
		e.err = nil
		e.kind = ErrNotKVv2
		e.Problem = fmt.Sprintf("Vault's answer is not the JSON of a Vault read: check that %s is Vault's address (VAULT_ADDR)", p.client.Address())
	default:
		// Connection failures (a *url.Error naming the URL, never the
		// token), a token with unprintable characters, a bad redirect.
		e.Problem = fmt.Sprintf("could not read from Vault at %s (VAULT_ADDR), after the client's own retries: %v", p.client.Address(), err)
	}
	return credentials.Permanent(e)
}

// explain fills in Problem (and kind) for an error status from Vault.
func (p *Provider) explain(e *Error, said string) {
	if said != "" {
		said = " (Vault said: " + said + ")"
	}
	switch code := e.StatusCode; {
	case code == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(said), "sealed"):
		e.kind = ErrSealed
		e.Problem = "Vault is sealed (503): unseal it (vault operator unseal) or point VAULT_ADDR at an unsealed node; " +
			"until then no key can be read, and the one in use, if any, stays in use"
	case code == http.StatusForbidden:
		e.kind = ErrPermissionDenied
		e.Problem = fmt.Sprintf("permission denied (403)%s: the token's policy needs "+
			`path "%s" { capabilities = ["read"] }; check with "vault token capabilities %s", `+
			`and check that the token has not expired or been revoked ("vault token lookup")`, said, e.Path, e.Path)
		if strings.Contains(e.Path, "/metadata/") {
			e.Problem += "; this read is for polling: grant it, or turn polling off with vault.WithPollInterval(0)"
		}
		if p.client.Token() == "" {
			e.Problem += "; the Vault client has no token: set VAULT_TOKEN or call SetToken on the *api.Client"
		}
	case code == http.StatusTooManyRequests:
		e.Problem = "Vault's rate limit quota was reached (429)" + said + " and the client's retries ran out: " +
			"raise the quota or poll less often (vault.WithPollInterval)"
	case code >= 500:
		e.Problem = fmt.Sprintf("Vault failed (%d)%s and the client's retries ran out (MaxRetries, VAULT_MAX_RETRIES): "+
			`check the server ("vault status")`, code, said)
	default:
		e.Problem = fmt.Sprintf("Vault answered %d%s", code, said)
	}
}

// notFound explains a 404 with no data. It asks Vault which mount holds the
// path (the request "vault kv get" makes first, sys/internal/ui/mounts), to
// tell a KV version 1 mount or a wrong mount from a missing secret. That
// costs one more request, on this error only.
func (p *Provider) notFound(ctx context.Context, op, path string) error {
	e := &Error{Op: op, Path: path, StatusCode: http.StatusNotFound, kind: ErrNotFound,
		Problem: fmt.Sprintf("no secret at path %q in mount %q (404): check both (vault secrets list; vault kv get -mount=%s %s)",
			p.path, p.mount, p.mount, p.path)}
	if strings.HasPrefix(p.path, "data/") {
		e.Problem += `; give the path without the "data/" segment of the HTTP API: the provider adds it`
	}
	m, err := p.client.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+p.mount+"/"+p.path)
	if err != nil || m == nil || m.Data == nil {
		return credentials.Permanent(e)
	}
	typ, _ := m.Data["type"].(string)
	mountPath, _ := m.Data["path"].(string)
	mountPath = strings.Trim(mountPath, "/")
	opts, _ := m.Data["options"].(map[string]any)
	ver, _ := opts["version"].(string)
	switch {
	case mountPath != "" && mountPath != p.mount:
		e.Problem = fmt.Sprintf("no secret here (404): the mount holding %s/%s is %q, not %q: give vault.New mount %q",
			p.mount, p.path, mountPath, p.mount, mountPath)
	case (typ == "kv" || typ == "generic") && ver != "2":
		e.kind = ErrNotKVv2
		e.Problem = fmt.Sprintf("mount %q is a KV version 1 secrets engine; this provider reads KV version 2: "+
			"upgrade the mount (vault kv enable-versioning %s/) or keep the key in a KV version 2 mount", p.mount, p.mount)
	case typ != "" && typ != "kv" && typ != "generic":
		e.kind = ErrNotKVv2
		e.Problem = fmt.Sprintf("mount %q is a %q secrets engine, not KV version 2: keep the key in a KV version 2 mount", p.mount, typ)
	}
	return credentials.Permanent(e)
}
