package awssm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials"
)

// version is one secret version as read: its ID and the credential in it.
type version struct {
	id   string
	cred credentials.Credential
}

// read makes one GetSecretValue call, for stage or (if set) versionID, and
// extracts the credential. stage also labels errors when versionID is set.
func (p *Provider) read(ctx context.Context, stage, versionID string) (version, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.id)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	} else {
		in.VersionStage = aws.String(stage)
	}
	out, err := p.api.GetSecretValue(ctx, in, p.callOpts...)
	if err != nil {
		e := p.classify("GetSecretValue", stage, err)
		if e.Kind == ErrDeleted {
			p.addDeletedDate(ctx, e)
		}
		return version{}, e
	}
	id := aws.ToString(out.VersionId)
	cred, err := p.extract(stage, id, out)
	if err != nil {
		return version{}, err
	}
	return version{id: id, cred: cred}, nil
}

// addDeletedDate completes a "marked for deletion" error with the date
// DescribeSecret reports, best effort: one more call, on an error path only.
func (p *Provider) addDeletedDate(ctx context.Context, e *Error) {
	out, err := p.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(p.id)}, p.callOpts...)
	if err == nil && out.DeletedDate != nil {
		d := p.deletedError(e.Op, *out.DeletedDate, e.RequestID)
		e.hint = d.hint
	}
}

// extract takes the key (and its expiry) out of a GetSecretValue answer.
func (p *Provider) extract(stage, id string, out *secretsmanager.GetSecretValueOutput) (credentials.Credential, error) {
	if out.SecretString == nil {
		if len(out.SecretBinary) > 0 {
			return credentials.Credential{}, p.localError(stage, id, ErrNoKey, "the version holds SecretBinary, not SecretString",
				"store the key as the secret's string value (put-secret-value --secret-string)")
		}
		return credentials.Credential{}, p.localError(stage, id, ErrNoKey, "the version has no value",
			"put the key in the secret (put-secret-value --secret-string)")
	}
	s := *out.SecretString
	var cred credentials.Credential
	if p.cfg.field == "" {
		cred.Key = strings.TrimSpace(s)
		if cred.Key == "" {
			return cred, p.localError(stage, id, ErrNoKey, "the SecretString is empty", "put the key in the secret")
		}
	} else {
		obj, err := jsonObject(s)
		if err != nil {
			return credentials.Credential{}, p.localError(stage, id, ErrNoKey,
				"the SecretString is not a JSON object, so it has no field "+quote(p.cfg.field),
				`store {"`+p.cfg.field+`": "<key>"}, or drop awssm.WithField to use the whole SecretString`)
		}
		key, err := stringField(obj, p.cfg.field)
		if err != nil {
			return credentials.Credential{}, p.localError(stage, id, ErrNoKey, err.Error(),
				"add the field to the secret's JSON, or name the right one with awssm.WithField")
		}
		cred.Key = strings.TrimSpace(key)
		if cred.Key == "" {
			return cred, p.localError(stage, id, ErrNoKey, "field "+quote(p.cfg.field)+" is empty", "put the key in that field")
		}
		if p.cfg.expiryField != "" {
			exp, err := timeField(obj, p.cfg.expiryField)
			if err != nil {
				return credentials.Credential{}, p.localError(stage, id, nil, err.Error(),
					"store an RFC 3339 time such as \"2030-01-02T15:04:05Z\" or Unix seconds, or null when unknown")
			}
			cred.Expiry = exp
		}
	}
	if cred.Expiry.IsZero() && p.cfg.lifetime > 0 && out.CreatedDate != nil {
		cred.Expiry = out.CreatedDate.Add(p.cfg.lifetime)
	}
	if err := credentials.Validate(cred.Key); err != nil {
		var me *credentials.MalformedKeyError
		if errors.As(err, &me) {
			me.Source = fmt.Sprintf("AWS secret %q (%s)", p.id, stageOrVersion(stage, id))
		}
		return credentials.Credential{}, &Error{SecretID: p.id, Op: "GetSecretValue", Stage: stage, Err: err,
			hint: "fix the value stored in the secret", local: true}
	}
	return cred, nil
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

// stringField returns the string in obj[name]; its errors name the field and
// the fields present, never a value.
func stringField(obj map[string]json.RawMessage, name string) (string, error) {
	raw, ok := obj[name]
	if !ok {
		return "", fmt.Errorf("the JSON SecretString has no field %s (it has: %s)", quote(name), fieldNames(obj))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %s of the JSON SecretString is %s, not a string", quote(name), jsonKind(raw))
	}
	return s, nil
}

// timeField parses obj[name] as an RFC 3339 string or Unix seconds; missing
// or null is the zero time.
func timeField(obj map[string]json.RawMessage, name string) (time.Time, error) {
	raw, ok := obj[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("expiry field %s is not an RFC 3339 time", quote(name))
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil && n > 0 && n < math.MaxInt32*4 {
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("expiry field %s is %s, not an RFC 3339 time or Unix seconds", quote(name), jsonKind(raw))
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
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

func stageOrVersion(stage, id string) string {
	if id == "" {
		return stage
	}
	return stage + ", version " + id
}
