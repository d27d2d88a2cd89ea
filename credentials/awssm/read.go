package awssm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/internal/secretjson"
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
		obj, err := secretjson.Object([]byte(s))
		if err != nil {
			return credentials.Credential{}, p.localError(stage, id, ErrNoKey,
				"the SecretString is not a JSON object, so it has no field "+quote(p.cfg.field),
				`store {"`+p.cfg.field+`": "<key>"}, or drop awssm.WithField to use the whole SecretString`)
		}
		key, err := secretjson.String(obj, p.cfg.field)
		if err != nil {
			var fe *secretjson.FieldError
			hint := "add the field to the secret's JSON, or name the right one with awssm.WithField"
			if errors.As(err, &fe) && !fe.Missing {
				hint = "store the key as a JSON string"
			}
			return credentials.Credential{}, p.localError(stage, id, ErrNoKey, err.Error(), hint)
		}
		cred.Key = strings.TrimSpace(key)
		if cred.Key == "" {
			return cred, p.localError(stage, id, ErrNoKey, "field "+quote(p.cfg.field)+" is empty", "put the key in that field")
		}
		if p.cfg.expiryField != "" {
			exp, err := secretjson.Time(obj, p.cfg.expiryField)
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

func quote(s string) string { return fmt.Sprintf("%q", s) }

func stageOrVersion(stage, id string) string {
	if id == "" {
		return stage
	}
	return stage + ", version " + id
}
