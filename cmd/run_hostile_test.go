//go:build unix

package cmd_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["gone"] = cmdGone
	scriptCmds["plant"] = cmdPlant
}

// plant BASE TARGET SUFFIX...: wait (30s at most) for patinject's private directory to appear in
// BASE, then plant a symbolic link to TARGET at the directory's path plus each SUFFIX
// ("-summary.md" beside it, "/netrc" in it), as a hostile process of the same user could.
func cmdPlant(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: plant BASE TARGET SUFFIX...")
	}
	base, target := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	for range 600 {
		matches, _ := filepath.Glob(filepath.Join(base, "patinject-*"))
		for _, m := range matches {
			if st, err := os.Lstat(m); err == nil && st.IsDir() {
				for _, suffix := range args[2:] {
					ts.Check(os.Symlink(target, m+suffix))
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("no private directory appeared in %s", args[0])
}

// gone PIDFILE...: each process whose pid a file holds has ended (a zombie waiting for its
// reaper counts as ended), within 30s. With !, each one is still running.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: gone PIDFILE...")
	}
	for _, f := range args {
		b, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		ts.Check(err)
		if neg {
			if !running(pid) {
				ts.Fatalf("process %d (%s) is not running", pid, f)
			}
			continue
		}
		ended := false
		for range 600 {
			if !running(pid) {
				ended = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ended {
			syscall.Kill(pid, syscall.SIGKILL) // leave nothing behind for the next story
			ts.Fatalf("process %d (%s) still runs 30s later", pid, f)
		}
	}
}

// running: the process exists and is not a zombie.
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
