package cmd_test

// Integration tests of the tool injectors with the real clients: git through git http-backend,
// curl, npm against verdaccio, NuGet.exe on mono. Each tool succeeds through `patinject run`
// and fails (401) without it; each server records the Authorization headers it saw, so the
// tests show the credential reaches only its own URL prefix. Afterwards no file patinject wrote
// remains, no file anywhere in the test's HOME, TMPDIR or work directories holds a form of the
// token, and the user's own ~/.gitconfig, ~/.npmrc, NuGet.Config and ~/.netrc are unchanged.
//
// These tests set the process environment (cmd.Main reads it), so they do not run in parallel.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/inject"
	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/authlog"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/secret"
)

const toolUser = "ci"

// toolEnv is one test's surroundings: an isolated HOME holding the user's own tool
// configuration, a TMPDIR of its own, and the token in $T.
type toolEnv struct {
	t         *testing.T
	home, tmp string
	work      string // a directory for the test's checkouts and projects
	token     string
	own       map[string]string // the user's own config files and their content
}

// userFiles are the user's own configuration, written before and compared after.
var userFiles = map[string]string{
	".gitconfig": "[user]\n\tname = Someone\n\temail = someone@example.invalid\n[init]\n\tdefaultBranch = main\n",
	".npmrc":     "fund=false\naudit=false\nupdate-notifier=false\n",
	".netrc":     "machine unrelated.example login someone password theirs\n",
	".config/NuGet/NuGet.Config": `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
  </packageSources>
</configuration>
`,
}

func newToolEnv(t *testing.T, own map[string]string) *toolEnv {
	t.Helper()
	token := make([]byte, 12)
	if _, err := rand.Read(token); err != nil {
		t.Fatal(err)
	}
	e := &toolEnv{t: t, home: t.TempDir(), tmp: t.TempDir(), work: t.TempDir(), token: "pat-" + hex.EncodeToString(token), own: map[string]string{}}
	for name, content := range userFiles {
		e.own[name] = content
	}
	for name, content := range own {
		e.own[name] = content
	}
	for name, content := range e.own {
		path := filepath.Join(e.home, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", e.home)
	t.Setenv("TMPDIR", e.tmp)
	t.Setenv("T", e.token)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_TERMINAL_PROMPT", "0")
	t.Setenv("GIT_ASKPASS", "")
	t.Setenv("SSH_ASKPASS", "")
	for _, name := range []string{"GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_GLOBAL", "NETRC", "CURL_HOME",
		"XDG_CONFIG_HOME", "NPM_CONFIG_USERCONFIG", "npm_config_userconfig", "NUGET_PACKAGES", "CI"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	t.Cleanup(e.checkAfter)
	return e
}

// patinject runs `patinject run` in-process with the token and user given, then CMD.
func (e *toolEnv) patinject(flags []string, command ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	args := []string{"patinject", "run", "--token", "env:T", "--username", toolUser}
	args = append(args, flags...)
	args = append(args, "--")
	args = append(args, command...)
	var out, errb bytes.Buffer
	code = cmd.Main(args, strings.NewReader(""), &out, &errb)
	e.t.Logf("patinject run %s -- %s: exit %d\n%s%s", strings.Join(flags, " "), strings.Join(command, " "), code, out.String(), errb.String())
	e.checkNoPrivateDir()
	return code, out.String(), errb.String()
}

// without runs CMD as it is, in the same environment, without patinject.
func (e *toolEnv) without(dir string, command ...string) (code int, output string) {
	e.t.Helper()
	c := exec.Command(command[0], command[1:]...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("%s: %v", command[0], err)
	}
	e.t.Logf("without patinject: %s: exit %d\n%s", strings.Join(command, " "), code, e.redact(string(out)))
	return code, string(out)
}

// forms are the token's forms that must not be found in any file afterwards.
func (e *toolEnv) forms() []string {
	return []string{
		e.token,
		base64.StdEncoding.EncodeToString([]byte(toolUser + ":" + e.token)),
		base64.StdEncoding.EncodeToString([]byte(e.token)),
	}
}

func (e *toolEnv) redact(s string) string {
	for _, f := range e.forms() {
		s = strings.ReplaceAll(s, f, "***")
	}
	return s
}

// checkNoPrivateDir fails when a private directory of patinject's is left in TMPDIR.
func (e *toolEnv) checkNoPrivateDir() {
	e.t.Helper()
	entries, err := os.ReadDir(e.tmp)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "patinject-") {
			e.t.Errorf("left behind in TMPDIR: %s", en.Name())
		}
	}
}

// checkAfter is run when the test ends: the user's files are as they were, and no file holds
// the token in any form.
func (e *toolEnv) checkAfter() {
	e.checkNoPrivateDir()
	for name, want := range e.own {
		got, err := os.ReadFile(filepath.Join(e.home, filepath.FromSlash(name)))
		if err != nil {
			e.t.Errorf("~/%s: %v", name, err)
			continue
		}
		if string(got) != want {
			e.t.Errorf("~/%s changed:\ngot  %q\nwant %q", name, got, want)
		}
	}
	for _, root := range []string{e.home, e.tmp, e.work} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for i, f := range e.forms() {
				if bytes.Contains(b, []byte(f)) {
					e.t.Errorf("%s holds form %d of the token", path, i)
				}
			}
			return nil
		})
	}
}

