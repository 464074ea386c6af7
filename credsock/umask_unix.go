//go:build unix

package credsock

import "syscall"

func umask(m int) int { return syscall.Umask(m) }
