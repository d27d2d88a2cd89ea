// Package credentials is where API keys come from, and the [Cache] that holds
// the current one for every goroutine.
//
// A [Provider] yields a [Credential]: [Static], [Env] (re-read on every
// Retrieve), [File] (re-read when the file changes), [Exec] (a command, as
// AWS credential_process does), [FromTokenSource] (an oauth2.TokenSource),
// [Chain] (the first that has a key) or any [ProviderFunc]. Every built-in
// provider checks the key locally with [Validate] before any network call,
// so a pasted "Bearer " prefix, stray quotes or a line break fail at once
// with an error that names the problem and never the key.
//
// A [RefreshFunc] obtains a new key after the API rejected one: minting it
// through the API's key endpoint, asking a secrets manager, or whatever the
// API's runbook says. The [Cache] calls it once however many goroutines saw
// the rejection, retries it with bounded backoff, and refreshes ahead of a
// known expiry in the background:
//
//	cache := &credentials.Cache{
//		Provider: credentials.Env("EXAMPLE_API_KEY"),
//		Refresh:  mintKey,
//	}
//	defer cache.Close()
//	cred, err := cache.Retrieve(ctx)           // lock-free once loaded
//	next, err := cache.Invalidate(ctx, cred)   // after the API rejected cred
//
// Every call the Cache makes to its source carries the reason in its
// context: [RefreshReasonFrom] tells a first key, a rejection and an expiry
// apart, so that a hook can extend a key that is expiring but mint one for a
// key the API rejected. [Exec] passes the reason on to its command.
//
// A Provider whose source can change on its own, like a [File] that a
// Kubernetes secret update replaces, is a [Poller]: the Cache checks it at
// an interval while the key is in use and swaps a new key in before the API
// rejects the old one.
//
// Package transport builds a Cache automatically; build one yourself to share
// it between clients or to tune it.
//
// A [Pool] holds several keys for one API (Azure's key1 and key2, a primary
// and a standby), each with a Cache of its own, and is itself a Provider:
// given one, package transport replays a rejected request at once with the
// next healthy key while the rejected one is refreshed in the background.
//
// A Credential, and every type here that holds one, never prints its key: all
// fmt verbs, slog and encoding/json render [Redact]'s form, such as
// "sk_live_…9f2c".
package credentials
