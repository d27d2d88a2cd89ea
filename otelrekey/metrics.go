package otelrekey

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the metric instruments of a Telemetry.
type instruments struct {
	rejections      metric.Int64Counter
	refreshes       metric.Int64Counter
	refreshDuration metric.Float64Histogram
	replays         metric.Int64Counter
	retries         metric.Int64Counter
	failovers       metric.Int64Counter
	transitions     metric.Int64Counter
	age             metric.Float64ObservableGauge
	timeToExpiry    metric.Float64ObservableGauge
}

// Metric names, as documented on the package.
const (
	MetricRejections      = "rekey.key.rejections"
	MetricRefreshes       = "rekey.key.refreshes"
	MetricRefreshDuration = "rekey.key.refresh.duration"
	MetricReplays         = "rekey.request.replays"
	MetricRetries         = "rekey.request.retries"
	MetricFailovers       = "rekey.pool.failovers"
	MetricTransitions     = "rekey.pool.member.transitions"
	MetricKeyAge          = "rekey.key.age"
	MetricKeyTimeToExpiry = "rekey.key.time_to_expiry"
)

// refreshBuckets are the refresh duration histogram's bucket boundaries, in
// seconds: from a local file read to a refresh that retried its source up to
// credentials.DefaultRefreshTimeout.
var refreshBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

func newInstruments(m metric.Meter) (instruments, error) {
	var in instruments
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	in.rejections, err = m.Int64Counter(MetricRejections, metric.WithUnit("{rejection}"),
		metric.WithDescription("Invalid-key rejections answered by the API, including rejections of a replay."))
	check(err)
	in.refreshes, err = m.Int64Counter(MetricRefreshes, metric.WithUnit("{refresh}"),
		metric.WithDescription("Finished refreshes of the API key, by reason and outcome."))
	check(err)
	in.refreshDuration, err = m.Float64Histogram(MetricRefreshDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of API key refreshes, retries of the key source included."),
		metric.WithExplicitBucketBoundaries(refreshBuckets...))
	check(err)
	in.replays, err = m.Int64Counter(MetricReplays, metric.WithUnit("{replay}"),
		metric.WithDescription("Requests after their key was refreshed, by outcome: replayed, not_replayed, rejected_again (also counted as replayed)."))
	check(err)
	in.retries, err = m.Int64Counter(MetricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries of transient failures: connection errors, 429, 502, 503, 504."))
	check(err)
	in.failovers, err = m.Int64Counter(MetricFailovers, metric.WithUnit("{failover}"),
		metric.WithDescription("Requests replayed at once with another key of a pool, by the member used and the status that caused it."))
	check(err)
	in.transitions, err = m.Int64Counter(MetricTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Changes of a pool member's state: quarantined, restored, cooling_down."))
	check(err)
	in.age, err = m.Float64ObservableGauge(MetricKeyAge, metric.WithUnit("s"),
		metric.WithDescription("Time since the API key in use was obtained."))
	check(err)
	in.timeToExpiry, err = m.Float64ObservableGauge(MetricKeyTimeToExpiry, metric.WithUnit("s"),
		metric.WithDescription("Time left until the API key in use expires, when its expiry is known."))
	check(err)
	if err := errors.Join(errs...); err != nil {
		return instruments{}, errors.New("otelrekey: creating instruments: " + err.Error())
	}
	return in, nil
}
