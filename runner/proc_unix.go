//go:build unix

package runner

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// group is the command's process group. The command leads it (its pid is the group id); what
// it starts stays in it unless it leaves on purpose (setsid, a daemon).
type group struct {
	cmd *exec.Cmd
	// tty is the terminal whose foreground was handed to the command's group, -1 when none.
	tty int
	// startDone lets the OS thread that started the command go (see start).
	startDone chan struct{}
	dog       *os.File // the write end of the watchdog's pipe; nil when there is no watchdog
	private   []string // directories the watchdog removes if patinject dies
	stopJobs  func()
}

func newGroup(cmd *exec.Cmd, private []string) *group {
	g := &group{cmd: cmd, tty: -1, private: private}
	attr := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(attr)
	// Interactive use: a process group of its own is not the terminal's foreground group, so the
	// command could not read the keyboard (SIGTTIN would stop it), and Ctrl-C, Ctrl-Z and a
	// window resize would go to patinject instead. When patinject itself is the terminal's
	// foreground, the command's group is made the foreground instead (as a shell does for a job):
	// the terminal then signals the command directly, `--no-redact` with a full-screen program
	// works as without patinject, and a Ctrl-Z is passed up to the shell (jobControl). patinject
	// takes the terminal back when the command ends. Without a terminal (CI) nothing changes.
	if fd, ok := foregroundTerminal(); ok {
		attr.Foreground = true
		attr.Ctty = fd
		g.tty = fd
	}
	cmd.SysProcAttr = attr
	return g
}

// foregroundTerminal is the first of stdin, stdout and stderr that is a terminal whose
// foreground process group is patinject's own.
func foregroundTerminal() (int, bool) {
	own := syscall.Getpgrp()
	for _, fd := range []int{0, 1, 2} {
		pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		if err == nil && pg == own {
			return fd, true
		}
	}
	return -1, false
}

// start starts the command from an OS thread that stays locked, and so alive, until the command
// has ended: Linux sends the parent-death signal when the thread that forked the child exits,
// not the process, and the Go runtime ends a thread whose goroutine exits while locked to it.
func (g *group) start() error {
	// The watchdog starts beside the command, not before it: the two spawns overlap.
	dog := make(chan *os.File, 1)
	go func() { dog <- startWatchdog(g.private) }()
	started := make(chan error, 1)
	startDone := make(chan struct{})
	g.startDone = startDone
	go func() {
		runtime.LockOSThread()
		err := g.cmd.Start()
		started <- err
		if err == nil {
			<-startDone
		}
		runtime.UnlockOSThread()
	}()
	err := <-started
	g.dog = <-dog
	if err != nil {
		if g.dog != nil {
			g.dog.WriteString("done\n")
			g.dog.Close()
			g.dog = nil
		}
		return err
	}
	if g.dog != nil {
		// The watchdog learns the group only now; if patinject dies before this line it has
		// nothing to kill, and the parent-death signal still ends the command.
		fmt.Fprintf(g.dog, "pg %d\n", g.cmd.Process.Pid)
	}
	if g.tty >= 0 {
		g.stopJobs = jobControl(g)
	}
	return nil
}

func (g *group) pgid() int { return g.cmd.Process.Pid }

func (g *group) signal(sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		syscall.Kill(-g.pgid(), forwardAs(s))
	}
}

func (g *group) kill() { syscall.Kill(-g.pgid(), syscall.SIGKILL) }

func (g *group) wait() error {
	err := g.cmd.Wait()
	if g.stopJobs != nil {
		g.stopJobs()
	}
	if g.tty >= 0 {
		takeTerminal(g.tty, syscall.Getpgrp())
	}
	return err
}

// endLeftovers ends what the command left running in its group: SIGTERM, then SIGKILL to what is
// still there after grace. The group id stays valid (it cannot be reused) while any member lives.
func (g *group) endLeftovers(grace time.Duration) {
	pg := g.pgid()
	if err := syscall.Kill(-pg, syscall.SIGTERM); err != nil {
		return // ESRCH: nothing left
	}
	// A stopped process would only act on the SIGTERM once continued.
	syscall.Kill(-pg, syscall.SIGCONT)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if syscall.Kill(-pg, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-pg, syscall.SIGKILL)
}

