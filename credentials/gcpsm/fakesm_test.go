package gcpsm_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeSM is a loopback gRPC server built from the official generated
// service (secretmanagerpb.SecretManagerServiceServer) that answers as
// Secret Manager documents
// (https://cloud.google.com/secret-manager/docs/reference/rpc/google.cloud.secretmanager.v1)
// for the calls the Provider and a rotation make:
//
//   - versions are numbered from 1; "latest" is the most recently created
//     version whatever its state; an alias names the version it was set to
//     (UpdateSecret with update_mask version_aliases);
//   - AccessSecretVersion answers the payload with its CRC32C, and the
//     version's name with the project's number (as the service does, where
//     the request named the project's ID); a DISABLED or DESTROYED version
//     is FAILED_PRECONDITION "Secret Version [...] is in DISABLED state.";
//   - GetSecretVersion answers the version's metadata (number, state,
//     times), no payload, whatever its state;
//   - a missing secret or version is NOT_FOUND; a denied permission is
//     PERMISSION_DENIED "Permission '<permission>' denied for resource
//     '<name>' (or it may not exist)." checked before existence, as IAM is;
//   - quota is RESOURCE_EXHAUSTED with an ErrorInfo (RATE_LIMIT_EXCEEDED,
//     quota_metric), a disabled API is PERMISSION_DENIED with an ErrorInfo
//     (SERVICE_DISABLED), as Google's APIs answer them (AIP-193).
//
// It counts the calls of each method, so tests can check exactly what the
// Provider asked for.
type fakeSM struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	addr string

	mu        sync.Mutex
	secrets   map[string]*fakeSecret // by secret ID
	denied    map[string]bool        // IAM permissions the caller lacks
	exhausted map[string]int         // method -> RESOURCE_EXHAUSTED answers still to give
	disabled  bool                   // the Secret Manager API is not enabled in the project
	unauthed  bool                   // the caller's credentials are refused
	corrupt   bool                   // AccessSecretVersion sends a CRC32C that does not match
	calls     map[string]int
	hold      chan struct{} // if set, AccessSecretVersion waits on it before answering
}

type fakeSecret struct {
	versions []*fakeVersion // version n at index n-1
	aliases  map[string]int64
}

type fakeVersion struct {
	data      []byte
	state     secretmanagerpb.SecretVersion_State
	created   *timestamppb.Timestamp
	destroyed *timestamppb.Timestamp
}

const (
	project       = "my-project"
	projectNumber = "123456789012"
	secretID      = "billing-api-key"
	secretName    = "projects/" + project + "/secrets/" + secretID
)

// newFakeSM starts the server on a free loopback port; the test's cleanup
// stops it.
func newFakeSM(t testing.TB) *fakeSM {
	t.Helper()
	f := &fakeSM{secrets: map[string]*fakeSecret{}, denied: map[string]bool{}, exhausted: map[string]int{}, calls: map[string]int{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	srv := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(srv, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(lis) //nolint:errcheck // returns when stopped
	}()
	t.Cleanup(func() {
		f.release()
		srv.Stop()
		<-done
	})
	return f
}

// put adds a version holding data to the secret (creating the secret), as
// gcloud secrets versions add does, and returns its number.
func (f *fakeSM) put(id, data string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[id]
	if s == nil {
		s = &fakeSecret{aliases: map[string]int64{}}
		f.secrets[id] = s
	}
	s.versions = append(s.versions, &fakeVersion{data: []byte(data), state: secretmanagerpb.SecretVersion_ENABLED, created: timestamppb.Now()})
	return int64(len(s.versions))
}

func (f *fakeSM) setState(id string, n int64, state secretmanagerpb.SecretVersion_State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.secrets[id].versions[n-1]
	v.state = state
	if state == secretmanagerpb.SecretVersion_DESTROYED {
		v.data, v.destroyed = nil, timestamppb.Now()
	}
}

func (f *fakeSM) setAlias(id, alias string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id].aliases[alias] = n
}

func (f *fakeSM) deny(permission string) { f.mu.Lock(); f.denied[permission] = true; f.mu.Unlock() }
func (f *fakeSM) exhaust(method string, n int) {
	f.mu.Lock()
	f.exhausted[method] = n
	f.mu.Unlock()
}

// holdAccess makes AccessSecretVersion wait until release.
func (f *fakeSM) holdAccess() { f.mu.Lock(); f.hold = make(chan struct{}); f.mu.Unlock() }
func (f *fakeSM) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold != nil {
		close(f.hold)
		f.hold = nil
	}
}

