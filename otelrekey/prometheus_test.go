package otelrekey_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
)

// The names the README's alert and dashboards use are those the
// OpenTelemetry Prometheus exporter writes for the scripted run, with the
// same counts.
func TestPrometheusNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	scriptedRunOn(t, rotations, newSDK(t, exp))

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	scrape := string(body)

	for _, tc := range []struct {
		series string   // metric name
		labels []string // label="value" pairs the sample must have
		value  string   // "" for any
	}{
		// The README's alert: rekey_key_refreshes_total{rekey_refresh_outcome="failure"}.
		{"rekey_key_refreshes_total", []string{`rekey_refresh_outcome="failure"`, `rekey_refresh_reason="rejected"`, `error_type="same_key"`}, "1"},
		{"rekey_key_refreshes_total", []string{`rekey_refresh_outcome="success"`, `rekey_refresh_reason="rejected"`}, "3"},
		{"rekey_key_refreshes_total", []string{`rekey_refresh_outcome="success"`, `rekey_refresh_reason="initial"`}, "1"},
		{"rekey_key_rejections_total", []string{`http_response_status_code="401"`, `server_address="127.0.0.1"`}, "4"},
		{"rekey_key_refresh_duration_seconds_count", []string{`rekey_refresh_outcome="success"`, `rekey_refresh_reason="rejected"`}, "3"},
		{"rekey_key_refresh_duration_seconds_bucket", []string{`rekey_refresh_outcome="failure"`, `le="+Inf"`}, "1"},
		{"rekey_request_replays_total", []string{`rekey_replay_outcome="replayed"`}, "3"},
		{"rekey_request_retries_total", []string{`http_response_status_code="503"`}, "1"},
		{"rekey_key_age_seconds", nil, ""},
		{"rekey_key_time_to_expiry_seconds", nil, ""},
	} {
		if !hasSample(scrape, tc.series, tc.labels, tc.value) {
			t.Errorf("no sample %s{%s} %s in the scrape", tc.series, strings.Join(tc.labels, ","), tc.value)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", rekeyLines(scrape))
	}
}

// hasSample reports whether the exposition text has a sample of series with
// all the labels and, unless value is "", that value.
func hasSample(scrape, series string, labels []string, value string) bool {
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(series) + `(\{.*\})? (\S+)$`)
	for _, l := range strings.Split(scrape, "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ok := value == "" || m[2] == value
		for _, lb := range labels {
			ok = ok && strings.Contains(m[1], lb)
		}
		if ok {
			return true
		}
	}
	return false
}

func rekeyLines(scrape string) string {
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if strings.Contains(l, "rekey_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
