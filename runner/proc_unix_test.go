//go:build unix

package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive: the process exists and is not a zombie (Linux tells by /proc; elsewhere kill -0).
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// waitGone waits (bounded, not timed) for a process to end.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for range 600 {
		if !alive(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("%s (pid %d) still runs", what, pid)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	for range 600 {
		b, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s was never written", path)
	return 0
}

// The command runs in a process group of its own, which is what the runner signals and ends.
func TestRunStartsItsOwnProcessGroup(t *testing.T) {
	t.Parallel()
	out := &recorder{}
	code, err := Run(Command{Args: []string{"sh", "-c", `echo "$$ $(ps -o pgid= -p $$)"`}, Env: os.Environ(), Stdout: out, Stderr: os.Stderr})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	f := strings.Fields(out.String())
	if len(f) != 2 || f[0] != f[1] {
		t.Fatalf("pid and process group: %q; want the command to lead its own group", out.String())
	}
	if pg, _ := strconv.Atoi(f[1]); pg == syscall.Getpgrp() {
		t.Fatal("the command is in the test's own process group")
	}
}

// What the command leaves running in its group is ended with the run.
func TestRunEndsWhatTheCommandLeftBehind(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "left.pid")
	code, err := Run(Command{
		Args:      []string{"sh", "-c", `sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "$1"`, "sh", pidFile},
		Env:       os.Environ(),
		WaitDelay: 5 * time.Second,
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	waitGone(t, readPid(t, pidFile), "the background process")
}

// A forwarded signal reaches the whole group: here the command's child, which the command
// does not pass it on to.
func TestRunForwardsSignalsToTheGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sigs := make(chan os.Signal, 1)
	started := make(chan struct{})
	var code int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, err = Run(Command{
			Args: []string{"sh", "-c", `trap 'for i in $(seq 200); do [ -s "$1/child" ] && break; sleep 0.05; done; exit 3' USR1; sh -c 'trap "echo got >\"$1/child\"; exit 0" USR1; while :; do sleep 0.05; done' sh "$1" & echo $! >"$1/child.pid"; wait`, "sh", dir},
			Env:  os.Environ(), Signals: sigs,
			Started: func(int) { close(started) },
		})
	}()
	<-started
	readPid(t, filepath.Join(dir, "child.pid"))
	time.Sleep(100 * time.Millisecond) // let the child install its trap; the assertion below does not depend on timing
	sigs <- syscall.SIGUSR1
	<-done
	if err != nil || code != 3 {
		t.Fatalf("got %d, %v; want the command's own exit 3", code, err)
	}
	for range 600 {
		if b, _ := os.ReadFile(filepath.Join(dir, "child")); string(b) == "got\n" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the command's child never got the forwarded signal")
}

// failingWriter takes the first write and fails every later one, like a pipe whose reader left.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, syscall.EPIPE
	}
	return len(p), nil
}

// When the output cannot be written, the command meets a broken pipe itself (here `yes`, which
// would otherwise write forever) and Run reports an OutputError with the command's code.
func TestRunClosesTheCommandsEndOnAnOutputError(t *testing.T) {
	t.Parallel()
	code, err := Run(Command{Args: []string{"yes", "line"}, Env: os.Environ(), Stdout: &failingWriter{}, Stderr: os.Stderr})
	var oe *OutputError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("got %v, want an OutputError wrapping EPIPE", err)
	}
	if code != 128+int(syscall.SIGPIPE) {
		t.Fatalf("got code %d, want %d (yes killed by SIGPIPE)", code, 128+int(syscall.SIGPIPE))
	}
}

// The watchdog: when its input ends without "done" (patinject died), it kills the group and
// removes the private directories; after "done" it leaves both alone.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	for _, died := range []bool{true, false} {
		t.Run(fmt.Sprintf("patinject died=%v", died), func(t *testing.T) {
			t.Parallel()
			private := filepath.Join(t.TempDir(), "patinject-x")
			if err := os.Mkdir(private, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(private, "netrc"), []byte("machine x password p\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "sleep 300"}, &os.ProcAttr{
				Sys: &syscall.SysProcAttr{Setpgid: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-p.Pid, syscall.SIGKILL)
			waited := make(chan struct{})
			go func() { p.Wait(); close(waited) }()
			w := startWatchdog([]string{private})
			if w == nil {
				t.Fatal("no watchdog (no sh?)")
			}
			fmt.Fprintf(w, "pg %d\n", p.Pid)
			if !died {
				w.WriteString("done\n")
			}
			w.Close()
			if died {
				<-waited
				for range 600 {
					if _, err := os.Lstat(private); errors.Is(err, os.ErrNotExist) {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				t.Fatal("the private directory is still there")
			}
			// "done": give a mistaken watchdog the time to act, then check it did not.
			time.Sleep(300 * time.Millisecond)
			if !alive(p.Pid) {
				t.Fatal("the watchdog killed the group after done")
			}
			if _, err := os.Lstat(private); err != nil {
				t.Fatalf("the watchdog removed the directory after done: %v", err)
			}
		})
	}
}
