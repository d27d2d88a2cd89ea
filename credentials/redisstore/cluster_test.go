package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/rekeytest"
)

// Four processes share one account on an API where minting a key revokes
// the previous one, through a Redis Cluster of 3 primaries and 3 replicas
// (redis.NewClusterClient). Keys rotate under load; then the primary that
// serves the shared key's slot is killed mid-run and its replica promoted;
// then keys rotate again. Every rotation must be answered by exactly one
// new key, no request may fail (no rotation falls inside the failover
// window: see the package README for what happens when one does), and the
// key stored before the kill must be the one the promoted replica serves.
func TestFleetOnRedisCluster(t *testing.T) {
	c := startCluster(t)
	rdb := c.client(t)
	prefix := "rekeytest:cluster:" + newToken()[:8]
	credKey, lockKey := prefix+":cred", prefix+":lock"
	credSlot, lockSlot := slot(t, rdb, credKey), slot(t, rdb, lockKey)
	t.Logf("hash slots: %s → %d, %s → %d (each command and script touches one key, so they need not share a slot)", credKey, credSlot, lockKey, lockSlot)

	srv := rekeytest.NewServer(rekeytest.WithRevokeOnIssue(true))
	t.Cleanup(srv.Close)
	ws := fleet(t, 4, srv, prefix, envLease+"=5s", envCluster+"="+strings.Join(c.addrs, ","))
	rotate, rotations := rotator(t, srv, ws)
	for range 3 {
		rotate("before the failover")
	}

	// Kill the primary of the shared key's slot, mid-run.
	ctx := context.Background()
	before, err := rdb.HGetAll(ctx, credKey).Result()
	if err != nil || before["key"] == "" {
		t.Fatalf("reading %s before the failover: %v, %d fields", credKey, err, len(before))
	}
	victim := c.primaryFor(t, credSlot, "")
	// The last rotation's key is on the replica before the primary dies:
	// Redis replicates asynchronously, and a write that has not reached
	// the replica when its primary dies is lost (see the README).
	waitReplicated(t, victim)
	acceptedBefore := srv.Stats().Accepted
	killed := time.Now()
	c.nodes[victim].kill()
	c.waitHealthy(t, victim)
	window := time.Since(killed)
	promoted := c.primaryFor(t, credSlot, victim)
	if promoted == victim {
		t.Fatalf("the slot of %s is still served by the killed primary %s", credKey, victim)
	}
	rdb = c.client(t) // with the slot map as it is now (this one's is stale until it reloads)
	after, err := rdb.HGetAll(ctx, credKey).Result()
	if err != nil || after["key"] != before["key"] || after["gen"] != before["gen"] {
		t.Fatalf("after the failover, %s holds generation %q (err %v); before it, generation %q: the key was lost", credKey, after["gen"], err, before["gen"])
	}
	settle(t, ws, 60*time.Second) // every process still works, on the same key
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
	gen, _ := rdb.HGet(ctx, credKey, "gen").Result()
	t.Logf("killed primary %s (slot %d); replica %s promoted %v later (cluster-node-timeout %v); %d requests served meanwhile; %d rotations, %d keys minted, stored generation %s; %d requests succeeded, none failed",
		victim, credSlot, promoted, window.Round(time.Millisecond), clusterNodeTimeout, servedDuring, *rotations, st.KeysIssued, gen, ok)
	if st.KeysIssued != int64(1+*rotations) {
		t.Errorf("%d keys minted, want %d: one for the start and one per rotation", st.KeysIssued, 1+*rotations)
	}
	if gen != "6" { // the first key, then one per rotation
		t.Errorf("stored generation %q, want 6", gen)
	}
}
