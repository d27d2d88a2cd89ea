package rekey

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// sharedPoolMaxIdlePerHost is how many idle connections the shared pool
// keeps per host. net/http's default of 2 suits one client per host; many
// tenant Clients calling the same API would otherwise close and reopen
// connections under any concurrency.
const sharedPoolMaxIdlePerHost = 64

// sharedPool is the connection pool of every Client that is not given a
// transport ([WithTransport], [WithHTTPClient]): one per process, as
// http.DefaultTransport is for plain net/http users, so that the number of
// connections follows the hosts called and the load, not the number of
// Clients (one per tenant's key, say). Keys never mix: each request carries
// its own Client's key, injected per request above the pool.
//
// It is a clone of http.DefaultTransport (proxy from the environment,
// HTTP/2, the same timeouts) with more idle connections per host, made on
// first use. No Client closes it: [Client.Close] releases only what belongs
// to that Client.
var sharedPool = sync.OnceValue(func() *http.Transport {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else { // replaced by the program: start from net/http's documented defaults
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	t.MaxIdleConnsPerHost = sharedPoolMaxIdlePerHost
	t.MaxIdleConns = max(t.MaxIdleConns, sharedPoolMaxIdlePerHost)
	return t
})

// CloseIdleConnections closes the idle connections of the connection pool
// that Clients share (every Client built without [WithTransport] or
// [WithHTTPClient]), as http.DefaultTransport's CloseIdleConnections does
// for plain net/http users. Connections in use are left alone and closed
// when they become idle no more often than usual: call it when a program
// (or a test, before checking for leaked goroutines with a tool such as
// go.uber.org/goleak) wants no keep-alive connection, and so no connection
// goroutine, left behind. Clients go on working afterwards: they open new
// connections as needed. Safe for concurrent use.
func CloseIdleConnections() { sharedPool().CloseIdleConnections() }
