// Package runner supervises the command that `patinject run` starts: it attaches stdin, carries
// stdout and stderr through the caller's writers (the redactors) as separate streams, forwards
// signals, and turns the way the command ended into an exit code.
//
// The command never outlives patinject. On Unix it runs in a process group of its own: signals
// are forwarded to the whole group, what is left of the group when the command exits is
// terminated, a watchdog kills the group if patinject itself is killed (SIGKILL, OOM), and on
// Linux the command also gets SIGKILL as its parent-death signal. On Windows it runs in a job
// object that kills it and every process it started when patinject's handle to the job closes,
// however patinject ends.
package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Forwarded (signals_*.go) are the signals passed on to the command. A second interrupt kills it.

// OutputError is the command's output that could not be written: the reader of patinject's
// stdout or stderr went away (a closed pipe) or the disk is full. The stream is then closed on
// the command's side too, so the command sees a broken pipe exactly as it would have without
// patinject in between, and the run goes on to its end (and cleanup) as usual.
type OutputError struct{ Err error }

func (e *OutputError) Error() string {
	return fmt.Sprintf("the command's output could not be written (%v); its end of the stream was closed", e.Err)
}

func (e *OutputError) Unwrap() error { return e.Err }

// StartError is a command that could not be started. Code is 127 when it was not found and 126
// when it was found but could not be executed.
type StartError struct {
	Name string
	Code int
	Err  error
}

func (e *StartError) Error() string {
	if e.Code == 127 {
		return fmt.Sprintf("%s: command not found (not on PATH, or no such file)", e.Name)
	}
	return fmt.Sprintf("%s: cannot execute: %v", e.Name, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// Command is what to run and where its streams go.
type Command struct {
	Args   []string // Args[0] is looked up on PATH
	Env    []string
	Stdin  *os.File
	Stdout io.Writer // *os.File: handed to the command as it is; anything else: copied through a pipe
	Stderr io.Writer
	// Signals delivers the signals to forward; the caller subscribes with signal.Notify.
	Signals <-chan os.Signal
	// WaitDelay bounds how long output is still read after the command exited, when a process it
	// left behind keeps the streams open. Default 2s.
	WaitDelay time.Duration
	// Private are directories of this run that hold secrets (absolute paths). If patinject is
	// killed while the command runs (SIGKILL, OOM), so that its own cleanup cannot run, the
	// watchdog removes them (Unix).
	Private []string
	// Started, if set, is called once the command runs.
	Started func(pid int)
}

// copyBuf is large enough to take a full pipe (64 KiB on Linux) and more in one read.
const copyBuf = 256 << 10

// Run starts the command and waits for it. It returns the exit code the way a shell reports it:
// the command's own, or 128+N when signal N ended it. An error is returned only when the command
// could not be started (*StartError) or its output could not be written (*OutputError, with the
// command's code).
func Run(c Command) (int, error) {
	path, err := lookPath(c.Args[0])
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(path, c.Args[1:]...)
	cmd.Args[0] = c.Args[0]
	cmd.Env = c.Env
	if c.Stdin != nil {
		cmd.Stdin = c.Stdin
	}

	p := &pumps{}
	defer p.closeAll()
	if cmd.Stdout, err = p.attach(c.Stdout); err != nil {
		return 0, err
	}
	if cmd.Stderr, err = p.attach(c.Stderr); err != nil {
		return 0, err
	}
	g := newGroup(cmd, c.Private)
	if err := g.start(); err != nil {
		return 0, startError(c.Args[0], err)
	}
	defer g.release()
	// The command holds its own copies of the write ends now; ours must go, or EOF never comes.
	p.closeWriteEnds()
	if c.Started != nil {
		c.Started(cmd.Process.Pid)
	}

	done := make(chan struct{})
	forwarding := make(chan struct{})
	go func() {
		defer close(forwarding)
		interrupts := 0
		for {
			select {
			case <-done:
				return
			case sig := <-c.Signals:
				if isInterrupt(sig) {
					interrupts++
					if interrupts > 1 {
						g.kill()
						continue
					}
				}
				g.signal(sig)
			}
		}
	}()
	waitErr := g.wait()
	close(done)
	<-forwarding

	delay := c.WaitDelay
	if delay == 0 {
		delay = 2 * time.Second
	}
	// What the command left running in its group would hold the secrets past the run: it goes.
	g.endLeftovers(delay)
	code := exitCode(cmd.ProcessState, waitErr)
	if err := p.wait(delay); err != nil {
		return code, &OutputError{Err: err}
	}
	return code, nil
}

func exitCode(ps *os.ProcessState, waitErr error) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func lookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if errors.Is(err, exec.ErrDot) {
		return path, nil
	}
	var ee *exec.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
		// LookPath says "not found" also for a file that exists but is not executable.
		if st, serr := os.Stat(name); serr == nil && !st.IsDir() && containsSlash(name) {
			return "", &StartError{Name: name, Code: 126, Err: fs.ErrPermission}
		}
		return "", &StartError{Name: name, Code: 127, Err: ee.Err}
	}
	if errors.Is(err, fs.ErrPermission) {
		return "", &StartError{Name: name, Code: 126, Err: err}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", &StartError{Name: name, Code: 127, Err: err}
	}
	return "", &StartError{Name: name, Code: 126, Err: err}
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if os.IsPathSeparator(s[i]) {
			return true
		}
	}
	return false
}

func startError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &StartError{Name: name, Code: 127, Err: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &StartError{Name: name, Code: 126, Err: err}
}

// pumps copies the command's output from pipes into the caller's writers.
type pumps struct {
	wg      sync.WaitGroup
	readers []*os.File
	writers []*os.File
	mu      sync.Mutex
	err     error
}

func (p *pumps) attach(w io.Writer) (*os.File, error) {
	if w == nil {
		return nil, nil
	}
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.readers = append(p.readers, r)
	p.writers = append(p.writers, pw)
	p.wg.Add(1)
	go p.pump(r, w)
	return pw, nil
}

func (p *pumps) pump(r *os.File, w io.Writer) {
	defer p.wg.Done()
	buf := make([]byte, copyBuf)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				p.mu.Lock()
				if p.err == nil {
					p.err = werr
				}
				p.mu.Unlock()
				// The output has nowhere to go. Closing our end hands the command the broken pipe
				// it would have met writing there itself (SIGPIPE, or EPIPE if it ignores that),
				// rather than letting it run on into a drain.
				r.Close()
				return
			}
		}
		if rerr != nil {
			return
		}
	}
}

func (p *pumps) closeWriteEnds() {
	for _, w := range p.writers {
		w.Close()
	}
	p.writers = nil
}

// wait waits for the pumps to reach EOF, at most delay; then it closes the read ends, which ends
// the pumps whatever a leftover background process still holds open.
func (p *pumps) wait(delay time.Duration) error {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(delay):
		for _, r := range p.readers {
			r.SetReadDeadline(time.Now())
		}
		<-done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pumps) closeAll() {
	p.closeWriteEnds()
	for _, r := range p.readers {
		r.Close()
	}
}
