package redisstore

// A Redis Cluster (3 primaries, 3 replicas) and a Sentinel-watched primary
// with its replica, started on loopback from Debian's redis-server and
// redis-cli for the failover tests.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// envRequireRedisHA, when set (CI sets it), makes the Cluster and Sentinel
// tests fail instead of skipping when redis-server, redis-cli or Sentinel
// mode is missing or broken.
const envRequireRedisHA = "REKEY_REDIS_HA"

// clusterNodeTimeout is the Cluster's cluster-node-timeout: how long a
// primary may be unreachable before the others deem it failed and its
// replica takes over. Redis's default is 15 s; short here so that a
// failover takes a few seconds, but not so short that a node slowed by a
// loaded machine is taken for dead.
const clusterNodeTimeout = 1500 * time.Millisecond

// redisBins returns the paths of redis-server and redis-cli, or skips t
// (fails it when envRequireRedisHA is set).
func redisBins(t *testing.T) (server, cli string) {
	t.Helper()
	if testing.Short() {
		t.Skip("Redis Cluster and Sentinel tests skipped in -short mode")
	}
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if _, err := os.Stat("/usr/bin/" + name); err == nil {
			return "/usr/bin/" + name
		}
		return ""
	}
	server, cli = find("redis-server"), find("redis-cli")
	if server == "" || cli == "" {
		msg := "redis-server or redis-cli not found: install Debian's redis-server and redis-tools"
		if os.Getenv(envRequireRedisHA) != "" {
			t.Fatal(msg + " (" + envRequireRedisHA + " is set)")
		}
		t.Skip(msg)
	}
	return server, cli
}

// redisNode is one redis-server process of the test.
type redisNode struct {
	addr string
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when the process has exited
}

// startNode starts redis-server on a free loopback port with args added,
// logging to dir, and waits until it answers PING. It is killed when t ends.
func startNode(t *testing.T, bin, dir string, args ...string) *redisNode {
	t.Helper()
	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		nodeDir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		all := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--dir", nodeDir, "--daemonize", "no"}, args...)
		n, err := tryNode(bin, nodeDir, port, all)
		if err == nil {
			t.Cleanup(n.kill)
			return n
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func tryNode(bin, dir string, port int, args []string) (*redisNode, error) {
	log, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	n := &redisNode{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-n.done:
			out, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return nil, fmt.Errorf("redis-server on %s exited:\n%s", n.addr, out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return n, nil
		}
	}
	n.kill()
	return nil, fmt.Errorf("redis-server on %s did not answer PING: %v", n.addr, err)
}

// kill stops the process at once (SIGKILL, as a crash would) and waits for it.
func (n *redisNode) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// redisCluster is a Redis Cluster of 3 primaries, each with one replica.
type redisCluster struct {
	nodes map[string]*redisNode // by address
	addrs []string
}

// startCluster starts six redis-server processes in cluster mode and joins
// them with redis-cli --cluster create ... --cluster-replicas 1.
func startCluster(t *testing.T) *redisCluster {
	t.Helper()
	server, cli := redisBins(t)
	dir := t.TempDir()
	c := &redisCluster{nodes: map[string]*redisNode{}}
	for range 6 {
		// The cluster bus listens on a port of its own: by default the
		// node's port + 10000, which for a high ephemeral port is taken
		// or past 65535. Pick a free one.
		bus, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		n := startNode(t, server, dir,
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(clusterNodeTimeout/time.Millisecond)),
			// Let a replica take over whatever its replication lag: the
			// test kills its primary on purpose.
			"--cluster-replica-validity-factor", "0",
			// Sync a new replica at once, not after the default 5 s.
			"--repl-diskless-sync-delay", "0",
		)
		c.nodes[n.addr] = n
		c.addrs = append(c.addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, c.addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitHealthy(t, "")
	return c
}

// client returns a Cluster client seeded with every node, closed when t ends.
func (c *redisCluster) client(t *testing.T) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// waitHealthy waits until every live node but dead reports cluster_state:ok,
// 3 primaries serve all 16384 slots, and every replica is in sync.
func (c *redisCluster) waitHealthy(t *testing.T, dead string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		bad := c.unhealthy(dead)
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster is not healthy after 60 s: %s", bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unhealthy says what is wrong with the cluster, or "" when nothing is.
func (c *redisCluster) unhealthy(dead string) string {
	for _, addr := range c.addrs {
		if addr == dead {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rdb.ClusterInfo(ctx).Result()
		var repl string
		if err == nil {
			repl, err = rdb.Info(ctx, "replication").Result()
		}
		var masters int
		if err == nil {
			var shards []redis.ClusterShard
			shards, err = rdb.ClusterShards(ctx).Result()
			for _, sh := range shards {
				if p := shardPrimary(sh); len(sh.Slots) > 0 && p != "" && p != dead {
					masters++
				}
			}
		}
		cancel()
		rdb.Close()
		switch {
		case err != nil:
			return addr + ": " + err.Error()
		case !strings.Contains(info, "cluster_state:ok"):
			return addr + ": cluster_state is not ok"
		case !strings.Contains(info, "cluster_slots_ok:16384"):
			return addr + ": not every slot is served"
		case masters < 3:
			return addr + ": a slot range has no live primary yet"
		case strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up"):
			return addr + ": a replica is not in sync with its primary yet"
		}
	}
	return ""
}

// primaryFor returns the address of the primary serving slot n, as a node
// other than dead reports it.
func (c *redisCluster) primaryFor(t *testing.T, n int64, dead string) string {
	t.Helper()
	for _, addr := range c.addrs {
		if addr == dead {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		shards, err := rdb.ClusterShards(ctx).Result()
		cancel()
		rdb.Close()
		if err != nil {
			continue
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if r.Start <= n && n <= r.End {
					if p := shardPrimary(sh); p != "" {
						return p
					}
				}
			}
		}
	}
	t.Fatalf("no node says which primary serves slot %d", n)
	return ""
}

// shardPrimary returns the address of sh's live primary, or "".
func shardPrimary(sh redis.ClusterShard) string {
	for _, node := range sh.Nodes {
		if node.Role == "master" && node.Health == "online" {
			return net.JoinHostPort(node.IP, strconv.FormatInt(node.Port, 10))
		}
	}
	return ""
}

// slot returns key's hash slot.
func slot(t *testing.T, rdb redis.UniversalClient, key string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitReplicated waits until the primary at addr has had every write so far
// acknowledged by its replica (WAIT 1): Redis replicates asynchronously, and
// a write not yet on the replica when the primary dies is lost.
func waitReplicated(t *testing.T, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := rdb.Do(ctx, "WAIT", 1, 10000).Int64()
	if err != nil || n < 1 {
		t.Fatalf("WAIT 1 on %s: %d replicas acknowledged (%v)", addr, n, err)
	}
}
