//go:build windows

package frontdoor

import "os"

// alive reports whether process pid is running: on Windows, opening it fails once it is gone.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
