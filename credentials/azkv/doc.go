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
//     default five minutes): one GET of the current version, which carries
//     the new key when the version changed, so that a planned rotation is
//     picked up before the old key is revoked.
//
// The caller's identity needs the "Key Vault Secrets User" role on the
// secret or the vault (a vault using Azure RBAC), or the Get secret
// permission (a vault using access policies). Transient failures (429, 5xx,
// connection errors) are retried by the SDK's retry policy
// (azcore.ClientOptions.Retry); the Provider marks its errors
// credentials.Permanent so that the Cache does not retry on top.
//
// Failures are [*Error] values matching [ErrNotFound], [ErrForbidden],
// [ErrDisabled], [ErrExpired], [ErrThrottled], [ErrUnauthorized],
// [ErrNoKey], credentials.ErrSameKey or credentials.ErrMalformedKey. They
// name the vault, the secret and Key Vault's request ID, say what to do,
// and never contain the secret's value.
package azkv
