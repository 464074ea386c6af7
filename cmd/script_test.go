package cmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/source/adopat"
)

// TestMain lets the test binary act as the patinject command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(privateStateDir{m}, map[string]func(){
		"patinject": func() {
			// The lifecycle stories kill patinject right after it minted (PATINJECT_TEST_KILL_AFTER_CREATE),
			// which only test binaries can (adopat.CrashHook).
			adopat.CrashHook = func() {
				if os.Getenv("PATINJECT_TEST_KILL_AFTER_CREATE") == "1" {
					p, _ := os.FindProcess(os.Getpid())
					_ = p.Kill()
					select {}
				}
			}
			os.Exit(cmd.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// privateStateDir runs the tests with a state directory of their own, so that the journals and
// keys of the in-process runs never land in the real ~/.local/state/patinject.
type privateStateDir struct{ m *testing.M }

func (p privateStateDir) Run() int {
	dir, err := os.MkdirTemp("", "patinject-cmd-test-state-")
	if err != nil {
		return p.m.Run()
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_STATE_HOME", dir)
	return p.m.Run()
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
	// poststate FILE: what the GitHub runner does for a post step: each NAME of the GITHUB_STATE
	// FILE (NAME<<DELIM blocks) becomes the variable STATE_NAME.
	"poststate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: poststate FILE")
		}
		lines := strings.Split(ts.ReadFile(args[0]), "\n")
		for i := 0; i < len(lines); i++ {
			name, delim, ok := strings.Cut(lines[i], "<<")
			if !ok {
				continue
			}
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			ts.Setenv("STATE_"+name, strings.Join(val, "\n"))
		}
	},
	// postjob: what the Azure Pipelines agent does for a task's post-job step: each
	// ##vso[task.settaskvariable variable=NAME;...]VALUE in the last command's stdout becomes the
	// variable VSTS_TASKVARIABLE_NAME.
	"postjob": func(ts *testscript.TestScript, neg bool, args []string) {
		n := 0
		for _, l := range strings.Split(ts.ReadFile("stdout"), "\n") {
			rest, ok := strings.CutPrefix(l, "##vso[task.settaskvariable variable=")
			if !ok {
				continue
			}
			head, value, _ := strings.Cut(rest, "]")
			name, _, _ := strings.Cut(head, ";")
			ts.Setenv("VSTS_TASKVARIABLE_"+strings.ToUpper(name), value)
			n++
		}
		if n == 0 && !neg {
			ts.Fatalf("postjob: no task variable in stdout")
		}
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
