package cmd

// Issue 9, item 2: `cleanup` must not trust its state file. A later build step can write it (or
// replace it whole); what it says must not send the user's credentials elsewhere, nor delete
// what patinject did not make.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// recorder is a server that a hostile state points cleanup at: it records every credential
// header it receives.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	creds []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		for _, h := range []string{"Authorization", "X-Vault-Token"} {
			if v := req.Header.Get(h); v != "" {
				r.creds = append(r.creds, h+" on "+req.Method+" "+req.URL.Path)
			}
		}
		r.mu.Unlock()
		http.Error(w, "{}", http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.creds {
		t.Errorf("the server a hostile state named received a credential: %s", c)
	}
}

// postEnv is the environment of the action's post step after an inject in env: what the runner
// hands it from the main step's saved state.
func postEnv(t *testing.T, env fakeEnv, temp string) fakeEnv {
	t.Helper()
	post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": env["HOME"]}
	for k, v := range parseEnvFile(t, readText(t, env["GITHUB_STATE"])) {
		post["STATE_"+k] = v
	}
	return post
}

func injectPAT(t *testing.T, srv *adotest.Server) (fakeEnv, string, fakeEnv) {
	t.Helper()
	env, temp := githubEnv(t)
	env["ENTRA"] = srv.AccessToken
	_, stderr, code := runInProcess(t, env, "inject", "--token", "ado-pat://contoso?scope=vso.code&ttl=1h", "--token-env", "T",
		"--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, stderr)
	}
	post := postEnv(t, env, temp)
	post["ENTRA"] = srv.AccessToken
	return env, temp, post
}

func TestCleanupRefusesAnEditedEndpoint(t *testing.T) {
	srv := adotest.NewServer(t)
	evil := newRecorder(t)
	_, temp, post := injectPAT(t, srv)
	path := filepath.Join(temp, frontdoor.StateFileName)
	b := readText(t, path)
	if !strings.Contains(b, srv.URL) {
		t.Fatalf("the state does not name the ADO URL:\n%s", b)
	}
	// A later step points the revocation, and the user's Entra token with it, at its server.
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(b, srv.URL, evil.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runInProcess(t, post, "cleanup", "--ado-access-token", "env:ENTRA")
	evil.check(t)
	if code != 0 || !strings.Contains(stdout, "::warning") || !strings.Contains(stdout, "seal") {
		t.Errorf("exit %d, stdout %q, stderr %q: want a warning that the state was changed", code, stdout, stderr)
	}
	if len(srv.Live()) != 1 {
		t.Errorf("live PATs: %d (nothing should have been revoked on an edited state)", len(srv.Live()))
	}
	noSecret(t, "output", stdout, stderr)
	if strings.Contains(stdout+stderr, srv.AccessToken) {
		t.Errorf("the access token was printed")
	}
}

func TestCleanupSendsCredentialsOnlyWhereItsFlagsSay(t *testing.T) {
	srv := adotest.NewServer(t)
	_, _, post := injectPAT(t, srv)
	// Without --ado-url, cleanup's endpoint is the default, not what the state recorded: refused,
	// with a warning naming both.
	stdout, _, code := runInProcess(t, post, "cleanup", "--ado-access-token", "env:ENTRA")
	if code != 0 || !strings.Contains(stdout, srv.URL) || !strings.Contains(stdout, "https://vssps.dev.azure.com") || !strings.Contains(stdout, "refused") {
		t.Errorf("exit %d, stdout %q: want a warning naming the recorded and the given URL", code, stdout)
	}
	if srv.Requests(adotest.OpRevoke) != 0 {
		t.Errorf("revoked at the state's URL")
	}
	// With the flag that says so, the same state is undone.
	stdout, stderr, code := runInProcess(t, post, "cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if code != 0 || stdout != "" || !strings.HasPrefix(stderr, "patinject: revoked PAT") || len(srv.Live()) != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q, live %d", code, stdout, stderr, len(srv.Live()))
	}
}