// checkOnlyUnder fails when a request outside prefix (a URL path) carried a credential.
func checkOnlyUnder(t *testing.T, what string, log *authlog.Log, prefix string) {
	t.Helper()
	for _, r := range log.Authorized() {
		if !strings.HasPrefix(r.Path, prefix) {
			t.Errorf("%s: %s %s carried a credential, outside %s", what, r.Method, r.Path, prefix)
		}
	}
}

// checkNever fails when any request to the server carried a credential.
func checkNever(t *testing.T, what string, log *authlog.Log) {
	t.Helper()
	if n := len(log.Requests()); n == 0 {
		t.Errorf("%s: saw no request at all, so it proves nothing", what)
	}
	for _, r := range log.Authorized() {
		t.Errorf("%s: %s %s carried a credential", what, r.Method, r.Path)
	}
}

func gitIn(dir string, args ...string) []string {
	return append([]string{"git", "-C", dir}, args...)
}

func TestGitThroughPatinject(t *testing.T) {
	e := newToolEnv(t, nil)
	srv := gitserver.Start(t, toolUser, e.token)
	other := gitserver.Start(t, toolUser, e.token) // another host:port, same credential
	teamA := srv.NewRepo(t, "team-a/app.git")
	teamAB := srv.NewRepo(t, "team-ab/app.git") // shares the stem "team-a", not the prefix
	teamB := srv.NewRepo(t, "team-b/app.git")
	prefix := srv.URL + "team-a"
	flags := []string{"--git", prefix}
	clone := filepath.Join(e.work, "app")

	if code, _ := e.without(e.work, "git", "clone", teamA, clone); code != 128 {
		t.Fatalf("git clone without patinject: exit %d, want 128", code)
	}
	if len(srv.Log.Requests()) == 0 || len(srv.Log.Authorized()) != 0 {
		t.Fatalf("without patinject the server saw %d requests, %d with a credential", len(srv.Log.Requests()), len(srv.Log.Authorized()))
	}

	// The job's own GIT_CONFIG_* pairs are kept.
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "user.email")
	t.Setenv("GIT_CONFIG_VALUE_0", "kept@example.invalid")

	if code, _, _ := e.patinject(flags, "git", "clone", teamA, clone); code != 0 {
		t.Fatalf("git clone through patinject: exit %d", code)
	}
	if code, _, _ := e.patinject(flags, gitIn(clone, "fetch", "origin")...); code != 0 {
		t.Fatalf("git fetch through patinject: exit %d", code)
	}
	if err := os.WriteFile(filepath.Join(clone, "CHANGE"), []byte("pushed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.without(clone, "git", "add", "CHANGE"); code != 0 {
		t.Fatal("git add failed")
	}
	if code, _ := e.without(clone, "git", "commit", "-q", "-m", "change"); code != 0 {
		t.Fatal("git commit failed")
	}
	if code, _ := e.without(clone, "git", "push", "origin", "HEAD:refs/heads/feature"); code != 128 {
		t.Fatalf("git push without patinject: exit %d, want 128", code)
	}
	if code, _, _ := e.patinject(flags, gitIn(clone, "push", "origin", "HEAD:refs/heads/feature")...); code != 0 {
		t.Fatalf("git push through patinject: exit %d", code)
	}
	code, out, _ := e.patinject(flags, "git", "ls-remote", teamA, "refs/heads/feature")
	if code != 0 || !strings.Contains(out, "refs/heads/feature") {
		t.Fatalf("the pushed branch is not on the server: exit %d, %q", code, out)
	}
	code, out, _ = e.patinject(flags, gitIn(clone, "config", "--get", "user.email")...)
	if code != 0 || strings.TrimSpace(out) != "kept@example.invalid" {
		t.Errorf("the job's own GIT_CONFIG pair: got %q (exit %d), want kept@example.invalid", out, code)
	}

	// Outside the prefix: a sibling path sharing its stem, another path, another port.
	for _, url := range []string{teamAB, teamB, other.Repo} {
		dest := filepath.Join(e.work, "outside-"+filepath.Base(filepath.Dir(url))+"-"+filepath.Base(url))
		if code, _, _ := e.patinject(flags, "git", "clone", url, dest); code != 128 {
			t.Errorf("git clone %s, outside the prefix: exit %d, want 128", url, code)
		}
	}
	// A server under a --git prefix that redirects to another host: the header stays behind.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimSuffix(other.URL, "/")+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	if code, _, _ := e.patinject([]string{"--git", redirector.URL + "/"}, "git", "clone", redirector.URL+"/repo.git", filepath.Join(e.work, "redirected")); code != 128 {
		t.Errorf("git clone redirected to another host: exit %d, want 128", code)
	}
	checkOnlyUnder(t, "git server", srv.Log, "/team-a/")
	checkNever(t, "the other git server", other.Log)

	cfg, err := os.ReadFile(filepath.Join(clone, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(cfg), []byte("extraheader")) {
		t.Errorf("the clone's .git/config has an extraheader:\n%s", e.redact(string(cfg)))
	}
}

