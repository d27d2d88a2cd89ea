// Package rekey is a client for HTTP APIs that authenticate with API keys,
// built around automatic recovery from invalid, expired and revoked keys.
//
// When an API answers
//
//	401 {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
//
// rekey fetches a new key through a credentials.Provider or a refresh hook,
// swaps it in for every goroutine at once, and replays the request once. When
// recovery is impossible, the error is precise: errors.Is(err,
// [ErrInvalidAPIKey]) in application code, and errors.As into *[APIError] for
// the server's message and request ID.
//
// The pieces:
//   - package credentials: where keys come from (Static, Env, File, Exec,
//     Chain, OAuth2 token sources) and the Cache that holds the current key
//     and refreshes it once for all goroutines, ahead of expiry;
//   - package transport: the http.RoundTripper that injects the key and
//     recovers from the rejection;
//   - [Client] (this package): JSON requests over that transport, with
//     transient retries;
//   - package rekeytest: a fake API service for tests that rotates, expires
//     and revokes keys.
package rekey
