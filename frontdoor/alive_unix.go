//go:build !windows

package frontdoor

import (
	"errors"
	"syscall"

	"github.com/patinject/patinject/cleanup"
)

// alive reports whether process pid is running (EPERM: it is, under another user) and, where
// start is known (cleanup.ProcessStart), is the process that started then, not a later one
// given the same id.
func alive(pid int, start string) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if now := cleanup.ProcessStart(pid); start != "" && now != "" && now != start {
		return false
	}
	return true
}
