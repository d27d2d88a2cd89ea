package otelrekey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// The error.type values, from real errors where they can be produced here.
func TestErrorTypes(t *testing.T) {
	malformed := credentials.Validate(" rk_test_padded_with_space")
	_, unset := credentials.Env("OTELREKEY_TEST_UNSET_VARIABLE").Retrieve(context.Background())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", addr) // nothing listens there any more

	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	client.SetReadDeadline(time.Now().Add(-time.Second))
	_, timeout := client.Read(make([]byte, 1))

	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("credentials: refresh failed after 4 attempts: %w", credentials.ErrSameKey), "same_key"},
		{fmt.Errorf("%w: %w", credentials.ErrCacheClosed, context.Canceled), "cache_closed"},
		{malformed, "malformed_key"},
		{unset, "no_credentials"},
		{fmt.Errorf("refresh: %w", context.DeadlineExceeded), "timeout"},
		{timeout, "timeout"},
		{context.Canceled, "canceled"},
		{refused, "connection_refused"},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "connection_closed"},
		{errors.New("key service says no"), "_OTHER"},
		{nil, "_OTHER"},
	} {
		if got := refreshErrorType(tc.err); got != tc.want {
			t.Errorf("refreshErrorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
