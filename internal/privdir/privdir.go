// Package privdir owns the files patinject writes: a private directory made for one run, and
// the files in it. Every file is created exclusively (it must not exist, so nothing planted
// beforehand is reused), without following a symbolic link or other reparse point, readable and
// writable by the current user only: mode 0600 in a 0700 directory on Unix, and on Windows,
// where modes mean nothing, a protected access control list that grants the current user alone.
// The directory is made by patinject itself (Mkdir fails on anything already there, a planted
// link included), and removing it removes only that directory, checked to still be the one made.
package privdir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Prefix starts the name of every private directory, under the temporary directory.
const Prefix = "patinject-"

// Dir is a private directory of one run. Its zero value is not usable: see Reserve and New.
type Dir struct {
	path string
	made fs.FileInfo // what Make created, to recognise it at removal; nil before
	held *os.File    // the held lock of MakeHeld, nil otherwise
}

// lockName is the file in a held directory that its run keeps locked while it lives.
const lockName = ".held"

// Reserve names a new private directory under base ("" is the system's temporary directory)
// without making it: a run that writes no file touches no disk.
func Reserve(base string) (*Dir, error) {
	if base == "" {
		base = os.TempDir()
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(base)
	if err != nil {
		return nil, err
	}
	return &Dir{path: filepath.Join(abs, Prefix+hex.EncodeToString(b[:]))}, nil
}

// New reserves and makes a private directory under base.
func New(base string) (*Dir, error) {
	d, err := Reserve(base)
	if err != nil {
		return nil, err
	}
	if err := d.Make(); err != nil {
		return nil, err
	}
	return d, nil
}

// Path is the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// Made reports whether Make has created the directory.
func (d *Dir) Made() bool { return d.made != nil }

// Make creates the directory, for the current user only. It fails if anything already has the
// name, a planted symbolic link included.
func (d *Dir) Make() error {
	if d.made != nil {
		return nil
	}
	if err := mkdirPrivate(d.path); err != nil {
		return fmt.Errorf("creating a private temporary directory: %w (set TMPDIR to a writable directory)", err)
	}
	st, err := os.Lstat(d.path)
	if err != nil {
		return err
	}
	d.made = st
	return nil
}

// MakeHeld makes the directory like Make, for a run that removes it when it ends: a lock file in
// it stays locked while this process lives, so that Sweep, in a later patinject, recognises and
// removes the directory if this process was killed before it could (SIGKILL, an OOM kill, a
// crash), on every system, without a watchdog.
func (d *Dir) MakeHeld() error {
	if err := d.Make(); err != nil {
		return err
	}
	if d.held != nil {
		return nil
	}
	f, err := createHeld(filepath.Join(d.path, lockName))
	if err != nil {
		os.RemoveAll(d.path)
		d.made = nil
		return fmt.Errorf("locking the private directory: %w", err)
	}
	d.held = f
	return nil
}

// WriteFile writes a new file name (a plain name, no separators) in the directory, making the
// directory first if needed, and returns its path.
func (d *Dir) WriteFile(name string, data []byte) (string, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return "", fmt.Errorf("privdir: %q is not a plain file name", name)
	}
	if err := d.Make(); err != nil {
		return "", err
	}
	p := filepath.Join(d.path, name)
	return p, WriteNew(p, data)
}

// Remove removes the directory and everything in it, if it is still the directory Make created
// (the same file: device and inode; not a link or another directory that took its name since;
// in a sticky temporary directory only its owner or root could have moved it). Removing a
// directory that was never made, or is gone already, is no error.
func (d *Dir) Remove() error {
	if d.made == nil {
		return nil
	}
	if d.held != nil {
		d.held.Close() // Windows removes no file that is open without delete sharing
		d.held = nil
	}
	st, err := os.Lstat(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !os.SameFile(st, d.made) {
		return fmt.Errorf("%s is no longer the private directory patinject made; left alone", d.path)
	}
	return os.RemoveAll(d.path)
}

// OwnedByMe reports whether the file or directory at path (fi its Lstat) is owned by the user
// this process runs as: its uid on Unix, the owner SID of its security descriptor on Windows.
func OwnedByMe(path string, fi os.FileInfo) bool { return ownedByMe(path, fi) }

// WriteNew creates the file path, which must not exist, and writes data to it: exclusively,
// without following a link at path, readable by the current user only. A failed write removes
// what was created.
func WriteNew(path string, data []byte) error {
	f, err := createPrivate(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// Replace writes data to path atomically, whether or not path exists: a reader sees the old file
// or the new one, never part of either. The new content goes to a temporary file created with
// WriteNew's guarantees in path's directory, which is then renamed over path (a rename replaces a
// link at path, it does not follow it).
func Replace(path string, data []byte) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+hex.EncodeToString(b[:]))
	if err := WriteNew(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Sweep removes the held private directories (MakeHeld) under base ("" is the system's
// temporary directory) whose process has died without removing them: each is a real directory
// (not a link), named like a private directory, owned by the current user, and its lock file
// can be locked, which only happens once the process that held it is gone. A directory made
// without a hold (inject's, which later steps use) is never touched. It returns what it removed.
func Sweep(base string) ([]string, error) {
	if base == "" {
		base = os.TempDir()
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		dir := filepath.Join(base, e.Name())
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() || !ownedByMe(dir, st) {
			continue
		}
		lock, ok := tryLock(filepath.Join(dir, lockName))
		if !ok {
			continue // held: its run is alive; or no lock file: not a run's directory
		}
		// Still the same directory, and locked by us now: nobody else can be using it.
		if again, err := os.Lstat(dir); err != nil || !os.SameFile(st, again) {
			lock.Close()
			continue
		}
		lock.Close()
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}
