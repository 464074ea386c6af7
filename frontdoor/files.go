package frontdoor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/inject"
)

// reserveDir names a private directory for the files of one run, under the system's temporary
// directory, without making it: makePrivateDir does that when there is a file to write.
func reserveDir() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(os.TempDir(), "patinject-"+hex.EncodeToString(b[:])), nil
}

// makePrivateDir makes dir, 0700. Mkdir fails if anything, a planted symlink included, already
// has the name, so the directory is patinject's own as surely as os.MkdirTemp's would be.
func makePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating a private temporary directory: %w (set TMPDIR to a writable directory)", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.Remove(dir)
		return err
	}
	return nil
}

// privateDirIn makes it under base ("" is the system's temporary directory; `inject` uses the CI
// platform's per-job one).
func privateDirIn(base string) (string, error) {
	dir, err := os.MkdirTemp(base, "patinject-")
	if err != nil {
		return "", fmt.Errorf("creating a private temporary directory: %w (set TMPDIR to a writable directory)", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// writeFiles writes each file 0600, atomically: a reader sees the whole file or none.
func writeFiles(files []inject.File) error {
	for _, f := range files {
		if err := writeFile(f.Path, []byte(f.Content.Reveal())); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}

// writeFile writes b to path, 0600, atomically.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
