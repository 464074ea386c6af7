package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
)

func TestWriteFileIsPrivateAndExclusive(t *testing.T) {
	t.Parallel()
	d, err := Reserve(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Reserve made the directory: %v", err)
	}
	p, err := d.WriteFile("netrc", []byte("machine h password p\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "machine h password p\n" {
		t.Fatalf("content %q", b)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(d.Path()); st.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %o", st.Mode().Perm())
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("file mode %o", st.Mode().Perm())
		}
	}
	if _, err := d.WriteFile("netrc", []byte("again")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("a second write of the same name: %v, want ErrExist", err)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x"} {
		if _, err := d.WriteFile(bad, nil); err == nil {
			t.Errorf("WriteFile(%q) was accepted", bad)
		}
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
	if err := d.Remove(); err != nil {
		t.Fatalf("a second Remove: %v", err)
	}
}

// A link planted where a file or the directory will be is never followed: the write fails and
// the link's target is untouched.
func TestPlantedLinksAreNotFollowed(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	targetDir := filepath.Join(base, "target-dir")
	if err := os.Mkdir(targetDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// A link at a file's name, to a file and dangling.
	for _, to := range []string{target, filepath.Join(base, "nowhere")} {
		link := filepath.Join(base, "link-"+filepath.Base(to))
		if err := os.Symlink(to, link); err != nil {
			noSymlinks(t, err)
		}
		if err := WriteNew(link, []byte("secret")); err == nil {
			t.Fatalf("WriteNew followed a link to %s", to)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("the link's target now holds %q", b)
	}
	if _, err := os.Lstat(filepath.Join(base, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a dangling link's target was created")
	}

	// A link at the directory's name.
	d, err := Reserve(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(targetDir, d.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteFile("netrc", []byte("secret")); err == nil {
		t.Fatal("the private directory was a planted link, and was used")
	}
	if entries, _ := os.ReadDir(targetDir); len(entries) != 0 {
		t.Fatalf("a file went through the link: %v", entries)
	}
	// Remove leaves alone what it did not make.
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path()); err != nil {
		t.Fatal("Remove removed a link it did not make")
	}
}

// Remove leaves a directory alone that took the name after the one made was moved away.
func TestRemoveOnlyWhatItMade(t *testing.T) {
	t.Parallel()
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(d.Path(), d.Path()+"-moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d.Path(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Path(), "theirs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err == nil || !strings.Contains(err.Error(), "no longer") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if _, err := os.Lstat(filepath.Join(d.Path(), "theirs")); err != nil {
		t.Fatal("Remove removed a directory it did not make")
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, content := range []string{"one", "two"} {
		if err := Replace(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Fatalf("got %q, want %q", b, content)
		}
	}
	// A link at the name is replaced, not followed.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious"), 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		noSymlinks(t, err)
	}
	if err := Replace(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("Replace wrote through a link: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestOwnerOnlySDDL(t *testing.T) {
	const sid = "S-1-5-21-1-2-3-1001"
	if got, want := ownerOnlySDDL(sid, false), "O:"+sid+"D:P(A;;FA;;;"+sid+")"; got != want {
		t.Errorf("file: got %s, want %s", got, want)
	}
	if got, want := ownerOnlySDDL(sid, true), "O:"+sid+"D:P(A;OICI;FA;;;"+sid+")"; got != want {
		t.Errorf("dir: got %s, want %s", got, want)
	}
}

// Sweep removes a held directory whose holder is gone, and nothing else: not a live run's, not
// inject's (never held), not through a link.
func TestSweep(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	held := func() *Dir {
		d, err := Reserve(base)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.MakeHeld(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.WriteFile("netrc", []byte("secret")); err != nil {
			t.Fatal(err)
		}
		return d
	}
	alive := held()
	dead := held()
	dead.held.Close() // what the kernel does when the process dies
	dead.held = nil
	unheld, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	// A link named like a private directory, to a dead run's directory elsewhere.
	elsewhere := t.TempDir()
	other, err := Reserve(elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.MakeHeld(); err != nil {
		t.Fatal(err)
	}
	other.held.Close()
	other.held = nil
	link := filepath.Join(base, Prefix+"link")
	if err := os.Symlink(other.Path(), link); err != nil {
		link = other.Path() // no symbolic links here (Windows without the privilege)
	}

	removed, err := Sweep(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dead.Path() {
		t.Fatalf("removed %q, want only %s", removed, dead.Path())
	}
	for _, p := range []string{alive.Path(), unheld.Path(), link, other.Path()} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if err := alive.Remove(); err != nil {
		t.Fatal(err)
	}
}

// noSymlinks skips where symbolic links need a privilege (Windows without developer mode); on
// Unix, or under CI=true, a machine that cannot make one is a failure, not a skip.
func noSymlinks(t *testing.T, err error) {
	t.Helper()
	if runtime.GOOS != "windows" || os.Getenv("CI") == "true" {
		t.Fatalf("cannot make a symbolic link: %v", err)
	}
	testpeer.Missing(t, fmt.Sprintf("cannot make symbolic links here: %v", err))
}
