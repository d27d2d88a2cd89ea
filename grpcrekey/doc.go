// Package grpcrekey brings rekey's recovery from invalid, expired and
// revoked keys to gRPC clients: the same credentials.Cache, single-flight
// refresh, cooldowns, providers, secret stores, hooks and typed errors as
// rekey's HTTP client, for APIs that take a key or token in gRPC metadata
// (etcd's "token", Google's "x-goog-api-key", "authorization: Bearer" for
// many others).
//
// grpc-go's own per-call credentials (credentials/oauth) inject a token but
// never recover from its rejection: every caller sees Unauthenticated until
// the process restarts or someone writes the retry loop by hand. Build
// [Credentials] with [New] and hand [Credentials.DialOptions] to
// grpc.NewClient:
//
//	rk, err := grpcrekey.New(credentials.Env("EXAMPLE_API_KEY"),
//		grpcrekey.WithRefresh(mintKey), // optional: func(ctx, rejected) (credentials.Credential, error)
//	)
//	if err != nil { ... }
//	defer rk.Close()
//	conn, err := grpc.NewClient("api.example.com:443",
//		append(rk.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(nil)))...)
//
// Every call then carries the current key (one lock-free read per call).
// When the server rejects it (by default Unauthenticated, or a
// PermissionDenied or InvalidArgument that says the key is invalid,
// expired or revoked: see [IsInvalidKeyRejection] and [WithRejection]),
// one refresh runs for all calls that saw the rejection and each unary
// call is replayed once with the new key. A stream is opened again, and
// what it had sent sent again, only if no response message had arrived.
//
// Several keys for one API go in a credentials.Pool, given to [New] as
// the provider: each call takes the key of the member the Pool picks, and
// a call whose member's key is rejected is replayed at once with the next
// healthy member (a stream only before its first response), while the
// rejected member is refreshed in the background, once however many calls
// saw it, as rekey's HTTP transport does. A ResourceExhausted status counts
// as 429 for PoolOptions.FailoverOn.
//
// What recovery cannot fix comes back as an [*Error]: it matches
// rekey.ErrInvalidAPIKey (and rekey.ErrRefreshFailed when the refresh
// failed) for errors.Is, gives a *rekey.APIError to errors.As, and keeps
// the server's gRPC status, details included, for status.Code and
// status.Convert. A call that could carry no key fails with a
// [*CredentialError] before anything is sent.
//
// A key is never sent over a connection without transport security to a
// peer that is not loopback or a Unix socket (see [WithInsecureTransport]),
// and never appears in an error, a log record, a hook event or any fmt
// verb of the package's values.
//
// Hooks and logs: [WithHooks] takes the rekey.Hooks of a rekey.Client, so
// otelrekey's Telemetry.Hooks record gRPC calls too; [WithLogger] logs as
// the Client does.
package grpcrekey
