package grpcrekey

import (
	"context"
	"io"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/rekeyhq/rekey/credentials"
)

// stream is the stream client interceptor: it opens the stream with the
// current key and wraps it so that a rejection before the first response
// message can be recovered from.
func (c *Credentials) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	key, err := c.pick(ctx)
	if err != nil {
		return nil, &CredentialError{Method: method, Err: err}
	}
	s := &stream{c: c, cl: call{ctx: ctx, method: method, cc: cc}, desc: desc, streamer: streamer, opts: opts}
	inner, err := streamer(ctx, desc, cc, method, c.withKey(key, opts)...)
	if err != nil {
		if inner, key, err = s.reopen(key, err); err != nil {
			return nil, err
		}
	}
	s.inner, s.sent = inner, key
	return s, nil
}

// reopen recovers from the failure err of opening the stream with sent:
// nothing was sent, so if it was the key, the stream is opened again with
// another (a pool's next member, or the refreshed key).
func (s *stream) reopen(sent credentials.Member, err error) (grpc.ClientStream, credentials.Member, error) {
	var inner grpc.ClientStream
	key := sent
	err = s.c.recoverCall(&s.cl, sent, err, func(m credentials.Member) error {
		var err error
		inner, err = s.streamer(s.cl.ctx, s.desc, s.cl.cc, s.cl.method, s.c.withKey(m, s.opts)...)
		key = m
		return err
	}, replayable)
	return inner, key, err
}

// stream is a client stream that can be opened again with another key, and
// its messages sent again, as long as no response message has arrived: once
// per recovery with a refreshed key, and with a pool also once per member
// that it fails over to.
//
// gRPC allows one goroutine in SendMsg (or CloseSend) and another in
// RecvMsg at the same time; mu orders them around a replay, which happens
// in RecvMsg.
type stream struct {
	c        *Credentials
	cl       call
	desc     *grpc.StreamDesc
	streamer grpc.Streamer
	opts     []grpc.CallOption

	mu        sync.Mutex
	inner     grpc.ClientStream  // the stream in use
	sent      credentials.Member // the key it carries
	kept      []any              // messages sent, for a replay, while keeping
	closed    bool               // CloseSend was called
	received  bool               // a response message arrived
	recovered bool               // a recovery ran (it may have opened the stream again): no other
	overflow  bool               // more than the limit was sent before a response
}

// SendMsg sends m. While the stream can still be replayed, m is also kept
// for the replay, and if the stream has already ended (io.EOF, the server
// answered), m waits for the replay instead of failing: RecvMsg then
// reports the stream's fate, with m sent again or not sent at all.
func (s *stream) SendMsg(m any) error {
	s.mu.Lock()
	inner := s.inner
	keep := s.keeping()
	if keep && len(s.kept) >= s.c.cfg.streamLimit {
		s.overflow, s.kept, keep = true, nil, false
	}
	if keep {
		s.kept = append(s.kept, m)
	}
	s.mu.Unlock()

	err := inner.SendMsg(m)
	switch {
	case err == nil || !keep:
		return err
	case err == io.EOF:
		return nil // kept for the replay (or, if inner was replaced meanwhile, already sent again)
	}
	s.mu.Lock()
	if s.inner == inner && len(s.kept) > 0 && s.kept[len(s.kept)-1] == m {
		s.kept = s.kept[:len(s.kept)-1] // a message that fails on its own is not sent again
	}
	s.mu.Unlock()
	return err
}

// keeping reports whether sent messages are still kept for a replay. The
// caller holds mu.
func (s *stream) keeping() bool {
	return !s.received && !s.recovered && !s.overflow && s.c.cfg.streamLimit > 0
}

// CloseSend closes the sending side, of a replayed stream too.
func (s *stream) CloseSend() error {
	s.mu.Lock()
	s.closed = true
	inner := s.inner
	s.mu.Unlock()
	return inner.CloseSend()
}

// RecvMsg receives the next response message into m. If the stream fails
// with the invalid-key rejection before any response message, it is opened
// again with another key (a pool's next healthy member at once, or the
// refreshed key), its messages sent again (and its sending side closed, if
// it was), and m filled from the new stream. One recovery runs per stream.
func (s *stream) RecvMsg(m any) error {
	s.mu.Lock()
	inner, sent := s.inner, s.sent
	s.mu.Unlock()
	err := inner.RecvMsg(m)
	switch {
	case err == nil:
		s.mu.Lock()
		s.received, s.kept = true, nil
		s.mu.Unlock()
		return nil
	case err == io.EOF:
		return err
	}
	replay := func(key credentials.Member) error { return s.replay(key, m) }
	err = s.c.recoverCall(&s.cl, sent, err, replay, s.notReplayable)
	s.mu.Lock()
	s.recovered, s.kept = true, nil
	s.mu.Unlock()
	return err
}

// notReplayable says why the stream cannot be opened again, or "".
func (s *stream) notReplayable() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.received:
		return "the stream had already received a response; open a new stream"
	case s.recovered:
		return "the stream was already opened again once"
	case s.c.cfg.streamLimit == 0:
		return "stream replay is off (WithStreamReplayLimit(0)); open a new stream"
	case s.overflow:
		return "the stream had sent more than " + strconv.Itoa(s.c.cfg.streamLimit) + " messages before its rejection (WithStreamReplayLimit); open a new stream"
	}
	return ""
}

// replay opens the stream again with key, sends the kept messages again,
// closes the sending side if it was closed, and receives the first
// response into m. The messages stay kept until a response arrives or the
// recovery ends, for the next member of a pool if key is refused too.
func (s *stream) replay(key credentials.Member, m any) error {
	s.mu.Lock()
	inner, err := s.streamer(s.cl.ctx, s.desc, s.cl.cc, s.cl.method, s.c.withKey(key, s.opts)...)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.inner, s.sent = inner, key
	for _, msg := range s.kept {
		if err := inner.SendMsg(msg); err != nil {
			break // io.EOF: the stream ended, RecvMsg says how; any other error ends it too
		}
	}
	if s.closed {
		inner.CloseSend() //nolint:errcheck // always nil in grpc-go
	}
	s.mu.Unlock()
	err = inner.RecvMsg(m)
	if err == nil {
		s.mu.Lock()
		s.received, s.kept = true, nil
		s.mu.Unlock()
	}
	return err
}

// Header returns the header metadata of the stream in use.
func (s *stream) Header() (metadata.MD, error) { return s.current().Header() }

// Trailer returns the trailer metadata of the stream in use.
func (s *stream) Trailer() metadata.MD { return s.current().Trailer() }

// Context returns the context of the stream in use.
func (s *stream) Context() context.Context { return s.current().Context() }

func (s *stream) current() grpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner
}
