// Package gcpsm reads an API key from Google Cloud Secret Manager, for rekey:
// the key lives in a secret, a rotation adds it as a new version, and every
// process picks the new version up, before the old key is revoked when it
// can, or right after the API rejects the old key otherwise.
//
// It is a nested module (github.com/rekeyhq/rekey/credentials/gcpsm), so
// that the core of rekey does not depend on the Google Cloud client.
//
//	sm, err := secretmanager.NewClient(ctx) // Application Default Credentials, or any option.ClientOption
//	if err != nil { ... }
//	defer sm.Close()
//	p, err := gcpsm.New(sm, "projects/my-project/secrets/billing-api-key")
//	if err != nil { ... }
//	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
//
// The [Provider] reads version "latest" (the most recently created version;
// when that one is disabled or destroyed, the newest enabled version, found
// with one ListSecretVersions), or the version or alias [WithVersion] names, through the gRPC client of
// cloud.google.com/go/secretmanager/apiv1. The credentials.Cache in front of
// it (every rekey Client and Transport has one) decides when:
//
//   - first use: one AccessSecretVersion;
//   - the API rejects the key: one AccessSecretVersion, shared by every
//     goroutine. If the version number did not change there is nothing newer:
//     the request fails at once with an error matching
//     [credentials.ErrSameKey] (no retry, no backoff);
//   - every poll interval while the key is in use (default five minutes,
//     [WithPollInterval]): one GetSecretVersion, which returns the version's
//     number and state but no payload, and one AccessSecretVersion only when
//     the number moved to an enabled version, so a planned rotation is picked
//     up before the old key is revoked;
//   - ahead of a known expiry ([WithExpiryField]).
//
// Never per request. The caller needs roles/secretmanager.secretAccessor on
// the secret (secretmanager.versions.access) and, for polling and for finding
// the newest enabled version, secretmanager.versions.get and
// secretmanager.versions.list (both in roles/secretmanager.viewer).
//
// The client retries what its retry policy retries (AccessSecretVersion on
// UNAVAILABLE and RESOURCE_EXHAUSTED); the Provider marks its errors
// [credentials.Permanent] so that the Cache does not retry on top. Each error
// is an [*Error] that says what to do and matches one of [ErrNotFound],
// [ErrPermissionDenied], [ErrUnauthenticated], [ErrVersionDisabled],
// [ErrVersionDestroyed], [ErrQuotaExceeded], [ErrNoKey],
// [credentials.ErrMalformedKey] or [credentials.ErrSameKey]. No error, log
// record or formatted value contains the key or another value of the secret.
package gcpsm
