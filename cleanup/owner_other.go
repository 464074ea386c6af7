//go:build !unix

package cleanup

import (
	"errors"
	"io/fs"
)

// oNoFollow: Windows has no O_NOFOLLOW; Lstat and SameFile stand in.
const oNoFollow = 0

// ownedByMe: file ownership on Windows is an ACL question this check does not answer; the
// files patinject makes live in the user's own profile or the job's temp directory.
func ownedByMe(fs.FileInfo) bool { return true }

func checkPrivateFile(fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (a link or a device?)")
	}
	return nil
}

func checkDirMode(fs.FileInfo) error { return nil }
