package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rekeyhq/rekey/credentials"
)

// read makes one GET of <mount>/data/<path>, for version n (0: the latest),
// and decodes the key from it. The request goes through the client's
// Logical API, as "vault kv get" does, so that Vault's answer is decoded
// here, where no value of the secret can slip into an error message.
func (p *Provider) read(ctx context.Context, op string, n int) (*version, error) {
	path := p.dataPath()
	var query map[string][]string
	if n > 0 {
		query = map[string][]string{"version": {strconv.Itoa(n)}}
	}
	s, err := p.client.Logical().ReadWithDataWithContext(ctx, path, query)
	if err != nil {
		return nil, p.fail(ctx, op, path, err)
	}
	if s == nil || s.Data == nil {
		return nil, p.notFound(ctx, op, path)
	}
	v, err := p.decode(op, s)
	if err != nil {
		return nil, credentials.Permanent(err)
	}
	p.last.Store(v)
	return v, nil
}

// decode takes the key (and its expiry) out of a KV v2 read:
// {"data": {"data": {...}, "metadata": {"version", "deletion_time", "destroyed", "custom_metadata", ...}}}.
func (p *Provider) decode(op string, s *api.Secret) (*version, error) {
	path := p.dataPath()
	md, ok := s.Data["metadata"].(map[string]any)
	if !ok {
		return nil, &Error{Op: op, Path: path, kind: ErrNotKVv2,
			Problem: fmt.Sprintf("Vault's answer carries no version metadata: %q looks like a KV version 1 mount; "+
				"upgrade it (vault kv enable-versioning %s/) or use a KV version 2 mount", p.mount, p.mount)}
	}
	n, ok := intValue(md["version"])
	if !ok || n <= 0 {
		return nil, &Error{Op: op, Path: path, kind: ErrNotKVv2,
			Problem: "Vault's answer carries no version number: is this a KV version 2 mount? (vault secrets list -detailed)"}
	}
	data, _ := s.Data["data"].(map[string]any)
	if data == nil {
		e := p.deleted(op, path, n, md)
		e.StatusCode = 404 // Vault answers a read of a deleted version 404, with its metadata
		return nil, e
	}
	raw, ok := data[p.field]
	if !ok {
		names := make([]string, 0, len(data))
		for k := range data {
			names = append(names, fieldName(k))
		}
		sort.Strings(names)
		return nil, &Error{Op: op, Path: path, kind: ErrFieldNotFound,
			Problem: fmt.Sprintf("version %d has no field %q (its fields: %s): write the key under that name "+
				"(vault kv patch -mount=%s %s %s=<key>) or give vault.New the right field name",
				n, p.field, strings.Join(names, ", "), p.mount, p.path, p.field)}
	}
	str, ok := raw.(string)
	if !ok {
		return nil, p.malformed(op, n, fmt.Sprintf("the field holds a JSON %s, not a string: store the key as a string", jsonKind(raw)))
	}
	key := strings.TrimSpace(str) // a key written from a file often ends in a newline
	var mk *credentials.MalformedKeyError
	if err := credentials.Validate(key); errors.As(err, &mk) {
		return nil, p.malformed(op, n, mk.Problem)
	}
	cred := credentials.Credential{Key: key}
	var err error
	switch {
	case p.cfg.expiryField != "":
		cred.Expiry, err = parseExpiry(data[p.cfg.expiryField])
		if err != nil {
			return nil, &Error{Op: op, Path: path, Problem: fmt.Sprintf("the expiry field %q of version %d %v: "+
				"write an RFC 3339 time (2026-01-02T15:04:05Z) or Unix seconds (the value is not shown)", p.cfg.expiryField, n, err)}
		}
	case p.cfg.expiryMeta != "":
		cm, _ := md["custom_metadata"].(map[string]any)
		cred.Expiry, err = parseExpiry(cm[p.cfg.expiryMeta])
		if err != nil {
			return nil, &Error{Op: op, Path: path, Problem: fmt.Sprintf("the custom metadata %q %v: "+
				"write an RFC 3339 time (2026-01-02T15:04:05Z) or Unix seconds (the value is not shown)", p.cfg.expiryMeta, err)}
		}
	}
	return &version{n: n, cred: cred}, nil
}

// deleted explains a KV v2 read that came back without data.
func (p *Provider) deleted(op, path string, n int, md map[string]any) *Error {
	e := &Error{Op: op, Path: path, kind: ErrVersionDeleted}
	destroyed, _ := md["destroyed"].(bool)
	when, _ := md["deletion_time"].(string)
	switch {
	case destroyed:
		e.Problem = fmt.Sprintf("version %d was destroyed and cannot be recovered: write the key as a new version "+
			"(vault kv put -mount=%s %s %s=<key>)", n, p.mount, p.path, p.field)
	case when != "":
		e.Problem = fmt.Sprintf("version %d was deleted at %s: restore it (vault kv undelete -mount=%s -versions=%d %s) "+
			"or write the key as a new version", n, when, p.mount, n, p.path)
	default:
		e.kind = ErrNotFound
		e.Problem = fmt.Sprintf("version %d holds no data: write the key as a new version (vault kv put -mount=%s %s %s=<key>)",
			n, p.mount, p.path, p.field)
	}
	return e
}

func (p *Provider) malformed(op string, n int, problem string) error {
	mk := &credentials.MalformedKeyError{
		Source:  fmt.Sprintf("Vault %s field %q (version %d)", p.dataPath(), p.field, n),
		Problem: problem,
	}
	return &Error{Op: op, Path: p.dataPath(),
		Problem: fmt.Sprintf("malformed key in field %q of version %d: %s", p.field, n, problem),
		kind:    credentials.ErrMalformedKey, err: mk}
}

// fieldName shows a field's name in an error. A long name goes through
// credentials.Redact, in case a key was pasted where a name belongs.
func fieldName(name string) string {
	if len(name) >= 16 {
		return credentials.Redact(name)
	}
	return strconv.Quote(name)
}

// parseExpiry reads an RFC 3339 time or Unix seconds; nil or "" is no expiry.
// Its errors never quote the value, in case the option names the key's field.
func parseExpiry(v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		v = strings.TrimSpace(v)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(s, 0), nil
		}
		return time.Time{}, errors.New("is neither an RFC 3339 time nor Unix seconds")
	default:
		if s, ok := intValue(v); ok {
			return time.Unix(int64(s), 0), nil
		}
		return time.Time{}, fmt.Errorf("holds a JSON %s", jsonKind(v))
	}
}

// intValue reads a JSON number decoded with UseNumber (or as float64).
func intValue(v any) (int, bool) {
	switch v := v.(type) {
	case json.Number:
		i, err := v.Int64()
		return int(i), err == nil
	case float64:
		if v != math.Trunc(v) {
			return 0, false
		}
		return int(v), true
	}
	return 0, false
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
