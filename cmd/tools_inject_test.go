package cmd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/internal/testpeer/nugetfeed"
)

// TestToolsAfterInjectAndCleanup is the CI front door's story with the real clients: `inject`
// (here --platform local, whose dotenv file stands for the variables a platform hands on) writes
// the tools' files into its private directory, later steps clone, curl, publish, install and
// restore with nothing but those variables, and `cleanup` removes every file again.
func TestToolsAfterInjectAndCleanup(t *testing.T) {
	mono := testpeer.Command(t, "mono")
	exe := testpeer.Env(t, "PATINJECT_TEST_NUGET")
	curl := testpeer.Command(t, "curl")
	testpeer.Command(t, "npm")
	e := newToolEnv(t, nil)
	srv := gitserver.Start(t, toolUser, e.token)
	api, apiLog := tokenServer(t, "127.0.0.1:0", e.token)
	registry := startVerdaccio(t, toolUser, e.token)
	feed := nugetfeed.Start(t, toolUser, e.token, nugetfeed.Package{ID: "Patinject.Demo", Version: "1.0.0"})
	userConfig := `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="contoso-feed" value="` + feed.URL + `" />
  </packageSources>
</configuration>
`
	const configName = ".config/NuGet/NuGet.Config"
	e.own[configName] = userConfig
	if err := os.WriteFile(filepath.Join(e.home, filepath.FromSlash(configName)), []byte(userConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(e.work, "project")
	pkg := filepath.Join(e.work, "pkg")
	for path, content := range map[string]string{
		filepath.Join(project, "packages.config"): `<packages><package id="Patinject.Demo" version="1.0.0" /></packages>`,
		filepath.Join(project, "package.json"):    `{"name":"consumer","version":"1.0.0","private":true}`,
		filepath.Join(pkg, "package.json"):        `{"name":"patinject-ci-demo","version":"1.0.0","license":"MIT"}`,
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(project)

	state := filepath.Join(e.work, "state.json")
	dotenv := filepath.Join(e.work, "job.env")
	var out, errb bytes.Buffer
	code := cmd.Main([]string{"patinject", "inject", "--platform", "local", "--dotenv", dotenv, "--state", state,
		"--token", "env:T", "--username", toolUser,
		"--git", srv.URL, "--netrc", "127.0.0.1", "--npm", registry, "--nuget", "contoso-feed=" + feed.URL,
	}, strings.NewReader(""), &out, &errb)
	t.Logf("patinject inject: exit %d\n%s%s", code, out.String(), errb.String())
	if code != 0 {
		t.Fatal("inject failed")
	}
	vars, err := godotenv.Read(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"GIT_CONFIG_VALUE_0", "NPM_CONFIG_USERCONFIG", "NETRC", "PATINJECT_CURL_CONFIG", "PATINJECT_NUGET_CONFIG"} {
		if v := vars[name]; strings.Contains(v, e.token) || strings.Contains(v, "basic ") {
			t.Errorf("%s holds a secret; in inject it only points at a file", name)
		}
	}
	later := os.Environ()
	for k, v := range vars {
		later = append(later, k+"="+v)
	}
	step := func(command ...string) {
		t.Helper()
		c := exec.Command(command[0], command[1:]...)
		c.Env = later
		c.Dir = project
		b, err := c.CombinedOutput()
		t.Logf("later step: %s\n%s", strings.Join(command, " "), e.redact(string(b)))
		if err != nil {
			t.Errorf("later step %s: %v", strings.Join(command, " "), err)
		}
	}
	step("git", "clone", srv.Repo, filepath.Join(e.work, "clone"))
	step("sh", "-c", `exec "$0" -fsS --netrc-file "$NETRC" "$1" && exec "$0" -fsS -K "$PATINJECT_CURL_CONFIG" "$1"`, curl, api)
	step("npm", "publish", pkg, "--registry", registry)
	step("npm", "install", "--registry", registry, "patinject-ci-demo")
	step("sh", "-c", `exec "$@" -ConfigFile "$PATINJECT_NUGET_CONFIG"`, "sh", mono, exe, "restore", "packages.config", "-PackagesDirectory", "out", "-NoCache", "-NonInteractive")
	for _, p := range []string{"clone/README", "project/node_modules/patinject-ci-demo/package.json", "project/out/Patinject.Demo.1.0.0/Patinject.Demo.1.0.0.nupkg"} {
		if _, err := os.Stat(filepath.Join(e.work, filepath.FromSlash(p))); err != nil {
			t.Errorf("a later step did not produce %s: %v", p, err)
		}
	}
	if len(apiLog.Authorized()) == 0 {
		t.Error("curl sent no credential")
	}

	out.Reset()
	errb.Reset()
	code = cmd.Main([]string{"patinject", "cleanup", "--state", state}, strings.NewReader(""), &out, &errb)
	t.Logf("patinject cleanup: exit %d\n%s%s", code, out.String(), errb.String())
	if code != 0 {
		t.Fatal("cleanup failed")
	}
	for name, path := range map[string]string{"dotenv": dotenv, "NETRC": vars["NETRC"], "NPM_CONFIG_USERCONFIG": vars["NPM_CONFIG_USERCONFIG"],
		"PATINJECT_NUGET_CONFIG": vars["PATINJECT_NUGET_CONFIG"], "PATINJECT_CURL_CONFIG": vars["PATINJECT_CURL_CONFIG"], "git include": vars["GIT_CONFIG_VALUE_0"]} {
		if path == "" {
			t.Errorf("%s: no path handed on", name)
			continue
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s (%s) remains after cleanup", name, path)
		}
	}
	// checkAfter (newToolEnv) then shows that nothing of patinject's is left in TMPDIR, that the
	// user's files are as they were, and that no file holds the token in any form.
}
