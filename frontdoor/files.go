package frontdoor

import (
	"errors"
	"fmt"
	"os"

	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/privdir"
)

// writeFiles writes each file of a plan, 0600 and exclusively (privdir.WriteNew), into the
// private directory patinject has just made: a reader sees the files only once the handover is
// done.
func writeFiles(files []inject.File) error {
	for _, f := range files {
		if err := privdir.WriteNew(f.Path, []byte(f.Content.Reveal())); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
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
