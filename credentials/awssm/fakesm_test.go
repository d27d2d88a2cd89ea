package awssm_test

// A loopback Secrets Manager that follows the service's documented wire
// protocol (AWS JSON 1.1: POST /, X-Amz-Target: secretsmanager.<Operation>,
// Content-Type: application/x-amz-json-1.1, SigV4-signed), with the request
// and response members of the API reference, timestamps as epoch seconds,
// errors as {"__type": ..., "message": ...} with status 400 and an
// x-amzn-RequestId header, and staging labels that move as the service
// moves them: PutSecretValue moves AWSCURRENT to the new version and
// AWSPREVIOUS to the old one; a rotation creates an AWSPENDING version and
// its last step moves AWSCURRENT to it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/internal/testwait"
)

const (
	fakeAccount = "123456789012"
	fakeRegion  = "us-east-1"
)

type fakeVersion struct {
	id      string
	value   *string // nil: no SecretString (an empty version left by a failed rotation)
	stages  []string
	created time.Time
}

type fakeSecret struct {
	name, arn string
	created   time.Time
	deleted   time.Time // zero: not scheduled for deletion
	versions  []*fakeVersion
	rotator   func() string // the rotation function: returns the new value; nil: rotation not configured
	rotations sync.WaitGroup
}

// fakeSM is the fake service. Tests drive it through the official client
// (the Provider's calls, PutSecretValue) and through its Go methods (an
// operator's or a rotation function's actions, and injected faults).
type fakeSM struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secrets  map[string]*fakeSecret
	calls    map[string]int // HTTP requests per operation, throttled ones included
	throttle int            // answer the next n requests with ThrottlingException
	deny     map[string]bool
	seq      int
}

func newFakeSM(t testing.TB) *fakeSM {
	f := &fakeSM{t: t, secrets: map[string]*fakeSecret{}, calls: map[string]int{}, deny: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.mu.Lock()
		secrets := make([]*fakeSecret, 0, len(f.secrets))
		for _, s := range f.secrets {
			secrets = append(secrets, s)
		}
		f.mu.Unlock()
		for _, s := range secrets {
			testwait.Group(t, &s.rotations, testwait.Timeout, "the rotations of secret "+s.name)
		}
		f.srv.Close()
	})
	return f
}

// Create makes a secret whose first version (AWSCURRENT) holds value.
func (f *fakeSM) Create(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	s := &fakeSecret{name: name, arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", fakeRegion, fakeAccount, name), created: now}
	s.versions = append(s.versions, &fakeVersion{id: f.newID(), value: &value, stages: []string{"AWSCURRENT"}, created: now})
	f.secrets[name] = s
}

// ARN returns the secret's ARN.
func (f *fakeSM) ARN(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[name].arn
}

// Put stores value as the new AWSCURRENT version, as PutSecretValue does.
func (f *fakeSM) Put(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.put(f.secrets[name], f.newID(), &value, []string{"AWSCURRENT"})
}

// BeginRotation does a rotation function's createSecret step: a new version
// labelled AWSPENDING. A nil value makes the empty version a failed rotation
// can leave.
func (f *fakeSM) BeginRotation(name string, value *string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.put(f.secrets[name], f.newID(), value, []string{"AWSPENDING"})
}

// FinishRotation does a rotation function's finishSecret step: AWSCURRENT
// moves to the AWSPENDING version (which keeps its AWSPENDING label, as the
// service allows), AWSPREVIOUS to the old current version.
func (f *fakeSM) FinishRotation(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if p := s.stage("AWSPENDING"); p != nil {
		s.moveStage("AWSCURRENT", p)
	}
}

// EnableRotation configures the secret's rotation function: RotateSecret
// runs fn in the background (createSecret with its value, then finishSecret).
func (f *fakeSM) EnableRotation(name string, fn func() string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name].rotator = fn
}

// ScheduleDeletion does what DeleteSecret with a recovery window does.
func (f *fakeSM) ScheduleDeletion(name string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name].deleted = at
}

// Throttle answers the next n requests with ThrottlingException.
func (f *fakeSM) Throttle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = n
}

// Deny answers op with AccessDeniedException.
func (f *fakeSM) Deny(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[op] = true
}

// Calls returns the number of HTTP requests made for op.
func (f *fakeSM) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Reads returns the number of GetSecretValue and DescribeSecret requests.
func (f *fakeSM) Reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls["GetSecretValue"] + f.calls["DescribeSecret"]
}

// put adds a version with the given stages, moving each from the version
// that had it (AWSCURRENT also moves AWSPREVIOUS), like PutSecretValue.
func (f *fakeSM) put(s *fakeSecret, id string, value *string, stages []string) string {
	v := &fakeVersion{id: id, value: value, created: time.Now()}
	s.versions = append(s.versions, v)
	for _, st := range stages {
		s.moveStage(st, v)
	}
	return id
}

func (s *fakeSecret) stage(label string) *fakeVersion {
	for _, v := range s.versions {
		if slices.Contains(v.stages, label) {
			return v
		}
	}
	return nil
}

