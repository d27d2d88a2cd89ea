package otelrekey

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/transport"
)

// ScopeName is the instrumentation scope of the meter and tracer: the
// package's import path.
const ScopeName = "github.com/rekeyhq/rekey/otelrekey"

// Telemetry turns rekey's events into OpenTelemetry metrics, spans and span
// events (see the package documentation for what it records). Build it with
// [New], wire it with [Telemetry.Hooks] (or the On* methods), and Close it
// when the client it observes is done.
//
// A Telemetry is safe for concurrent use. Its methods never print or record
// a key.
type Telemetry struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue // from WithAttributes
	inst   instruments
	reg    metric.Registration // the gauges' callback

	spans sync.Map // RefreshEvent.ID → trace.Span, for refreshes under way

	mu       sync.Mutex // guards the key facts the gauges report
	obtained time.Time  // when the key in use was obtained; zero: none yet
	expiry   time.Time  // its expiry; zero: unknown

	closeOnce sync.Once
	closeErr  error
}

// New returns a Telemetry that records to the global MeterProvider and
// TracerProvider, or to those given by [WithMeterProvider] and
// [WithTracerProvider]. It creates the instruments and registers the
// gauges' callback; it fails only on a bad option or if the MeterProvider
// refuses an instrument.
func New(opts ...Option) (*Telemetry, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, errors.New("otelrekey: " + strings.Join(cfg.errs, "; "))
	}
	if cfg.meters == nil {
		cfg.meters = otel.GetMeterProvider()
	}
	if cfg.tracers == nil {
		cfg.tracers = otel.GetTracerProvider()
	}
	t := &Telemetry{
		tracer: cfg.tracers.Tracer(ScopeName),
		attrs:  cfg.attrs,
	}
	meter := cfg.meters.Meter(ScopeName)
	inst, err := newInstruments(meter)
	if err != nil {
		return nil, err
	}
	t.inst = inst
	t.reg, err = meter.RegisterCallback(t.observeKey, inst.age, inst.timeToExpiry)
	if err != nil {
		return nil, errors.New("otelrekey: registering the key gauges: " + err.Error())
	}
	return t, nil
}

// Hooks returns rekey.Hooks that feed every event to t, for
// rekey.WithHooks. Combine them with your own with [JoinHooks].
func (t *Telemetry) Hooks() rekey.Hooks {
	return rekey.Hooks{
		KeyRejected:        t.OnEvent,
		RequestReplayed:    t.OnEvent,
		RequestNotReplayed: t.OnEvent,
		ReplayRejected:     t.OnEvent,
		Failover:           t.OnEvent,
		MemberCooldown:     t.OnEvent,
		MemberQuarantined:  t.OnPoolEvent,
		MemberRestored:     t.OnPoolEvent,
		RefreshStarted:     t.OnRefresh,
		RefreshSucceeded:   t.OnRefresh,
		RefreshFailed:      t.OnRefresh,
		RetryScheduled:     t.OnRetry,
	}
}

// Close unregisters the gauges' callback, so that a Telemetry no longer in
// use stops reporting a key. Events that arrive afterwards are still
// counted. Close is idempotent and returns the MeterProvider's error, if
// any, from unregistering.
func (t *Telemetry) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.reg.Unregister() })
	return t.closeErr
}

// OnEvent records a step of the recovery path; assign it to
// transport.Transport.OnEvent when not using rekey.Client.
func (t *Telemetry) OnEvent(ev transport.Event) {
	ctx := orBackground(ev.Context)
	server := serverAttrs(ev.URL)
	switch ev.Kind {
	case transport.EventKeyRejected, transport.EventReplayRejected:
		attrs := t.with(server, append(memberAttrs(ev), statusAttr(ev.StatusCode), KeyCauseKey.String(ev.Cause.String()))...)
		t.inst.rejections.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrs...)))
		if ev.Kind == transport.EventReplayRejected {
			t.inst.replays.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(t.with(server, outcomeRejectedAgain)...)))
		}
	case transport.EventReplayed:
		t.inst.replays.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(t.with(server, outcomeReplayed)...)))
	case transport.EventNotReplayed:
		t.inst.replays.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(t.with(server, outcomeNotReplayed)...)))
	case transport.EventFailover:
		attrs := t.with(server, PoolMemberKey.Int(ev.Member), statusAttr(ev.StatusCode))
		t.inst.failovers.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrs...)))
	case transport.EventMemberCooldown:
		t.inst.transitions.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(t.with(nil, PoolMemberKey.Int(ev.Member), transitionCooldown)...)))
	default:
		return
	}
	addRequestEvent(ctx, ev)
}

// OnPoolEvent records a change of a credentials.Pool member's state
// (quarantined, restored) and the refreshes of its members, which it hands
// to [Telemetry.OnRefresh]. rekey.Client registers it with a Pool through
// [Telemetry.Hooks]; with a bare transport.Transport, register it yourself:
// stop := pool.Observe(tel.OnPoolEvent).
func (t *Telemetry) OnPoolEvent(ev credentials.PoolEvent) {
	var transition attribute.KeyValue
	switch ev.Kind {
	case credentials.MemberRefresh:
		t.OnRefresh(ev.Refresh)
		return
	case credentials.MemberQuarantined:
		transition = transitionQuarantine
	case credentials.MemberRestored:
		transition = transitionRestore
	default:
		return
	}
	ctx := orBackground(ev.Context)
	t.inst.transitions.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(t.with(nil, PoolMemberKey.Int(ev.Member), transition)...)))
	addPoolEvent(ctx, ev)
}

// OnRetry records a retry of a transient failure; assign it to
// transport.Retry.OnRetry when not using rekey.Client.
func (t *Telemetry) OnRetry(ev transport.RetryEvent) {
	ctx := orBackground(ev.Context)
	attrs := t.with(serverAttrs(ev.URL), retryCause(ev)...)
	t.inst.retries.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrs...)))
	addRetryEvent(ctx, ev)
}

// OnRefresh records a stage of a key refresh; assign it to
// credentials.Cache.OnRefresh when not using rekey.Client.
func (t *Telemetry) OnRefresh(ev credentials.RefreshEvent) {
	switch ev.Phase {
	case credentials.RefreshStarted:
		t.startRefreshSpan(ev)
		return
	case credentials.RefreshSucceeded:
		t.mu.Lock()
		t.obtained, t.expiry = time.Now(), ev.Expiry
		t.mu.Unlock()
	case credentials.RefreshFailed:
	default:
		return
	}
	attrs := t.with(refreshAttrs(ev))
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	ctx := orBackground(ev.Context)
	t.inst.refreshes.Add(ctx, 1, set)
	t.inst.refreshDuration.Record(ctx, ev.Duration.Seconds(), set)
	t.endRefreshSpan(ev)
}

// observeKey is the gauges' callback.
func (t *Telemetry) observeKey(_ context.Context, o metric.Observer) error {
	t.mu.Lock()
	obtained, expiry := t.obtained, t.expiry
	t.mu.Unlock()
	if obtained.IsZero() {
		return nil // no key yet: nothing to report
	}
	set := metric.WithAttributeSet(attribute.NewSet(t.attrs...))
	now := time.Now()
	o.ObserveFloat64(t.inst.age, now.Sub(obtained).Seconds(), set)
	if !expiry.IsZero() {
		o.ObserveFloat64(t.inst.timeToExpiry, expiry.Sub(now).Seconds(), set)
	}
	return nil
}

// with returns the attributes given, then those of WithAttributes, in a new
// slice.
func (t *Telemetry) with(a []attribute.KeyValue, more ...attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(a)+len(more)+len(t.attrs))
	out = append(out, a...)
	out = append(out, more...)
	return append(out, t.attrs...)
}

// orBackground returns ctx, or context.Background for an event built
// without one.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
