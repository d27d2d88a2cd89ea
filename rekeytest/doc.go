// Package rekeytest provides a fake API service on loopback, for testing code
// that calls HTTP APIs with API keys — rekey's own tests, and yours. Like
// net/http/httptest, it runs a real HTTP server: requests go over TCP, keys
// are real random strings, and a bad key gets the real rejection.
//
// A [Server] issues keys, expires them after a TTL, revokes them one at a
// time or all at once (on demand or every so often), and answers every bad
// key with exactly
//
//	401 {"error": "Invalid API Key", "message": "The API key provided is not valid or has expired."}
//
// ([InvalidKeyBody]). It can also misbehave on purpose: a burst of 503s with
// Retry-After ([Server.FailNext]), or random 503s, dropped connections and
// slow answers ([Faults]). [Server.Stats] and [Server.Bodies] let a test
// check afterwards what the server saw: how many keys were rejected, and
// that every request body arrived exactly once, exactly as sent.
//
// # HTTP surface
//
// All answers are JSON and carry an X-Request-Id header.
//
//	POST /v1/keys        Authorization: Bearer <account secret>
//	                     201 {"key": "rk_test_…", "expires_at": "RFC 3339" or null}
//	                     401 {"error": "Invalid Account Secret", ...} otherwise
//	GET  /v1/echo        200 {"method", "path", "query"} (query without api_key)
//	POST /v1/echo, PUT   200 {"method", "path", "query", "body": <the JSON body>}
//	                     with WithIdempotency, a repeated Idempotency-Key gets the first answer again
//	GET  /v1/key         200 {"valid": true, "redacted_key", "issued_at", "expires_at"}
//	GET  /v1/forbidden   403 {"error": "Forbidden", ...}: a permission problem, not a key problem
//
// Every path but /v1/keys needs an API key, presented as "Authorization:
// Bearer <key>", as "X-API-Key: <key>", as the api_key query parameter, or
// in HTTP Basic auth as the password ("api:<key>") or the user name
// ("<key>:" or "<key>:X").
//
// # Use with rekey
//
// [Server.Refresh] is a credentials.RefreshFunc that mints a key over HTTP,
// so a test can wire rekey to the server in one line:
//
//	srv := rekeytest.NewServer(rekeytest.WithKeyTTL(time.Minute))
//	t.Cleanup(srv.Close)
//	tr := &transport.Transport{Credentials: credentials.Static(srv.IssueKey().Key), Refresh: srv.Refresh}
//	srv.RotateAll() // the next request is rejected, refreshed and replayed
//
// No method or fmt verb prints a key or the account secret.
package rekeytest
