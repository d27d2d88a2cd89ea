package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
)

// maxKeyFile bounds how much of a key file is read.
const maxKeyFile = 64 << 10

// DefaultFilePollInterval is how often a [Cache] checks a [File] for a new key
// while the key is in use, unless [FileOptions] say otherwise.
const DefaultFilePollInterval = 10 * time.Second

// racyWindow is how long after a file's modification time its stat is not
// trusted to tell a new content from the old: a rewrite in place within one
// tick of a coarse file system clock (up to 2 s on some) keeps size and
// modification time, so such a file is read again until it is older.
const racyWindow = 2 * time.Second

// FileOptions configures a file provider made by [FileWith].
type FileOptions struct {
	// PollInterval is how often a [Cache] in front of the provider (the one
	// that package transport and rekey.Client build, for example) checks
	// the file for a new key, while the key is in use: a Kubernetes secret
	// update, an atomic rename or a rewrite in place is picked up within
	// about this long, with no rejected request if the old key is revoked
	// later than that. Each check costs one os.Stat; the file is read only
	// when its size, modification time or identity (device and inode)
	// changed. An idle Cache does not check. Zero means
	// DefaultFilePollInterval; negative turns polling off, and the file is
	// read again only after the API rejects the key.
	PollInterval time.Duration
}

// File returns a Provider that reads the key from the file at path. It is
// FileWith(path, FileOptions{}): a [Poller] that a [Cache] checks every
// DefaultFilePollInterval (10 s) while the key is in use, with one os.Stat.
// The file is read again whenever it changes (its size, modification time or
// identity, which covers an atomic rename, a rewrite in place and a Kubernetes
// secret update through the ..data symlink), so a rotated key is picked up
// without a restart, and with no rejected request when the old key is
// revoked more than the poll interval after the file changed. Surrounding
// whitespace, including the trailing newline, is trimmed.
//
// A missing, unreadable, empty, oversized or malformed file yields an error
// that names the path and the problem and never includes the file's content.
func File(path string) Provider { return FileWith(path, FileOptions{}) }

// FileWith is [File] with options: FileWith(path, FileOptions{PollInterval:
// time.Minute}) checks the file once a minute instead of every 10 s. The
// result is safe for concurrent use.
func FileWith(path string, opts FileOptions) Poller {
	d := opts.PollInterval
	if d == 0 {
		d = DefaultFilePollInterval
	}
	return &fileProvider{path: path, interval: d}
}

type fileProvider struct {
	path     string
	interval time.Duration             // <= 0: no polling
	last     atomic.Pointer[fileEntry] // last successful read
}

type fileEntry struct {
	info   fs.FileInfo
	readAt time.Time
	cred   Credential
}

func (p *fileProvider) Retrieve(ctx context.Context) (Credential, error) {
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	return p.read()
}

// PollInterval implements [Poller].
func (p *fileProvider) PollInterval() time.Duration { return p.interval }

// Poll implements [Poller]: one os.Stat, and a read only when the file
// changed (or changed too recently for its stat to tell). The key is
// compared too, so a file touched but not changed is no change.
func (p *fileProvider) Poll(ctx context.Context, current Credential) (Credential, bool, error) {
	if err := ctx.Err(); err != nil {
		return Credential{}, false, err
	}
	cred, err := p.read()
	if err != nil {
		return Credential{}, false, err
	}
	return cred, cred.Key != current.Key, nil
}

// read returns the file's key, from the last read if a stat shows the file
// unchanged since.
func (p *fileProvider) read() (Credential, error) {
	if p.path == "" {
		return Credential{}, unavailable("credentials.File was given an empty path", nil)
	}
	info, err := os.Stat(p.path)
	if err != nil {
		return Credential{}, p.fileError(err)
	}
	if last := p.last.Load(); last != nil && unchanged(last, info) {
		return last.cred, nil
	}
	if info.IsDir() {
		return Credential{}, fmt.Errorf("credentials: key file %s is a directory: point to the file holding the key", p.path)
	}
	readAt := time.Now()
	f, err := os.Open(p.path)
	if err != nil {
		return Credential{}, p.fileError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return Credential{}, fmt.Errorf("credentials: reading key file %s: %w", p.path, err)
	}
	if len(data) > maxKeyFile {
		return Credential{}, fmt.Errorf("credentials: key file %s is larger than %d KiB: it does not look like a key file", p.path, maxKeyFile>>10)
	}
	key := trimKey(string(data))
	if key == "" {
		return Credential{}, unavailable(fmt.Sprintf("key file %s is empty: write your API key into it", p.path), nil)
	}
	if err := validateFrom("key file "+p.path, key); err != nil {
		return Credential{}, err
	}
	cred := Credential{Key: key}
	// The stat taken before the read describes at most what was read: a
	// change after it shows in the next stat.
	p.last.Store(&fileEntry{info: info, readAt: readAt, cred: cred})
	return cred, nil
}

func (p *fileProvider) fileError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return unavailable(fmt.Sprintf("key file %s does not exist: create it or fix the path", p.path), err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("credentials: key file %s is not readable by this process: check its permissions: %w", p.path, err)
	}
	// os errors carry the path and the system error, never file content.
	return fmt.Errorf("credentials: key file %s: %w", p.path, err)
}

// unchanged reports whether info shows the same file as last, modified long
// enough before last was read for its stat to be trusted.
func unchanged(last *fileEntry, info fs.FileInfo) bool {
	a := last.info
	return a.Size() == info.Size() && a.ModTime().Equal(info.ModTime()) && os.SameFile(a, info) &&
		a.ModTime().Before(last.readAt.Add(-racyWindow))
}

// String names the file (never its content).
func (p *fileProvider) String() string { return fmt.Sprintf("credentials.File(%q)", p.path) }

// Format implements fmt.Formatter so that no verb prints the cached key.
func (p *fileProvider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }
