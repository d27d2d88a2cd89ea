package grpcrekey_test

import (
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/etcdproc"
)

// etcdServer is a real etcd of the test's own, found and started as for the
// HTTP client's etcd tests (internal/etcdproc): without an etcd binary the
// test skips, unless CI is set to a true value or REKEY_ETCD_BIN is set,
// and then it fails.
type etcdServer struct {
	addr string // 127.0.0.1:port, a gRPC target
}

func startEtcd(t testing.TB, ttl time.Duration) *etcdServer {
	t.Helper()
	return &etcdServer{addr: etcdproc.Start(t, ttl).Addr}
}
