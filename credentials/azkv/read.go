package azkv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/rekeyhq/rekey/credentials"
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
			if obj, err := jsonObject(*s.Value); err == nil {
				msg += " (the object has: " + fieldNames(obj) + ")"
			}
			return nil, local(ErrNoKey, msg, p.fieldHint())
		}
		cred.Key = strings.TrimSpace(*s.Value)
		if cred.Key == "" {
			return nil, local(ErrNoKey, "the value is empty", "set the key as a new version (az keyvault secret set)")
		}
	} else {
		where := "field " + quote(field)
		if fromTag {
			where += " (named by tag " + quote(p.cfg.fieldTag) + ")"
		}
		obj, err := jsonObject(*s.Value)
		if err != nil {
			msg := "the value is not a JSON object, so it has no " + where
			if s.ContentType != nil && *s.ContentType != "" && !isJSON {
				msg += "; its content type is " + quote(truncate(*s.ContentType))
			}
			return nil, local(ErrNoKey, msg, `store {"`+field+`": "<key>"} with content type application/json, or read the whole value (no WithField or field tag)`)
		}
		raw, ok := obj[field]
		if !ok {
			return nil, local(ErrNoKey, "the JSON object has no "+where+" (it has: "+fieldNames(obj)+")", "add the field, or name the right one")
		}
		var key string
		if err := json.Unmarshal(raw, &key); err != nil {
			return nil, local(ErrNoKey, where+" is "+jsonKind(raw)+", not a string", "store the key as a JSON string")
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

// jsonObject decodes s as a JSON object, keeping the values raw. Its error
// never quotes s: a JSON syntax error would show a character of the secret.
func jsonObject(s string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, errors.New("not a JSON object")
	}
	return obj, nil
}

func jsonKind(raw json.RawMessage) string {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// fieldNames lists the names (never the values) of an object's fields.
func fieldNames(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "no fields"
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, quote(truncate(k)))
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return strings.Join(names, ", ")
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
