package etcdtest

import (
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/etcdproc"
)

// etcdServer is an etcd of the test's own, stopped when the test ends.
type etcdServer struct {
	endpoint string // http://127.0.0.1:port, the client URL
	ttl      time.Duration
	log      string // path of etcd's own log
}

// startEtcd starts a single-member etcd on free loopback ports with simple
// tokens that expire after ttl unused (see etcdproc.Start): without an etcd
// binary the test skips, or fails in CI or when REKEY_ETCD_BIN is set.
// Authentication is not enabled yet: see setupAuth.
func startEtcd(t testing.TB, ttl time.Duration) *etcdServer {
	t.Helper()
	s := etcdproc.Start(t, ttl)
	return &etcdServer{endpoint: s.Endpoint, ttl: s.TTL, log: s.Log}
}
