//go:build unix

package runner

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		want     int
		startErr int // 126 or 127 when the command cannot start
	}{
		{name: "success", args: []string{"true"}, want: 0},
		{name: "own code", args: []string{"sh", "-c", "exit 7"}, want: 7},
		{name: "killed by SIGTERM", args: []string{"sh", "-c", "kill -TERM $$"}, want: 143},
		{name: "killed by SIGKILL", args: []string{"sh", "-c", "kill -KILL $$"}, want: 137},
		{name: "not found", args: []string{"no-such-command-anywhere"}, startErr: 127},
		{name: "not found by path", args: []string{filepath.Join(dir, "missing")}, startErr: 127},
		{name: "not executable", args: []string{notExec}, startErr: 126},
		{name: "a directory", args: []string{dir}, startErr: 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, err := Run(Command{Args: tt.args, Env: os.Environ()})
			if tt.startErr != 0 {
				var se *StartError
				if !errors.As(err, &se) || se.Code != tt.startErr {
					t.Fatalf("got %v (code %d), want a StartError with code %d", err, code, tt.startErr)
				}
				return
			}
			if err != nil || code != tt.want {
				t.Fatalf("got code %d, err %v; want %d", code, err, tt.want)
			}
		})
	}
}

// recorder collects a stream; Run has returned, and its pumps have stopped, before it is read.
type recorder struct{ bytes.Buffer }

func TestRunKeepsStreamsApart(t *testing.T) {
	t.Parallel()
	var out, errOut recorder
	code, err := Run(Command{
		Args:   []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2; echo more-stdout"},
		Env:    os.Environ(),
		Stdout: &out, Stderr: &errOut,
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	if got, want := out.String(), "to-stdout\nmore-stdout\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
	if got, want := errOut.String(), "to-stderr\n"; got != want {
		t.Errorf("stderr: got %q, want %q", got, want)
	}
}

// A process the command leaves behind may hold its output open; the run still ends once the
// command has exited and WaitDelay has passed, with everything the command itself wrote.
func TestRunDoesNotWaitForLeftBehindProcesses(t *testing.T) {
	t.Parallel()
	var out recorder
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = Run(Command{
			Args:      []string{"sh", "-c", "sleep 30 & echo started-background"},
			Env:       os.Environ(),
			Stdout:    &out,
			Stderr:    io.Discard,
			WaitDelay: 100 * time.Millisecond,
		})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run waited for the background process that holds stdout open")
	}
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	if !strings.Contains(out.String(), "started-background") {
		t.Errorf("got %q, want the command's own output", out.String())
	}
}
