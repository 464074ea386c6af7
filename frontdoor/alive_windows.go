//go:build windows

package frontdoor

import "os"

// alive reports whether process pid is running: on Windows, opening it fails once it is gone.
// (cleanup.ProcessStart is not known here: a reused id counts as alive.)
func alive(pid int, _ string) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
