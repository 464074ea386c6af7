package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/msgsafe/msgfilter"

	"github.com/patinject/patinject/internal/testpeer"
)

// fakeEnv is a fake process environment for in-process runs of the app.
type fakeEnv map[string]string

// runInProcess runs patinject in-process with env as its environment (flags still read PATINJECT_*
// from the real one, which tests leave alone) and returns stdout, stderr and the exit code.
func runInProcess(t *testing.T, env fakeEnv, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{p: &frontdoor.Process{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ: func() []string {
			var kv []string
			for k, v := range env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		Msgs: &msgfilter.Filter{},
	}}
	err := a.cli().RunContext(context.Background(), append([]string{"patinject"}, args...))
	a.printError(err)
	return out.String(), errb.String(), exitCode(err)
}

const testPAT = "pat-0123456789abcdef"

// githubEnv is the environment of a GitHub Actions step, its files in a fresh directory.
func githubEnv(t *testing.T) (fakeEnv, string) {
	t.Helper()
	root := t.TempDir()
	temp := filepath.Join(root, "runner-temp")
	files := filepath.Join(root, "files")
	for _, d := range []string{temp, files} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := fakeEnv{
		"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": root, "CI_PAT": testPAT,
		"GITHUB_REPOSITORY": "contoso/app", "GITHUB_RUN_ID": "42",
	}
	for name, file := range map[string]string{"GITHUB_ENV": "env", "GITHUB_OUTPUT": "output", "GITHUB_STATE": "state", "GITHUB_STEP_SUMMARY": "summary"} {
		p := filepath.Join(files, file)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = p
	}
	return env, temp
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noSecret fails when any of the texts holds the PAT or a form of it.
func noSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, form := range []string{testPAT, b64std(testPAT), b64std(":" + testPAT), b64std("patinject:" + testPAT)} {
			if strings.Contains(s, form) {
				t.Errorf("%s holds the secret (or a form of it):\n%s", what, s)
			}
		}
	}
}

