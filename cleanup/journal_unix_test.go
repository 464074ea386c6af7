//go:build unix

package cleanup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// File modes and symbolic links are Unix's: on Windows the owner SID decides (privdir's tests).

// A journal file others could have written is not read, and the error names it; the other
// journals of the directory still are.
func TestOrphansRefusesJournalsOthersCouldWrite(t *testing.T) {
	dir := t.TempDir()
	line := `{"op":"begin","seq":1,"kind":"ado-pat","params":{"org":"contoso","name":"patinject x 1a2b3c4d"},"pid":999999999}` + "\n"
	good := filepath.Join(dir, JournalPrefix+"1-aaaaaaaaaaaa"+JournalSuffix)
	open := filepath.Join(dir, JournalPrefix+"2-bbbbbbbbbbbb"+JournalSuffix)
	link := filepath.Join(dir, JournalPrefix+"3-cccccccccccc"+JournalSuffix)
	os.WriteFile(good, []byte(line), 0o600)
	os.WriteFile(open, []byte(line), 0o600)
	os.Chmod(open, 0o666)
	os.Symlink(good, link)
	files := []string{open, link}
	theirs := ""
	if os.Geteuid() == 0 {
		// As root the test can also plant one owned by another user: read by no one but its
		// owner's patinject, and no warning (a shared temporary directory holds many).
		theirs = filepath.Join(dir, JournalPrefix+"4-dddddddddddd"+JournalSuffix)
		os.WriteFile(theirs, []byte(line), 0o600)
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Orphans(dir, nil)
	if len(got) != 1 || got[0].File != good {
		t.Errorf("orphans %+v, want only the one of %s", got, good)
	}
	for _, f := range files {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("the error does not name %s: %v", f, err)
		}
	}
	if theirs != "" && err != nil && strings.Contains(err.Error(), theirs) {
		t.Errorf("another user's journal is a warning: %v", err)
	}
}
