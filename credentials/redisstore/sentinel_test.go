package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rekeyhq/rekey/rekeytest"
)

// The fleet of TestFleetOnRedisCluster, through a primary and its replica
// watched by three Sentinels (redis.NewFailoverClient): keys rotate, the
// primary is killed mid-run and the Sentinels promote the replica, keys
// rotate again. Exactly one key per rotation, no failed request, and the
// key stored before the kill is the one the new primary serves.
func TestFleetOnRedisSentinel(t *testing.T) {
	s := startSentinels(t)
	newClient := func() *redis.Client {
		rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinelMaster, SentinelAddrs: s.addrs(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	rdb := newClient()
	prefix := "rekeytest:sentinel:" + newToken()[:8]
	credKey := prefix + ":cred"

	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	t.Cleanup(srv.Close)
	ws := fleet(t, 4, srv, prefix, envLease+"=5s", envSentinel+"="+sentinelMaster+"@"+strings.Join(s.addrs(), ","))
	rotate, rotations := rotator(t, srv, ws)
	for range 2 {
		rotate("before the failover")
	}

	ctx := context.Background()
	before, err := rdb.HGetAll(ctx, credKey).Result()
	if err != nil || before["key"] == "" {
		t.Fatalf("reading %s before the failover: %v", credKey, err)
	}
	waitReplicated(t, s.primary.addr)
	acceptedBefore := srv.Stats().Accepted
	killed := time.Now()
	s.primary.kill()
	waitFor(t, 60*time.Second, "the Sentinels to promote the replica", func() string {
		if m := s.masterAddr(); m != s.replica.addr {
			return "the Sentinels name " + m + " as the primary"
		}
		return infoMissing(s.replica.addr, "replication", "role:master")
	})
	window := time.Since(killed)
	after, err := newClient().HGetAll(ctx, credKey).Result()
	if err != nil || after["key"] != before["key"] || after["gen"] != before["gen"] {
		t.Fatalf("after the failover, %s holds generation %q (err %v); before it, generation %q: the key was lost", credKey, after["gen"], err, before["gen"])
	}
	settle(t, ws, 60*time.Second)
	servedDuring := srv.Stats().Accepted - acceptedBefore

	for range 2 {
		rotate("after the failover")
	}
	var ok int64
	for _, w := range ws {
		r := w.finish(t)
		if r.Failed != 0 {
			t.Errorf("worker %d: %d failed requests (of %d), e.g. %q", r.PID, r.Failed, r.OK+r.Failed, r.Errors)
		}
		ok += r.OK
	}
	st := srv.Stats()
	t.Logf("killed primary %s; Sentinels promoted %s %v later (down-after %v); %d requests served meanwhile; %d rotations, %d keys minted; %d requests succeeded, none failed",
		s.primary.addr, s.replica.addr, window.Round(time.Millisecond), sentinelDownAfter, servedDuring, *rotations, st.KeysIssued, ok)
	if st.KeysIssued != int64(1+*rotations) {
		t.Errorf("%d keys minted, want %d", st.KeysIssued, 1+*rotations)
	}
}
