package gcpsm_test

import (
	"context"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
)

// BenchmarkPollUnchanged is the client-side cost of one poll that finds no
// new version: one GetSecretVersion over loopback gRPC.
func BenchmarkPollUnchanged(b *testing.B) {
	f := newFakeSM(b)
	f.put(secretID, newKey())
	p, _ := newProvider(b, f)
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	f.resetCounts()
	b.ReportAllocs()
	for b.Loop() {
		if _, changed, err := p.Poll(context.Background(), cur); err != nil || changed {
			b.Fatal(changed, err)
		}
	}
	b.ReportMetric(float64(f.count("GetSecretVersion"))/float64(b.N), "GetSecretVersion/op")
	b.ReportMetric(float64(f.count("AccessSecretVersion"))/float64(b.N), "AccessSecretVersion/op")
}

// BenchmarkRefresh is the client-side cost of one refresh after a
// rejection: one AccessSecretVersion of the latest version.
func BenchmarkRefresh(b *testing.B) {
	f := newFakeSM(b)
	f.put(secretID, newKey())
	f.put(secretID, newKey())
	p, _ := newProvider(b, f)
	old := credentials.Credential{Key: newKey()}
	f.resetCounts()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Refresh(context.Background(), old); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.count("AccessSecretVersion"))/float64(b.N), "AccessSecretVersion/op")
}
