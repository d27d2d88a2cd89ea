package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey"
	"github.com/rekeyhq/rekey/rekeytest"
)

func TestSummarizeCountsLosses(t *testing.T) {
	body := func(s string) []byte { return []byte(`{"b":"` + s + `"}`) }
	ok := workerResult{
		gets: 1, posts: 2,
		sent:      [][]byte{body("a"), body("b")},
		acked:     [][]byte{body("a"), body("b")},
		latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
		failures:  map[string]int{},
	}
	tests := []struct {
		name     string
		results  []workerResult
		received [][]byte
		lost     int
		why      string
	}{
		{name: "all received once", results: []workerResult{ok}, received: [][]byte{body("b"), body("a")}},
		{name: "acknowledged but not received", results: []workerResult{ok}, received: [][]byte{body("a")},
			lost: 1, why: `acknowledged POST {"b":"b"} reached the service 0 times`},
		{name: "received twice", results: []workerResult{ok}, received: [][]byte{body("a"), body("b"), body("b")},
			lost: 1, why: "reached the service 2 times"},
		{name: "altered on the way", results: []workerResult{ok}, received: [][]byte{body("a"), body("b"), body("c")},
			lost: 1, why: "a body no worker sent"},
		{name: "unclassified failure", results: []workerResult{ok, {failures: map[string]int{"": 2, "server error": 1}}}, received: [][]byte{body("a"), body("b")},
			lost: 1, why: "2 requests failed with an unclassified error"},
		{name: "classified failures are not losses", results: []workerResult{ok, {failures: map[string]int{"invalid key": 3}}}, received: [][]byte{body("a"), body("b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := summarize(tt.results, tt.received, rekeytest.Stats{}, new(demoStats), time.Second)
			var out bytes.Buffer
			sum.print(&out)
			if sum.lost != tt.lost {
				t.Errorf("lost = %d, want %d\n%s", sum.lost, tt.lost, out.String())
			}
			if tt.lost > 0 && (!strings.Contains(out.String(), tt.why) || !strings.Contains(out.String(), "FAIL:")) {
				t.Errorf("summary does not say %q and FAIL:\n%s", tt.why, out.String())
			}
			if tt.lost == 0 && !strings.Contains(out.String(), "OK: no request lost") {
				t.Errorf("summary does not say OK:\n%s", out.String())
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&rekey.APIError{StatusCode: 401, InvalidKey: true, Replayed: true}, "invalid key"},
		{&rekey.APIError{StatusCode: 401, InvalidKey: true, RefreshFailed: true, Err: errors.New("mint: boom")}, "refresh failed"},
		{&rekey.RetryError{Attempts: 6, Err: &rekey.APIError{StatusCode: 503}}, "server error"},
		{&rekey.RetryError{Attempts: 6, Err: &rekey.APIError{StatusCode: 429}}, "rate limited"},
		{&rekey.RetryError{Attempts: 6, Err: io.EOF}, "connection"},
		{&rekey.ConnectionError{Method: "POST", URL: "http://127.0.0.1/v1/orders", NotRetried: "a POST without an Idempotency-Key", Err: io.EOF}, "connection"},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1/v1/orders", Err: &rekey.ConnectionError{StatusCode: 200, Err: io.ErrUnexpectedEOF}}, "connection"},
		{fmt.Errorf("rekey: decoding: %w", io.ErrUnexpectedEOF), ""},
		{errors.New("something else"), ""},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestFaultsForAddsUpToTheRate(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.5, 1} {
		f := faultsFor(rate)
		got := f.DropRate + (1-f.DropRate)*f.UnavailableRate
		if math.Abs(got-rate) > 1e-12 || f.UnavailableRate > 1 {
			t.Errorf("faultsFor(%v) = %+v: total fault rate %v", rate, f, got)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}}
	for _, tt := range tests {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("percentile(1..100ms, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("percentile of one = %v, want 7", got)
	}
}
