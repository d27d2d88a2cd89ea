// Package etcdproc finds and starts a real etcd for rekey's tests: a
// single member on free loopback ports, with token authentication ready to
// be enabled, stopped when the test ends. The HTTP client's tests
// (internal/etcdtest) and grpcrekey's use it.
//
// The binary is REKEY_ETCD_BIN, else "etcd" on PATH, else /usr/bin/etcd
// (Debian's etcd-server package). Without one a test skips, unless CI is set
// to a true value or REKEY_ETCD_BIN is set: then it fails.
package etcdproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is an etcd of the test's own, stopped when the test ends.
type Server struct {
	Endpoint string        // http://127.0.0.1:port, the client URL (HTTP gateway and gRPC alike)
	Addr     string        // 127.0.0.1:port, the same for a gRPC target
	TTL      time.Duration // --auth-token-ttl: a simple token unused this long is dropped
	Log      string        // path of etcd's own log
}

// NotFound says what to do when no etcd binary is found.
const NotFound = "etcd not found: install Debian's etcd-server package (apt-get install etcd-server) or set REKEY_ETCD_BIN"

// Require returns the etcd binary to run (see Find). Without one it skips
// t, or fails it when the test must run.
func Require(t testing.TB) string {
	t.Helper()
	bin, mustRun, err := Find(os.Getenv, exec.LookPath, "/usr/bin/etcd")
	switch {
	case err != nil:
		t.Fatal(err)
	case bin == "" && mustRun:
		t.Fatal(NotFound + " (CI is set, so this test must run)")
	case bin == "":
		t.Skip(NotFound)
	}
	return bin
}

// Find returns the etcd binary: REKEY_ETCD_BIN, else "etcd" on PATH, else
// fallback if it exists, else "". mustRun reports that not finding one is a
// failure: in CI (CI set to a true value), or when REKEY_ETCD_BIN is set
// (then a binary that is not there is an error).
func Find(getenv func(string) string, lookPath func(string) (string, error), fallback string) (bin string, mustRun bool, err error) {
	if bin := getenv("REKEY_ETCD_BIN"); bin != "" {
		if _, err := lookPath(bin); err != nil {
			return "", true, fmt.Errorf("REKEY_ETCD_BIN=%q: %w", bin, err)
		}
		return bin, true, nil
	}
	ci, _ := strconv.ParseBool(getenv("CI"))
	if bin, err := lookPath("etcd"); err == nil {
		return bin, ci, nil
	}
	if _, err := lookPath(fallback); err == nil {
		return fallback, ci, nil
	}
	return "", ci, nil
}

// Start starts a single-member etcd on free loopback ports with simple
// tokens that expire after ttl unused (whole seconds, as etcd takes them).
// Authentication is not enabled yet: the test sets up its users first.
func Start(t testing.TB, ttl time.Duration) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	var err error
	for range 3 { // a free port can be taken between finding and binding it
		var s *Server
		if s, err = tryStart(t, bin, dir, ttl); err == nil {
			return s
		}
	}
	t.Fatalf("etcd found but not usable: %v", err)
	return nil
}

func tryStart(t testing.TB, bin, dir string, ttl time.Duration) (*Server, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(clientPort)
	client := "http://" + addr
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	data, err := os.MkdirTemp(dir, "data-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "etcd-"+strconv.Itoa(clientPort)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin,
		"--name", "rekey-test",
		"--data-dir", data,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "rekey-test="+peer,
		"--auth-token", "simple",
		"--auth-token-ttl", strconv.Itoa(int(ttl/time.Second)),
		"--bcrypt-cost", "4", // the lowest: hashing passwords is not what is tested
		"--logger", "zap", "--log-level", "warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	if err := waitHealthy(client, 15*time.Second); err != nil {
		stop()
		out, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("etcd on %s: %v\n%s", client, err, Tail(out, 2000))
	}
	t.Cleanup(stop)
	return &Server{Endpoint: client, Addr: addr, TTL: ttl, Log: logPath}, nil
}

// waitHealthy polls etcd's /health until it says {"health":"true"}.
func waitHealthy(endpoint string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"true"`)) {
				return nil
			}
			err = fmt.Errorf("/health answered %d %s", resp.StatusCode, Tail(b, 200))
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy after %v: %v", limit, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns at most the last n bytes of b, as a string.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
