package runner

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal: macOS has no parent-death signal; the watchdog covers a killed patinject.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// stoppedChild reports whether process pid is stopped (SSTOP in its kernel process record).
func stoppedChild(pid int) bool {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err == nil && kp.Proc.P_stat == 4 // SSTOP
}
