//go:build unix

package privdir

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be a run that holds a private directory until it is killed.
func TestMain(m *testing.M) {
	if base := os.Getenv("PRIVDIR_TEST_HOLD_IN"); base != "" {
		d, err := Reserve(base)
		if err == nil {
			err = d.MakeHeld()
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(d.Path())
		time.Sleep(10 * time.Minute)
	}
	os.Exit(m.Run())
}

// A process that holds a directory is killed (SIGKILL: nothing of it runs): the kernel releases
// its lock, and Sweep in a later process removes the directory; while it lived, Sweep did not.
func TestSweepAfterSIGKILL(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "PRIVDIR_TEST_HOLD_IN="+base)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(strings.TrimSpace(line), base) {
		c.Process.Kill()
		t.Fatalf("helper said %q, %v", line, err)
	}
	dir := strings.TrimSpace(line)
	if removed, err := Sweep(base); err != nil || len(removed) != 0 {
		t.Fatalf("while the holder lives, Sweep removed %q (%v)", removed, err)
	}
	c.Process.Kill()
	c.Wait()
	removed, err := Sweep(base)
	if err != nil || len(removed) != 1 || removed[0] != dir {
		t.Fatalf("after SIGKILL, Sweep removed %q (%v), want %s", removed, err, dir)
	}
}
