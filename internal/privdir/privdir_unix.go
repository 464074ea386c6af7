//go:build unix

package privdir

import (
	"os"
	"syscall"
)

func mkdirPrivate(path string) error {
	// The mode is reduced by the umask only, never widened: 0700 or less.
	return os.Mkdir(path, 0o700)
}

// createPrivate: O_EXCL fails on anything at path, a dangling link included; O_NOFOLLOW says the
// same again for the last component.
func createPrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
}
