// Package otelrekey reports rekey's key recovery to OpenTelemetry: metrics
// for dashboards and alerts, a span per key refresh, and events on the span
// of each request that recovery delayed.
//
// Build a [Telemetry] with [New] and hand its [Telemetry.Hooks] to the
// client; keep it until the client is closed, then close it too:
//
//	tel, err := otelrekey.New() // the global MeterProvider and TracerProvider
//	if err != nil { ... }
//	defer tel.Close()
//	client, err := rekey.NewClient("https://api.example.com",
//		rekey.WithCredentials(credentials.Env("EXAMPLE_API_KEY")),
//		rekey.WithHooks(tel.Hooks()),
//	)
//
// With a bare transport.Transport, retry layer or credentials.Cache, assign
// [Telemetry.OnEvent], [Telemetry.OnRetry] and [Telemetry.OnRefresh] to their
// OnEvent, OnRetry and OnRefresh fields. [JoinHooks] combines the hooks with
// your own, since a later rekey.WithHooks replaces an earlier one.
//
// # Metrics
//
// Named in the style of OpenTelemetry's semantic conventions, under the
// meter "github.com/rekeyhq/rekey/otelrekey" (Prometheus names in brackets,
// as the OpenTelemetry Prometheus exporter writes them):
//
//	rekey.key.rejections        counter {rejection}   invalid-key answers from the API, a rejected replay included
//	                            [rekey_key_rejections_total]      http.response.status_code, rekey.key.cause, server.address, server.port
//	rekey.key.refreshes         counter {refresh}     finished key refreshes
//	                            [rekey_key_refreshes_total]       rekey.refresh.reason, rekey.refresh.outcome, error.type
//	rekey.key.refresh.duration  histogram s           how long each refresh took, retries of the refresh source included
//	                            [rekey_key_refresh_duration_seconds]   same attributes as rekey.key.refreshes
//	rekey.request.replays       counter {replay}      what became of requests after their key was refreshed
//	                            [rekey_request_replays_total]     rekey.replay.outcome, server.address, server.port
//	rekey.request.retries       counter {retry}       transient failures retried (connection errors, 429, 502, 503, 504)
//	                            [rekey_request_retries_total]     http.response.status_code or error.type, server.address, server.port
//	rekey.key.age               gauge s               time since the key in use was obtained
//	                            [rekey_key_age_seconds]
//	rekey.key.time_to_expiry    gauge s               time left until the key in use expires, when its expiry is known
//	                            [rekey_key_time_to_expiry_seconds]
//
// rekey.refresh.reason is initial (the first key), rejected (the API
// rejected the key), expiring (refreshed in the background ahead of its
// expiry) or expired. rekey.refresh.outcome is success or failure; a failure
// also has error.type: timeout, canceled, cache_closed, same_key (the source
// returned the rejected key again), malformed_key, no_credentials, or
// _OTHER. rekey.replay.outcome is replayed (sent again with the new key),
// not_replayed (the body could not be re-read; the caller got the
// rejection) or rejected_again (the replay was rejected too; such a replay
// was first counted as replayed, so replays that recovered are replayed
// minus rejected_again). Every measurement also has the attributes given to
// [WithAttributes].
//
// The gauges describe the last key this Telemetry saw obtained: give each
// Client its own Telemetry, told apart by [WithAttributes].
//
// # Traces
//
// Each refresh is a span, "rekey.key.refresh", from its start to its end,
// with rekey.refresh.reason and rekey.refresh.attempts, and on failure an
// error status, error.type and the error recorded as an exception event.
// Its parent is the span of the request whose rejection started it (a
// refresh ahead of expiry has none); refreshes that overlap are kept apart.
//
// On the span of the request itself (the span in the request's context, for
// example the one otelhttp.NewTransport starts around the rekey client's
// transport), recovery adds the events rekey.key.rejected,
// rekey.request.replayed, rekey.request.not_replayed, rekey.replay.rejected
// and rekey.request.retry, so a trace shows why the request took longer.
//
// # Secrets
//
// No attribute, event or span name carries a key or any part of one:
// rekey's events carry none, and the attributes are built from the status,
// the host, fixed names and error messages. rekey's own error messages never
// contain a key; the error of your refresh hook is recorded as it is (on a
// failed refresh's span), so keep keys out of it too.
//
// A Telemetry is safe for concurrent use; its hooks are fast and never block
// on I/O (the OpenTelemetry SDK exports in the background).
package otelrekey
