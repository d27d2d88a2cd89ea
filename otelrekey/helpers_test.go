package otelrekey_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rekeyhq/rekey/otelrekey"
)

// sdk is an OpenTelemetry SDK whose metrics and spans stay in memory: a
// manual reader and a span recorder.
type sdk struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

// newSDK returns an in-memory SDK; more readers (an exporter) may be added.
func newSDK(t testing.TB, more ...sdkmetric.Reader) *sdk {
	t.Helper()
	s := &sdk{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	opts := []sdkmetric.Option{sdkmetric.WithReader(s.reader)}
	for _, r := range more {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	s.mp = sdkmetric.NewMeterProvider(opts...)
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	t.Cleanup(func() {
		s.mp.Shutdown(context.Background())
		s.tp.Shutdown(context.Background())
	})
	return s
}

// telemetry returns a Telemetry recording to s, closed at the end of the test.
func (s *sdk) telemetry(t testing.TB, opts ...otelrekey.Option) *otelrekey.Telemetry {
	t.Helper()
	tel, err := otelrekey.New(append([]otelrekey.Option{otelrekey.WithMeterProvider(s.mp), otelrekey.WithTracerProvider(s.tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Close() })
	return tel
}

func (s *sdk) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// metric returns rekey's metric called name, or nil.
func metricNamed(rm metricdata.ResourceMetrics, name string) *metricdata.Metrics {
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelrekey.ScopeName {
			continue
		}
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

// encode renders an attribute set as "k=v,k=v", sorted by key, leaving out
// the keys in skip.
func encode(set attribute.Set, skip ...attribute.Key) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		if !containsKey(skip, kv.Key) {
			parts = append(parts, string(kv.Key)+"="+valueText(kv.Value))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func containsKey(keys []attribute.Key, k attribute.Key) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// points returns a counter's or histogram's values (for a histogram, its
// counts) by encoded attribute set; the unit is checked too.
func points(t testing.TB, rm metricdata.ResourceMetrics, name, unit string, skip ...attribute.Key) map[string]int64 {
	t.Helper()
	m := metricNamed(rm, name)
	if m == nil {
		return nil
	}
	if m.Unit != unit {
		t.Errorf("%s: unit %q, want %q", name, m.Unit, unit)
	}
	out := map[string]int64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
			t.Errorf("%s: not a cumulative counter", name)
		}
		for _, p := range d.DataPoints {
			out[encode(p.Attributes, skip...)] += p.Value
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[encode(p.Attributes, skip...)] += int64(p.Count)
		}
	default:
		t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return out
}

// gauge returns the single value of a gauge, and whether there is one.
func gauge(t testing.TB, rm metricdata.ResourceMetrics, name string) (float64, bool) {
	t.Helper()
	m := metricNamed(rm, name)
	if m == nil {
		return 0, false
	}
	if m.Unit != "s" {
		t.Errorf("%s: unit %q, want s", name, m.Unit)
	}
	g, ok := m.Data.(metricdata.Gauge[float64])
	if !ok {
		t.Fatalf("%s: data %T, want a float64 gauge", name, m.Data)
	}
	if len(g.DataPoints) != 1 {
		t.Fatalf("%s: %d points, want 1", name, len(g.DataPoints))
	}
	return g.DataPoints[0].Value, true
}

func equalCounts(t testing.TB, name string, got, want map[string]int64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) { // fmt sorts map keys
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

// within fails unless a gauge was reported (ok) with a value in [lo, hi].
func within(t testing.TB, name string, v float64, ok bool, lo, hi float64) {
	t.Helper()
	if !ok || v < lo || v > hi {
		t.Errorf("%s = %v (reported: %v), want within [%v, %v]", name, v, ok, lo, hi)
	}
}

// valueText formats an attribute value. (Value.Emit is deprecated from otel
// v1.45, which the workspace may resolve; Value.String does not exist in
// v1.41, which this module requires.)
func valueText(v attribute.Value) string { return fmt.Sprint(v.AsInterface()) }
