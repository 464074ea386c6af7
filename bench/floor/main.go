// Command floor is the startup floor for bench/startup.sh: a Go program that does the least any Go
// wrapper must, start os.Args[1:] with os/exec and wait for it. What patinject run takes beyond
// this is its own cost. With no arguments it does nothing at all: the cost of starting a Go program.
package main

import (
	"errors"
	"os"
	"os/exec"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(127)
	}
}
