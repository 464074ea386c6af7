package cleanup

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustKey(t testing.TB) Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStateSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := mustKey(t), mustKey(t)
	r1 := Record{Platform: "github", Created: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Actions: []Action{{Kind: "ado-pat", ID: "a1", Params: map[string]string{"org": "contoso"}}}}
	r2 := Record{Platform: "github", Actions: []Action{{Kind: "dir", ID: "/tmp/patinject-1"}}}
	st := &State{}
	if err := st.Seal(k1, r1); err != nil {
		t.Fatal(err)
	}
	if err := st.Seal(k2, r2); err != nil {
		t.Fatal(err)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseState(b)
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := back.Open(k1)
	if err != nil || !found || got.Actions[0].ID != "a1" || !got.Created.Equal(r1.Created) {
		t.Fatalf("Open(k1) = %+v, %v, %v", got, found, err)
	}
	if _, found, err := back.Open(mustKey(t)); found || err != nil {
		t.Errorf("a key with no record: found %v, err %v", found, err)
	}
	// Re-indented by hand: still verifies (the MAC is over the compact form).
	var pretty bytes.Buffer
	json.Indent(&pretty, b, "", "\t\t")
	if again, err := ParseState(pretty.Bytes()); err != nil {
		t.Fatal(err)
	} else if _, _, err := again.Open(k2); err != nil {
		t.Errorf("re-indented: %v", err)
	}
	back.Remove(k1.ID())
	if back.Len() != 1 || back.KeyIDs()[0] != k2.ID() {
		t.Errorf("after Remove: %v", back.KeyIDs())
	}
}

// TestStateEditIsRefused: a later step that edits a record (an endpoint, a path) or writes one
// of its own under another's key id is found out.
func TestStateEditIsRefused(t *testing.T) {
	t.Parallel()
	k := mustKey(t)
	st := &State{}
	st.Seal(k, Record{Platform: "github", Actions: []Action{{Kind: "ado-pat", ID: "a1", Params: map[string]string{"ado-url": "https://vssps.dev.azure.com"}}}})
	b, _ := st.Marshal()
	for name, edit := range map[string]func(string) string{
		"endpoint": func(s string) string {
			return strings.Replace(s, `https://vssps.dev.azure.com`, `https://evil.example`, 1)
		},
		"path": func(s string) string { return strings.Replace(s, `"kind": "ado-pat"`, `"kind": "dir"`, 1) },
		"body": func(s string) string {
			return strings.Replace(s, `"body": {`, `"body": {"actions":[{"kind":"dir","id":"/home/u/.ssh"}],"x":{`, 1) + ""
		},
	} {
		edited := edit(string(b))
		if edited == string(b) {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		st2, err := ParseState([]byte(edited))
		if err != nil {
			continue // refused at parse: fine too
		}
		if _, _, err := st2.Open(k); !errors.Is(err, ErrForged) {
			t.Errorf("%s: Open after an edit: %v, want ErrForged", name, err)
		}
	}
	// A whole record forged under the right key id, with a made-up MAC.
	forged := strings.Replace(string(b), `"mac": "`, `"mac": "00`, 1)
	forged = forged[:strings.Index(forged, `"mac": "`)+8+64] + `"` + forged[strings.Index(forged, `"mac": "`)+8+66+1:]
	if st3, err := ParseState([]byte(forged)); err == nil {
		if _, _, err := st3.Open(k); !errors.Is(err, ErrForged) {
			t.Errorf("forged MAC: %v", err)
		}
	}
}

func TestParseStateRefusesOthers(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, `null`, `[]`, `{}`, `{"version":1,"platform":"github","actions":[{"kind":"dir","id":"/home/u/.ssh"}]}`,
		`{"version":2,"records":[{"kid":"zz","body":{},"mac":"00"}]}`,
		`{"version":2,"records":[{"kid":"0123456789abcdef","body":{},"mac":"` + strings.Repeat("0", 64) + `"},{"kid":"0123456789abcdef","body":{},"mac":"` + strings.Repeat("0", 64) + `"}]}`,
	} {
		if _, err := ParseState([]byte(in)); err == nil {
			t.Errorf("ParseState(%q): accepted", in)
		}
	}
}

func TestReadStateRefusesSharedOrLinkedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &State{}
	st.Seal(mustKey(t), Record{Platform: "local"})
	path := filepath.Join(dir, "state.json")
	if err := WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	if got, err := ReadState(path); err != nil || got.Len() != 1 {
		t.Fatalf("ReadState: %v, %v", got, err)
	}
	for _, mode := range []os.FileMode{0o620, 0o602, 0o666} {
		os.Chmod(path, mode)
		if _, err := ReadState(path); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("mode %o: %v", mode, err)
		}
	}
	os.Chmod(path, 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(path, link)
	if _, err := ReadState(link); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a link: %v", err)
	}
	if st, err := ReadState(filepath.Join(dir, "missing.json")); st != nil || err != nil {
		t.Errorf("missing: %v %v", st, err)
	}
}

func TestLocalKeys(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	k := mustKey(t)
	path, err := WriteLocalKey(dir, k)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o", fi.Mode().Perm())
	}
	got, ok, err := ReadLocalKey(dir, k.ID())
	if err != nil || !ok || got.Hex() != k.Hex() {
		t.Fatalf("ReadLocalKey: %v %v", ok, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := ReadLocalKey(dir, k.ID()); err == nil {
		t.Errorf("a key readable by others was accepted")
	}
	if _, ok, _ := ReadLocalKey(dir, mustKey(t).ID()); ok {
		t.Errorf("a missing key was found")
	}
	if _, _, err := ReadLocalKey(dir, "../../etc/passwd"); err == nil {
		t.Errorf("a key id that is a path was accepted")
	}
}

func TestKeyFromEnv(t *testing.T) {
	t.Parallel()
	k := mustKey(t)
	env := map[string]string{GitHubStateEnv: k.Hex(), AzureTaskVariableEnv: "not-a-key-Hunter2"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	if got, ok, err := KeyFromEnv("github", lookup); !ok || err != nil || got.ID() != k.ID() {
		t.Errorf("github: %v %v", ok, err)
	}
	if _, ok, err := KeyFromEnv("azure", lookup); !ok || err == nil || strings.Contains(err.Error(), "Hunter2") {
		t.Errorf("azure, bad key: %v %v", ok, err)
	}
	if _, ok, _ := KeyFromEnv("local", lookup); ok {
		t.Errorf("local has no env channel")
	}
}

// FuzzParseState: the reader of a file any later step can write never panics, never repeats
// the content in its errors, and what it accepts marshals and parses back to the same records;
// no record opens under a key that did not seal it.
func FuzzParseState(f *testing.F) {
	k := mustKey(f)
	st := &State{}
	st.Seal(k, Record{Platform: "github", Actions: []Action{{Kind: "ado-pat", ID: "a1", Manual: "az \x1b[2J", Params: map[string]string{"org": "x"}}}})
	good, _ := st.Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1,"actions":[]}`))
	f.Add([]byte(`{"version":2,"records":[]}`))
	other := mustKey(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseState(b)
		if err != nil {
			if len(b) >= 12 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("the error repeats the input: %v", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseState(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if strings.Join(again.KeyIDs(), ",") != strings.Join(s.KeyIDs(), ",") {
			t.Fatalf("records changed on a round trip")
		}
		if _, found, err := s.Open(other); found && err == nil {
			t.Fatalf("a record opened under a key that did not seal it")
		}
	})
}
