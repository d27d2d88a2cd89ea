package etcdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// The JSON of etcd 3.4's gRPC gateway. Keys and values are bytes, which
// encoding/json writes and reads as base64, as the gateway wants them; its
// 64-bit integers are strings and are left out where not needed.
type (
	authRequest struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	authResponse struct {
		Token string `json:"token"`
	}
	putRequest struct {
		Key   []byte `json:"key"`
		Value []byte `json:"value"`
	}
	rangeRequest struct {
		Key      []byte `json:"key"`
		RangeEnd []byte `json:"range_end,omitempty"`
	}
	keyValue struct {
		Key   []byte `json:"key"`
		Value []byte `json:"value"`
	}
	rangeResponse struct {
		Kvs  []keyValue `json:"kvs"`
		More bool       `json:"more"`
	}
	permission struct {
		PermType string `json:"permType"` // READ, WRITE, READWRITE
		Key      []byte `json:"key"`
		RangeEnd []byte `json:"range_end"`
	}
	roleGrantRequest struct {
		Name string     `json:"name"`
		Perm permission `json:"perm"`
	}
	roleRevokeRequest struct {
		Role     string `json:"role"`
		Key      []byte `json:"key"`
		RangeEnd []byte `json:"range_end"`
	}
	userGrantRequest struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	nameRequest struct {
		Name string `json:"name"`
	}
	gatewayError struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Code    int    `json:"code"`
	}
)

// prefixEnd returns the range_end that makes a range of every key starting
// with prefix, as etcdctl's --prefix does.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	end[len(end)-1]++
	return end
}

// statusError is a non-2xx answer of the gateway, outside rekey.
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("etcd answered %d: %s", e.status, e.message)
}

// post sends one gateway call with plain net/http, with token (if any) bare
// in Authorization, and decodes a 2xx answer into out.
func post(ctx context.Context, hc *http.Client, endpoint, path, token string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b := readAll(resp)
	if resp.StatusCode/100 != 2 {
		var ge gatewayError
		json.Unmarshal(b, &ge) //nolint:errcheck // the status says enough without it
		if ge.Message == "" {
			ge.Message = string(b)
		}
		return &statusError{resp.StatusCode, ge.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// readAll reads and closes a response body, up to 8 MiB.
func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return b
}

func newSecret() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// secrets collects every password and token of a test, to check that none
// of them leaks.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(v string) {
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
}

// leaked returns how many secrets text contains (never the secrets).
func (s *secrets) leaked(text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.list {
		if strings.Contains(text, v) {
			n++
		}
	}
	return n
}

// admin is the operator: it sets etcd up and, mid-run, rotates the app
// user's password and revokes one of its permissions, as root, with plain
// net/http. It logs in again for each call, so that its own token cannot
// expire in the idle gaps.
type admin struct {
	endpoint string
	hc       *http.Client
	password string
	secrets  *secrets
}

// call runs one root operation.
func (a *admin) call(ctx context.Context, path string, in, out any) error {
	var auth authResponse
	if err := post(ctx, a.hc, a.endpoint, "/v3/auth/authenticate", "", authRequest{"root", a.password}, &auth); err != nil {
		return fmt.Errorf("root login: %w", err)
	}
	a.secrets.add(auth.Token)
	if err := post(ctx, a.hc, a.endpoint, path, auth.Token, in, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

const (
	appUser       = "rekey-app"
	appRole       = "rekey-app"
	dataPrefix    = "/rekey/data/"    // the app may always read and write here
	limitedPrefix = "/rekey/limited/" // until the admin revokes it mid-run
)

// setupAuth creates root and the app user, grants the app read-write on
// dataPrefix and limitedPrefix, writes the app's password to a file, and
// enables authentication. It returns the operator and the password file.
func setupAuth(t testing.TB, s *etcdServer, sec *secrets) (*admin, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	rootPassword, appPassword := newSecret(), newSecret()
	sec.add(rootPassword)
	sec.add(appPassword)
	steps := []struct {
		path string
		in   any
	}{
		{"/v3/auth/role/add", nameRequest{"root"}},
		{"/v3/auth/user/add", authRequest{"root", rootPassword}},
		{"/v3/auth/user/grant", userGrantRequest{"root", "root"}},
		{"/v3/auth/role/add", nameRequest{appRole}},
		{"/v3/auth/role/grant", roleGrantRequest{appRole, permission{"READWRITE", []byte(dataPrefix), prefixEnd(dataPrefix)}}},
		{"/v3/auth/role/grant", roleGrantRequest{appRole, permission{"READWRITE", []byte(limitedPrefix), prefixEnd(limitedPrefix)}}},
		{"/v3/auth/user/add", authRequest{appUser, appPassword}},
		{"/v3/auth/user/grant", userGrantRequest{appUser, appRole}},
		{"/v3/auth/enable", struct{}{}},
	}
	for _, st := range steps {
		if err := post(ctx, hc, s.endpoint, st.path, "", st.in, nil); err != nil {
			t.Fatalf("setting up etcd: %s: %v", st.path, err)
		}
	}
	file := filepath.Join(t.TempDir(), "etcd-password")
	if err := writeFileAtomic(file, appPassword); err != nil {
		t.Fatal(err)
	}
	return &admin{endpoint: s.endpoint, hc: hc, password: rootPassword, secrets: sec}, file
}

// rotate gives the app user a new password: the file first, then etcd, so
// that a login after etcd has dropped the old tokens finds the new password.
func (a *admin) rotate(ctx context.Context, file string) error {
	pw := newSecret()
	a.secrets.add(pw)
	if err := writeFileAtomic(file, pw); err != nil {
		return err
	}
	return a.call(ctx, "/v3/auth/user/changepw", authRequest{appUser, pw}, nil)
}

// revoke takes the app's permission on limitedPrefix away.
func (a *admin) revoke(ctx context.Context) error {
	return a.call(ctx, "/v3/auth/role/revoke", roleRevokeRequest{appRole, []byte(limitedPrefix), prefixEnd(limitedPrefix)}, nil)
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

// authenticator is the app's credentials provider: it logs in to etcd as
// the app user with the password the file holds now and returns the token.
// It counts the logins, to relate them to rotations and expiries.
type authenticator struct {
	endpoint string
	file     string
	hc       *http.Client
	secrets  *secrets

	calls  atomic.Int64 // logins tried
	failed atomic.Int64 // logins that failed
}

var _ credentials.Provider = (*authenticator)(nil)

// Retrieve logs in and returns etcd's token as the key.
func (a *authenticator) Retrieve(ctx context.Context) (credentials.Credential, error) {
	a.calls.Add(1)
	pw, err := os.ReadFile(a.file)
	if err != nil {
		a.failed.Add(1)
		return credentials.Credential{}, fmt.Errorf("etcd login: reading the password file: %w", err)
	}
	var auth authResponse
	err = post(ctx, a.hc, a.endpoint, "/v3/auth/authenticate", "", authRequest{appUser, strings.TrimSpace(string(pw))}, &auth)
	if err == nil && auth.Token == "" {
		err = errors.New("no token in the answer")
	}
	if err != nil {
		a.failed.Add(1)
		return credentials.Credential{}, fmt.Errorf("etcd login as %s: %w", appUser, err)
	}
	a.secrets.add(auth.Token)
	return credentials.Credential{Key: auth.Token}, nil
}

// logins returns how many logins succeeded: how many tokens were minted.
func (a *authenticator) logins() int64 { return a.calls.Load() - a.failed.Load() }
