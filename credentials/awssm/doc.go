// Package awssm reads an API key from AWS Secrets Manager, and replaces it
// the way an operator would when the API rejects it or the secret is rotated.
//
// A [Provider] reads one secret, by name or ARN, through the
// *secretsmanager.Client you configure (region, credentials, retryer):
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	if err != nil { ... }
//	p, err := awssm.New(secretsmanager.NewFromConfig(cfg), "prod/billing-api",
//		awssm.WithField("api_key")) // or the whole SecretString without WithField
//	if err != nil { ... }
//	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
//
// The credentials.Cache that rekey puts in front of the Provider reads the
// secret on first use, after a rejection, ahead of a known expiry
// ([WithExpiryField], [WithKeyLifetime]) and every [WithPollInterval],
// once for all goroutines, and never per request.
//
// After a rejection, [Provider.Refresh] follows the runbook:
//
//  1. read AWSCURRENT again: if it holds another key (the secret was rotated
//     or updated), use it;
//  2. if it still holds the rejected key and a rotation is under way (an
//     AWSPENDING version with another key), use the AWSPENDING key;
//  3. otherwise, with [WithRotation], start the secret's rotation
//     (RotateSecret) and wait, bounded, for AWSCURRENT to change;
//  4. otherwise fail at once with an error matching credentials.ErrSameKey:
//     reading again cannot help, and the Cache does not loop or back off.
//
// A planned rotation costs no rejected request: [Provider.Poll] checks the
// AWSCURRENT version ID with one DescribeSecret call per poll interval, and
// the Cache swaps a new key in before the API revokes the old one, as long
// as the old key stays valid for at least one poll interval after the
// rotation (the usual grace period of a two-key rotation).
//
// Failures are [*Error] values matching [ErrNotFound], [ErrAccessDenied],
// [ErrThrottled] (after the SDK's retryer gave up), [ErrDeleted], [ErrNoKey]
// or [ErrRotation]; they name the secret, the call and the AWS request ID,
// say what to do, and never contain the secret's value.
package awssm
