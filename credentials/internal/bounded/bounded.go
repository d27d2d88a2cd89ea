// Package bounded holds the size-limited writers and the sanitizer that
// credentials.Exec uses to read a child process's output safely: the key
// comes from standard output, which must never be read without a limit,
// and error messages quote the end of standard error, which must never
// carry terminal escapes or unbounded text into a log.
package bounded

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
)

// ErrFull is returned by [Buffer.Write] once the buffer would exceed Max.
var ErrFull = errors.New("bounded: output limit reached")

// Buffer keeps everything written to it up to Max bytes. A write that
// would exceed Max is refused with [ErrFull] (so that os/exec stops copying
// and closes the pipe), marks the buffer full and calls OnFull once.
// It is not safe for concurrent writes; read it after the writer is done.
type Buffer struct {
	Max    int
	OnFull func() // may be nil

	buf  []byte
	full bool
}

// Write appends p, or refuses it if the total would exceed Max.
func (b *Buffer) Write(p []byte) (int, error) {
	if b.full || len(b.buf)+len(p) > b.Max {
		if !b.full {
			b.full = true
			if b.OnFull != nil {
				b.OnFull()
			}
		}
		return 0, ErrFull
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Bytes returns what was kept.
func (b *Buffer) Bytes() []byte { return b.buf }

// Full reports whether a write was refused.
func (b *Buffer) Full() bool { return b.full }

// Tail keeps the last Max bytes written to it and never refuses a write,
// so a chatty process is never blocked or killed for its stderr.
// It is not safe for concurrent writes; read it after the writer is done.
type Tail struct {
	Max int

	buf       []byte
	truncated bool
}

// Write keeps the end of p, dropping the oldest bytes beyond Max.
func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.Max {
		t.truncated = t.truncated || len(t.buf) > 0 || len(p) > t.Max
		t.buf = append(t.buf[:0], p[len(p)-t.Max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.Max; over > 0 {
		copy(t.buf, t.buf[over:])
		t.buf = t.buf[:t.Max]
		t.truncated = true
	}
	return n, nil
}

// Bytes returns the kept tail.
func (t *Tail) Bytes() []byte { return t.buf }

// Truncated reports whether bytes were dropped from the front.
func (t *Tail) Truncated() bool { return t.truncated }

// ansi matches terminal escape sequences (CSI and OSC), so that colour codes
// vanish whole instead of leaving "[31m" behind.
var ansi = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?`)

// Sanitize renders b as one printable line: invalid UTF-8 (such as a rune
// cut in half by [Tail]), terminal escapes, control and format characters
// (including bidirectional overrides) are removed, runs of whitespace
// become one space. A leading "…" marks a truncated text.
func Sanitize(b []byte, truncated bool) string {
	s := strings.ToValidUTF8(string(b), "")
	s = ansi.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if truncated && s != "" {
		s = "…" + s
	}
	return s
}
