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

// createHeld creates the lock file of a held directory and locks it (flock, exclusive) for as
// long as this process keeps it open; the kernel releases the lock when the process dies. The
// descriptor is close-on-exec: the command does not inherit the hold.
func createHeld(path string) (*os.File, error) {
	f, err := createPrivate(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tryLock locks an existing lock file without waiting; ok is false when it is missing, not a
// regular file, or held by a live process.
func tryLock(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// ownedByMe: the directory's owner is this process's user.
func ownedByMe(_ string, st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
