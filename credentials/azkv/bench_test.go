package azkv_test

import (
	"context"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
)

// BenchmarkPollUnchanged is the client-side cost of one poll that finds the
// same version: one GET through the SDK's pipeline over loopback TLS.
func BenchmarkPollUnchanged(b *testing.B) {
	f := newFakeKV(b)
	f.Set("s", newKey())
	p := newProvider(b, f, "s")
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	before := f.Reads("s")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, changed, err := p.Poll(context.Background(), cur); err != nil || changed {
			b.Fatal(changed, err)
		}
	}
	b.ReportMetric(float64(f.Reads("s")-before)/float64(b.N), "vault-reads/op")
}

// BenchmarkRefresh is the client-side cost of one refresh that finds a new
// version: one GET.
func BenchmarkRefresh(b *testing.B) {
	f := newFakeKV(b)
	old := newKey()
	f.Set("s", old)
	f.Set("s", newKey())
	p := newProvider(b, f, "s")
	rejected := credentials.Credential{Key: old}
	before := f.Reads("s")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Refresh(context.Background(), rejected); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Reads("s")-before)/float64(b.N), "vault-reads/op")
}
