package main

import (
	"strings"
	"testing"
)

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{args: nil, code: 2, stderrHas: "rekey demo"},
		{args: []string{"--help"}, code: 0, stdoutHas: "go run ./cmd/rekey demo"},
		{args: []string{"help"}, code: 0, stdoutHas: "rekey check [flags]"},
		{args: []string{"help", "demo"}, code: 0, stdoutHas: "--fault-rate"},
		{args: []string{"demo", "--help"}, code: 0, stdoutHas: "--key-ttl"},
		{args: []string{"demo", "-h"}, code: 0, stdoutHas: "--workers"},
		{args: []string{"check", "--help"}, code: 0, stdoutHas: "Exit status"},
		{args: []string{"frobnicate"}, code: 2, stderrHas: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.stdoutHas) || !strings.Contains(stderr, tt.stderrHas) {
			t.Errorf("rekey %v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tt.args, code, stdout, stderr, tt.code, tt.stdoutHas, tt.stderrHas)
		}
	}
}
