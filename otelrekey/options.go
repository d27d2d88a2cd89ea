package otelrekey

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures a [Telemetry] built by [New].
type Option func(*config)

type config struct {
	meters  metric.MeterProvider
	tracers trace.TracerProvider
	attrs   []attribute.KeyValue
	errs    []string
}

// WithMeterProvider sets where the metrics go. The default is the global
// MeterProvider (otel.GetMeterProvider) at the time of [New].
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp == nil {
			c.errs = append(c.errs, "WithMeterProvider(nil): pass a metric.MeterProvider, or omit the option for the global one")
		}
		c.meters = mp
	}
}

// WithTracerProvider sets where the spans go. The default is the global
// TracerProvider (otel.GetTracerProvider) at the time of [New].
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp == nil {
			c.errs = append(c.errs, "WithTracerProvider(nil): pass a trace.TracerProvider, or omit the option for the global one")
		}
		c.tracers = tp
	}
}

// WithAttributes adds attributes to every measurement and every refresh
// span, for example attribute.String("rekey.client", "billing") to tell
// two clients apart. They must not contain a key.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) {
		for _, a := range attrs {
			if !a.Valid() {
				c.errs = append(c.errs, "WithAttributes: attribute with an empty key or no value")
				continue
			}
			c.attrs = append(c.attrs, a)
		}
	}
}
