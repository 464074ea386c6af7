//go:build windows

package privdir

import (
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// securityAttributes carry the owner-only security descriptor (see ownerOnlySDDL) of the
// current user, so that the file or directory is private from the moment it exists: no window
// in which it has the parent's inherited ACL.
func securityAttributes(dir bool) (*windows.SecurityAttributes, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString(ownerOnlySDDL(u.User.Sid.String(), dir))
	if err != nil {
		return nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}

// mkdirPrivate: CreateDirectory fails on anything at path, a link or junction included.
func mkdirPrivate(path string) error {
	sa, err := securityAttributes(true)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	if err := windows.CreateDirectory(p, sa); err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// createPrivate: CREATE_NEW fails on anything at path; FILE_FLAG_OPEN_REPARSE_POINT opens a
// reparse point (a symbolic link, a junction) itself instead of its target, so nothing is
// followed even where CREATE_NEW would not stop it; no sharing while patinject writes.
func createPrivate(path string) (*os.File, error) {
	sa, err := securityAttributes(false)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// createHeld creates the lock file of a held directory, open with no sharing for as long as this
// process keeps it: no one else can open it until the handle closes, which Windows does when the
// process ends, however it ends.
func createHeld(path string) (*os.File, error) {
	return createPrivate(path) // CREATE_NEW, share mode 0, owner-only DACL
}

// tryLock opens an existing lock file with no sharing; ok is false when it is missing, a reparse
// point, or still open in a live process (a sharing violation).
func tryLock(path string) (*os.File, bool) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, false
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, false
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil || info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		windows.CloseHandle(h)
		return nil, false
	}
	return os.NewFile(uintptr(h), path), true
}

// ownedByMe: the directory's owner is the current user.
func ownedByMe(path string, _ os.FileInfo) bool {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return false
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return false
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	return err == nil && owner.Equals(u.User.Sid)
}
