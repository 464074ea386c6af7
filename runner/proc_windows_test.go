//go:build windows

package runner

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/patinject/patinject/internal/testpeer"
)

// The test binary doubles as the command these tests run (RUNNER_TEST_HELPER says which part).
func TestMain(m *testing.M) {
	switch os.Getenv("RUNNER_TEST_HELPER") {
	case "":
		os.Exit(m.Run())
	case "parent": // starts a child that outlives it, writes the child's pid, exits 0
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), "RUNNER_TEST_HELPER=sleeper")
		if err := c.Start(); err != nil {
			os.Exit(2)
		}
		os.WriteFile(os.Getenv("RUNNER_TEST_PIDFILE"), []byte(strconv.Itoa(c.Process.Pid)), 0o600)
		os.Exit(0)
	case "sleeper":
		time.Sleep(10 * time.Minute)
		os.Exit(0)
	case "interruptible": // exits 3 on Ctrl-Break
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt)
		os.WriteFile(os.Getenv("RUNNER_TEST_PIDFILE"), []byte("ready"), 0o600)
		select {
		case <-ch:
			os.Exit(3)
		case <-time.After(time.Minute):
			os.Exit(1)
		}
	}
	os.Exit(2)
}

func processRunning(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	ev, _ := windows.WaitForSingleObject(h, 0)
	return ev == uint32(windows.WAIT_TIMEOUT)
}

// What the command started ends with the run: the job object is terminated and closed.
func TestJobEndsTheCommandsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	code, err := Run(Command{
		Args: []string{os.Args[0]},
		Env:  append(os.Environ(), "RUNNER_TEST_HELPER=parent", "RUNNER_TEST_PIDFILE="+pidFile),
	})
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v", code, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for range 600 {
		if !processRunning(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the command's child %d still runs", pid)
}

// An interrupt reaches the command as a CTRL_BREAK_EVENT to its console process group.
func TestInterruptReachesTheCommand(t *testing.T) {
	var mode uint32
	if windows.GetConsoleMode(windows.Handle(os.Stdin.Fd()), &mode) != nil && windows.GetConsoleMode(windows.Handle(os.Stdout.Fd()), &mode) != nil {
		testpeer.Missing(t, "no console attached: console control events cannot be sent")
	}
	pidFile := filepath.Join(t.TempDir(), "ready")
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = Run(Command{
			Args:    []string{os.Args[0]},
			Env:     append(os.Environ(), "RUNNER_TEST_HELPER=interruptible", "RUNNER_TEST_PIDFILE="+pidFile),
			Signals: sigs,
		})
	}()
	for range 600 {
		if _, serr := os.Stat(pidFile); serr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sigs <- os.Interrupt
	<-done
	if err != nil || code != 3 {
		t.Fatalf("got %d, %v; want the command's exit 3 on Ctrl-Break", code, err)
	}
}

// A second interrupt terminates the job.
func TestSecondInterruptTerminatesTheJob(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	started := make(chan struct{})
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = Run(Command{
			Args: []string{os.Args[0]}, Env: append(os.Environ(), "RUNNER_TEST_HELPER=sleeper"),
			Signals: sigs, Started: func(int) { close(started) },
		})
	}()
	<-started
	sigs <- os.Interrupt
	sigs <- os.Interrupt
	<-done
	if err != nil || code != killedExitCode {
		t.Fatalf("got %d, %v; want %d", code, err, killedExitCode)
	}
}

func TestKillOnCloseLimits(t *testing.T) {
	if f := killOnCloseLimits().BasicLimitInformation.LimitFlags; f != windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE {
		t.Fatalf("limit flags %#x", f)
	}
	if processCreationFlags&windows.CREATE_SUSPENDED == 0 || processCreationFlags&windows.CREATE_NEW_PROCESS_GROUP == 0 {
		t.Fatalf("creation flags %#x", processCreationFlags)
	}
}

func TestConsoleEvent(t *testing.T) {
	for sig, want := range map[os.Signal]int{os.Interrupt: windows.CTRL_BREAK_EVENT, syscall.SIGTERM: windows.CTRL_BREAK_EVENT, os.Kill: -1} {
		if got := consoleEvent(sig); got != want {
			t.Errorf("%v: got %d, want %d", sig, got, want)
		}
	}
}

// Forwarded holds what Go delivers on Windows, and isInterrupt tells the interrupt.
func TestWindowsSignalSet(t *testing.T) {
	if len(Forwarded) != 2 || !isInterrupt(os.Interrupt) || isInterrupt(syscall.SIGTERM) {
		t.Fatalf("Forwarded %v", Forwarded)
	}
}
