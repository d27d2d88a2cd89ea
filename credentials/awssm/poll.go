package awssm

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rekeyhq/rekey/credentials"
)

// PollInterval is how often a credentials.Cache in front of the Provider
// calls Poll: [WithPollInterval], [DefaultPollInterval] by default; zero or
// negative means no polling.
func (p *Provider) PollInterval() time.Duration { return p.cfg.poll }

// Poll reports whether the secret's AWSCURRENT version holds another key
// than current. It costs one DescribeSecret call, which returns version IDs
// and staging labels but no secret value (so no KMS decryption); only when
// AWSCURRENT moved to a version not seen before does it read that version
// with GetSecretValue. A pending rotation (AWSPENDING) is not picked up by
// Poll: the API may not accept its key until the rotation finishes. A
// secret scheduled for deletion is an error matching [ErrDeleted].
func (p *Provider) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	out, err := p.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(p.id)}, p.callOpts...)
	if err != nil {
		return current, false, p.classify("DescribeSecret", "", err)
	}
	if out.DeletedDate != nil {
		return current, false, p.deletedError("DescribeSecret", *out.DeletedDate, "")
	}
	id := ""
	for vid, stages := range out.VersionIdsToStages {
		if slices.Contains(stages, StageCurrent) {
			id = vid
			break
		}
	}
	if id == "" {
		return current, false, &Error{SecretID: p.id, Op: "DescribeSecret", Kind: ErrNoKey,
			msg:  "no version of the secret has the AWSCURRENT label",
			hint: "attach AWSCURRENT to the version holding the key (aws secretsmanager update-secret-version-stage)"}
	}
	if id == p.seenCurrent() {
		return current, false, nil
	}
	v, err := p.read(ctx, StageCurrent, id)
	if err != nil {
		return current, false, err
	}
	p.seeCurrent(v.id)
	if v.cred.Key == current.Key && v.cred.Expiry.Equal(current.Expiry) {
		return current, false, nil
	}
	return v.cred, true, nil
}
