//go:build windows

package runner

import (
	"os"
	"syscall"
)

// Forwarded are the signals passed on to the command. Go reports both Ctrl-C and Ctrl-Break as
// os.Interrupt, and closing the console, logging off or shutting down as SIGTERM. Each reaches
// the command as a CTRL_BREAK_EVENT to its console process group (Windows cannot send CTRL_C to a
// group other than the whole console); a second interrupt terminates the job object.
var Forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM}

func isInterrupt(sig os.Signal) bool { return sig == os.Interrupt }

// SurviveBrokenPipes is a no-op on Windows: a write to a closed pipe is an error there, never a
// signal.
func SurviveBrokenPipes() {}
