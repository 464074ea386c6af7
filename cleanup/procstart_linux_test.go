package cleanup

import (
	"os"
	"os/exec"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
)

// A process's start names it apart from a later process given the same id: this process's own
// is stable, another process's differs, and a journal records it.
func TestProcessStart(t *testing.T) {
	me := ProcessStart(os.Getpid())
	if me == "" || me != ProcessStart(os.Getpid()) {
		t.Fatalf("ProcessStart of this process: %q", me)
	}
	c := exec.Command("sleep", "5")
	if err := c.Start(); err != nil {
		testpeer.Missing(t, "sleep: "+err.Error()) // the start of another process is what is under test; sleep is in every base image
	}
	defer c.Process.Kill()
	if other := ProcessStart(c.Process.Pid); other == "" || other == me {
		t.Errorf("ProcessStart of another process: %q (this one's %q)", other, me)
	}
	if ProcessStart(1<<22+1) != "" {
		t.Errorf("a pid above pid_max has a start")
	}
	dir := t.TempDir()
	NewJournal(dir).Begin("ado-pat", nil)
	got, err := Orphans(dir, nil)
	if err != nil || len(got) != 1 || got[0].Start != me {
		t.Errorf("the journal's start: %+v, %v (want %q)", got, err, me)
	}
}
