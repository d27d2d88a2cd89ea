package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Within one call's timeout ([WithOpTimeout]), a Redis call that fails in a
// way a failover explains is tried again, after these waits (doubling).
const (
	retryFirstWait = 10 * time.Millisecond
	retryMaxWait   = 200 * time.Millisecond
)

// call runs op with the per-call timeout. A failure that a Redis Cluster or
// Sentinel failover explains (see retryable) is tried again within that
// timeout, after asking a Cluster client to reload its slot map: after a
// primary dies, go-redis's ClusterClient keeps sending its slots' commands
// to the dead address until its map is reloaded, which on its own happens
// only every 10 s, and its own retries against that address can take the
// whole timeout. So each try gets a quarter of the timeout (a try that runs
// out of it is tried again too), and a call that still fails when the
// timeout ends counts as Redis being unavailable.
func (s *Store) call(ctx context.Context, op func(ctx context.Context) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	perTry := max(s.cfg.opTO/4, 10*time.Millisecond)
	wait := retryFirstWait
	for {
		tryCtx, tryCancel := context.WithTimeout(ctx, perTry)
		err := op(tryCtx)
		tryCancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !retryable(err) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if cc, ok := s.client.(*redis.ClusterClient); ok {
			cc.ReloadState(ctx)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return err
		}
		wait = min(2*wait, retryMaxWait)
	}
}

// retryable reports whether err, from a Redis call, may not recur on the
// next try: the connection failed (refused, reset, closed), or the server
// says a failover or resharding is under way (CLUSTERDOWN, TRYAGAIN,
// MASTERDOWN, LOADING, READONLY from a primary just demoted).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.Nil) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	for _, prefix := range []string{"CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "LOADING", "READONLY"} {
		if strings.HasPrefix(err.Error(), prefix) {
			return true
		}
	}
	return false
}
