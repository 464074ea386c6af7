//go:build unix

package runner

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Forwarded are the signals patinject catches and passes on to the command's process group. A
// second SIGINT kills the group. ABRT, ALRM, XCPU and XFSZ would end patinject without cleanup
// (SIGABRT with a Go stack dump): they are caught too, and the group is asked to end with
// SIGTERM instead (the command should not dump core because patinject was told to abort).
var Forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGABRT, syscall.SIGALRM, syscall.SIGXCPU, syscall.SIGXFSZ}

// forwardAs is the signal the command's group gets when patinject gets sig.
func forwardAs(sig syscall.Signal) syscall.Signal {
	switch sig {
	case syscall.SIGABRT, syscall.SIGALRM, syscall.SIGXCPU, syscall.SIGXFSZ:
		return syscall.SIGTERM
	}
	return sig
}

func isInterrupt(sig os.Signal) bool { return sig == syscall.SIGINT }

// SurviveBrokenPipes makes a write to a closed stdout or stderr an error (EPIPE) for patinject
// instead of its death: without it the Go runtime ends the process with SIGPIPE on such a write,
// before cleanup can run. The signal is caught, not ignored: an ignored SIGPIPE would be inherited
// by the command across exec and change how it behaves in a pipeline; a caught one is reset to
// the default there. Call it once, first thing; it lasts for the life of the process.
func SurviveBrokenPipes() {
	brokenPipes.Do(func() { signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) })
}

var brokenPipes sync.Once
