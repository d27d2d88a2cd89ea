package azkv

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/internal/secretjson"
)

// version is one version of the secret as read: its ID, the key in it,
// and the stamp of its properties that a poll compares.
type version struct {
	id    string
	stamp string
	cred  credentials.Credential
}

// read makes one GetSecret call, for the pinned version or the current one,
// and extracts the credential.
func (p *Provider) read(ctx context.Context, op string) (*version, error) {
	return p.get(ctx, op, p.cfg.version)
}

// get makes one GetSecret call for version ("": the current one) and
// extracts the credential.
func (p *Provider) get(ctx context.Context, op, ver string) (*version, error) {
	var resp *http.Response
	out, err := p.api.GetSecret(policy.WithCaptureResponse(ctx, &resp), p.name, ver, nil)
	p.seeVault(resp)
	if err != nil {
		return nil, p.fail(ctx, call{op: op, version: ver}, err, resp)
	}
	v, err := p.extract(op, ver, &out.Secret)
	if err != nil {
		return nil, err
	}
	p.last.Store(v)
	return v, nil
}

// seeVault records the vault's host from a response, for errors of a
// Provider whose client the caller built.
func (p *Provider) seeVault(resp *http.Response) {
	if p.vault != "" || resp == nil || resp.Request == nil || resp.Request.URL == nil {
		return
	}
	if h := resp.Request.URL.Host; h != "" {
		if old := p.seenVault.Load(); old == nil || *old != h {
			p.seenVault.Store(&h)
		}
	}
}

// extract takes the key, and its expiry, out of a version Key Vault
// returned.
func (p *Provider) extract(op, asked string, s *azsecrets.Secret) (*version, error) {
	id := asked
	if s.ID != nil {
		if v := s.ID.Version(); v != "" {
			id = v
		}
	}
	local := func(kind error, msg, hint string) error {
		return &Error{Op: op, Name: p.name, Version: id, Vault: p.vaultHost(), Kind: kind, msg: msg, hint: hint, local: true}
	}
	var cred credentials.Credential
	if a := s.Attributes; a != nil {
		if a.Enabled != nil && !*a.Enabled {
			return nil, local(ErrDisabled, "the version is disabled", p.disabledHint(id))
		}
		if a.Expires != nil && !p.cfg.noExpiry {
			if !a.Expires.After(time.Now()) {
				return nil, local(ErrExpired, "the version expired at "+a.Expires.UTC().Format(time.RFC3339)+" (its expiration date, exp)",
					p.expiredHint(id))
			}
			cred.Expiry = *a.Expires
		}
	}
	if s.Value == nil {
		return nil, local(ErrNoKey, "the version has no value", "set the key as a new version (az keyvault secret set)")
	}
	field, fromTag := p.cfg.field, false
	if p.cfg.fieldTag != "" {
		if t := s.Tags[p.cfg.fieldTag]; t != nil && *t != "" {
			field, fromTag = *t, true
		}
	}
	isJSON := contentTypeJSON(s.ContentType)
	if field == "" {
		if isJSON {
			msg := "the content type is application/json, but no field names the key"
			if obj, err := secretjson.Object([]byte(*s.Value)); err == nil {
				msg += " (the object has: " + secretjson.Names(obj) + ")"
			}
			return nil, local(ErrNoKey, msg, p.fieldHint())
		}
		cred.Key = strings.TrimSpace(*s.Value)
		if cred.Key == "" {
			return nil, local(ErrNoKey, "the value is empty", "set the key as a new version (az keyvault secret set)")
		}
	} else {
		where, note := "field "+quote(field), ""
		if fromTag {
			note = "named by tag " + quote(p.cfg.fieldTag)
			where += " (" + note + ")"
		}
		obj, err := secretjson.Object([]byte(*s.Value))
		if err != nil {
			msg := "the value is not a JSON object, so it has no " + where
			if s.ContentType != nil && *s.ContentType != "" && !isJSON {
				msg += "; its content type is " + quote(truncate(*s.ContentType))
			}
			return nil, local(ErrNoKey, msg, `store {"`+field+`": "<key>"} with content type application/json, or read the whole value (no WithField or field tag)`)
		}
		key, err := secretjson.String(obj, field)
		if err != nil {
			var fe *secretjson.FieldError
			hint := "add the field, or name the right one"
			if errors.As(err, &fe) {
				fe.Note = note
				if !fe.Missing {
					hint = "store the key as a JSON string"
				}
			}
			return nil, local(ErrNoKey, err.Error(), hint)
		}
		cred.Key = strings.TrimSpace(key)
		if cred.Key == "" {
			return nil, local(ErrNoKey, where+" is empty", "put the key in that field")
		}
	}
	if err := credentials.Validate(cred.Key); err != nil {
		var me *credentials.MalformedKeyError
		if errors.As(err, &me) {
			me.Source = fmt.Sprintf("Azure Key Vault secret %q (version %s)", p.name, id)
		}
		return nil, &Error{Op: op, Name: p.name, Version: id, Vault: p.vaultHost(), Err: err,
			msg: "the stored key is malformed (" + err.Error() + ")", hint: "fix the value and set it as a new version", local: true}
	}
	return &version{id: id, stamp: p.stamp(s.Attributes, s.ContentType, s.Tags), cred: cred}, nil
}

func (p *Provider) fieldHint() string {
	h := "name the field with azkv.WithField"
	if p.cfg.fieldTag != "" {
		h += ", or tag the version with " + p.cfg.fieldTag + "=<field>"
	} else {
		h += ", or with a tag on each version (azkv.WithFieldTag)"
	}
	return h
}

func (p *Provider) disabledHint(id string) string {
	v := id
	if v == "" {
		v = "<version>"
	}
	return "enable it (az keyvault secret set-attributes --vault-name " + p.vaultName() + " --name " + p.name + " --version " + v +
		" --enabled true), or set the key as a new version"
}

func (p *Provider) expiredHint(id string) string {
	v := id
	if v == "" {
		v = "<version>"
	}
	return "set a new version with the new key before the old one expires (az keyvault secret set), or extend this one " +
		"(az keyvault secret set-attributes --vault-name " + p.vaultName() + " --name " + p.name + " --version " + v +
		" --expires <time>); if exp is not the key's real expiry, use azkv.WithoutExpiry"
}

// contentTypeJSON reports whether a secret's content type is application/json
// (parameters such as charset ignored).
func contentTypeJSON(ct *string) bool {
	if ct == nil || *ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(*ct)
	return err == nil && mt == "application/json"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