func TestInjectGitHubThenCleanup(t *testing.T) {
	env, temp := githubEnv(t)
	stdout, stderr, code := runInProcess(t, env, "inject",
		"--token", "env:CI_PAT", "--token-env", "AZURE_DEVOPS_EXT_PAT", "--git", "https://git.example.com/org/",
		"--secret", "ADO_PAT=env:CI_PAT")
	if code != 0 {
		t.Fatalf("inject exit %d\nstderr: %s", code, stderr)
	}
	noSecret(t, "stderr", stderr)

	// Masks come first, and the stdout holds nothing else.
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) == 0 || lines[0] != "::add-mask::"+testPAT {
		t.Fatalf("first line of stdout %q, want the add-mask of the token", lines[0])
	}
	masked := map[string]bool{}
	for _, l := range lines {
		data, ok := strings.CutPrefix(l, "::add-mask::")
		if !ok {
			t.Errorf("stdout line %q is not an add-mask command", l)
		}
		masked[data] = true
	}
	for _, form := range []string{testPAT, b64std("patinject:" + testPAT)} {
		if !masked[form] {
			t.Errorf("%q is not masked; masked: %v", form, masked)
		}
	}

	vars := parseEnvFile(t, readText(t, env["GITHUB_ENV"]))
	if vars["ADO_PAT"] != testPAT || vars["AZURE_DEVOPS_EXT_PAT"] != testPAT {
		t.Errorf("GITHUB_ENV: ADO_PAT and AZURE_DEVOPS_EXT_PAT not handed on: %v", envKeys(vars))
	}
	if vars["GIT_CONFIG_COUNT"] == "" {
		t.Errorf("GITHUB_ENV: no GIT_CONFIG_COUNT for git: %v", envKeys(vars))
	}
	for k, v := range vars {
		if strings.HasPrefix(k, "GIT_CONFIG") {
			noSecret(t, "GITHUB_ENV "+k, v)
		}
	}
	saved := parseEnvFile(t, readText(t, env["GITHUB_STATE"]))
	statePath := saved["state"]
	if statePath != filepath.Join(temp, frontdoor.StateFileName) {
		t.Errorf("GITHUB_STATE state=%q, want %q", statePath, filepath.Join(temp, frontdoor.StateFileName))
	}
	outputs := parseEnvFile(t, readText(t, env["GITHUB_OUTPUT"]))
	if outputs["state"] != statePath {
		t.Errorf("outputs: %v", outputs)
	}
	summary := readText(t, env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(summary, "ADO\\_PAT") || !strings.Contains(summary, "git.example.com") {
		t.Errorf("summary does not list what was injected:\n%s", summary)
	}
	noSecret(t, "summary", summary, readText(t, env["GITHUB_OUTPUT"]))

	// The state file: 0600, records the private directory, holds no value.
	fi, err := os.Stat(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %o, want 600", fi.Mode().Perm())
	}
	raw := readText(t, statePath)
	noSecret(t, "state file", raw)
	platform, actions := stateRecords(t, statePath)
	if platform != "github" {
		t.Fatalf("state: platform %q", platform)
	}
	var dir string
	for _, a := range actions {
		if a.Kind == "dir" {
			dir = a.ID
		}
	}
	if filepath.Dir(dir) != temp {
		t.Fatalf("private directory %q, want one in RUNNER_TEMP %s", dir, temp)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("private directory: %v, %v", fi, err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, _ := d.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %o, want 600", p, fi.Mode().Perm())
			}
		}
		return nil
	})

	// The post step: cleanup finds the state through STATE_state, removes everything.
	post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "STATE_state": statePath, "HOME": env["HOME"],
		cleanup.GitHubStateEnv: saved[cleanup.GitHubStateName]}
	stdout, stderr, code = runInProcess(t, post, "cleanup")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("cleanup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	entries, _ := os.ReadDir(temp)
	if len(entries) != 0 {
		t.Errorf("left in RUNNER_TEMP after cleanup: %v", entries)
	}
	// Idempotent and quiet: a second cleanup has nothing to do.
	stdout, stderr, code = runInProcess(t, post, "cleanup")
	if code != 0 || stdout != "" || stderr != "" {
		t.Errorf("second cleanup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestInjectGitHubRefusesNodeOptionsLeavingNothing(t *testing.T) {
	env, temp := githubEnv(t)
	stdout, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--git", "https://git.example.com/", "--secret", "NODE_OPTIONS=env:CI_PAT")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFailure, stderr)
	}
	if !strings.Contains(stderr, "NODE_OPTIONS") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr %q: want one line naming NODE_OPTIONS", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	assertNothingLeft(t, env, temp)
}

// assertNothingLeft checks that a failed inject left no file, state or handover behind.
func assertNothingLeft(t *testing.T, env fakeEnv, temp string) {
	t.Helper()
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind in %s: %v", temp, entries)
	}
	for _, name := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		if p := env[name]; p != "" {
			if s := readText(t, p); s != "" {
				t.Errorf("%s was written: %q", name, s)
			}
		}
	}
}

func TestInjectFailureAfterWritingTakesAllBack(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		testpeer.Missing(t, "no /dev/full")
	}
	env, temp := githubEnv(t)
	// The summary is written last and fails (no space left): by then GITHUB_ENV and GITHUB_OUTPUT
	// were written, the private directory filled and the state recorded. All of it is taken back.
	env["GITHUB_STEP_SUMMARY"] = "/dev/full"
	stdout, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--git", "https://git.example.com/", "--secret", "ADO_PAT=env:CI_PAT")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFailure, stderr)
	}
	if !strings.Contains(stdout, "::add-mask::") {
		t.Fatalf("the failure came before the masks were printed; stdout %q", stdout)
	}
	if !strings.Contains(stderr, "GITHUB_STEP_SUMMARY") || !strings.Contains(stderr, "taken back") {
		t.Errorf("stderr %q: want one line naming what failed", stderr)
	}
	delete(env, "GITHUB_STEP_SUMMARY")
	assertNothingLeft(t, env, temp)
}

