// Command patinject gets a scoped, short-lived credential into a CI job and nowhere else.
package main

import (
	"os"

	"github.com/patinject/patinject/cmd"
)

func main() { os.Exit(cmd.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
