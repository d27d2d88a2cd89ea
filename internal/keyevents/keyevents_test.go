package keyevents

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// listener returns a Listener whose every hook records, in calls, what the
// log held when it ran: a hook must find its event's record written.
func listener(log *bytes.Buffer, calls *[]string) *Listener {
	l := &Listener{Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	refresh := func(name string) func(credentials.RefreshEvent) {
		return func(credentials.RefreshEvent) { *calls = append(*calls, name+" after: "+log.String()) }
	}
	pool := func(name string) func(credentials.PoolEvent) {
		return func(credentials.PoolEvent) { *calls = append(*calls, name+" after: "+log.String()) }
	}
	l.RefreshStarted, l.RefreshSucceeded, l.RefreshFailed = refresh("started"), refresh("succeeded"), refresh("failed")
	l.MemberQuarantined, l.MemberRestored = pool("quarantined"), pool("restored")
	return l
}

func TestEventsLoggedThenHooked(t *testing.T) {
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	refreshed := credentials.RefreshEvent{Phase: credentials.RefreshSucceeded, Reason: credentials.ReasonRejected,
		Duration: 3 * time.Millisecond, Attempts: 2, Context: context.Background()}
	tests := []struct {
		name string
		send func(l *Listener)
		hook string   // the hook that must run; "": none
		want []string // in the record
	}{
		{name: "refresh started", hook: "started",
			send: func(l *Listener) {
				l.Refresh(credentials.RefreshEvent{Phase: credentials.RefreshStarted, Reason: credentials.ReasonExpiring})
			},
			want: []string{"level=DEBUG", `msg="rekey: refreshing API key"`, "reason=expiring"}},
		{name: "refresh succeeded", hook: "succeeded",
			send: func(l *Listener) { l.Refresh(refreshed) },
			want: []string{"level=INFO", `msg="rekey: API key refreshed"`, "reason=rejected", "duration=3ms", "attempts=2"}},
		{name: "refresh failed", hook: "failed",
			send: func(l *Listener) {
				l.Refresh(credentials.RefreshEvent{Phase: credentials.RefreshFailed, Err: errors.New("vault sealed")})
			},
			want: []string{"level=ERROR", `msg="rekey: refreshing API key failed"`, `error="vault sealed"`}},
		{name: "a pool member's refresh", hook: "succeeded",
			send: func(l *Listener) {
				l.PoolEvent(credentials.PoolEvent{Kind: credentials.MemberRefresh, Member: 1, Key: "…9f2c", Refresh: refreshed})
			},
			want: []string{`msg="rekey: API key refreshed"`, "attempts=2", "member=1", "member_key=…9f2c"}},
		{name: "member quarantined", hook: "quarantined",
			send: func(l *Listener) {
				l.PoolEvent(credentials.PoolEvent{Kind: credentials.MemberQuarantined, Member: 2, Key: "…0a1b", Until: until,
					Err: errors.New("same key again")})
			},
			want: []string{"level=ERROR", "quarantined", "member=2", "member_key=…0a1b", "until=2030-01-02T03:04:05", `error="same key again"`}},
		{name: "member restored", hook: "restored",
			send: func(l *Listener) { l.PoolEvent(credentials.PoolEvent{Kind: credentials.MemberRestored, Member: 0}) },
			want: []string{"level=INFO", `msg="rekey: pool key restored"`, "member=0"}},
		{name: "an unknown refresh phase", send: func(l *Listener) { l.Refresh(credentials.RefreshEvent{Phase: 99}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			var calls []string
			tt.send(listener(&log, &calls))
			if tt.hook == "" {
				if log.Len() != 0 || len(calls) != 0 {
					t.Fatalf("logged %q, hooks %q; want nothing", log.String(), calls)
				}
				return
			}
			if len(calls) != 1 || !strings.HasPrefix(calls[0], tt.hook+" after: ") {
				t.Fatalf("hooks called: %q, want %s once", calls, tt.hook)
			}
			record := strings.TrimPrefix(calls[0], tt.hook+" after: ")
			if record == "" {
				t.Fatalf("the %s hook ran before the record was written", tt.hook)
			}
			for _, w := range tt.want {
				if !strings.Contains(record, w) {
					t.Errorf("record %q lacks %q", record, w)
				}
			}
		})
	}
}

// TestNobodyListens: with no hook and no logger there is nothing to
// register, so that a Cache or Pool pays nothing.
func TestNobodyListens(t *testing.T) {
	var l Listener
	if l.OnRefresh() != nil || l.OnPoolEvent() != nil {
		t.Error("a Listener with no hook and no logger returned a function")
	}
	for _, l := range []*Listener{
		{Log: slog.New(slog.DiscardHandler)},
		{RefreshFailed: func(credentials.RefreshEvent) {}},
	} {
		if l.OnRefresh() == nil || l.OnPoolEvent() == nil {
			t.Errorf("%+v: OnRefresh or OnPoolEvent is nil", l)
		}
	}
	onlyPool := &Listener{MemberRestored: func(credentials.PoolEvent) {}}
	if onlyPool.OnRefresh() != nil || onlyPool.OnPoolEvent() == nil {
		t.Error("a Listener with only MemberRestored: want no OnRefresh, an OnPoolEvent")
	}
}

// TestHooksWithoutLogger: the hooks hear every event with no logger set.
func TestHooksWithoutLogger(t *testing.T) {
	var got []string
	l := &Listener{
		RefreshFailed:     func(credentials.RefreshEvent) { got = append(got, "failed") },
		MemberQuarantined: func(credentials.PoolEvent) { got = append(got, "quarantined") },
	}
	l.OnRefresh()(credentials.RefreshEvent{Phase: credentials.RefreshFailed})
	l.OnPoolEvent()(credentials.PoolEvent{Kind: credentials.MemberQuarantined})
	l.OnPoolEvent()(credentials.PoolEvent{Kind: credentials.MemberRefresh, Refresh: credentials.RefreshEvent{Phase: credentials.RefreshFailed}})
	l.OnPoolEvent()(credentials.PoolEvent{Kind: credentials.MemberRestored})
	if want := "failed quarantined failed"; strings.Join(got, " ") != want {
		t.Errorf("hooks heard %q, want %q", got, want)
	}
}