func TestInjectResolveFailureLeavesNothing(t *testing.T) {
	env, temp := githubEnv(t)
	_, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--secret", "X=env:NOT_SET")
	if code != ExitFailure || !strings.Contains(stderr, "NOT_SET") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	assertNothingLeft(t, env, temp)
}

// Two inject steps of a job add a record each to one state, each sealed with its own key; the
// post steps run last first, and each undoes its own step's record.
func TestInjectAddsToAnEarlierState(t *testing.T) {
	env, temp := githubEnv(t)
	var keys []string
	for range 2 {
		os.WriteFile(env["GITHUB_STATE"], nil, 0o600) // each step has its own GITHUB_STATE
		if _, stderr, code := runInProcess(t, env, "inject", "--secret", "ADO_PAT=env:CI_PAT"); code != 0 {
			t.Fatalf("inject: %s", stderr)
		}
		keys = append(keys, parseEnvFile(t, readText(t, env["GITHUB_STATE"]))[cleanup.GitHubStateName])
	}
	st, err := cleanup.ReadState(filepath.Join(temp, frontdoor.StateFileName))
	if err != nil || st.Len() != 2 || keys[0] == keys[1] {
		t.Fatalf("state after two injects: %d records, %v (want two, with two keys)", st.Len(), err)
	}
	for i := 1; i >= 0; i-- {
		post := fakeEnv{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": temp, "HOME": env["HOME"], cleanup.GitHubStateEnv: keys[i]}
		if _, stderr, code := runInProcess(t, post, "cleanup"); code != 0 || stderr != "" {
			t.Fatalf("cleanup %d: %d %s", i, code, stderr)
		}
		if entries, _ := os.ReadDir(temp); i == 1 && len(entries) != 2 {
			t.Errorf("after the post step of the second inject: %v, want the state and the first private directory", entries)
		}
	}
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestInjectAzure(t *testing.T) {
	temp := t.TempDir()
	env := fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "CI_PAT": testPAT, "HOME": t.TempDir()}
	stdout, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--git", "https://dev.azure.example/org/", "--secret", "ADO_PAT=env:CI_PAT", "--token-env", "AZURE_DEVOPS_EXT_PAT")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	noSecret(t, "stderr", stderr)
	if !strings.Contains(stderr, "env: ADO_PAT: $(ADO_PAT)") {
		t.Errorf("stderr does not say how to map the secret variable: %s", stderr)
	}
	seenVar := false
	vars := map[string]string{}
	secretVars := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		switch {
		case strings.HasPrefix(l, "##vso[task.setsecret]"):
			if seenVar {
				t.Errorf("setsecret after setvariable: %q", l)
			}
		case strings.HasPrefix(l, "##vso[task.setvariable variable="):
			seenVar = true
			head, data, _ := strings.Cut(strings.TrimPrefix(l, "##vso[task.setvariable "), "]")
			props := map[string]string{}
			for _, p := range strings.Split(head, ";") {
				k, v, _ := strings.Cut(p, "=")
				props[k] = v
			}
			vars[props["variable"]] = data
			secretVars[props["variable"]] = props["issecret"] == "true"
		case strings.HasPrefix(l, "##vso[task.settaskvariable variable="+cleanup.AzureTaskVariable+";issecret=true;]"):
			vars["--state-key"] = strings.TrimPrefix(l, "##vso[task.settaskvariable variable="+cleanup.AzureTaskVariable+";issecret=true;]")
		case strings.HasPrefix(l, "##vso[task.uploadsummary]"):
			summary := readText(t, strings.TrimPrefix(l, "##vso[task.uploadsummary]"))
			if !strings.Contains(summary, "ADO\\_PAT") {
				t.Errorf("summary:\n%s", summary)
			}
			noSecret(t, "summary", summary)
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if vars["ADO_PAT"] != testPAT || !secretVars["ADO_PAT"] || !secretVars["AZURE_DEVOPS_EXT_PAT"] {
		t.Errorf("ADO_PAT / AZURE_DEVOPS_EXT_PAT not set as secret variables: %v", secretVars)
	}
	if secretVars["GIT_CONFIG_COUNT"] || vars["GIT_CONFIG_COUNT"] == "" {
		t.Errorf("GIT_CONFIG_COUNT: want a plain variable, got %v", secretVars)
	}
	if vars["PATINJECT_STATE"] != filepath.Join(temp, frontdoor.StateFileName) {
		t.Errorf("PATINJECT_STATE=%q", vars["PATINJECT_STATE"])
	}
	if _, ok := vars["state"]; !ok {
		t.Errorf("no state output")
	}
	// cleanup through the platform default path.
	if out, errs, code := runInProcess(t, fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, cleanup.AzureTaskVariableEnv: vars["--state-key"]}, "cleanup"); code != 0 || out != "" || errs != "" {
		t.Fatalf("cleanup: %d %q %q", code, out, errs)
	}
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestInjectAzureRefusesMultilineSecret(t *testing.T) {
	temp := t.TempDir()
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
	env := fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "CI_PAT": testPAT, "TLS_PEM": pem, "HOME": t.TempDir()}
	stdout, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--git", "https://dev.azure.example/", "--secret", "TLS_KEY=env:TLS_PEM")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	if stdout != "" || !strings.Contains(stderr, "TLS_KEY") || !strings.Contains(stderr, "--as-file TLS_KEY") || strings.Contains(stderr, "MIIE") {
		t.Errorf("stdout %q, stderr %q: want nothing printed and one line naming TLS_KEY", stdout, stderr)
	}
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	// --as-file hands it over as a 0600 file whose path is the variable; its lines are masked.
	stdout, stderr, code = runInProcess(t, env, "inject", "--secret", "TLS_KEY=env:TLS_PEM", "--as-file", "TLS_KEY")
	if code != 0 {
		t.Fatalf("--as-file: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "##vso[task.setsecret]MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n") {
		t.Errorf("the key's line is not masked:\n%s", stdout)
	}
	i := strings.Index(stdout, "##vso[task.setvariable variable=TLS_KEY;]")
	if i < 0 {
		t.Fatalf("TLS_KEY not set as a plain variable:\n%s", stdout)
	}
	path, _, _ := strings.Cut(stdout[i+len("##vso[task.setvariable variable=TLS_KEY;]"):], "\n")
	if got := readText(t, path); got != pem {
		t.Errorf("file %s holds %q", path, got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %o", path, fi.Mode().Perm())
	}
	_, key, _ := strings.Cut(stdout, "##vso[task.settaskvariable variable="+cleanup.AzureTaskVariable+";issecret=true;]")
	key, _, _ = strings.Cut(key, "\n")
	if out, errs, code := runInProcess(t, fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, cleanup.AzureTaskVariableEnv: key}, "cleanup"); code != 0 || out != "" {
		t.Fatalf("cleanup failed: %q %q", out, errs)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s still there after cleanup", path)
	}
}

func TestInjectRefusesWhereNothingMasks(t *testing.T) {
	tests := []struct {
		name string
		env  fakeEnv
		args []string
		want string
	}{
		{"gitlab detected", fakeEnv{"GITLAB_CI": "true"}, nil, "patinject run"},
		{"gitlab asked", fakeEnv{}, []string{"--platform", "gitlab"}, "GitLab CI has no way to mask"},
		{"unknown CI", fakeEnv{"CI": "true"}, nil, "no CI platform detected"},
		{"local without dotenv", fakeEnv{}, []string{"--platform", "local"}, "--dotenv FILE"},
		{"bad platform", fakeEnv{}, []string{"--platform", "jenkins"}, "unknown platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["CI_PAT"] = testPAT
			tt.env["HOME"] = t.TempDir()
			args := append([]string{"inject", "--secret", "ADO_PAT=env:CI_PAT"}, tt.args...)
			stdout, stderr, code := runInProcess(t, tt.env, args...)
			if code != ExitFailure || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q: want 125, nothing printed, and %q", code, stdout, stderr, tt.want)
			}
			noSecret(t, "stderr", stderr)
		})
	}
}

