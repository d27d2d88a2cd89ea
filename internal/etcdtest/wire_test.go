package etcdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// wire sits under rekey, on the real connection to etcd, and records what
// etcd answered to every attempt (replays included) and when each was sent.
// It reads an error body to classify it and hands it on intact.
type wire struct {
	base *http.Transport

	mu      sync.Mutex
	sends   []time.Time
	answers map[string]int64 // "401 etcdserver: invalid auth token" -> count
}

func newWire() *wire {
	return &wire{base: &http.Transport{MaxIdleConnsPerHost: 32}, answers: map[string]int64{}}
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.sends = append(w.sends, time.Now())
	w.mu.Unlock()
	resp, err := w.base.RoundTrip(req)
	if err != nil {
		w.count("transport error")
		return nil, err
	}
	if resp.StatusCode < 400 {
		w.count(fmt.Sprintf("%d", resp.StatusCode))
		return resp, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		w.count("body read error")
		return nil, err
	}
	var ge gatewayError
	json.Unmarshal(b, &ge) //nolint:errcheck // an unknown body is counted by status alone
	w.count(fmt.Sprintf("%d %s", resp.StatusCode, ge.Message))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// CloseIdleConnections lets rekey.Client.Close close the connections.
func (w *wire) CloseIdleConnections() { w.base.CloseIdleConnections() }

func (w *wire) count(answer string) {
	w.mu.Lock()
	w.answers[answer]++
	w.mu.Unlock()
}

// answer returns how many times etcd gave this answer.
func (w *wire) answer(a string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.answers[a]
}

// attempts returns how many requests went to etcd.
func (w *wire) attempts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sends)
}

// gaps returns how many times no request was sent for at least d: the
// periods in which etcd may have dropped the token for lack of use.
func (w *wire) gaps(d time.Duration) int {
	w.mu.Lock()
	sends := append([]time.Time(nil), w.sends...)
	w.mu.Unlock()
	sort.Slice(sends, func(i, j int) bool { return sends[i].Before(sends[j]) })
	n := 0
	for i := 1; i < len(sends); i++ {
		if sends[i].Sub(sends[i-1]) >= d {
			n++
		}
	}
	return n
}

// summary returns the answers, most frequent first.
func (w *wire) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.answers))
	for k := range w.answers {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return w.answers[keys[i]] > w.answers[keys[j]] })
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d× %q", w.answers[k], k)
	}
	return b.String()
}

// progress counts finished requests and tells waiters when a count is
// reached, so that the operator acts after so many requests, not after a
// sleep.
type progress struct {
	mu    sync.Mutex
	n     int
	waits []progressWait
}

type progressWait struct {
	target int
	ch     chan struct{}
}

func (p *progress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	kept := p.waits[:0]
	for _, w := range p.waits {
		if p.n >= w.target {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	p.waits = kept
}

// after returns a channel closed once k more requests have finished.
func (p *progress) after(k int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	p.waits = append(p.waits, progressWait{p.n + k, ch})
	return ch
}

// logBuffer is a concurrency-safe destination for the Client's slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
