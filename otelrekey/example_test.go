package otelrekey_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
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

// Wire a Client's hooks to OpenTelemetry and wrap its HTTP client in
// otelhttp: a key rotation then shows as a refresh in the metrics, and as
// a refresh span and two events inside the request's span.
func Example() {
	// In an application, skip the options and set the global providers to
	// your exporters instead (otel.SetMeterProvider, otel.SetTracerProvider).
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	tel, err := otelrekey.New(otelrekey.WithMeterProvider(mp), otelrekey.WithTracerProvider(tp))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()

	api := rekeytest.NewServer() // a fake API that rotates keys on demand
	defer api.Close()
	client, err := rekey.NewClient(api.URL, rekey.WithRefresh(api.Refresh), rekey.WithHooks(tel.Hooks()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	hc := client.HTTPClient()
	hc.Transport = otelhttp.NewTransport(hc.Transport, otelhttp.WithTracerProvider(tp)) // outside rekey's layers

	get := func() {
		resp, err := hc.Get(api.URL + "/v1/echo")
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()           // the first key
	api.RotateAll() // the key is revoked
	get()           // rejected, refreshed, replayed: the caller sees a 200

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	for _, s := range spans.Ended() {
		var events []string
		for _, ev := range s.Events() {
			events = append(events, ev.Name)
		}
		fmt.Printf("span %s %v\n", s.Name(), events)
	}
	// Output:
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=rejected} 1
	// rekey.key.rejections{http.response.status_code=401,rekey.key.cause=unknown} 1
	// rekey.request.replays{rekey.replay.outcome=replayed} 1
	// span rekey.key.refresh []
	// span HTTP GET []
	// span rekey.key.refresh []
	// span HTTP GET [rekey.key.rejected rekey.request.replayed]
}

// counters renders otelrekey's counters, one sorted line per attribute set,
// without server.address and server.port.
func counters(rm metricdata.ResourceMetrics) string {
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || sm.Scope.Name != otelrekey.ScopeName {
				continue
			}
			for _, p := range sum.DataPoints {
				lines = append(lines, fmt.Sprintf("%s{%s} %d\n", m.Name, encode(p.Attributes, "server.address", "server.port"), p.Value))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// Without rekey.Client: give the Telemetry's methods to a bare Transport,
// its Cache and the retry layer.
func ExampleTelemetry_OnEvent() {
	reader := sdkmetric.NewManualReader()
	tel, err := otelrekey.New(otelrekey.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()

	api := rekeytest.NewServer()
	defer api.Close()
	cache := &credentials.Cache{Refresh: api.Refresh, OnRefresh: tel.OnRefresh}
	defer cache.Close()
	hc := &http.Client{Transport: &transport.Retry{
		Base:    &transport.Transport{Credentials: cache, OnEvent: tel.OnEvent},
		OnRetry: tel.OnRetry,
	}}

	resp, err := hc.Get(api.URL + "/v1/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	api.RotateAll()
	if resp, err = hc.Get(api.URL + "/v1/echo"); err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	fmt.Print(counters(rm))
	// Output:
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=initial} 1
	// rekey.key.refreshes{rekey.refresh.outcome=success,rekey.refresh.reason=rejected} 1
	// rekey.key.rejections{http.response.status_code=401,rekey.key.cause=unknown} 1
	// rekey.request.replays{rekey.replay.outcome=replayed} 1
}

// Keep your own hooks beside the Telemetry's.
func ExampleJoinHooks() {
	tel, err := otelrekey.New() // the global providers
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Close()
	mine := rekey.Hooks{
		RefreshFailed: func(ev credentials.RefreshEvent) { fmt.Println("page someone:", ev.Err) },
	}
	client, err := rekey.NewClient("https://api.example.com",
		rekey.WithCredentials(credentials.Env("EXAMPLE_API_KEY")),
		rekey.WithHooks(otelrekey.JoinHooks(tel.Hooks(), mine)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println(client)
	// Output:
	// rekey.Client{BaseURL: https://api.example.com/}
}
