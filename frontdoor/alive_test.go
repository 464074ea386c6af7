//go:build linux

package frontdoor

import (
	"os"
	"testing"

	"github.com/patinject/patinject/cleanup"
)

// A journal's process id that a later process got (pid reuse, a reboot) is not that process.
func TestAliveKnowsAReusedPid(t *testing.T) {
	pid := os.Getpid()
	if !alive(pid, cleanup.ProcessStart(pid)) || !alive(pid, "") {
		t.Error("this process is not alive")
	}
	if alive(pid, "another-boot:12345") {
		t.Error("a process that started at another time counts as the journal's")
	}
	if alive(1<<22+1, "") {
		t.Error("a pid above pid_max is alive")
	}
}
