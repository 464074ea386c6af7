package cleanup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlacesRemoveOnlyOwn is issue 9, item 2: cleanup removes what patinject made, checked on
// disk, and refuses any other path a state names (~/.ssh, a link into it, a look-alike).
func TestPlacesRemoveOnlyOwn(t *testing.T) {
	t.Parallel()
	temp, home := t.TempDir(), t.TempDir()
	p := Places{TempDirs: []string{temp}}
	mk := func(path string, mode os.FileMode) string {
		if err := os.MkdirAll(path, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		os.WriteFile(filepath.Join(path, "f"), []byte("x"), 0o600)
		return path
	}
	own := mk(filepath.Join(temp, "patinject-1234567890"), 0o700)
	summary := own + "-summary.md"
	os.WriteFile(summary, []byte("# s"), 0o600)
	dotenv := filepath.Join(home, "ci.env")
	os.WriteFile(dotenv, []byte("export A=b\n"), 0o600)

	ssh := mk(filepath.Join(home, ".ssh"), 0o700)
	lookAlikeElsewhere := mk(filepath.Join(home, "patinject-1234"), 0o700)
	wrongMode := mk(filepath.Join(temp, "patinject-99"), 0o755)
	notOurName := mk(filepath.Join(temp, "build-cache"), 0o700)
	link := filepath.Join(temp, "patinject-77")
	os.Symlink(ssh, link)
	userFile := filepath.Join(home, "notes.txt")
	os.WriteFile(userFile, []byte("mine"), 0o600)

	for _, act := range []Action{
		{Kind: "dir", ID: ssh},
		{Kind: "dir", ID: lookAlikeElsewhere},
		{Kind: "dir", ID: wrongMode},
		{Kind: "dir", ID: notOurName},
		{Kind: "dir", ID: link},
		{Kind: "dir", ID: filepath.Join(temp, "patinject-1234567890", "..", "..", filepath.Base(home), ".ssh")},
		{Kind: "file", ID: userFile},
		{Kind: "file", ID: filepath.Join(ssh, "f")},
		{Kind: "file", ID: dotenv, Params: map[string]string{ParamSHA256: SHA256([]byte("something else"))}},
		{Kind: "dir", ID: "relative/patinject-1"},
	} {
		if err := p.Remove(act); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("Remove(%s %s): %v, want refused", act.Kind, act.ID, err)
		}
	}
	for _, path := range []string{ssh, filepath.Join(ssh, "f"), lookAlikeElsewhere, wrongMode, notOurName, userFile, dotenv} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s was removed: %v", path, err)
		}
	}

	for _, act := range []Action{
		{Kind: "file", ID: filepath.Join(own, "f")},
		{Kind: "file", ID: summary},
		{Kind: "file", ID: dotenv, Params: map[string]string{ParamSHA256: SHA256([]byte("export A=b\n"))}},
		{Kind: "dir", ID: own},
		{Kind: "dir", ID: own}, // already gone: no error
	} {
		if err := p.Remove(act); err != nil {
			t.Errorf("Remove(%s %s): %v", act.Kind, act.ID, err)
		}
	}
	for _, path := range []string{own, summary, dotenv} {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("%s is still there", path)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"", "https://vssps.dev.azure.com"},
		{"https://vssps.dev.azure.com", "https://vssps.dev.azure.com/"},
		{"https://VSSPS.dev.azure.com:443/", "https://vssps.dev.azure.com"},
		{"http://127.0.0.1:8200", "http://127.0.0.1:8200/"},
	} {
		if err := CheckEndpoint("--ado-url", c[0], c[1]); err != nil {
			t.Errorf("%q vs %q: %v", c[0], c[1], err)
		}
	}
	err := CheckEndpoint("--ado-url", "https://u:Hunter2@evil.example/x?k=Hunter2", "https://vssps.dev.azure.com")
	if err == nil || !strings.Contains(err.Error(), "https://evil.example/x") || !strings.Contains(err.Error(), "https://vssps.dev.azure.com") || strings.Contains(err.Error(), "Hunter2") {
		t.Errorf("got %v", err)
	}
	if CheckEndpoint("VAULT_ADDR", "http://127.0.0.1:8201", "http://127.0.0.1:8200") == nil {
		t.Errorf("another port was accepted")
	}
}

// The names patinject gives its private directories and summaries, and nothing else.
func TestPrivateNames(t *testing.T) {
	for name, want := range map[string]bool{
		"patinject-0123abcd": true, "patinject-" + strings.Repeat("f", 64): true,
		"patinject-abc": false, "patinject-" + strings.Repeat("f", 65): false,
		"patinject-0123ABCD": false, "patinject-0123abcg": false, "patinject-": false,
		"xpatinject-0123abcd": false, "patinject-0123abcd/..": false, "patinject-0123abcd-summary.md": false,
	} {
		if got := privateDirName(name); got != want {
			t.Errorf("privateDirName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{
		"patinject-0123abcd-summary.md": true, "patinject-0123abcd-summary.mdx": false,
		"patinject-0123abcd": false, "patinject-xyz1-summary.md": false, "patinject--summary.md": false,
	} {
		if got := summaryName(name); got != want {
			t.Errorf("summaryName(%q) = %v, want %v", name, got, want)
		}
	}
}

// A recorded SHA-256 lets a file outside patinject's directories go only when the record was
// verified: whoever forged an unverified one could read the file and hash it.
func TestUnverifiedSHA256RemovesNothing(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "user-notes.txt")
	if err := os.WriteFile(victim, []byte("the user's own file"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := fileSHA256(victim)
	if err != nil {
		t.Fatal(err)
	}
	act := Action{Kind: "file", ID: victim, Params: map[string]string{ParamSHA256: sum}}
	if err := (Places{TempDirs: []string{dir}, Unverified: true}).Remove(act); err == nil {
		t.Errorf("an unverified record removed %s by its SHA-256", victim)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the file is gone: %v", err)
	}
	if err := (Places{TempDirs: []string{dir}}).Remove(act); err != nil {
		t.Errorf("a verified record with the file's SHA-256: %v", err)
	}
}
