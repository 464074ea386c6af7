//go:build !windows

package frontdoor

import (
	"errors"
	"syscall"
)

// alive reports whether process pid is running (EPERM: it is, under another user).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
