package redisstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelMaster is the name the Sentinels monitor the primary under.
const sentinelMaster = "rekeytest"

// sentinelDownAfter is Sentinel's down-after-milliseconds: how long the
// primary may be unreachable before it is deemed down (the default is 30 s;
// short here, but not so short that a slowed primary is taken for dead).
const sentinelDownAfter = 1500 * time.Millisecond

// sentinelSetup is a primary, its replica and three Sentinels (quorum 2).
type sentinelSetup struct {
	primary, replica *redisNode
	sentinels        []*redisNode
}

// startSentinels starts a primary, a replica of it and three Sentinels
// (redis-server --sentinel) watching them, and waits until the Sentinels
// know each other and the replica is in sync.
func startSentinels(t *testing.T) *sentinelSetup {
	t.Helper()
	server, _ := redisBins(t)
	dir := t.TempDir()
	s := &sentinelSetup{}
	s.primary = startNode(t, server, dir, "--repl-diskless-sync-delay", "0")
	host, port, _ := strings.Cut(s.primary.addr, ":")
	s.replica = startNode(t, server, dir, "--replicaof", host, port)
	waitFor(t, 30*time.Second, "the replica to sync", func() string {
		return infoMissing(s.replica.addr, "replication", "master_link_status:up")
	})
	for range 3 {
		s.sentinels = append(s.sentinels, startSentinel(t, server, dir, s.primary.addr))
	}
	waitFor(t, 30*time.Second, "the Sentinels to find each other and the replica", func() string {
		for _, sn := range s.sentinels {
			rdb := redis.NewSentinelClient(&redis.Options{Addr: sn.addr, MaxRetries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := rdb.Master(ctx, sentinelMaster).Result()
			cancel()
			rdb.Close()
			switch {
			case err != nil:
				return sn.addr + ": " + err.Error()
			case m["num-other-sentinels"] != "2":
				return sn.addr + " knows " + m["num-other-sentinels"] + " other Sentinels"
			case m["num-slaves"] != "1":
				return sn.addr + " knows " + m["num-slaves"] + " replicas"
			}
		}
		return ""
	})
	return s
}

// startSentinel starts one Sentinel watching the primary at primary.
func startSentinel(t *testing.T, bin, dir, primary string) *redisNode {
	t.Helper()
	host, port, _ := strings.Cut(primary, ":")
	var lastErr error
	for range 3 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		nodeDir := filepath.Join(dir, "sentinel-"+strconv.Itoa(p))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(nodeDir, "sentinel.conf") // Sentinel rewrites it: it must be writable
		text := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\n"+
			"sentinel monitor %s %s %s 2\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 10000\n",
			p, nodeDir, sentinelMaster, host, port, sentinelMaster, sentinelDownAfter.Milliseconds(), sentinelMaster)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		n, err := tryNode(bin, nodeDir, p, []string{conf, "--sentinel"})
		if err == nil {
			t.Cleanup(n.kill)
			return n
		}
		lastErr = err
	}
	msg := fmt.Sprintf("starting redis-server --sentinel: %v", lastErr)
	if os.Getenv(envRequireRedisHA) == "" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return nil
}

// masterAddr returns the primary's address as the Sentinels agree on it,
// or "" while they do not agree.
func (s *sentinelSetup) masterAddr() string {
	var agreed string
	for _, sn := range s.sentinels {
		rdb := redis.NewSentinelClient(&redis.Options{Addr: sn.addr, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		addr, err := rdb.GetMasterAddrByName(ctx, sentinelMaster).Result()
		cancel()
		rdb.Close()
		if err != nil || len(addr) != 2 {
			return ""
		}
		a := addr[0] + ":" + addr[1]
		if agreed != "" && a != agreed {
			return ""
		}
		agreed = a
	}
	return agreed
}

// addrs returns the Sentinels' addresses.
func (s *sentinelSetup) addrs() []string {
	var out []string
	for _, sn := range s.sentinels {
		out = append(out, sn.addr)
	}
	return out
}

// infoMissing returns "" when INFO section of the server at addr contains
// want, else what is missing.
func infoMissing(addr, section, want string) string {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, section).Result()
	switch {
	case err != nil:
		return addr + ": " + err.Error()
	case !strings.Contains(info, want):
		return addr + ": no " + want
	}
	return ""
}

// waitFor polls bad until it returns "", failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, bad func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msg := bad()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s after %v", what, msg, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