func TestInjectLocalDotenv(t *testing.T) {
	home := t.TempDir()
	dotenv := filepath.Join(t.TempDir(), "ci.env")
	env := fakeEnv{"CI_PAT": testPAT, "HOME": home}
	stdout, stderr, code := runInProcess(t, env, "inject", "--platform", "local", "--dotenv", dotenv, "--secret", "ADO_PAT=env:CI_PAT", "--token", "env:CI_PAT", "--git", "https://git.example.com/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	noSecret(t, "stderr", stderr)
	fi, err := os.Stat(dotenv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dotenv: %v %v", fi, err)
	}
	content := readText(t, dotenv)
	if !strings.Contains(content, "export ADO_PAT='"+testPAT+"'\n") || !strings.Contains(content, "GIT_CONFIG_COUNT=") {
		t.Errorf("dotenv:\n%s", content)
	}
	statePath := filepath.Join(home, ".local", "state", "patinject", "state.json")
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("no state at the default local path: %v", err)
	}
	// A second inject refuses to overwrite the dotenv file.
	if _, stderr, code := runInProcess(t, env, "inject", "--platform", "local", "--dotenv", dotenv, "--secret", "ADO_PAT=env:CI_PAT"); code != ExitFailure || !strings.Contains(stderr, "exists") {
		t.Errorf("second inject to the same dotenv: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runInProcess(t, env, "cleanup"); code != 0 || stderr != "" {
		t.Fatalf("cleanup: %d %s", code, stderr)
	}
	if _, err := os.Stat(dotenv); !os.IsNotExist(err) {
		t.Errorf("dotenv still there after cleanup")
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("state still there after cleanup")
	}
}

func TestCleanupWarnsAndStrict(t *testing.T) {
	tests := []struct {
		name     string
		env      fakeEnv
		strict   bool
		wantCode int
		wantOut  string // prefix of the warning on stdout ("" : on stderr)
	}{
		{"github", fakeEnv{"GITHUB_ACTIONS": "true"}, false, 0, "::warning title=patinject cleanup::"},
		{"azure", fakeEnv{"TF_BUILD": "True"}, false, 0, "##vso[task.logissue type=warning;]patinject: "},
		{"local", fakeEnv{}, false, 0, ""},
		{"strict", fakeEnv{}, true, ExitCleanup, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			leftover := filepath.Join(t.TempDir(), "leftover")
			os.WriteFile(leftover, []byte("x"), 0o600)
			// A kind this patinject cannot undo, with a label a server could have written.
			st, key := &cleanup.State{}, mustGet(cleanup.NewKey())
			err := st.Seal(key, cleanup.Record{Platform: "github", Actions: []cleanup.Action{
				{Kind: "file", ID: leftover, Params: map[string]string{cleanup.ParamSHA256: cleanup.SHA256([]byte("x"))}},
				{Kind: "mystery", ID: "id-1", Label: "x\n::set-env name=A::b ##vso[task.setvariable variable=PATH]y", Manual: "mystery revoke id-1"},
			}})
			if err != nil || cleanup.WriteState(path, st) != nil {
				t.Fatal(err)
			}
			// The key, through the channel of each platform.
			tt.env[cleanup.GitHubStateEnv] = key.Hex()
			tt.env[cleanup.AzureTaskVariableEnv] = key.Hex()
			tt.env["XDG_STATE_HOME"] = t.TempDir()
			mustGet(cleanup.WriteLocalKey(filepath.Join(tt.env["XDG_STATE_HOME"], "patinject", "keys"), key))
			args := []string{"cleanup", "--state", path}
			if tt.strict {
				args = append(args, "--strict-cleanup")
			}
			stdout, stderr, code := runInProcess(t, tt.env, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.wantCode, stderr)
			}
			warning := stderr
			if tt.wantOut != "" {
				warning = stdout
				if !strings.HasPrefix(stdout, tt.wantOut) {
					t.Errorf("stdout %q: want a warning starting %q", stdout, tt.wantOut)
				}
			}
			if !strings.Contains(warning, "mystery revoke id-1") {
				t.Errorf("the warning does not say how to undo it by hand: %q", warning)
			}
			for _, l := range strings.Split(stdout+stderr, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "::set-env") || strings.Contains(l, "##vso[task.setvariable") {
					t.Errorf("a label became a command: %q", l)
				}
			}
			if _, err := os.Stat(leftover); !os.IsNotExist(err) {
				t.Errorf("the file was not removed")
			}
			// What failed stays recorded (sealed again) for a retry; what was done does not.
			left, err := cleanup.ReadState(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, found, err := left.Open(key)
			if err != nil || !found || len(rec.Actions) != 1 || rec.Actions[0].Kind != "mystery" {
				t.Errorf("state after a partial cleanup: %+v %v %v", rec, found, err)
			}
		})
	}
}

