package vault_test

import (
	"context"

	"github.com/rekeyhq/rekey/credentials"
	"testing"
)

// BenchmarkPollUnchanged is the client-side cost of one poll that finds no
// new version: one metadata read over loopback HTTP.
func BenchmarkPollUnchanged(b *testing.B) {
	f := newFakeVault(b)
	f.put(mountPath, keyData(key1))
	p := newProvider(b, f)
	cur, err := p.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, changed, err := p.Poll(context.Background(), cur); err != nil || changed {
			b.Fatal(changed, err)
		}
	}
	b.ReportMetric(float64(f.metaReads.Load())/float64(b.N), "vault-reads/op")
}

// BenchmarkRefresh is the client-side cost of one refresh: one read of the
// latest version.
func BenchmarkRefresh(b *testing.B) {
	f := newFakeVault(b)
	f.put(mountPath, keyData(key1))
	f.put(mountPath, keyData(key2))
	p := newProvider(b, f)
	old := credentials.Credential{Key: key1}
	before := f.dataReads.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Refresh(context.Background(), old); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.dataReads.Load()-before)/float64(b.N), "vault-reads/op")
}