// count returns how many calls of method the server answered.
func (f *fakeSM) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeSM) resetCounts() { f.mu.Lock(); clear(f.calls); f.mu.Unlock() }

// begin counts the call and answers what IAM and quota answer before the
// method looks at any resource. The caller holds f.mu.
func (f *fakeSM) begin(method, permission, resource string) error {
	f.calls[method]++
	switch {
	case f.unauthed:
		return status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, "+
			"login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
	case f.disabled:
		return withInfo(codes.PermissionDenied, "Secret Manager API has not been used in project "+projectNumber+" before or it is disabled. "+
			"Enable it by visiting https://console.developers.google.com/apis/api/secretmanager.googleapis.com/overview?project="+projectNumber+
			" then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
			"SERVICE_DISABLED", map[string]string{"consumer": "projects/" + projectNumber, "service": "secretmanager.googleapis.com"})
	case f.exhausted[method] > 0:
		f.exhausted[method]--
		metric, limit := "access_requests", "Access requests"
		if method != "AccessSecretVersion" {
			metric, limit = "read_requests", "Read requests"
		}
		return withInfo(codes.ResourceExhausted, fmt.Sprintf("Quota exceeded for quota metric '%s' and limit '%s per minute per project' "+
			"of service 'secretmanager.googleapis.com' for consumer 'project_number:%s'.", limit, limit, projectNumber),
			"RATE_LIMIT_EXCEEDED", map[string]string{"quota_metric": "secretmanager.googleapis.com/" + metric,
				"consumer": "projects/" + projectNumber, "service": "secretmanager.googleapis.com"})
	case f.denied[permission]:
		return status.Errorf(codes.PermissionDenied, "Permission '%s' denied for resource '%s' (or it may not exist).", permission, resource)
	}
	return nil
}

func withInfo(c codes.Code, msg, reason string, md map[string]string) error {
	st, err := status.New(c, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "googleapis.com", Metadata: md})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// resolve finds the secret and the version a name projects/P/secrets/S/versions/V
// names, with the name the service answers with. The caller holds f.mu.
func (f *fakeSM) resolve(name string) (*fakeVersion, string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "secrets" || parts[4] != "versions" {
		return nil, "", status.Errorf(codes.InvalidArgument, "Invalid resource field value in the request.")
	}
	if parts[1] != project && parts[1] != projectNumber {
		return nil, "", status.Errorf(codes.NotFound, "Secret [projects/%s/secrets/%s] not found or has no versions.", parts[1], parts[3])
	}
	s := f.secrets[parts[3]]
	secret := "projects/" + projectNumber + "/secrets/" + parts[3]
	if s == nil || len(s.versions) == 0 {
		return nil, "", status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", secret)
	}
	var n int64
	switch v := parts[5]; {
	case v == "latest":
		n = int64(len(s.versions))
	case strings.Trim(v, "0123456789") == "":
		n, _ = strconv.ParseInt(v, 10, 64)
	default:
		n = s.aliases[v]
	}
	if n < 1 || n > int64(len(s.versions)) {
		return nil, "", status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found.", secret, parts[5])
	}
	return s.versions[n-1], secret + "/versions/" + strconv.FormatInt(n, 10), nil
}

func (f *fakeSM) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("AccessSecretVersion", "secretmanager.versions.access", req.GetName()); err != nil {
		return nil, err
	}
	v, name, err := f.resolve(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.state != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", name, v.state)
	}
	sum := int64(crc32.Checksum(v.data, crc32.MakeTable(crc32.Castagnoli)))
	if f.corrupt {
		sum++
	}
	return &secretmanagerpb.AccessSecretVersionResponse{Name: name,
		Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(v.data), DataCrc32C: &sum}}, nil
}

func (f *fakeSM) GetSecretVersion(_ context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("GetSecretVersion", "secretmanager.versions.get", req.GetName()); err != nil {
		return nil, err
	}
	v, name, err := f.resolve(req.GetName())
	if err != nil {
		return nil, err
	}
	return &secretmanagerpb.SecretVersion{Name: name, State: v.state, CreateTime: v.created, DestroyTime: v.destroyed,
		Etag: `"` + strconv.Itoa(int(v.state)) + `"`}, nil
}

// AddSecretVersion is how a rotation (or gcloud secrets versions add) puts
// a new key in the store.
func (f *fakeSM) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	f.mu.Lock()
	if err := f.begin("AddSecretVersion", "secretmanager.versions.add", req.GetParent()); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	parts := strings.Split(req.GetParent(), "/")
	ok := len(parts) == 4 && f.secrets[parts[3]] != nil
	f.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetParent())
	}
	n := f.put(parts[3], string(req.GetPayload().GetData()))
	return &secretmanagerpb.SecretVersion{Name: fmt.Sprintf("projects/%s/secrets/%s/versions/%d", projectNumber, parts[3], n),
		State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

// DisableSecretVersion is how an operator switches a bad version off.
func (f *fakeSM) DisableSecretVersion(_ context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("DisableSecretVersion", "secretmanager.versions.disable", req.GetName()); err != nil {
		return nil, err
	}
	v, name, err := f.resolve(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.state == secretmanagerpb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", name)
	}
	v.state = secretmanagerpb.SecretVersion_DISABLED
	return &secretmanagerpb.SecretVersion{Name: name, State: v.state, CreateTime: v.created}, nil
}

// UpdateSecret sets the secret's version aliases (update_mask
// "version_aliases"), as gcloud secrets update --update-version-aliases does.
func (f *fakeSM) UpdateSecret(_ context.Context, req *secretmanagerpb.UpdateSecretRequest) (*secretmanagerpb.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := req.GetSecret().GetName()
	if err := f.begin("UpdateSecret", "secretmanager.secrets.update", name); err != nil {
		return nil, err
	}
	if !slices.Equal(req.GetUpdateMask().GetPaths(), []string{"version_aliases"}) {
		return nil, status.Errorf(codes.InvalidArgument, "this fake updates version_aliases only")
	}
	parts := strings.Split(name, "/")
	s := f.secrets[parts[len(parts)-1]]
	if len(parts) != 4 || s == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", name)
	}
	for alias, n := range req.GetSecret().GetVersionAliases() {
		if n < 1 || n > int64(len(s.versions)) {
			return nil, status.Errorf(codes.InvalidArgument, "Version %d of alias %s does not exist.", n, alias)
		}
	}
	s.aliases = maps.Clone(req.GetSecret().GetVersionAliases())
	return &secretmanagerpb.Secret{Name: "projects/" + projectNumber + "/secrets/" + parts[3], VersionAliases: maps.Clone(s.aliases)}, nil
}

// ListSecretVersions lists a secret's versions, newest first, 25 to a page
// unless page_size says otherwise; the filter "state:ENABLED" (and the other
// states) is understood, as the List-operation filtering document describes.
func (f *fakeSM) ListSecretVersions(_ context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListSecretVersions", "secretmanager.versions.list", req.GetParent()); err != nil {
		return nil, err
	}
	parts := strings.Split(req.GetParent(), "/")
	s := f.secrets[parts[len(parts)-1]]
	if len(parts) != 4 || s == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetParent())
	}
	var want secretmanagerpb.SecretVersion_State
	if flt := req.GetFilter(); flt != "" {
		st, ok := strings.CutPrefix(flt, "state:")
		if !ok || secretmanagerpb.SecretVersion_State_value[strings.ToUpper(st)] == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "Invalid filter: %s", flt)
		}
		want = secretmanagerpb.SecretVersion_State(secretmanagerpb.SecretVersion_State_value[strings.ToUpper(st)])
	}
	var all []*secretmanagerpb.SecretVersion
	for i := len(s.versions) - 1; i >= 0; i-- {
		v := s.versions[i]
		if want == 0 || v.state == want {
			all = append(all, &secretmanagerpb.SecretVersion{State: v.state, CreateTime: v.created, DestroyTime: v.destroyed,
				Name: fmt.Sprintf("projects/%s/secrets/%s/versions/%d", projectNumber, parts[3], i+1)})
		}
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 25
	}
	start, _ := strconv.Atoi(req.GetPageToken())
	end := min(start+size, len(all))
	resp := &secretmanagerpb.ListSecretVersionsResponse{Versions: all[start:end], TotalSize: int32(len(all))}
	if end < len(all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}
