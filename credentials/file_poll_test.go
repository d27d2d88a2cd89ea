package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// Keys of the same length, so that a rewrite in place keeps the file's size.
const (
	fileKey1 = "sk_live_FIRSTFIRSTFIRSTFIRST01"
	fileKey2 = "sk_live_SECONDSECONDSECOND0002"
)

// k8sVolume lays out a directory the way the kubelet's atomic writer lays
// out a secret volume: the data lives in a timestamped directory, ..data is
// a symlink to it, and the key's path is a symlink through ..data. An update
// writes a new timestamped directory, points ..data_tmp at it, renames
// ..data_tmp over ..data (the one atomic step) and removes the old directory.
type k8sVolume struct {
	t       *testing.T
	dir     string
	current string // timestamped directory ..data points to
	n       int
}

func newK8sVolume(t *testing.T, key string) *k8sVolume {
	v := &k8sVolume{t: t, dir: t.TempDir()}
	v.update(key)
	if err := os.Symlink(filepath.Join("..data", "api-key"), v.path()); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *k8sVolume) path() string { return filepath.Join(v.dir, "api-key") }

func (v *k8sVolume) update(key string) {
	t := v.t
	t.Helper()
	v.n++
	ts := fmt.Sprintf("..%s%03d", time.Now().UTC().Format("2006_01_02_15_04_05.000000"), v.n)
	if err := os.Mkdir(filepath.Join(v.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.dir, ts, "api-key"), []byte(key), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if v.current != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, v.current)); err != nil {
			t.Fatal(err)
		}
	}
	v.current = ts
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFilePollNoticesEveryKindOfUpdate changes the key file the ways
// operators and orchestrators do, and checks that one Poll sees the new key
// and the next one sees no change.
func TestFilePollNoticesEveryKindOfUpdate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T) (path string, update func())
		single bool // no second update to poll for
	}{
		{"atomic rename", func(t *testing.T) (string, func()) {
			path := filepath.Join(t.TempDir(), "api-key")
			writeFile(t, path, fileKey1+"\n")
			return path, func() {
				writeFile(t, path+".tmp", fileKey2+"\n")
				if err := os.Rename(path+".tmp", path); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"atomic rename, same size, old modification time", func(t *testing.T) (string, func()) {
			// A deployment tool that preserves modification times (rsync -t,
			// tar, a copied secret) renames a file over the key file whose
			// size and time equal the old one's: only its inode tells.
			path := filepath.Join(t.TempDir(), "api-key")
			old := time.Now().Add(-time.Hour)
			writeFile(t, path, fileKey1+"\n")
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			return path, func() {
				writeFile(t, path+".tmp", fileKey2+"\n")
				if err := os.Chtimes(path+".tmp", old, old); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(path+".tmp", path); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"rewrite in place", func(t *testing.T) (string, func()) {
			path := filepath.Join(t.TempDir(), "api-key")
			writeFile(t, path, fileKey1+"\n")
			return path, func() { writeFile(t, path, fileKey2+"\n") }
		}, false},
		{"rewrite in place, same size, same modification time", func(t *testing.T) (string, func()) {
			// A coarse file system clock can leave a quick rewrite with the
			// old size and time; a file modified that recently is read.
			path := filepath.Join(t.TempDir(), "api-key")
			writeFile(t, path, fileKey1+"\n")
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			return path, func() {
				writeFile(t, path, fileKey2+"\n")
				if err := os.Chtimes(path, time.Time{}, info.ModTime()); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"kubernetes secret volume", func(t *testing.T) (string, func()) {
			v := newK8sVolume(t, fileKey1)
			return v.path(), func() { v.update(fileKey2) }
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, update := tc.setup(t)
			p := credentials.File(path).(credentials.Poller)
			ctx := context.Background()
			first, err := p.Retrieve(ctx)
			if err != nil || first.Key != fileKey1 {
				t.Fatalf("Retrieve = %v, %v", first, err)
			}
			if cred, changed, err := p.Poll(ctx, first); err != nil || changed || cred.Key != fileKey1 {
				t.Fatalf("Poll before the update = %v, %v, %v; want the same key, unchanged", cred, changed, err)
			}
			update()
			cred, changed, err := p.Poll(ctx, first)
			if err != nil || !changed || cred.Key != fileKey2 {
				t.Fatalf("Poll after the update = %v, %v, %v; want the new key, changed", cred, changed, err)
			}
			if again, changed, err := p.Poll(ctx, cred); err != nil || changed || again.Key != fileKey2 {
				t.Errorf("second Poll = %v, %v, %v; want the new key, unchanged", again, changed, err)
			}
			if got, err := p.Retrieve(ctx); err != nil || got.Key != fileKey2 {
				t.Errorf("Retrieve after the update = %v, %v", got, err)
			}
		})
	}
}

// TestFilePollDoesNotReadAnUnchangedFile proves that a poll is a stat: a
// file whose content changed behind a stat that did not (same inode, size
// and an old modification time) is not read again.
func TestFilePollDoesNotReadAnUnchangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api-key")
	writeFile(t, path, fileKey1)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	p := credentials.File(path).(credentials.Poller)
	first, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, fileKey2) // same inode, same size...
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err) // ...and the old time: nothing a stat can see
	}
	if cred, changed, err := p.Poll(context.Background(), first); err != nil || changed || cred.Key != fileKey1 {
		t.Errorf("Poll = %v, %v, %v; want the key already read, unchanged (no read)", cred, changed, err)
	}
	// Touching the file is enough to have it read.
	if err := os.Chtimes(path, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if cred, changed, err := p.Poll(context.Background(), first); err != nil || !changed || cred.Key != fileKey2 {
		t.Errorf("Poll after touch = %v, %v, %v; want the new key", cred, changed, err)
	}
}

// TestFileTouchedIsNoChange: a new inode or time with the same key inside
// is read but reported as unchanged.
func TestFileTouchedIsNoChange(t *testing.T) {
	v := newK8sVolume(t, fileKey1+"\n")
	p := credentials.File(v.path()).(credentials.Poller)
	first, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v.update(fileKey1) // kubelet resync with the same secret, minus the newline
	if cred, changed, err := p.Poll(context.Background(), first); err != nil || changed || cred.Key != fileKey1 {
		t.Errorf("Poll = %v, %v, %v; want the same key, unchanged", cred, changed, err)
	}
}

func TestFileWithPollInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    credentials.Provider
		want time.Duration
	}{
		{"File", credentials.File("/nonexistent/api-key"), credentials.DefaultFilePollInterval},
		{"zero", credentials.FileWith("/nonexistent/api-key", credentials.FileOptions{}), 10 * time.Second},
		{"set", credentials.FileWith("/nonexistent/api-key", credentials.FileOptions{PollInterval: time.Minute}), time.Minute},
		{"off", credentials.FileWith("/nonexistent/api-key", credentials.FileOptions{PollInterval: -1}), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.p.(credentials.Poller)
			if !ok {
				t.Fatalf("%v is not a Poller", tc.p)
			}
			if got := p.PollInterval(); got != tc.want {
				t.Errorf("PollInterval() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFileThroughCache runs a Cache in front of a Kubernetes secret volume:
// a broken update (a missing key file, then an empty one) is reported once
// per poll and the key in use stays; the repaired update is swapped in once.
func TestFileThroughCache(t *testing.T) {
	v := newK8sVolume(t, fileKey1+"\n")
	var log events
	c := &credentials.Cache{
		Provider:  credentials.FileWith(v.path(), credentials.FileOptions{PollInterval: time.Millisecond}),
		OnRefresh: log.record,
	}
	t.Cleanup(func() { c.Close() })
	retrieve := func() string {
		t.Helper()
		got, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("Retrieve: %v", err)
		}
		return got.Key
	}
	if retrieve() != fileKey1 {
		t.Fatal("first key not read")
	}

	v.update("\n") // a secret emptied by mistake
	waitFor(t, "the empty file to be reported", func() bool {
		if retrieve() != fileKey1 {
			t.Fatal("the key in use was dropped for an empty file")
		}
		return log.count(credentials.RefreshFailed, credentials.ReasonChanged) > 0
	})
	log.mu.Lock()
	failure := log.all[len(log.all)-1].Err
	log.mu.Unlock()
	if !errors.Is(failure, credentials.ErrNoCredentials) || !strings.Contains(failure.Error(), "is empty") {
		t.Errorf("failure = %v, want the empty-file error", failure)
	}

	v.update(fileKey2 + "\n")
	waitFor(t, "the new key", func() bool { return retrieve() == fileKey2 })
	for i := 0; i < 100; i++ {
		if retrieve() != fileKey2 {
			t.Fatal("the old key came back")
		}
	}
	if n := log.count(credentials.RefreshSucceeded, credentials.ReasonChanged); n != 1 {
		t.Errorf("%d swaps, want 1: %s", n, &log)
	}
	for _, s := range []string{fmt.Sprint(log.all), fmt.Sprintf("%+v %#v", log.all, log.all), log.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v", c.Provider, c.Provider, c.Provider)} {
		if strings.Contains(s, "FIRSTFIRST") || strings.Contains(s, "SECONDSECOND") {
			t.Errorf("a key leaked: %s", s)
		}
	}
}
