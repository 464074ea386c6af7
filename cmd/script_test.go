package cmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/patinject/patinject/cmd"
)

// TestMain lets the test binary act as the patinject command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"patinject": func() { os.Exit(cmd.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the user stories in testdata/script: each file is a story a user would tell.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup:               scriptSetup,
		Cmds:                scriptCmds,
	})
}

// scriptSetup and scriptCmds are variables so that other test files of this package can extend
// them (a story that needs a test server adds its address to the environment in a Setup step).
var scriptSetups []func(*testscript.Env) error

func scriptSetup(env *testscript.Env) error {
	for _, s := range scriptSetups {
		if err := s(env); err != nil {
			return err
		}
	}
	return nil
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// empty DIR: DIR exists and holds nothing (patinject left no file behind).
	"empty": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: empty DIR")
		}
		entries, err := os.ReadDir(ts.MkAbs(args[0]))
		ts.Check(err)
		if neg {
			if len(entries) == 0 {
				ts.Fatalf("%s is empty", args[0])
			}
			return
		}
		for _, e := range entries {
			ts.Logf("left behind: %s", e.Name())
		}
		if len(entries) > 0 {
			ts.Fatalf("%s is not empty", args[0])
		}
	},
	// waitfile FILE: wait until FILE exists (a background command reached a point).
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		for range 600 {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Fatalf("%s did not appear within 30s", args[0])
	},
	// fileperm MODE FILE: FILE has exactly the permission bits MODE (octal).
	"fileperm": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: fileperm MODE FILE")
		}
		want, err := strconv.ParseUint(args[0], 8, 32)
		ts.Check(err)
		st, err := os.Stat(ts.MkAbs(args[1]))
		ts.Check(err)
		got := uint64(st.Mode().Perm())
		if (got == want) == neg {
			ts.Fatalf("%s has mode %s, want %s", args[1], fmt.Sprintf("%o", got), args[0])
		}
	},
}