func TestCleanupNothingToDo(t *testing.T) {
	home := t.TempDir()
	stdout, stderr, code := runInProcess(t, fakeEnv{"HOME": home}, "cleanup")
	if code != 0 || stdout != "" || stderr != "" {
		t.Errorf("cleanup without state: %d %q %q", code, stdout, stderr)
	}
	bad := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(bad, []byte("not json"), 0o600)
	if _, stderr, code := runInProcess(t, fakeEnv{"HOME": home}, "cleanup", "--state", bad); code != 0 || !strings.Contains(stderr, "warning: the state file") || !strings.Contains(stderr, "not patinject's") {
		t.Errorf("corrupt state: %d %q, want a warning and exit 0", code, stderr)
	}
	if stdout, _, code := runInProcess(t, fakeEnv{"HOME": home, "GITHUB_ACTIONS": "true"}, "cleanup", "--state", bad, "--strict-cleanup"); code != ExitCleanup || !strings.HasPrefix(stdout, "::warning") {
		t.Errorf("corrupt state, strict, on GitHub: %d %q, want a warning annotation and exit %d", code, stdout, ExitCleanup)
	}
}

func TestInjectErrorsCannotSmuggleCommands(t *testing.T) {
	env, _ := githubEnv(t)
	env["TF_BUILD"] = "True"
	// A dotenv file whose name holds a logging command: the error names it, defused.
	dir := t.TempDir()
	_, stderr, code := runInProcess(t, env, "inject", "--env-file", filepath.Join(dir, "x\n::set-env name=PATH::y ##vso[task.setvariable variable=PATH]z"))
	if code != ExitFailure {
		t.Fatalf("exit %d", code)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") || strings.Contains(l, "##vso[") {
			t.Errorf("stderr line %q would be read as a command", l)
		}
	}
}

