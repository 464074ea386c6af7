package frontdoor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
)

// writeFiles writes each file of a plan, 0600 and exclusively (privdir.WriteNew), into the
// private directory patinject has just made: a reader sees the files only once the handover is
// done. A launcher (File.Exec) goes into a subdirectory made 0700 here, and is made 0700.
func writeFiles(files []inject.File) error {
	for _, f := range files {
		if f.Exec {
			if err := os.Mkdir(filepath.Dir(f.Path), 0o700); err != nil {
				// Only a directory made earlier in this loop will do, never a link.
				if st, lerr := os.Lstat(filepath.Dir(f.Path)); lerr != nil || !st.IsDir() {
					return fmt.Errorf("making %s: %w", filepath.Dir(f.Path), err)
				}
			}
		}
		if err := privdir.WriteNew(f.Path, []byte(f.Content.Reveal())); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		if f.Exec {
			if err := os.Chmod(f.Path, 0o700); err != nil {
				return fmt.Errorf("writing %s: %w", f.Path, err)
			}
		}
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
