package azkv_test

import (
	"context"
	"testing"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/credentials/azkv"
)

// BenchmarkPollUnchanged is the client-side cost of one poll that finds
// the same version, in each mode: by listing, one page of versions and no
// value; by GET, one GET of the value. Both over loopback TLS through the
// SDK's pipeline, with the requests counted at the vault.
func BenchmarkPollUnchanged(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []azkv.Option
	}{{name: "by-listing"}, {name: "by-GET", opts: []azkv.Option{azkv.WithPollByGet()}}} {
		b.Run(mode.name, func(b *testing.B) {
			f := newFakeKV(b)
			f.Set("s", newKey())
			p := newProvider(b, f, "s", mode.opts...)
			cur, err := p.Retrieve(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			reads, pages := f.Reads("s"), f.Pages("s")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, changed, err := p.Poll(context.Background(), cur); err != nil || changed {
					b.Fatal(changed, err)
				}
			}
			b.ReportMetric(float64(f.Reads("s")-reads)/float64(b.N), "vault-reads/op")
			b.ReportMetric(float64(f.Pages("s")-pages)/float64(b.N), "vault-pages/op")
		})
	}
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