func parseEnvFile(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			t.Fatalf("line %q: not NAME<<DELIM", lines[i])
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func envKeys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	key := mustGet(cleanup.NewKey())
	in := cleanup.Record{Platform: "azure", Actions: []cleanup.Action{{Kind: "ado-pat", ID: "a1", Label: "PAT x", Params: map[string]string{"org": "contoso"}, Manual: "az devops ..."}}}
	st := &cleanup.State{}
	if err := st.Seal(key, in); err != nil || cleanup.WriteState(path, st) != nil {
		t.Fatal(err)
	}
	back, err := cleanup.ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := back.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustGet(json.Marshal(in)), mustGet(json.Marshal(out))
	if string(a) != string(b) {
		t.Errorf("round trip: got %s, want %s", b, a)
	}
	os.WriteFile(path, []byte(`{"version": 99, "actions": []}`), 0o600)
	if _, err := cleanup.ReadState(path); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("future version: %v", err)
	}
}

func mustGet[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDebugLogDefusesCommands(t *testing.T) {
	var b bytes.Buffer
	a := &app{p: &frontdoor.Process{Stderr: &b}}
	a.p.Logger(true).Debug("resolved ##vso[task.setvariable variable=PATH]x", "label", "PAT ##vso[task.complete result=Failed]\n::set-env name=A::b", "err", fmt.Errorf("server said ##[error]no"))
	out := b.String()
	if strings.Contains(out, "##vso[") || strings.Contains(out, "##[") {
		t.Errorf("a log line carries a logging command: %q", out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Errorf("a log line starts a workflow command: %q", l)
		}
	}
}
