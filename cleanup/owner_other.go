//go:build !unix

package cleanup

import (
	"errors"
	"github.com/patinject/patinject/internal/privdir"
	"io/fs"
)

// oNoFollow: Windows has no O_NOFOLLOW; Lstat and SameFile stand in.
const oNoFollow = 0

// checkPrivateFile refuses what is not a regular file owned by this user (the owner SID of its
// security descriptor; its ACL is the one privdir gives what it creates).
func checkPrivateFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (a link or a device?)")
	}
	if !privdir.OwnedByMe(path, fi) {
		return errors.New("owned by another user")
	}
	return nil
}

func checkDirMode(fs.FileInfo) error { return nil }