func TestCleanupRefusesAForgedState(t *testing.T) {
	env, temp := githubEnv(t)
	home := env["HOME"]
	ssh := filepath.Join(home, ".ssh")
	os.Mkdir(ssh, 0o700)
	os.WriteFile(filepath.Join(ssh, "id_ed25519"), []byte("key"), 0o600)
	evil := newRecorder(t)
	path := filepath.Join(temp, frontdoor.StateFileName)
	forged := `{"version": 1, "platform": "github", "actions": [
		{"kind": "dir", "id": "` + ssh + `"},
		{"kind": "vault-token", "id": "accessor", "params": {"addr": "` + evil.URL + `"}},
		{"kind": "ado-pat", "id": "x", "params": {"ado-url": "` + evil.URL + `", "org": "contoso"}}]}`
	os.WriteFile(path, []byte(forged), 0o600)
	post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": home, "STATE_state": path,
		"VAULT_TOKEN": "hvs.the-users-vault-token", "ENTRA": "eyJ.the-users-entra-token"}
	stdout, stderr, _ := runInProcess(t, post, "cleanup", "--ado-access-token", "env:ENTRA")
	evil.check(t)
	if _, err := os.Stat(filepath.Join(ssh, "id_ed25519")); err != nil {
		t.Errorf("~/.ssh was removed on a forged state's word: %v", err)
	}
	if !strings.Contains(stdout, "::warning") {
		t.Errorf("stdout %q, stderr %q: want a warning", stdout, stderr)
	}

	// The same in the sealed format, with a seal made without the key, even when the user
	// asks cleanup to go on without verifying: the endpoint and removal rules still hold.
	st := &cleanup.State{}
	k, _ := cleanup.NewKey()
	st.Seal(k, cleanup.Record{Platform: "github", Actions: []cleanup.Action{
		{Kind: "dir", ID: ssh},
		{Kind: "file", ID: filepath.Join(ssh, "id_ed25519")},
		{Kind: "vault-token", ID: "accessor", Params: map[string]string{"addr": evil.URL}},
		{Kind: "ado-pat", ID: "x", Params: map[string]string{"ado-url": evil.URL, "org": "contoso"}},
	}})
	if err := cleanup.WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runInProcess(t, post, "cleanup", "--trust-unverified-state", "--ado-access-token", "env:ENTRA")
	evil.check(t)
	if _, err := os.Stat(filepath.Join(ssh, "id_ed25519")); err != nil {
		t.Errorf("~/.ssh was removed: %v", err)
	}
	if code != 0 || strings.Count(stdout, "::warning") < 3 {
		t.Errorf("exit %d, stdout %q, stderr %q: want a warning for each refused action", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "hvs.the-users") || strings.Contains(stdout+stderr, "the-users-entra") {
		t.Errorf("a credential was printed")
	}
}

func TestCleanupRefusesASharedStateFile(t *testing.T) {
	srv := adotest.NewServer(t)
	_, temp, post := injectPAT(t, srv)
	path := filepath.Join(temp, frontdoor.StateFileName)
	os.Chmod(path, 0o666)
	stdout, _, code := runInProcess(t, post, "cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if code != 0 || !strings.Contains(stdout, "writable by group or others") {
		t.Errorf("exit %d, stdout %q: want a warning that the state is writable by others", code, stdout)
	}
	if srv.Requests(adotest.OpRevoke) != 0 {
		t.Errorf("cleanup acted on a state others can write")
	}
}