// TestGitCredentialHelper runs patinject as a process (the copy testscript puts on PATH), since
// git runs the helper through the path of patinject's own executable.
func TestGitCredentialHelper(t *testing.T) {
	bin := testpeer.Command(t, "patinject")
	e := newToolEnv(t, map[string]string{
		".gitconfig": userFiles[".gitconfig"] + "[credential]\n\thelper = store\n",
	})
	srv := gitserver.Start(t, toolUser, e.token)
	other := gitserver.Start(t, toolUser, e.token)
	repo := srv.NewRepo(t, "team/app.git")
	elsewhere := srv.NewRepo(t, "elsewhere/app.git")

	if code, _ := e.without(e.work, "git", "clone", repo, filepath.Join(e.work, "without")); code != 128 {
		t.Fatalf("git clone without patinject: exit %d, want 128", code)
	}
	// A stale credential in the user's store helper: without the reset patinject puts first,
	// git would ask the store first, fail, and erase the user's entry.
	stale := "http://" + toolUser + ":stale-password@" + strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/") + "\n"
	e.own[".git-credentials"] = stale
	if err := os.WriteFile(filepath.Join(e.home, ".git-credentials"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(url, dest string) int {
		c := exec.Command(bin, "run", "--token", "env:T", "--username", toolUser, "--git", srv.URL+"team/",
			"--git-credential-helper", "--", "git", "clone", url, dest)
		c.Dir = e.work
		out, err := c.CombinedOutput()
		t.Logf("patinject run --git-credential-helper -- git clone %s:\n%s", url, e.redact(string(out)))
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := run(repo, filepath.Join(e.work, "app")); code != 0 {
		t.Fatalf("git clone with patinject as credential helper: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(e.work, "app", "README")); err != nil {
		t.Fatalf("the clone has no README: %v", err)
	}
	if code := run(other.Repo, filepath.Join(e.work, "other")); code != 128 {
		t.Errorf("git clone from another host with the helper: exit %d, want 128", code)
	}
	checkNever(t, "the other git server", other.Log)
	ok := 0
	for _, r := range srv.Log.Authorized() {
		if r.OK {
			ok++
		}
	}
	if ok == 0 {
		t.Error("the server saw no request with the token")
	}
	checkOnlyUnder(t, "git server", srv.Log, "/team/")

	// The helper itself refuses a path outside its prefix on the same host (git asks it there
	// only when the user's own config does; here through git credential fill).
	c := exec.Command(bin, "git-credential", "--prefix", srv.URL+"team/", "--username", toolUser, "--password-env", "T", "get")
	c.Stdin = strings.NewReader("protocol=http\nhost=" + strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/") + "\npath=" + strings.TrimPrefix(elsewhere, srv.URL) + "\n\n")
	out, err := c.Output()
	if err != nil || len(out) != 0 {
		t.Errorf("the helper asked for a path outside its prefix: %q, %v; want no answer", e.redact(string(out)), err)
	}
}

// tokenServer serves 200 "ok" to Basic user:token on addr, 401 otherwise.
func tokenServer(t *testing.T, addr, token string) (url string, log *authlog.Log) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		testpeer.Missing(t, fmt.Sprintf("cannot listen on %s: %v", addr, err))
	}
	log = &authlog.Log{}
	srv := httptest.NewUnstartedServer(log.Gate(toolUser, token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/api/", log
}

func TestCurlThroughPatinject(t *testing.T) {
	curl := testpeer.Command(t, "curl")
	e := newToolEnv(t, nil)
	api, apiLog := tokenServer(t, "127.0.0.1:0", e.token)
	otherHost, otherLog := tokenServer(t, "127.0.0.2:0", e.token)
	flags := []string{"--netrc", "127.0.0.1"}

	if code, _ := e.without(e.work, curl, "-fsS", api); code != 22 {
		t.Fatalf("curl without patinject: exit %d, want 22 (HTTP 401)", code)
	}
	// curl 7.88 does not read NETRC (8.16 does): the netrc file is passed as the variable names it.
	for name, script := range map[string]string{
		"netrc":       `exec "$0" -fsS --netrc-file "$NETRC" "$1"`,
		"curl config": `exec "$0" -fsS -K "$PATINJECT_CURL_CONFIG" "$1"`,
	} {
		code, out, _ := e.patinject(flags, "sh", "-c", script, curl, api)
		if code != 0 || strings.TrimSpace(out) != "ok" {
			t.Errorf("curl with the %s through patinject: exit %d, output %q", name, code, out)
		}
	}
	if code, _, _ := e.patinject(flags, "sh", "-c", `exec "$0" -fsS --netrc-file "$NETRC" "$1"`, curl, otherHost); code != 22 {
		t.Errorf("curl with the netrc to another host: exit %d, want 22", code)
	}
	if n := len(apiLog.Authorized()); n != 2 {
		t.Errorf("the API saw %d requests with a credential, want 2", n)
	}
	checkNever(t, "the other host", otherLog)
}

// TestGitPlansWithRealGit applies the plans that `run` does not make on this machine, to show
// that real git reads them: the include file of `inject` (through GIT_CONFIG_COUNT) and of git
// before 2.31 (through GIT_CONFIG_PARAMETERS), and the credential helper reading its token from
// a file.
func TestGitPlansWithRealGit(t *testing.T) {
	bin := testpeer.Command(t, "patinject")
	e := newToolEnv(t, nil)
	srv := gitserver.Start(t, toolUser, e.token)
	tests := []struct {
		name string
		c    inject.Config
	}{
		{"inject: include file", inject.Config{Mode: inject.ModeCI}},
		{"git before 2.31: include file", inject.Config{GitVersion: "2.30.0"}},
		{"inject: credential helper with a token file", inject.Config{Mode: inject.ModeCI, Values: map[string][]string{"git-credential-helper": {"true"}}, Self: bin}},
	}
	if code, _ := e.without(e.work, "git", "clone", srv.Repo, filepath.Join(e.work, "without")); code != 128 {
		t.Fatalf("git clone without patinject: exit %d, want 128", code)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp(e.work, "private-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			c := tt.c
			c.Token, c.Username, c.Dir = secret.NewValue(e.token), toolUser, dir
			c.Values = map[string][]string{"git": {srv.URL}, "git-credential-helper": c.Values["git-credential-helper"]}
			c.Lookup = func(k string) (string, bool) { return "", false }
			plan, err := inject.Build(c)
			if err != nil {
				t.Fatal(err)
			}
			env := os.Environ()
			for _, f := range plan.Files {
				if err := os.WriteFile(f.Path, []byte(f.Content.Reveal()), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range plan.Env {
				if strings.Contains(v.Value.Reveal(), e.token) {
					t.Errorf("%s holds the token: this plan should keep it in a file", v.Name)
				}
				env = append(env, v.Name+"="+v.Value.Reveal())
			}
			gc := exec.Command("git", "clone", srv.Repo, filepath.Join(e.work, fmt.Sprintf("clone-%d", i)))
			gc.Env = env
			out, err := gc.CombinedOutput()
			if err != nil {
				t.Fatalf("git clone: %v\n%s", err, e.redact(string(out)))
			}
		})
	}
	if len(srv.Log.Authorized()) == 0 {
		t.Error("the server saw no credential")
	}
}

// TestToolFormsRedacted prints everything the injectors put in the environment and in files:
// the token appears in none of its forms in what patinject passes on.
func TestToolFormsRedacted(t *testing.T) {
	e := newToolEnv(t, nil)
	flags := []string{"--git", "https://git.example/", "--npm", "https://npm.example/", "--netrc", "api.example",
		"--nuget", "https://nuget.example/v3/index.json", "--token-env", "AZURE_DEVOPS_EXT_PAT", "--authorization-env", "PATINJECT_AUTHORIZATION"}
	code, out, errOut := e.patinject(flags, "sh", "-c", `env; cat "$NETRC" "$PATINJECT_CURL_CONFIG" "$NPM_CONFIG_USERCONFIG" "$PATINJECT_NUGET_CONFIG" >&2`)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for i, f := range e.forms() {
		if strings.Contains(out+errOut, f) {
			t.Errorf("form %d of the token reached the output", i)
		}
	}
	for _, want := range []string{"GIT_CONFIG_VALUE_0=AUTHORIZATION: ***", "PATINJECT_AUTHORIZATION=***", "PATINJECT_NPM_PASSWORD=***",
		"AZURE_DEVOPS_EXT_PAT=***", "NuGetPackageSourceCredentials_patinject_nuget_example=***", "machine api.example login ci password ***",
		`header = "Authorization: ***"`, "_password=${PATINJECT_NPM_PASSWORD}", "%PATINJECT_NUGET_PASSWORD%"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}
