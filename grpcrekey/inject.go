package grpcrekey

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/rekeyhq/rekey/credentials"
)

// keyed is one key, ready to send: the per-call credentials that carry it
// and the call options that name them. It is built once per key and shared
// by every call that sends that key, read-only.
type keyed struct {
	cred     credentials.Credential
	md       map[string]string // grpc-go copies it into its own map and never writes to it
	insecure bool              // WithInsecureTransport
	opt      grpc.CallOption   // grpc.PerRPCCredentials(k)
	only     []grpc.CallOption // {opt}, with cap 1, for a call with no options of its own
}

// withKey returns the call options of a call that sends m's key: opts plus
// the per-call credentials for it, built once per key (and, with a pool,
// kept per member). The caller's slice is never written to.
func (c *Credentials) withKey(m credentials.Member, opts []grpc.CallOption) []grpc.CallOption {
	slot := &c.memo
	if c.memos != nil {
		slot = &c.memos[m.Index]
	}
	k := slot.Load()
	if k == nil || k.cred.Key != m.Credential.Key {
		k = c.newKeyed(m.Credential)
		slot.Store(k)
	}
	if len(opts) == 0 {
		return k.only // a later append by grpc copies it: cap is 1
	}
	out := make([]grpc.CallOption, len(opts)+1)
	copy(out, opts)
	out[len(opts)] = k.opt
	return out
}

func (c *Credentials) newKeyed(cred credentials.Credential) *keyed {
	v := cred.Key
	if c.cfg.scheme != "" {
		v = c.cfg.scheme + " " + cred.Key
	}
	k := &keyed{cred: cred, md: map[string]string{c.cfg.mdKey: v}, insecure: c.cfg.insecure}
	k.opt = grpc.PerRPCCredentials(k)
	k.only = []grpc.CallOption{k.opt}
	return k
}

// refusalPrefix starts the status message with which a key's per-call
// credentials refuse an insecure connection; the interceptors turn it into
// an error matching rekey.ErrInsecureRequest.
const refusalPrefix = "grpcrekey: refused to send the API key: "

// GetRequestMetadata implements credentials.PerRPCCredentials: it returns
// the key's metadata when the connection may carry it (see
// [Credentials]), and otherwise an Unauthenticated status, as grpc-go does
// for per-call credentials that require transport security.
func (k *keyed) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	ri, _ := grpccreds.RequestInfoFromContext(ctx)
	if grpccreds.CheckSecurityLevel(ri.AuthInfo, grpccreds.PrivacyAndIntegrity) == nil || k.insecure {
		return k.md, nil
	}
	p, ok := peer.FromContext(ctx)
	if ok && isLocal(p.Addr) {
		return k.md, nil
	}
	to := "an unknown peer"
	if ok && p.Addr != nil {
		to = p.Addr.String()
	}
	return nil, status.Error(codes.Unauthenticated, refusalPrefix+"the connection to "+to+
		" has no transport security: use TLS (grpc.WithTransportCredentials(credentials.NewTLS(...))), or grpcrekey.WithInsecureTransport() for a trusted network")
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. It
// returns false, because gRPC would then refuse a loopback connection
// without TLS too; GetRequestMetadata enforces the rule with that
// exception.
func (k *keyed) RequireTransportSecurity() bool { return false }

// isLocal reports whether addr is on this machine: a loopback IP address
// or a Unix socket.
func isLocal(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// isRefusal reports whether err is the refusal of GetRequestMetadata.
func isRefusal(st *status.Status) bool {
	return st.Code() == codes.Unauthenticated && strings.HasPrefix(st.Message(), refusalPrefix)
}

// String describes the per-call credentials without their key.
func (k *keyed) String() string { return "grpcrekey per-call credentials{" + k.cred.String() + "}" }

// Format implements fmt.Formatter so that no verb prints the metadata.
func (k *keyed) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
