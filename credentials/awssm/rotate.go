package awssm

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials"
)

// Intervals between the reads of AWSCURRENT while a refresh waits for a
// rotation: the first check comes soon (a rotation function often takes a
// second or two), later ones back off so that a slow rotation costs few calls.
const (
	rotationFirstCheck = 200 * time.Millisecond
	rotationMaxCheck   = 2 * time.Second
)

// rotate starts the secret's rotation (unless one is already under way)
// and waits, bounded by WithRotation's wait and by ctx, for AWSCURRENT to
// move from version currentID to a version holding another key than
// rejected. A new AWSCURRENT version means the rotation function finished
// (set the key at the API and tested it), so its key is used even if it was
// rejected before, as an AWSPENDING key offered too early.
func (p *Provider) rotate(ctx context.Context, currentID, rejected string) (credentials.Credential, error) {
	_, err := p.api.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(p.id)}, p.callOpts...)
	switch {
	case err == nil:
		p.log.InfoContext(ctx, "awssm: AWSCURRENT still holds the rejected key; started the secret's rotation",
			slog.String("secret_id", p.id), slog.String("current_version", currentID))
	case rotationUnderWay(err):
		p.log.InfoContext(ctx, "awssm: AWSCURRENT still holds the rejected key; waiting for the rotation already under way",
			slog.String("secret_id", p.id), slog.String("current_version", currentID))
	default:
		e := p.classify("RotateSecret", "", err)
		if e.Kind == nil {
			e.Kind = ErrRotation
			e.hint = "check the secret's rotation configuration (a rotation function or managed rotation), " +
				"or put the new key in the secret yourself (aws secretsmanager put-secret-value)"
		}
		return credentials.Credential{}, credentials.Permanent(e)
	}

	wait := p.cfg.rotateWait
	deadline := time.Now().Add(wait)
	every := rotationFirstCheck
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return credentials.Credential{}, credentials.Permanent(&Error{
				SecretID: p.id, Op: "RotateSecret", Kind: ErrRotation, Err: ctx.Err(),
				msg:  "stopped waiting for the rotation to move AWSCURRENT",
				hint: "the refresh's deadline came first: give WithRotation a wait below the Cache's RefreshTimeout",
			})
		case <-timer.C:
		}
		v, err := p.read(ctx, StageCurrent, "")
		if err != nil {
			return credentials.Credential{}, credentials.Permanent(err)
		}
		if v.id != currentID {
			p.seeCurrent(v.id)
			p.log.InfoContext(ctx, "awssm: the rotation moved AWSCURRENT to a new version",
				slog.String("secret_id", p.id), slog.String("current_version", v.id))
			if v.cred.Key == rejected {
				// Its AWSPENDING key was offered, and rejected, before the
				// rotation finished; the Cache keeps it for the next request.
				return credentials.Credential{}, credentials.Permanent(&Error{
					SecretID: p.id, Op: "RotateSecret", Kind: credentials.ErrSameKey,
					msg:  "the rotation finished with the key the API had rejected while it was AWSPENDING",
					hint: "the next request uses it; if the API rejects it again, check the rotation function's setSecret step",
				})
			}
			return v.cred, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return credentials.Credential{}, credentials.Permanent(&Error{
				SecretID: p.id, Op: "RotateSecret", Kind: ErrRotation,
				msg: "AWSCURRENT still held the rejected key " + wait.String() + " after the rotation was requested",
				hint: "check the rotation function's logs and the secret's AWSPENDING version; " +
					"a longer awssm.WithRotation wait helps only if the rotation is merely slow",
			})
		}
		every = min(every*2, rotationMaxCheck, left)
		timer.Reset(every)
	}
}

// rotationUnderWay reports whether RotateSecret refused because a previous
// rotation has not finished ("A previous rotation isn't complete. That
// rotation will be reattempted."): waiting for it is what we want anyway.
func rotationUnderWay(err error) bool {
	msg := strings.ToLower(causeText(err))
	return strings.Contains(msg, "invalidrequestexception") && strings.Contains(msg, "previous rotation")
}
