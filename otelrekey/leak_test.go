package otelrekey_test

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rekeyhq/rekey/credentials"
)

// No metric, span or span event of a scripted run (otelrekey's and
// otelhttp's alike) carries a key or any 4 or more characters of one, other
// than what its redacted form shows.
//
// Keys are random, so a 4-character piece of one can turn up in ordinary
// text by chance ("valid", say, in an error message). A piece that also
// turns up in a second run, whose server never issued that key, is such a
// coincidence; any other piece is a leak. Pieces of 8 characters or more
// have no excuse.
func TestNoKeyInAnyAttribute(t *testing.T) {
	a, b := scriptedRun(t, rotations), scriptedRun(t, rotations)
	textA, textB := telemetryText(t, a), telemetryText(t, b)
	if len(a.keys) != rotations+1 || len(b.keys) != rotations+1 {
		t.Fatalf("runs minted %d and %d keys, want %d", len(a.keys), len(b.keys), rotations+1)
	}
	assertNoKeyPiece(t, textA, a.keys, textB)
	assertNoKeyPiece(t, textB, b.keys, textA)
	for _, want := range []string{"rekey.key.refresh", "same_key", "127.0.0.1", "rekey.api.request_id=req_"} {
		if !strings.Contains(textA, want) {
			t.Errorf("the collected text lacks %q: the collection missed something", want)
		}
	}
}

// assertNoKeyPiece fails if keyPieces finds anything.
func assertNoKeyPiece(t *testing.T, text string, keys []string, other string) {
	t.Helper()
	for _, leak := range keyPieces(text, keys, other) {
		t.Error(leak)
	}
}

// keyPieces describes each key in text, and each piece of 4 or more
// characters of one that its redacted form does not show and that other
// (text from a run that never saw the key) does not explain; pieces of 8
// characters need no explaining. The descriptions show redacted keys only.
func keyPieces(text string, keys []string, other string) []string {
	var leaks []string
	for _, key := range keys {
		redacted := credentials.Redact(key)
		if strings.Contains(text, key) {
			leaks = append(leaks, "a whole key ("+redacted+") is in the telemetry")
			continue
		}
		for _, n := range []int{4, 8} {
			for i := 0; i+n <= len(key); i++ {
				piece := key[i : i+n]
				if strings.Contains(redacted, piece) || !strings.Contains(text, piece) {
					continue
				}
				if n < 8 && strings.Contains(other, piece) {
					continue // ordinary text, present without this key too
				}
				if n < 8 && isHex(piece) {
					continue // trace and span IDs are hex: 4 hex characters turn up by chance
				}
				leaks = append(leaks, fmt.Sprintf("%d characters of key %s, from offset %d, are in the telemetry", n, redacted, i))
			}
		}
	}
	return leaks
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// The check above finds what it should, and only that.
func TestKeyPieces(t *testing.T) {
	const key = "rk_test_Zq8Lm3Xv7Pw2Rt5Ny9Kb4Hc6Jd1Fg0"
	const hexy = "rk_test_Zq8Lm3Xv7Pw2Rt5Ny9Kb4Hc6Jd1Fg0f1c6d1e8b2a"
	for _, tc := range []struct {
		name, text, other string
		leaks             int
		key               string // "" for key
	}{
		{"clean", "rekey.refresh.reason=rejected server.address=127.0.0.1", "", 0, ""},
		{"redacted form", "key rk_test_…1Fg0 rejected", "", 0, ""},
		{"whole key", "Authorization: Bearer " + key, "", 1, ""},
		{"four characters", "request_id=req_Lm3X", "", 1, ""},
		{"four characters also in a run without the key", "code Lm3X", "code Lm3X", 0, ""},
		{"eight characters even if explained", "id Zq8Lm3Xv", "id Zq8Lm3Xv", 1, ""},
		{"key prefix", "rekeytest: rk_test_ keys", "", 0, ""},
		{"four hex characters, as in a trace ID", "trace_id=00f1c6d1aa", "", 0, hexy},
		{"eight hex characters", "trace_id=4f00f1c6d1e8b2a1", "", 1, hexy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := key
			if tc.key != "" {
				k = tc.key
			}
			got := keyPieces(tc.text, []string{k}, tc.other)
			if (len(got) > 0) != (tc.leaks > 0) {
				t.Errorf("found %q, want %d leaks", got, tc.leaks)
			}
			for _, s := range got {
				if strings.Contains(s, key[8:20]) {
					t.Errorf("the finding prints the key: %s", s)
				}
			}
		})
	}
}

// telemetryText renders every name, attribute and description of a run's
// metrics and spans, one per line.
func telemetryText(t *testing.T, r *run) string {
	t.Helper()
	var b strings.Builder
	set := func(what string, s attribute.Set) {
		for _, kv := range s.ToSlice() {
			b.WriteString(what + " " + string(kv.Key) + "=" + valueText(kv.Value) + "\n")
		}
	}
	kvs := func(what string, kv []attribute.KeyValue) { set(what, attribute.NewSet(kv...)) }

	rm := r.sdk.collect(t)
	set("resource", *rm.Resource.Set())
	for _, sm := range rm.ScopeMetrics {
		b.WriteString("scope " + sm.Scope.Name + " " + sm.Scope.Version + "\n")
		set("scope", sm.Scope.Attributes)
		for _, m := range sm.Metrics {
			b.WriteString("metric " + m.Name + " " + m.Unit + " " + m.Description + "\n")
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
					for _, e := range p.Exemplars {
						kvs(m.Name+" exemplar", e.FilteredAttributes)
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
					for _, e := range p.Exemplars {
						kvs(m.Name+" exemplar", e.FilteredAttributes)
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					set(m.Name, p.Attributes)
				}
			default:
				t.Fatalf("metric %s: data of type %T not collected", m.Name, m.Data)
			}
		}
	}

	spans := r.sdk.spans.Ended()
	if len(spans) != len(r.requests)+len(r.refreshes) {
		t.Fatalf("%d spans, want %d", len(spans), len(r.requests)+len(r.refreshes))
	}
	for _, s := range spans {
		spanText(&b, s, kvs)
	}
	return b.String()
}

func spanText(b *strings.Builder, s sdktrace.ReadOnlySpan, kvs func(string, []attribute.KeyValue)) {
	b.WriteString("span " + s.Name() + " " + s.Status().Description + "\n")
	kvs("span", s.Attributes())
	kvs("span resource", s.Resource().Attributes())
	for _, ev := range s.Events() {
		b.WriteString("event " + ev.Name + "\n")
		kvs("event "+ev.Name, ev.Attributes)
	}
	for _, l := range s.Links() {
		kvs("link", l.Attributes)
	}
}
