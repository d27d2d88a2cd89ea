package otelrekey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/otelrekey"
	"github.com/rekeyhq/rekey/rekeytest"
	"github.com/rekeyhq/rekey/transport"
)

// fetch sends GET /v1/echo through client, reporting an error if any.
func fetch(client *rekey.Client) {
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	if _, err := client.Do(req, nil); err != nil {
		fmt.Println(err)
	}
}

// New with no options reports to the global providers, set once at
// start-up to the application's exporters.
func ExampleNew() {
	reader := sdkmetric.NewManualReader() // in an application: a periodic reader and an exporter
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))

	tel, err := otelrekey.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()
	api := rekeytest.NewServer()
	defer api.Close()
	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh), rekey.WithHooks(tel.Hooks()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fetch(client)

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	// Output:
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
}

// WithMeterProvider sends the metrics to a provider of your own rather
// than the global one; here a failed refresh shows with its error.type.
func ExampleWithMeterProvider() {
	reader := sdkmetric.NewManualReader()
	tel, err := otelrekey.New(otelrekey.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()
	api := rekeytest.NewServer()
	defer api.Close()
	client, err := rekey.NewClient(api.URL,
		rekey.WithCredentials(credentials.Static("rk_test_revokedLongAgo000000000")),
		rekey.WithHooks(tel.Hooks()), // no refresh hook: the Static key comes back, the same
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	req, _ := client.NewRequest(context.Background(), "GET", "/v1/echo", nil)
	_, err = client.Do(req, nil)
	fmt.Println("invalid key:", errors.Is(err, rekey.ErrInvalidAPIKey))

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	// Output:
	// invalid key: true
	// rekey.key.refreshes{error.type=same_key,rekey.refresh.outcome=failure,rekey.refresh.reason=rejected} 1
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
	// rekey.key.rejections{http.response.status_code=401,rekey.key.cause=unknown} 1
}

// WithTracerProvider sends the refresh spans to a provider of your own:
// each refresh is a span, with its reason and the number of attempts.
func ExampleWithTracerProvider() {
	spans := tracetest.NewSpanRecorder()
	tel, err := otelrekey.New(otelrekey.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()
	api := rekeytest.NewServer()
	defer api.Close()
	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh), rekey.WithHooks(tel.Hooks()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fetch(client)
	api.RotateAll()
	fetch(client)

	for _, s := range spans.Ended() {
		fmt.Print(s.Name())
		for _, a := range s.Attributes() {
			fmt.Print(" ", a.Key, "=", a.Value.AsInterface())
		}
		fmt.Println()
	}
	// Output:
	// rekey.key.refresh rekey.refresh.reason=initial rekey.refresh.attempts=1
	// rekey.key.refresh rekey.refresh.reason=rejected rekey.refresh.attempts=1
}

// WithAttributes tells two clients' measurements apart; give each Client
// its own Telemetry.
func ExampleWithAttributes() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	api := rekeytest.NewServer()
	defer api.Close()

	for _, name := range []string{"billing", "search"} {
		tel, err := otelrekey.New(otelrekey.WithMeterProvider(mp),
			otelrekey.WithAttributes(attribute.String("rekey.client", name)))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer tel.Close()
		client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh), rekey.WithHooks(tel.Hooks()))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer client.Close()
		fetch(client)
	}

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	// Output:
	// rekey.key.refreshes{rekey.client=billing,rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
	// rekey.key.refreshes{rekey.client=search,rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
}

// Hooks is what a rekey.Client takes; OnRetry counts the transient
// failures that its retry layer retried.
func ExampleTelemetry_Hooks() {
	reader := sdkmetric.NewManualReader()
	tel, err := otelrekey.New(otelrekey.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()
	api := rekeytest.NewServer()
	defer api.Close()
	api.FailNext(2, http.StatusServiceUnavailable, 0)
	client, err := rekey.NewClient(api.URL,
		rekey.WithRefresh(api.Refresh),
		rekey.WithRetryPolicy(transport.RetryPolicy{MinWait: 1}),
		rekey.WithHooks(tel.Hooks()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fetch(client)

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	// Output:
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
	// rekey.request.retries{error.type=503,http.response.status_code=503} 2
}
