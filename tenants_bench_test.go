package rekey_test

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkIdleClients measures what idle tenant Clients cost: n Clients
// against one host, each of which has sent one request (so that it holds
// its key and has built its stack), then sits idle. Metrics, per run:
//
//	B/client     heap retained per Client (after GC), key cache included
//	goroutines   goroutines added in all, not per Client
//	conns        connections the API accepted in all
//
// The goal is at most 2 KiB per idle Client, with goroutines and connections
// that do not grow with n. Run with -benchtime=1x: one run makes n Clients.
func BenchmarkIdleClients(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			for range b.N {
				perClient, goroutines, conns := measureIdleClients(b, n)
				b.ReportMetric(perClient, "B/client")
				b.ReportMetric(float64(goroutines), "goroutines")
				b.ReportMetric(float64(conns), "conns")
			}
		})
	}
}

func measureIdleClients(b *testing.B, n int) (perClient float64, goroutines int, conns int64) {
	b.StopTimer()
	api := newTenantAPI(b, n)
	api.noRecord = true
	api.premint()                          // the API's own state is made before the count starts
	warm, _ := tenantClients(b, api, 0, 1) // the shared pool and its connection exist before the count starts
	sendAll(b, warm, 0, 1, "warm")
	baseG := settledGoroutines()
	before := heapInUse()
	b.StartTimer()

	clients, _ := tenantClients(b, api, 0, n)
	sendAll(b, clients, 0, 8, "idle")

	b.StopTimer()
	after := heapInUse()
	goroutines = settledGoroutines() - baseG
	runtime.KeepAlive(clients)
	return float64(after-before) / float64(n), goroutines, api.connsOpened.Load()
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers released
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
