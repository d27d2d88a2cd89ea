package grpcrekey_test

// Finding and starting a real etcd for the tests, as internal/etcdtest does
// for the HTTP client (its helpers are test code of another module, so
// they are repeated here): REKEY_ETCD_BIN, else "etcd" on PATH, else
// /usr/bin/etcd (Debian's etcd-server package); without one the tests skip,
// unless CI is set to a true value or REKEY_ETCD_BIN is set: then they fail.

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
	"strings"
	"testing"
	"time"
)

// etcdServer is an etcd of the test's own, stopped when the test ends.
type etcdServer struct {
	endpoint string // http://127.0.0.1:port, the client URL
	addr     string // 127.0.0.1:port, for gRPC
	ttl      time.Duration
	log      string // path of etcd's own log
}

const noEtcd = "etcd not found: install Debian's etcd-server package (apt-get install etcd-server) or set REKEY_ETCD_BIN"

// requireEtcd returns the etcd binary to run (see findEtcd). Without one it
// skips t, or fails it when the test must run.
func requireEtcd(t testing.TB) string {
	t.Helper()
	bin, mustRun, err := findEtcd(os.Getenv, exec.LookPath, "/usr/bin/etcd")
	switch {
	case err != nil:
		t.Fatal(err)
	case bin == "" && mustRun:
		t.Fatal(noEtcd + " (CI is set, so this test must run)")
	case bin == "":
		t.Skip(noEtcd)
	}
	return bin
}

// findEtcd returns the etcd binary: REKEY_ETCD_BIN, else "etcd" on PATH,
// else fallback if it exists, else "". mustRun reports that not finding one
// is a failure: in CI (CI set to a true value), or when REKEY_ETCD_BIN is set
// (then a binary that is not there is an error).
func findEtcd(getenv func(string) string, lookPath func(string) (string, error), fallback string) (bin string, mustRun bool, err error) {
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

// startEtcd starts a single-member etcd on free loopback ports with simple
// tokens that expire after ttl unused (whole seconds, as etcd takes them).
// Authentication is not enabled yet: see setupAuth.
func startEtcd(t testing.TB, ttl time.Duration) *etcdServer {
	t.Helper()
	bin := requireEtcd(t)
	dir := t.TempDir()
	var err error
	for range 3 { // a free port can be taken between finding and binding it
		var s *etcdServer
		if s, err = tryStartEtcd(t, bin, dir, ttl); err == nil {
			return s
		}
	}
	t.Fatalf("etcd found but not usable: %v", err)
	return nil
}

func tryStartEtcd(t testing.TB, bin, dir string, ttl time.Duration) (*etcdServer, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
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
		return nil, fmt.Errorf("etcd on %s: %v\n%s", client, err, tail(out, 2000))
	}
	t.Cleanup(stop)
	return &etcdServer{endpoint: client, addr: strings.TrimPrefix(client, "http://"), ttl: ttl, log: logPath}, nil
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
			b := readAll(resp)
			if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"true"`)) {
				return nil
			}
			err = fmt.Errorf("/health answered %d %s", resp.StatusCode, tail(b, 200))
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

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// readAll reads and closes a response body, up to 1 MiB.
func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b
}
