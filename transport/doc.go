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
// Which responses count as the rejection is up to [Transport.IsRejection].
// The default, [IsInvalidKeyRejection], recognises every 401 and a 400 or
// 403 whose error says the key is invalid, expired or revoked. For APIs
// that reject differently, [Slack], [OKFalse], [StatusHeader] and
// [StatusBody] build the matcher and [AnyOf] combines it with the default;
// the README's "Tested against" table says which API needs which.
package transport
