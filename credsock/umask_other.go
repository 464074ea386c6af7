//go:build !unix

package credsock

func umask(m int) int { return 0 }
