package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
)

// maxKeyFile bounds how much of a key file is read.
const maxKeyFile = 64 << 10

// File returns a Provider that reads the key from the file at path. The file
// is read again whenever it changes (its size, modification time or identity,
// which covers an atomic rename and a Kubernetes secret update), so a rotated
// key is picked up on the next refresh without a restart. Surrounding
// whitespace, including the trailing newline, is trimmed.
//
// A missing, unreadable, empty, oversized or malformed file yields an error
// that names the path and the problem and never includes the file's content.
func File(path string) Provider { return &fileProvider{path: path} }

type fileProvider struct {
	path string
	last atomic.Pointer[fileEntry] // last successful read
}

type fileEntry struct {
	info fs.FileInfo
	cred Credential
}

func (p *fileProvider) Retrieve(ctx context.Context) (Credential, error) {
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	if p.path == "" {
		return Credential{}, unavailable("credentials.File was given an empty path", nil)
	}
	info, err := os.Stat(p.path)
	if err != nil {
		return Credential{}, p.fileError(err)
	}
	if last := p.last.Load(); last != nil && unchanged(last.info, info) {
		return last.cred, nil
	}
	if info.IsDir() {
		return Credential{}, fmt.Errorf("credentials: key file %s is a directory: point to the file holding the key", p.path)
	}
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
	p.last.Store(&fileEntry{info: info, cred: cred})
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

func unchanged(a, b fs.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && os.SameFile(a, b)
}

// String names the file (never its content).
func (p *fileProvider) String() string { return fmt.Sprintf("credentials.File(%q)", p.path) }

// Format implements fmt.Formatter so that no verb prints the cached key.
func (p *fileProvider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }
