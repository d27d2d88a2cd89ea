package otelrekey_test

import (
	"context"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/transport"
)

// What one recovery costs the goroutine that reports it: a rejection and a
// replay (span events on a recording span, counters), and a refresh (span
// and counters). Requests that are not rejected call no hook at all.
func BenchmarkRecovery(b *testing.B) {
	for _, tc := range []struct {
		name string
		new  func(b *testing.B) (*otelrekey.Telemetry, context.Context)
	}{
		{"sdk", func(b *testing.B) (*otelrekey.Telemetry, context.Context) {
			s := newSDK(b)
			ctx, span := s.tp.Tracer("bench").Start(context.Background(), "request")
			b.Cleanup(func() { span.End() })
			return s.telemetry(b), ctx
		}},
		{"noop", func(b *testing.B) (*otelrekey.Telemetry, context.Context) {
			tel, err := otelrekey.New(otelrekey.WithMeterProvider(metricnoop.NewMeterProvider()),
				otelrekey.WithTracerProvider(tracenoop.NewTracerProvider()))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tel.Close() })
			return tel, context.Background()
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tel, ctx := tc.new(b)
			rejected := transport.Event{Kind: transport.EventKeyRejected, Method: "GET", URL: "https://api.example.com/v1/things",
				StatusCode: 401, RequestID: "req_8f2c", Context: ctx}
			replayed := rejected
			replayed.Kind = transport.EventReplayed
			var id uint64
			b.ReportAllocs()
			for b.Loop() {
				id++
				tel.OnEvent(rejected)
				tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshStarted, Reason: credentials.ReasonRejected, ID: id, Context: ctx})
				tel.OnRefresh(credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, Reason: credentials.ReasonRejected, ID: id,
					Context: ctx, Attempts: 1, Duration: 40 * time.Millisecond})
				tel.OnEvent(replayed)
			}
		})
	}
}
