package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/rekeyhq/rekey"
)

// The Redis the tests use: REKEY_REDIS_ADDR if set, else a redis-server of
// the tests' own on a free loopback port, else none (tests skip).
var (
	redisAddr  string
	redisError error // a redis-server was found but could not be started
)

const skipNoRedis = "redis-server not found: install Debian's redis-server or set REKEY_REDIS_ADDR"

func TestMain(m *testing.M) {
	// go-redis logs every failed dial on stderr through a logger of its
	// own; the Redis-down tests fail dials on purpose. What matters to them
	// is the Store's own warning, which they read from the Store's logger.
	redis.SetLogger(quietRedisLogger{})
	stop := findRedis()
	// goleak fails the run if a test left a goroutine behind; the server is
	// stopped after that check, whatever its outcome. Before it, the idle
	// connections of the pool that rekey's Clients share are closed: kept
	// for reuse, not leaked.
	goleak.VerifyTestMain(runThen{m, rekey.CloseIdleConnections}, goleak.Cleanup(func(code int) {
		stop()
		os.Exit(code)
	}))
}

// runThen runs the tests, then after.
type runThen struct {
	m     *testing.M
	after func()
}

func (r runThen) Run() int {
	code := r.m.Run()
	r.after()
	return code
}

// quietRedisLogger drops go-redis's own log lines.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

// findRedis sets redisAddr (or redisError) and returns how to stop a server
// it started.
func findRedis() (stop func()) {
	if addr := os.Getenv("REKEY_REDIS_ADDR"); addr != "" {
		redisAddr = addr
		return func() {}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
			return func() {}
		}
		bin = "/usr/bin/redis-server"
	}
	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		redisError = err
		return func() {}
	}
	for range 3 { // a free port can be taken between finding and binding it
		var cmd *exec.Cmd
		cmd, err = startRedis(bin, dir)
		if err == nil {
			return func() {
				cmd.Process.Kill()
				cmd.Wait()
				os.RemoveAll(dir)
			}
		}
	}
	redisError = err
	os.RemoveAll(dir)
	return func() {}
}

func startRedis(bin, dir string) (*exec.Cmd, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			redisAddr = addr
			return cmd, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	out, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	return nil, fmt.Errorf("redis-server on %s did not answer PING: %v\n%s", addr, err, out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// requireRedis skips t when no Redis can be found and fails it when one was
// found but did not start.
func requireRedis(t testing.TB) string {
	t.Helper()
	switch {
	case redisError != nil:
		t.Fatalf("redis-server found but not usable: %v", redisError)
	case redisAddr == "":
		t.Skip(skipNoRedis)
	}
	return redisAddr
}

// newClient returns a client of the test Redis, closed when t ends.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: requireRedis(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// testPrefix returns a prefix no other test (or test run) uses, and deletes
// its keys when t ends.
func testPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "rekeytest:" + t.Name() + ":" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := rdb.Del(ctx, prefix+":cred", prefix+":lock").Err()
		if err != nil && !errors.Is(err, redis.ErrClosed) {
			t.Logf("cleaning up %s: %v", prefix, err)
		}
	})
	return prefix
}