// release lets the starting thread go and stands the watchdog down.
func (g *group) release() {
	if g.startDone != nil {
		close(g.startDone)
		g.startDone = nil
	}
	if g.dog != nil {
		g.dog.WriteString("done\n")
		g.dog.Close()
		g.dog = nil
	}
}

// watchdogScript is run by sh, in a session of its own, with no environment. It reads lines:
// "dir PATH" (a private directory of this run), "pg N" (the command's process group), "done".
// "done" means the run ended and patinject cleaned up itself. End of input without it means
// patinject died (SIGKILL, an OOM kill, a crash): the whole group is killed, which reaches the
// command's own children as a parent-death signal does not, and the private directories are
// removed, so that no secret file outlives the run. It works on every Unix and holds nothing
// secret: paths and a number.
const watchdogScript = `pg=
while IFS= read -r line; do
	case $line in
	done) exit 0 ;;
	"pg "*) pg=${line#pg } ;;
	"dir /"*) set -- "$@" "${line#dir }" ;;
	esac
done
[ -z "$pg" ] || kill -s KILL -- "-$pg" 2>/dev/null
[ $# -eq 0 ] || rm -rf -- "$@"
exit 0`

// startWatchdog starts the watchdog, tells it the private directories, and returns the write
// end of its input. Without sh there is no watchdog: only the parent-death signal (Linux) then
// covers a killed patinject.
func startWatchdog(private []string) *os.File {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	defer r.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return nil
	}
	defer devnull.Close()
	p, err := os.StartProcess(sh, []string{"patinject-watchdog", "-c", watchdogScript}, &os.ProcAttr{
		Env:   []string{},
		Files: []*os.File{r, devnull, devnull},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		w.Close()
		return nil
	}
	// Reap it whenever it ends, so that it never lingers as a zombie.
	go p.Wait()
	for _, d := range private {
		if filepath.IsAbs(d) && !strings.ContainsAny(d, "\n\r") {
			fmt.Fprintf(w, "dir %s\n", d)
		}
	}
	return w
}

// takeTerminal makes pgrp the foreground process group of the terminal fd. A process that is not
// in the foreground may do so only with SIGTTOU ignored or blocked; it is ignored just for the
// call (ignored, not caught, which would restart the call forever; and no command is being
// started meanwhile, that would inherit the ignored signal).
func takeTerminal(fd, pgrp int) error {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, pgrp)
}

// jobControl passes a stop of the command (Ctrl-Z at the terminal it holds, or SIGTTIN) up to
// the shell that started patinject: patinject takes the terminal back and stops its own process
// group, the shell's job, so the shell prompts again. On `fg` the shell continues patinject,
// which hands the terminal back to the command and continues it; on `bg` the command continues
// in the background. It returns how to stop watching.
func jobControl(g *group) func() {
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	// A stop before Notify took effect sent its SIGCHLD to no one: look once at the start (a
	// stop stays reported until waitid collects it).
	chld <- syscall.SIGCHLD
	quit := make(chan struct{})
	done := make(chan struct{})
	pid := g.pgid()
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-chld:
			}
			if !stoppedChild(pid) {
				continue
			}
			own := syscall.Getpgrp()
			takeTerminal(g.tty, own)
			syscall.Kill(0, syscall.SIGSTOP) // returns once the shell continues the job
			if pg, err := unix.IoctlGetInt(g.tty, unix.TIOCGPGRP); err == nil && pg == own {
				takeTerminal(g.tty, pid) // fg: the command gets the terminal back
			}
			syscall.Kill(-pid, syscall.SIGCONT)
		}
	}()
	return func() {
		signal.Stop(chld)
		close(quit)
		<-done
	}
}
