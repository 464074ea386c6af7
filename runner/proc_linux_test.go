package runner

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary be the interactive patinject of TestTerminalForeground.
func TestMain(m *testing.M) {
	if os.Getenv("RUNNER_TEST_TTY") == "1" {
		os.Exit(ttyHelper())
	}
	os.Exit(m.Run())
}

// ttyHelper runs in a session of its own whose controlling terminal is a pty on fds 0-2, as
// patinject run --no-redact does in a terminal: the command reports the terminal's foreground
// group and its own, and afterwards the helper reports whether it has the terminal back.
func ttyHelper() int {
	script := `echo "fg=$(ps -o tpgid= -p $$ | tr -d ' ') pg=$(ps -o pgid= -p $$ | tr -d ' ')"`
	if os.Getenv("RUNNER_TEST_STOP") == "1" {
		script += `; kill -TSTP $$; echo resumed`
	}
	code, err := Run(Command{
		Args:  []string{"sh", "-c", script},
		Env:   os.Environ(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	pg, gerr := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	fmt.Printf("code=%d err=%v back=%v (%v)\n", code, err, gerr == nil && pg == syscall.Getpgrp(), gerr)
	return 0
}

func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// At a terminal the command's process group is made the foreground (so it reads the keyboard and
// gets Ctrl-C itself), and patinject takes the terminal back when it ends.
func TestTerminalForeground(t *testing.T) {
	t.Parallel()
	text := runAtTerminal(t, false)
	var fg, pg int
	if _, err := fmt.Sscanf(text[strings.Index(text, "fg="):], "fg=%d pg=%d", &fg, &pg); err != nil {
		t.Fatalf("output %q: %v", text, err)
	}
	if fg != pg {
		t.Errorf("the terminal's foreground group is %d, the command's %d: the command was not handed the terminal", fg, pg)
	}
	if !strings.Contains(text, "code=0 err=<nil> back=true") {
		t.Errorf("output %q: want the command's exit 0 and the terminal taken back", text)
	}
}

// A stop of the command (Ctrl-Z) is passed up: patinject takes the terminal back and stops its
// own group, the shell's job. Continued without the terminal (as by bg), it continues the command.
func TestTerminalStopIsPassedUp(t *testing.T) {
	t.Parallel()
	text := runAtTerminal(t, true)
	if !strings.Contains(text, "resumed") || !strings.Contains(text, "code=0 err=<nil> back=true") {
		t.Errorf("output %q: want the command continued to its end and the terminal back", text)
	}
}

// runAtTerminal runs ttyHelper in a session with a pty; with stop, the command stops itself, the
// test waits for the helper to be stopped too (a shell would print "Stopped") and continues it.
func runAtTerminal(t *testing.T, stop bool) string {
	t.Helper()
	if _, err := exec.LookPath("ps"); err != nil {
		t.Fatal("ps is needed (procps)")
	}
	m, s := openPty(t)
	defer m.Close()
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "RUNNER_TEST_TTY=1")
	if stop {
		c.Env = append(c.Env, "RUNNER_TEST_STOP=1")
	}
	c.Stdin, c.Stdout, c.Stderr = s, s, s
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, m); close(copied) }() // ends with EIO once the session is gone
	if stop {
		var ws syscall.WaitStatus
		for i := 0; ; i++ {
			pid, err := syscall.Wait4(c.Process.Pid, &ws, syscall.WUNTRACED|syscall.WNOHANG, nil)
			if err != nil {
				t.Fatal(err)
			}
			if pid != 0 {
				break
			}
			if i == 600 {
				syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
				t.Fatal("the helper never stopped: the command's stop was not passed up")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ws.Stopped() {
			t.Fatalf("the helper ended instead of stopping (status %v)", ws)
		}
		syscall.Kill(-c.Process.Pid, syscall.SIGCONT)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
	}
	return strings.ReplaceAll(out.String(), "\r", "")
}
