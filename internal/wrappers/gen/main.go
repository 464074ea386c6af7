// Command gen syncs the CI wrappers' input tables with the flags of `patinject inject`
// (go generate ./cmd). With -check it changes nothing and fails when a file is out of step.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/internal/wrappers"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	check := flag.Bool("check", false, "report files out of step instead of rewriting them")
	flag.Parse()
	stale := 0
	for _, f := range wrappers.Files {
		path := filepath.Join(*root, f.Path)
		old, err := os.ReadFile(path)
		if err == nil {
			var got []byte
			if got, err = f.Sync(old, cmd.WrapperInputs()); err == nil && !bytes.Equal(got, old) {
				stale++
				if !*check {
					err = os.WriteFile(path, got, 0o644)
				}
				if *check {
					fmt.Fprintf(os.Stderr, "%s: out of step with the flags of inject (run go generate ./cmd)\n", f.Path)
				} else {
					fmt.Fprintf(os.Stderr, "%s: updated\n", f.Path)
				}
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f.Path, err)
			os.Exit(1)
		}
	}
	if *check && stale > 0 {
		os.Exit(1)
	}
}
