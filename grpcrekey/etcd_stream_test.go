package grpcrekey_test

import (
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/rekeyhq/rekey/grpcrekey"
	"github.com/rekeyhq/rekey/transport"
)

// TestEtcdSnapshotStream: a server-streaming call to a real etcd
// (Maintenance.Snapshot, which etcd allows root only) whose token etcd has
// dropped for lack of use is rejected before its first message, logged in
// again once and opened again; the whole snapshot arrives.
func TestEtcdSnapshotStream(t *testing.T) {
	srv := startEtcd(t, etcdTTL)
	sec := &secretList{}
	op, _ := setupEtcdAuth(t, srv, sec)
	file := filepath.Join(t.TempDir(), "root-password")
	if err := writeFileAtomic(file, op.password); err != nil {
		t.Fatal(err)
	}
	lg := &login{auth: pb.NewAuthClient(plainConn(t, srv.addr)), user: "root", file: file, secrets: sec}
	rec := &recorder{}
	rk, err := grpcrekey.New(lg, grpcrekey.WithMetadataKey(tokenField), grpcrekey.WithRejection(etcdMatcher), grpcrekey.WithHooks(rec.hooks()))
	if err != nil {
		t.Fatal(err)
	}
	defer rk.Close()
	maint := pb.NewMaintenanceClient(dialConn(t, srv.addr, insecureCreds(), rk.DialOptions()))

	snapshot := func() (int, error) {
		stream, err := maint.Snapshot(callCtx(t), &pb.SnapshotRequest{})
		if err != nil {
			return 0, err
		}
		n := 0
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
			n += len(resp.GetBlob())
		}
	}
	first, err := snapshot()
	if err != nil || first == 0 {
		t.Fatalf("first snapshot: %d bytes, %v", first, err)
	}
	time.Sleep(idleGap) // etcd drops the unused token
	second, err := snapshot()
	if err != nil || second == 0 {
		t.Fatalf("snapshot after the token expired: %d bytes, %v", second, err)
	}
	if n := lg.logins(); n != 2 {
		t.Errorf("%d logins; want 2 (the first, and one after the expiry)", n)
	}
	want := []transport.EventKind{transport.EventKeyRejected, transport.EventReplayed}
	if k := rec.kinds(); !slices.Equal(k, want) {
		t.Errorf("events %v; want %v", k, want)
	}
	t.Logf("snapshots of %d and %d bytes; rejection %+v", first, second, rec.first())
}
