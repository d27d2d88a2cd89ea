package grpcrekey_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
)

// etcd's gRPC API, through its own generated stubs
// (go.etcd.io/etcd/api/v3/etcdserverpb), against etcd 3.4: the messages
// used here have not changed on the wire since, and fields added later
// (AuthUserAddRequest.HashedPassword) are left empty.

const (
	appUser       = "rekey-app"
	appRole       = "rekey-app"
	dataPrefix    = "/rekey/data/"    // the app may always read and write here
	limitedPrefix = "/rekey/limited/" // until the operator revokes it mid-run
	// tokenField is the metadata etcd reads its token from
	// (rpctypes.TokenFieldNameGRPC).
	tokenField = "token"
	// oldRevision is what etcd answers a call made with a token older than
	// the auth store's last change (rpctypes.ErrGRPCAuthOldRevision).
	oldRevision = "etcdserver: revision of auth store is old"
)

// prefixEnd returns the range end that makes a range of every key starting
// with prefix, as etcdctl's --prefix does.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	end[len(end)-1]++
	return end
}

// secretList collects every password and token of a test, to check that
// none of them leaks.
type secretList struct {
	mu   sync.Mutex
	list []string
}

func (s *secretList) add(v string) {
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
}

func (s *secretList) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

// plainConn is a connection to etcd without grpcrekey, for the operator and
// the logins.
func plainConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// operator sets etcd up and, mid-run, rotates the app user's password and
// revokes one of its permissions, as root. It logs in for each change, so
// that its own token cannot expire in the idle gaps.
type operator struct {
	auth     pb.AuthClient
	kv       pb.KVClient
	password string
	secrets  *secretList
}

// asRoot returns ctx carrying a fresh root token.
func (o *operator) asRoot(ctx context.Context) (context.Context, error) {
	resp, err := o.auth.Authenticate(ctx, &pb.AuthenticateRequest{Name: "root", Password: o.password})
	if err != nil {
		return nil, fmt.Errorf("root login: %w", err)
	}
	o.secrets.add(resp.GetToken())
	return metadata.AppendToOutgoingContext(ctx, tokenField, resp.GetToken()), nil
}

// setupEtcdAuth creates root and the app user, grants the app read-write on
// dataPrefix and limitedPrefix, writes the app's password to a file, and
// enables authentication.
func setupEtcdAuth(t testing.TB, srv *etcdServer, sec *secretList) (*operator, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := plainConn(t, srv.addr)
	auth := pb.NewAuthClient(conn)
	rootPassword, appPassword := newSecret(), newSecret()
	sec.add(rootPassword)
	sec.add(appPassword)
	rw := func(prefix string) *authpb.Permission {
		return &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}
	}
	steps := []func() error{
		func() error { _, err := auth.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: "root"}); return err },
		func() error {
			_, err := auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: "root", Password: rootPassword})
			return err
		},
		func() error {
			_, err := auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: "root", Role: "root"})
			return err
		},
		func() error { _, err := auth.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: appRole}); return err },
		func() error {
			_, err := auth.RoleGrantPermission(ctx, &pb.AuthRoleGrantPermissionRequest{Name: appRole, Perm: rw(dataPrefix)})
			return err
		},
		func() error {
			_, err := auth.RoleGrantPermission(ctx, &pb.AuthRoleGrantPermissionRequest{Name: appRole, Perm: rw(limitedPrefix)})
			return err
		},
		func() error {
			_, err := auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: appUser, Password: appPassword})
			return err
		},
		func() error {
			_, err := auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: appUser, Role: appRole})
			return err
		},
		func() error { _, err := auth.AuthEnable(ctx, &pb.AuthEnableRequest{}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("setting up etcd, step %d: %v", i+1, err)
		}
	}
	file := filepath.Join(t.TempDir(), "etcd-password")
	if err := writeFileAtomic(file, appPassword); err != nil {
		t.Fatal(err)
	}
	return &operator{auth: auth, kv: pb.NewKVClient(conn), password: rootPassword, secrets: sec}, file
}

