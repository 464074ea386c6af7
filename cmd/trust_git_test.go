package cmd_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
)

// TestGitRedirectKeepsCredentialInPrefix is issue 9, item 4: a server under a --git prefix
// answers 302 to another host that lets anyone read and push. git follows the redirect of its
// first request and sends every later request (the POST of upload-pack or receive-pack) to the
// other host; the credential for the prefix must never go with them, in protocol v0 or v2,
// for a clone or a push, with the fixed header or with the credential helper.
func TestGitRedirectKeepsCredentialInPrefix(t *testing.T) {
	e := newToolEnv(t, nil)
	b := gitserver.StartOn(t, "127.0.0.2:0", "", "") // anonymous read and push, logs every header
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimSuffix(b.URL, "/")+r.URL.RequestURI(), http.StatusFound)
	}))
	a.Listener.Close()
	a.Listener = ln
	a.Start()
	t.Cleanup(a.Close)
	prefix := a.URL + "/"

	// A local repository with a commit, to push from.
	src := filepath.Join(e.work, "src")
	if code, _ := e.without(e.work, "git", "clone", "-q", b.Repo, src); code != 0 {
		t.Fatalf("cloning b directly: exit %d", code)
	}
	if code, _ := e.without(src, "git", "commit", "-q", "--allow-empty", "-m", "second"); code != 0 {
		t.Fatal("git commit failed")
	}
	before := len(b.Log.Requests())

	bin := testpeer.Command(t, "patinject")
	for _, version := range []string{"0", "2"} {
		clone := []string{"git", "-c", "protocol.version=" + version, "clone", "-q", prefix + "repo.git"}
		push := []string{"git", "-C", src, "-c", "protocol.version=" + version, "push", "-q", prefix + "repo.git", "HEAD:refs/heads/v" + version}
		// The fixed header (in-process run).
		if code, _, _ := e.patinject([]string{"--git", prefix}, append(clone, filepath.Join(e.work, "header-v"+version))...); code != 128 {
			t.Errorf("protocol v%s: clone through a redirect with the fixed header: exit %d, want 128 (not followed)", version, code)
		}
		if code, _, _ := e.patinject([]string{"--git", prefix}, push...); code != 128 {
			t.Errorf("protocol v%s: push through a redirect with the fixed header: exit %d, want 128 (not followed)", version, code)
		}
		// The credential helper (git runs the patinject executable).
		for _, command := range [][]string{append(clone, filepath.Join(e.work, "helper-v"+version)), push} {
			c := exec.Command(bin, append([]string{"run", "--token", "env:T", "--username", toolUser, "--git", prefix, "--git-credential-helper", "--"}, command...)...)
			c.Dir = e.work
			out, _ := c.CombinedOutput()
			t.Logf("patinject run --git-credential-helper -- %s:\n%s", strings.Join(command, " "), e.redact(string(out)))
		}
	}
	// A host that asks for a credential (401): git asks its helpers for that host's URL, and
	// patinject's helper, set for the prefix only, is not asked, nor would it answer.
	asking := gitserver.StartOn(t, "127.0.0.2:0", toolUser, e.token)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimSuffix(asking.URL, "/")+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	a2.Listener.Close()
	a2.Listener = ln2
	a2.Start()
	t.Cleanup(a2.Close)
	for _, helper := range []bool{false, true} {
		args := []string{"run", "--token", "env:T", "--username", toolUser, "--git", a2.URL + "/"}
		if helper {
			args = append(args, "--git-credential-helper")
		}
		c := exec.Command(bin, append(args, "--", "git", "clone", "-q", a2.URL+"/repo.git", filepath.Join(e.work, fmt.Sprintf("asking-%v", helper)))...)
		c.Dir = e.work
		out, _ := c.CombinedOutput()
		t.Logf("%s:\n%s", strings.Join(args, " "), e.redact(string(out)))
	}
	for _, r := range asking.Log.Authorized() {
		t.Errorf("the host that asks for a credential after a redirect received one: %s %s", r.Method, r.Path)
	}
	for _, r := range b.Log.Authorized() {
		t.Errorf("the host the redirect pointed to received a credential: %s %s (Authorization: %d bytes)", r.Method, r.Path, len(r.Authorization))
	}
	t.Logf("the other host saw %d requests after the redirects", len(b.Log.Requests())-before)
}
