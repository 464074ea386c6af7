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
