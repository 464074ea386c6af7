//go:build unix

package cleanup

import (
	"errors"
	"fmt"
	"github.com/patinject/patinject/internal/privdir"
	"io/fs"
	"syscall"
)

const oNoFollow = syscall.O_NOFOLLOW

// checkPrivateFile refuses what is not a regular file owned by this user, writable by no one else.
func checkPrivateFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (a link or a device?)")
	}
	if !privdir.OwnedByMe(path, fi) {
		return errors.New("owned by another user")
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("writable by group or others (mode %04o)", fi.Mode().Perm())
	}
	return nil
}

// checkDirMode refuses a directory whose mode is not the 0700 patinject makes.
func checkDirMode(fi fs.FileInfo) error {
	if fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("mode %04o, not the 0700 patinject makes", fi.Mode().Perm())
	}
	return nil
}
