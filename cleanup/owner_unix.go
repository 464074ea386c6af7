//go:build unix

package cleanup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

const oNoFollow = syscall.O_NOFOLLOW

// ownedByMe reports whether fi is owned by the user this process runs as.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// checkPrivateFile refuses what is not a regular file owned by this user, writable by no one else.
func checkPrivateFile(fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (a link or a device?)")
	}
	if !ownedByMe(fi) {
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
