package cmd

import (
	"errors"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/runner"
)

// Exit codes. `run` passes the command's own code through (128+N when signal N ended it).
const (
	ExitOK = 0
	// ExitCleanup: everything else succeeded, but a revocation or removal failed and the user
	// asked for strict cleanup (--strict-cleanup). Without it a failed cleanup only warns.
	ExitCleanup = frontdoor.ExitCleanup
	// ExitFailure: patinject failed before the command started (bad flag or reference, a source
	// or minting failed), or `inject` failed; nothing was left behind.
	ExitFailure = 125
	// ExitCannotExec: the command was found but could not be executed.
	ExitCannotExec = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
	// ExitOutputLost: `run` could not write the command's output (a closed pipe); cleanup ran.
	ExitOutputLost = frontdoor.ExitOutputLost
)

var (
	errInjectArgs  = errors.New("inject takes no arguments (to run a command with the secrets, use patinject run [flags] -- CMD)")
	errCleanupArgs = errors.New("cleanup takes no arguments")
)

// exitCode is the one place where an error becomes an exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *frontdoor.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var se *runner.StartError
	if errors.As(err, &se) {
		return se.Code
	}
	return ExitFailure
}
