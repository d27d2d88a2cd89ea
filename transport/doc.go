// Package transport provides [Transport], an http.RoundTripper that injects
// an API key into every request and recovers from the API's invalid-key
// rejection: it refreshes the key once for all goroutines and replays the
// request once.
//
// Use it directly with any *http.Client, or through rekey.Client, which adds
// JSON helpers and transient retries around it:
//
//	client := &http.Client{Transport: &transport.Transport{
//		Credentials: credentials.Env("EXAMPLE_API_KEY"),
//		Refresh:     mintKey, // a credentials.RefreshFunc
//	}}
//	resp, err := client.Get("https://api.example.com/v1/things")
//	if errors.Is(err, rekey.ErrInvalidAPIKey) {
//		// refreshed once and still rejected, or refreshing failed
//	}
//
// The key goes in "Authorization: Bearer <key>" by default, or in another
// header ([Transport.Header], [Transport.Scheme]), a query parameter
// ([Transport.Query]) or HTTP Basic auth ([Transport.Basic], [BasicAuth]).
//
// With a credentials.Pool as Credentials, the Transport holds several keys
// and fails over between them: a rejected request is replayed at once with
// the next healthy key (see [Transport] and docs/pools.md).
//
// Which responses count as the rejection is up to [Transport.IsRejection].
// The default, [IsInvalidKeyRejection], recognises a 401 (unless its words
// are only about scope, permission or quota) and a 400 or 403 whose error
// says the key is invalid, expired or revoked, reading JSON, XML, HTML and
// text bodies by their structure, not by vendor. For APIs that reject
// differently, [Slack], [GraphQL], [OKFalse], [StatusHeader] and
// [StatusBody] build the matcher and [AnyOf] combines it with the default;
// docs/tested-against.md says which API needs which.
package transport
