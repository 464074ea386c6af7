//go:build unix && !linux && !darwin

package runner

import "syscall"

// setParentDeathSignal: only Linux (and FreeBSD, not a target) has a parent-death signal; the
// watchdog covers a killed patinject.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// stoppedChild: not detected here; a Ctrl-Z of an interactive command is not passed up.
func stoppedChild(int) bool { return false }
