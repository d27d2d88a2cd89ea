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
//	rekey.pool.failovers        counter {failover}    requests replayed at once with another key of a credentials.Pool
//	                            [rekey_pool_failovers_total]      rekey.pool.member (the one used), http.response.status_code (the refusal), server.address, server.port
//	rekey.pool.member.transitions counter {transition} changes of a pool member's state
//	                            [rekey_pool_member_transitions_total]  rekey.pool.member, rekey.pool.member.transition
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
// With a credentials.Pool, rekey.key.rejections also has rekey.pool.member,
// the index (from 0) of the member whose key was rejected, and
// rekey.pool.member.transition is quarantined (its refresh produced no new
// key), restored (back in rotation) or cooling_down (after a
// PoolOptions.FailoverOn status). The members' refreshes count in
// rekey.key.refreshes like a single key's. rekey.Client hands the Pool's
// events to [Telemetry.Hooks]; with a bare transport, register
// [Telemetry.OnPoolEvent] with Pool.Observe.
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
// With a credentials.Pool, rekey.pool.failover (the member the request is
// replayed with) and rekey.pool.member.cooldown join them, and
// rekey.pool.member.quarantined and rekey.pool.member.restored go on the
// span of the request whose rejection led to them while it is still open;
// pool events name the member by rekey.pool.member and
// rekey.pool.member.redacted_key (credentials.Redact: a type prefix and the
// last 4 characters, safe to print).
//
// # Secrets
//
// No attribute, event or span name carries a key or any part of one beyond
// the redacted form that names a pool member on span events: rekey's events
// carry no key, and the attributes are built from the status,
// the host, fixed names and error messages. rekey's own error messages never
// contain a key; the error of your refresh hook is recorded as it is (on a
// failed refresh's span), so keep keys out of it too.
//
// A Telemetry is safe for concurrent use; its hooks are fast and never block
// on I/O (the OpenTelemetry SDK exports in the background).
package otelrekey
