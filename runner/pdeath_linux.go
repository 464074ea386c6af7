package runner

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal has Linux send SIGKILL to the command when patinject dies, however it dies.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// stoppedChild reports, without reaping anything, whether child pid has stopped since last asked.
func stoppedChild(pid int) bool {
	var info unix.Siginfo
	// WSTOPPED without WEXITED: an exit is left for the command's Wait to collect.
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOHANG, nil); err != nil {
		return false
	}
	return info.Signo == int32(syscall.SIGCHLD)
}