func TestCleanupWithoutKeyRefusesAndSaysHow(t *testing.T) {
	srv := adotest.NewServer(t)
	_, _, post := injectPAT(t, srv)
	delete(post, cleanup.GitHubStateEnv)
	stdout, _, code := runInProcess(t, post, "cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if code != 0 || !strings.Contains(stdout, cleanup.GitHubStateEnv) || !strings.Contains(stdout, "--trust-unverified-state") {
		t.Errorf("exit %d, stdout %q: want a warning naming the key channel and the flag", code, stdout)
	}
	if _, _, code := runInProcess(t, post, "cleanup", "--strict-cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA"); code != ExitCleanup {
		t.Errorf("strict: exit %d, want %d", code, ExitCleanup)
	}
	if srv.Requests(adotest.OpRevoke) != 0 {
		t.Fatalf("revoked without a key")
	}
	stdout, stderr, code := runInProcess(t, post, "cleanup", "--trust-unverified-state", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if code != 0 || len(srv.Live()) != 0 {
		t.Errorf("--trust-unverified-state: exit %d, stdout %q, stderr %q, live %d", code, stdout, stderr, len(srv.Live()))
	}
}

func TestCleanupManualHintIsDefused(t *testing.T) {
	env, temp := githubEnv(t)
	k, _ := cleanup.NewKey()
	st := &cleanup.State{}
	st.Seal(k, cleanup.Record{Platform: "github", Actions: []cleanup.Action{
		{Kind: "mystery", ID: "1", Label: "x\x1b[2K", Manual: "az rest \x1b]0;owned\x07\x1b[1A\r::set-env name=PATH::/evil ##vso[task.setvariable variable=PATH]/evil"},
	}})
	path := filepath.Join(temp, frontdoor.StateFileName)
	cleanup.WriteState(path, st)
	post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": env["HOME"], "STATE_state": path, cleanup.GitHubStateEnv: k.Hex()}
	stdout, stderr, _ := runInProcess(t, post, "cleanup")
	out := stdout + stderr
	if strings.ContainsAny(out, "\x1b\x07\r") || strings.Contains(out, "##vso[") {
		t.Errorf("a terminal escape or command went out: %q", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::set-env") {
			t.Errorf("a command line went out: %q", l)
		}
	}
	if !strings.Contains(stdout, "az rest") {
		t.Errorf("the hint is gone: %q", stdout)
	}
}

func TestCleanupKeyChannels(t *testing.T) {
	// Azure Pipelines: a secret task variable, read back in the post-job step.
	temp := t.TempDir()
	env := fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "CI_PAT": testPAT, "HOME": t.TempDir()}
	stdout, stderr, code := runInProcess(t, env, "inject", "--secret", "ADO_PAT=env:CI_PAT", "--token", "env:CI_PAT", "--git", "https://dev.azure.example/")
	if code != 0 {
		t.Fatalf("inject: %d %s", code, stderr)
	}
	prefix := "##vso[task.settaskvariable variable=" + cleanup.AzureTaskVariable + ";issecret=true;]"
	var key string
	for _, l := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			key = v
		}
	}
	if _, err := cleanup.ParseKey(key); err != nil {
		t.Fatalf("no secret task variable with the key in stdout:\n%s", stdout)
	}
	postAz := fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp}
	if out, errs, code := runInProcess(t, postAz, "cleanup"); code != 0 || !strings.Contains(out, cleanup.AzureTaskVariableEnv) {
		t.Errorf("post-job without the task variable: exit %d, %q %q: want a warning naming it", code, out, errs)
	}
	postAz[cleanup.AzureTaskVariableEnv] = key
	if out, errs, code := runInProcess(t, postAz, "cleanup"); code != 0 || out != "" || errs != "" {
		t.Errorf("post-job: exit %d, %q %q", code, out, errs)
	}
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	// Local: a 0600 key file in the user's state directory, removed with the record.
	home := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir())
	dotenv := filepath.Join(t.TempDir(), "ci.env")
	env = fakeEnv{"CI_PAT": testPAT, "HOME": home}
	if _, stderr, code := runInProcess(t, env, "inject", "--platform", "local", "--dotenv", dotenv, "--secret", "ADO_PAT=env:CI_PAT"); code != 0 {
		t.Fatalf("inject local: %s", stderr)
	}
	keys, _ := filepath.Glob(filepath.Join(home, ".local", "state", "patinject", "keys", "*.key"))
	if len(keys) != 1 {
		t.Fatalf("key files: %v", keys)
	}
	if fi, _ := os.Stat(keys[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o", fi.Mode().Perm())
	}
	// The user edits the dotenv file: cleanup leaves it (it is no longer what patinject wrote).
	if _, stderr, code := runInProcess(t, env, "cleanup"); code != 0 || stderr != "" {
		t.Fatalf("cleanup local: %d %s", code, stderr)
	}
	if _, err := os.Stat(dotenv); !os.IsNotExist(err) {
		t.Errorf("dotenv still there")
	}
	if _, err := os.Stat(keys[0]); !os.IsNotExist(err) {
		t.Errorf("key file still there")
	}
}

