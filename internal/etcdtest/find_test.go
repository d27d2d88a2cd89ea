package etcdtest

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/rekeyhq/rekey/internal/etcdproc"
)

// TestFindEtcd checks when a missing etcd skips the tests and when it fails
// them.
func TestFindEtcd(t *testing.T) {
	const fallback = "/usr/bin/etcd"
	cases := []struct {
		name      string
		env       map[string]string
		installed []string // what lookPath finds
		bin       string
		mustRun   bool
		wantErr   bool
	}{
		{name: "on PATH", installed: []string{"etcd"}, bin: "/found/etcd"},
		{name: "fallback path", installed: []string{fallback}, bin: fallback},
		{name: "none, locally: skip", bin: ""},
		{name: "none, in CI: fail", env: map[string]string{"CI": "true"}, mustRun: true},
		{name: "none, CI=false: skip", env: map[string]string{"CI": "false"}},
		{name: "in CI", env: map[string]string{"CI": "1"}, installed: []string{"etcd"}, bin: "/found/etcd", mustRun: true},
		{name: "REKEY_ETCD_BIN", env: map[string]string{"REKEY_ETCD_BIN": "/opt/etcd"}, installed: []string{"/opt/etcd", "etcd"}, bin: "/opt/etcd", mustRun: true},
		{name: "REKEY_ETCD_BIN missing: error", env: map[string]string{"REKEY_ETCD_BIN": "/opt/etcd"}, installed: []string{"etcd"}, mustRun: true, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			lookPath := func(name string) (string, error) {
				for _, i := range tc.installed {
					if i == name {
						if name == "etcd" {
							return "/found/etcd", nil
						}
						return name, nil
					}
				}
				return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
			}
			bin, mustRun, err := etcdproc.Find(getenv, lookPath, fallback)
			if bin != tc.bin || mustRun != tc.mustRun || (err != nil) != tc.wantErr {
				t.Errorf("etcdproc.Find = %q, %v, %v; want %q, %v, error %v", bin, mustRun, err, tc.bin, tc.mustRun, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, exec.ErrNotFound) {
				t.Errorf("error %v does not say the binary was not found", err)
			}
		})
	}
}