func (s *fakeSecret) version(id string) *fakeVersion {
	for _, v := range s.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

// moveStage attaches label to to, removing it from any other version; moving
// AWSCURRENT labels the version that had it AWSPREVIOUS.
func (s *fakeSecret) moveStage(label string, to *fakeVersion) {
	from := s.stage(label)
	if from == to {
		return
	}
	if from != nil {
		from.stages = slices.DeleteFunc(from.stages, func(l string) bool { return l == label })
	}
	to.stages = append(to.stages, label)
	if label == "AWSCURRENT" && from != nil {
		s.moveStage("AWSPREVIOUS", from)
	}
}

func (f *fakeSM) newID() string {
	f.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", f.seq, f.seq)
}

// serve handles one request of the JSON 1.1 protocol.
func (f *fakeSM) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("req-%06d", f.seq))
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok {
		f.t.Errorf("fake Secrets Manager: unexpected %s %s with X-Amz-Target %q", r.Method, r.URL.Path, target)
		f.fail(w, "UnknownOperationException", "")
		return
	}
	f.calls[op]++
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("fake Secrets Manager: %s with Content-Type %q", op, ct)
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDFAKE/") ||
		!strings.Contains(auth, "/"+fakeRegion+"/secretsmanager/aws4_request") || r.Header.Get("X-Amz-Date") == "" {
		f.t.Errorf("fake Secrets Manager: %s not signed with SigV4 for secretsmanager in %s: %q", op, fakeRegion, auth)
		f.fail(w, "IncompleteSignatureException", "The request signature does not conform to AWS standards.")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		f.fail(w, "ThrottlingException", "Rate exceeded")
		return
	}
	if f.deny[op] {
		f.fail(w, "AccessDeniedException", fmt.Sprintf("User: arn:aws:iam::%s:user/app is not authorized to perform: secretsmanager:%s on resource: %s because no identity-based policy allows the secretsmanager:%s action", fakeAccount, op, "the secret", op))
		return
	}
	var in struct {
		SecretID           string `json:"SecretId"`
		VersionID          string `json:"VersionId"`
		VersionStage       string `json:"VersionStage"`
		ClientRequestToken string `json:"ClientRequestToken"`
		SecretString       *string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, "SerializationException", "Start of structure or map found where not expected.")
		return
	}
	var s *fakeSecret
	for _, c := range f.secrets {
		if in.SecretID == c.name || in.SecretID == c.arn {
			s = c
		}
	}
	if s == nil {
		f.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	if !s.deleted.IsZero() && op != "DescribeSecret" {
		f.fail(w, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
		return
	}
	switch op {
	case "GetSecretValue":
		f.getSecretValue(w, s, in.VersionID, in.VersionStage)
	case "DescribeSecret":
		f.describeSecret(w, s)
	case "PutSecretValue":
		if in.ClientRequestToken == "" {
			in.ClientRequestToken = f.newID()
		}
		id := f.put(s, in.ClientRequestToken, in.SecretString, []string{"AWSCURRENT"})
		f.reply(w, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": id, "VersionStages": []string{"AWSCURRENT"}})
	case "RotateSecret":
		f.rotateSecret(w, s, in.ClientRequestToken)
	default:
		f.fail(w, "UnknownOperationException", "")
	}
}

func (f *fakeSM) getSecretValue(w http.ResponseWriter, s *fakeSecret, id, stage string) {
	var v *fakeVersion
	switch {
	case id != "":
		v = s.version(id)
		if v == nil || (stage != "" && !slices.Contains(v.stages, stage)) {
			f.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+id)
			return
		}
	default:
		if stage == "" {
			stage = "AWSCURRENT"
		}
		v = s.stage(stage)
		if v == nil {
			f.fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
			return
		}
	}
	out := map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id, "VersionStages": v.stages, "CreatedDate": epoch(v.created)}
	if v.value != nil {
		out["SecretString"] = *v.value
	}
	f.reply(w, out)
}

func (f *fakeSM) describeSecret(w http.ResponseWriter, s *fakeSecret) {
	stages := map[string][]string{}
	for _, v := range s.versions {
		if len(v.stages) > 0 {
			stages[v.id] = v.stages
		}
	}
	out := map[string]any{"ARN": s.arn, "Name": s.name, "CreatedDate": epoch(s.created), "VersionIdsToStages": stages,
		"RotationEnabled": s.rotator != nil}
	if !s.deleted.IsZero() {
		out["DeletedDate"] = epoch(s.deleted)
	}
	f.reply(w, out)
}

// rotateSecret starts the rotation function in the background, as the
// service invokes the rotation Lambda asynchronously.
func (f *fakeSM) rotateSecret(w http.ResponseWriter, s *fakeSecret, token string) {
	if s.rotator == nil {
		f.fail(w, "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
		return
	}
	if p, c := s.stage("AWSPENDING"), s.stage("AWSCURRENT"); p != nil && p != c {
		f.fail(w, "InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.")
		return
	}
	if token == "" {
		f.t.Errorf("fake Secrets Manager: RotateSecret without a ClientRequestToken (the SDK fills one in)")
		token = f.newID()
	}
	if p := s.stage("AWSPENDING"); p != nil { // left on the current version by the last rotation
		p.stages = slices.DeleteFunc(p.stages, func(l string) bool { return l == "AWSPENDING" })
	}
	fn := s.rotator
	s.rotations.Add(1)
	go func() {
		defer s.rotations.Done()
		value := fn()
		f.mu.Lock()
		f.put(s, token, &value, []string{"AWSPENDING"})
		f.mu.Unlock()
		f.FinishRotation(s.name)
	}()
	f.reply(w, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": token})
}

func (f *fakeSM) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client sees a short body
}

func (f *fakeSM) fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg}) //nolint:errcheck
}

// epoch renders t as the protocol's timestamps: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
