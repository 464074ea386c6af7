//go:build windows

package runner

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// group is the command and every process it starts, held in a job object that kills them all
// when its last handle closes. patinject holds that handle: however patinject ends, a crash or
// TerminateProcess included, Windows closes it and the job's processes die with it.
type group struct {
	cmd *exec.Cmd
	job windows.Handle
}

// killedExitCode is what a command ended by patinject (a second interrupt) exits with.
const killedExitCode = 1

// newGroup: private directories are not removed if patinject is killed on Windows (there is no
// process left to do it); the job object still ends every process that could read them.
func newGroup(cmd *exec.Cmd, _ []string) *group {
	// Suspended, so that it is in the job before it can start anything; a console process group
	// of its own, so that a Ctrl-Break can be sent to it and to it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: processCreationFlags}
	return &group{cmd: cmd}
}

// processCreationFlags: CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP.
const processCreationFlags = windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP

func (g *group) start() error {
	job, err := newKillOnCloseJob()
	if err != nil {
		return fmt.Errorf("creating a job object for the command: %w", err)
	}
	if err := g.cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return err
	}
	pid := uint32(g.cmd.Process.Pid)
	if err := assignToJob(job, pid); err != nil {
		g.cmd.Process.Kill()
		g.cmd.Wait()
		windows.CloseHandle(job)
		return fmt.Errorf("placing the command in a job object: %w", err)
	}
	g.job = job
	if err := resumeProcess(pid); err != nil {
		windows.TerminateJobObject(job, killedExitCode)
		g.cmd.Wait()
		windows.CloseHandle(job)
		g.job = 0
		return fmt.Errorf("resuming the command: %w", err)
	}
	return nil
}

// newKillOnCloseJob makes an anonymous job object that kills its processes when its last handle
// is closed.
func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	info := killOnCloseLimits()
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

func killOnCloseLimits() windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	return info
}

func assignToJob(job windows.Handle, pid uint32) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return windows.AssignProcessToJobObject(job, h)
}

// resumeProcess resumes the threads of a process created suspended (os/exec does not keep the
// handle of its first thread, so the threads are found by a snapshot).
func resumeProcess(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(snap)
	var te windows.ThreadEntry32
	te.Size = uint32(unsafe.Sizeof(te))
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, oerr := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if oerr != nil {
			return oerr
		}
		_, rerr := windows.ResumeThread(th)
		windows.CloseHandle(th)
		if rerr != nil {
			return rerr
		}
		resumed++
	}
	if resumed == 0 {
		return fmt.Errorf("no thread of process %d found", pid)
	}
	return nil
}

// signal passes an interrupt or a termination request on as a CTRL_BREAK_EVENT to the command's
// console process group (a group other than the whole console cannot be sent CTRL_C).
func (g *group) signal(sig os.Signal) {
	if consoleEvent(sig) >= 0 {
		windows.GenerateConsoleCtrlEvent(uint32(consoleEvent(sig)), uint32(g.cmd.Process.Pid))
	}
}

// consoleEvent is the console control event a signal is forwarded as, -1 for none.
func consoleEvent(sig os.Signal) int {
	switch sig {
	case os.Interrupt, syscall.SIGTERM:
		return windows.CTRL_BREAK_EVENT
	}
	return -1
}

func (g *group) kill() {
	if g.job != 0 {
		windows.TerminateJobObject(g.job, killedExitCode)
	}
}

func (g *group) wait() error { return g.cmd.Wait() }

// endLeftovers ends what the command left running in its job. Windows has no polite request a
// process without a console window is bound to see, so it is terminated at once.
func (g *group) endLeftovers(time.Duration) { g.kill() }

// release closes the job: anything still in it dies.
func (g *group) release() {
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
}
