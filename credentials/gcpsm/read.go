package gcpsm

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/internal/secretjson"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// access makes one AccessSecretVersion call (the client's retries aside) for
// version ver ("latest", a number or an alias), and extracts the key. skipped
// says, when ver was chosen instead of "latest", why.
func (p *Provider) access(ctx context.Context, ver, skipped string) (*version, error) {
	opt, seen := p.retry(p.client.CallOptions.AccessSecretVersion)
	resp, err := p.client.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{
		Name: p.secret + "/versions/" + ver,
	}, opt)
	if err != nil {
		return nil, credentials.Permanent(p.classify(ctx, "AccessSecretVersion", ver, err, seen))
	}
	id := versionID(resp.GetName())
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil && uint32(*sum) != crc32.Checksum(data, castagnoli) {
		// Corrupted on the way: not permanent, a new read may be whole.
		return nil, &Error{Secret: p.secret, Version: ver, Op: "AccessSecretVersion",
			msg:  "the payload of version " + id + " does not match its CRC32C checksum: it was corrupted on the way",
			hint: "the read is tried again; if this persists, check what sits between the client and Secret Manager (a proxy)"}
	}
	cred, err := p.extract(ver, id, data)
	if err != nil {
		return nil, credentials.Permanent(err)
	}
	v := &version{id: id, cred: cred, skipped: skipped}
	p.last.Store(v)
	return v, nil
}

// extract takes the key (and its expiry) out of a version's payload. Its
// errors name fields, never a value.
func (p *Provider) extract(ver, id string, data []byte) (credentials.Credential, error) {
	local := func(kind error, msg, hint string) error {
		return &Error{Secret: p.secret, Version: ver, Op: "AccessSecretVersion", Kind: kind,
			msg: msg + " (version " + id + ")", hint: hint}
	}
	add := "add a version that holds it (gcloud secrets versions add " + shortID(p.secret) + gcloudFlags(p.secret) + " --data-file=-)"
	var cred credentials.Credential
	if p.cfg.field == "" {
		cred.Key = strings.TrimSpace(string(data)) // a key written from a file often ends in a newline
		if cred.Key == "" {
			return cred, local(ErrNoKey, "the payload is empty", "put the key in the secret: "+add)
		}
	} else {
		obj, err := secretjson.Object(data)
		if err != nil {
			return cred, local(ErrNoKey, "the payload is not a JSON object, so it has no field "+quote(p.cfg.field),
				`store {"`+p.cfg.field+`": "<key>"} (`+add+`), or drop gcpsm.WithField to use the whole payload`)
		}
		key, err := secretjson.String(obj, p.cfg.field)
		if err != nil {
			var fe *secretjson.FieldError
			hint := "add the field to the secret's JSON, or name the right one with gcpsm.WithField"
			if errors.As(err, &fe) && !fe.Missing {
				hint = "store the key as a JSON string"
			}
			return cred, local(ErrNoKey, err.Error(), hint)
		}
		cred.Key = strings.TrimSpace(key)
		if cred.Key == "" {
			return cred, local(ErrNoKey, "field "+quote(p.cfg.field)+" is empty", "put the key in that field: "+add)
		}
		if p.cfg.expiryField != "" {
			if cred.Expiry, err = secretjson.Time(obj, p.cfg.expiryField); err != nil {
				return credentials.Credential{}, local(nil, err.Error(),
					`store an RFC 3339 time such as "2030-01-02T15:04:05Z" or Unix seconds, or null when unknown`)
			}
		}
	}
	if err := credentials.Validate(cred.Key); err != nil {
		var mk *credentials.MalformedKeyError
		if errors.As(err, &mk) {
			mk.Source = fmt.Sprintf("Secret Manager %s/versions/%s", p.secret, id)
			if p.cfg.field != "" {
				mk.Source += " field " + quote(p.cfg.field)
			}
		}
		return credentials.Credential{}, &Error{Secret: p.secret, Version: ver, Op: "AccessSecretVersion",
			Kind: credentials.ErrMalformedKey, Err: err, hint: "fix the value stored in the secret: " + add}
	}
	return cred, nil
}

func quote(s string) string { return strconv.Quote(s) }