// stateRecords reads the state at path, unverified (tests only), and returns the platform of its
// records and all their actions.
func stateRecords(t *testing.T, path string) (string, []cleanup.Action) {
	t.Helper()
	st, err := cleanup.ReadState(path)
	if err != nil || st == nil {
		t.Fatalf("state %s: %v", path, err)
	}
	var platform string
	var acts []cleanup.Action
	for _, kid := range st.KeyIDs() {
		rec, err := st.OpenUnverified(kid)
		if err != nil {
			t.Fatal(err)
		}
		platform = rec.Platform
		acts = append(acts, rec.Actions...)
	}
	return platform, acts
}

// A later step empties the state file or rewrites it without this inject's record: the post step
// has the key but no record for it, and says so where people look (the PAT stays live until it
// expires), failing only under --strict-cleanup. Before, it said nothing at the default level.
// (A deleted file looks like one a cleanup that already ran removed: quiet, as it must be for a
// second cleanup.)
func TestCleanupSaysWhenItsRecordIsGone(t *testing.T) {
	for _, how := range []string{"emptied", "rewritten"} {
		t.Run(how, func(t *testing.T) {
			srv := adotest.NewServer(t)
			_, temp, post := injectPAT(t, srv)
			path := filepath.Join(temp, frontdoor.StateFileName)
			content := `{"version":2,"records":[]}`
			if how == "rewritten" {
				// Another inject's state, sealed by a key this post step does not hold.
				_, otherTemp, _ := injectPAT(t, srv)
				content = readText(t, filepath.Join(otherTemp, frontdoor.StateFileName))
			}
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout, _, code := runInProcess(t, post, "cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
			if code != 0 || !strings.Contains(stdout, "::warning") || !strings.Contains(stdout, "its record is not in") {
				t.Errorf("exit %d, stdout %q: want a warning that the record is gone", code, stdout)
			}
			if _, _, code := runInProcess(t, post, "cleanup", "--strict-cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA"); code != ExitCleanup {
				t.Errorf("strict: exit %d, want %d", code, ExitCleanup)
			}
		})
	}
}

// With --trust-unverified-state, a record sealed without the key names one of the user's own
// PATs, with a hint to delete it by hand: the service says it is not patinject's, so it is left
// alone, without the hint, and not kept as a failure (nothing to retry; --strict-cleanup exits 0).
func TestCleanupTrustUnverifiedLeavesTheUsersPATs(t *testing.T) {
	srv := adotest.NewServer(t)
	const id = "6f1e2d3c-0000-4000-8000-00000000dead"
	srv.Seed(adotest.PAT{Org: "contoso", AuthorizationID: id, DisplayName: "release signing", Scope: "vso.code", Token: "seeded",
		ValidFrom: time.Now().Add(-time.Hour), ValidTo: time.Now().Add(time.Hour)})
	env, temp := githubEnv(t)
	k, _ := cleanup.NewKey()
	st := &cleanup.State{}
	st.Seal(k, cleanup.Record{Platform: "github", Actions: []cleanup.Action{{Kind: "ado-pat", ID: id,
		Params: map[string]string{"org": "contoso"}, Manual: "az rest --method delete --url " + srv.URL + "/contoso/_apis/tokens/pats?authorizationId=" + id}}})
	path := filepath.Join(temp, frontdoor.StateFileName)
	if err := cleanup.WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": env["HOME"], "STATE_state": path, "ENTRA": srv.AccessToken}
	stdout, stderr, code := runInProcess(t, post, "cleanup", "--trust-unverified-state", "--strict-cleanup", "--ado-url", srv.URL, "--ado-access-token", "env:ENTRA")
	if p, _ := srv.Get(id); p.Revoked {
		t.Fatalf("the user's PAT was revoked on an unverified record's word")
	}
	if code != 0 || !strings.Contains(stdout, "does not carry patinject's random tag: left alone") || strings.Contains(stdout+stderr, "az rest") {
		t.Errorf("exit %d, stdout %q, stderr %q: want one warning, no hint to delete it by hand", code, stdout, stderr)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("the record is kept, to be refused again")
	}
}