// rotate gives the app user a new password: the file first, then etcd, so
// that a login after etcd has dropped the old tokens finds the new password.
func (o *operator) rotate(ctx context.Context, file string) error {
	pw := newSecret()
	o.secrets.add(pw)
	if err := writeFileAtomic(file, pw); err != nil {
		return err
	}
	ctx, err := o.asRoot(ctx)
	if err != nil {
		return err
	}
	_, err = o.auth.UserChangePassword(ctx, &pb.AuthUserChangePasswordRequest{Name: appUser, Password: pw})
	return err
}

// revoke takes the app's permission on limitedPrefix away.
func (o *operator) revoke(ctx context.Context) error {
	ctx, err := o.asRoot(ctx)
	if err != nil {
		return err
	}
	_, err = o.auth.RoleRevokePermission(ctx, &pb.AuthRoleRevokePermissionRequest{Role: appRole, Key: []byte(limitedPrefix), RangeEnd: prefixEnd(limitedPrefix)})
	return err
}

// rangeAll reads every key under prefix as root.
func (o *operator) rangeAll(ctx context.Context, prefix string) (map[string]string, error) {
	ctx, err := o.asRoot(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := o.kv.Range(ctx, &pb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	return kvMap(resp), nil
}

func kvMap(resp *pb.RangeResponse) map[string]string {
	m := make(map[string]string, len(resp.GetKvs()))
	for _, kv := range resp.GetKvs() {
		m[string(kv.GetKey())] = string(kv.GetValue())
	}
	return m
}

// writeFileAtomic replaces file with content by a rename, as secret
// managers and Kubernetes do, so that a reader never sees half a password.
func writeFileAtomic(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// login is the app's credentials provider: it logs in to etcd as user with
// the password the file holds now, and returns the token as the key. It
// counts the logins, to relate them to rotations and expiries.
type login struct {
	auth    pb.AuthClient
	user    string
	file    string
	secrets *secretList

	calls  atomic.Int64
	failed atomic.Int64
}

var _ credentials.Provider = (*login)(nil)

func (l *login) Retrieve(ctx context.Context) (credentials.Credential, error) {
	l.calls.Add(1)
	pw, err := os.ReadFile(l.file)
	if err != nil {
		l.failed.Add(1)
		return credentials.Credential{}, fmt.Errorf("etcd login: reading the password file: %w", err)
	}
	resp, err := l.auth.Authenticate(ctx, &pb.AuthenticateRequest{Name: l.user, Password: strings.TrimSpace(string(pw))})
	if err == nil && resp.GetToken() == "" {
		err = errors.New("no token in the answer")
	}
	if err != nil {
		l.failed.Add(1)
		return credentials.Credential{}, fmt.Errorf("etcd login as %s: %w", l.user, err)
	}
	l.secrets.add(resp.GetToken())
	return credentials.Credential{Key: resp.GetToken()}, nil
}

// logins returns how many logins succeeded: how many tokens were minted.
func (l *login) logins() int64 { return l.calls.Load() - l.failed.Load() }

// wire is a unary client interceptor placed inside grpcrekey's: it sees
// every attempt on the connection, replays included, and records etcd's
// answers and when each attempt was sent.
type wire struct {
	mu      sync.Mutex
	sends   []time.Time
	answers map[string]int64 // "InvalidArgument etcdserver: revision of auth store is old" -> count
}

func newWire() *wire { return &wire{answers: map[string]int64{}} }

func (w *wire) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	w.mu.Lock()
	w.sends = append(w.sends, time.Now())
	w.mu.Unlock()
	err := invoker(ctx, method, req, reply, cc, opts...)
	st := status.Convert(err)
	answer := st.Code().String()
	if err != nil {
		answer += " " + st.Message()
	}
	w.mu.Lock()
	w.answers[answer]++
	w.mu.Unlock()
	return err
}

func (w *wire) answer(a string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.answers[a]
}

func (w *wire) attempts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sends)
}

// gaps returns how many times no call was sent for at least d: the periods
// in which etcd may have dropped the token for lack of use.
func (w *wire) gaps(d time.Duration) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := append([]time.Time(nil), w.sends...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i].Sub(s[i-1]) >= d {
			n++
		}
	}
	return n
}

func (w *wire) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for a, n := range w.answers {
		parts = append(parts, fmt.Sprintf("%d× %s", n, a))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
