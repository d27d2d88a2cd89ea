// Package azkv reads an API key from an Azure Key Vault secret, and
// replaces it the way an operator would when the API rejects it or the
// secret gets a new version.
//
// It is a nested module (github.com/rekeyhq/rekey/credentials/azkv), so
// that the core of rekey does not depend on the Azure SDK. A [Provider]
// reads one secret by name, through azsecrets (the official client) and any
// azcore.TokenCredential:
//
//	cred, err := azidentity.NewDefaultAzureCredential(nil) // managed identity, workload identity, az login...
//	if err != nil { ... }
//	p, err := azkv.NewFromURL("https://myvault.vault.azure.net/", cred, "billing-api",
//		azkv.WithField("api_key")) // or the whole value without WithField
//	if err != nil { ... }
//	client, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
//
// or, with a client you built: azkv.New(azsecretsClient, "billing-api").
//
// The credentials.Cache that rekey puts in front of the Provider decides
// when Key Vault is read, once for all goroutines and never per request:
//
//   - first use: one GET of the secret's current version (after the bearer
//     challenge, one unauthenticated request per client that Key Vault
//     answers 401, naming the tenant and resource for the token);
//   - the API rejects the key: one GET. If the current version did not
//     change (or holds the same key), there is nothing newer: the request
//     fails at once with an error matching credentials.ErrSameKey (no
//     retry, no backoff);
//   - ahead of the key's expiry, which is the version's expiration date
//     (its exp attribute; [WithoutExpiry] ignores it);
//   - every poll interval while the key is in use ([WithPollInterval],
//     default five minutes), so that a planned rotation is picked up
//     before the old key is revoked: a listing of the secret's versions,
//     properties only (one request per 25 versions), and one GET of the
//     newest usable version only when it is not the one in use. An
//     unchanged secret costs no read of its value. [WithPollByGet] makes
//     each poll one GET of the current version instead, for a secret with
//     many versions.
//
// The newest usable version is the newest by its created time (Key
// Vault's current version is the newest) among those enabled, not expired
// and already valid (nbf): a version staged disabled, or with a future
// not-before date, is not picked up until it is usable.
//
// The caller's identity needs the "Key Vault Secrets User" role on the
// secret or the vault (a vault using Azure RBAC: its data actions read a
// value and list properties), or the Get and List secret permissions (a
// vault using access policies; Get alone with [WithPollByGet]). Transient
// failures (429, 5xx, connection errors) are retried by the SDK's retry
// policy (azcore.ClientOptions.Retry); the Provider marks its errors
// credentials.Permanent so that the Cache does not retry on top.
//
// Failures are [*Error] values matching [ErrNotFound], [ErrForbidden],
// [ErrDisabled], [ErrExpired], [ErrThrottled], [ErrUnauthorized],
// [ErrNoKey], credentials.ErrSameKey or credentials.ErrMalformedKey. They
// name the vault, the secret and Key Vault's request ID, say what to do,
// and never contain the secret's value.
package azkv
