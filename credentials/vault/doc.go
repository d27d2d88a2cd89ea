// Package vault reads an API key from HashiCorp Vault's KV version 2
// secrets engine, for rekey: the key lives in one field of a secret, a
// rotation writes it as a new version, and every process picks the new
// version up, before the old key is revoked when it can, or right after
// the API rejects the old key otherwise.
//
// It is a nested module (github.com/rekeyhq/rekey/credentials/vault), so
// that the core of rekey does not depend on the Vault client.
//
//	client, err := api.NewClient(api.DefaultConfig()) // VAULT_ADDR, VAULT_TOKEN, ...
//	if err != nil { ... }
//	p, err := vault.New(client, "secret", "myapp/billing-api", "api_key")
//	if err != nil { ... }
//	c, err := rekey.NewClient("https://api.example.com", rekey.WithCredentials(p))
//
// The [Provider] is read through a [credentials.Cache] (every rekey Client
// and Transport has one), which decides when Vault is read:
//
//   - first use: one GET of /v1/<mount>/data/<path>;
//   - the API rejects the key: one GET of the latest version, shared by
//     every goroutine. A version number that did not change means there is
//     nothing newer: the request fails at once with an error matching
//     [credentials.ErrSameKey] (no retry, no backoff);
//   - every poll interval while the key is in use (default one minute,
//     [WithPollInterval]): one GET of /v1/<mount>/metadata/<path>, and a
//     GET of the new version only when current_version changed, so a
//     planned rotation is picked up before the old key is revoked;
//   - ahead of a known expiry ([WithExpiryField], [WithExpiryMetadata]).
//
// Never per request. The token needs the read capability on
// <mount>/data/<path>, and on <mount>/metadata/<path> for polling:
//
//	path "secret/data/myapp/billing-api"     { capabilities = ["read"] }
//	path "secret/metadata/myapp/billing-api" { capabilities = ["read"] }
//
// Authentication is the *api.Client's: a token from VAULT_TOKEN or
// SetToken, kept valid by its owner (or by Vault Agent or Vault Proxy with
// auto-auth). Transient failures are retried by the Vault client itself
// (MaxRetries); the Provider marks its errors [credentials.Permanent] so
// that the Cache does not retry on top. Each error is an [*Error] that says
// what to do and matches one of [ErrSealed], [ErrPermissionDenied],
// [ErrNotFound], [ErrFieldNotFound], [ErrVersionDeleted], [ErrNotKVv2],
// [credentials.ErrMalformedKey] or [credentials.ErrSameKey]. No error, log
// line or formatted value contains the key, another value of the secret or
// the token.
package vault
