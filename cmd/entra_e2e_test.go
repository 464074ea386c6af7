package cmd_test

// End-to-end tests of entra:// with the real patinject executable, real git (http-backend) and
// curl, against the Entra, GitHub, Azure Pipelines and managed identity stand-ins of entratest
// (HTTPS under a test CA, trusted through SSL_CERT_FILE as a real authority is). The git server
// and the REST endpoint accept only Entra access tokens the stand-in issued and that have not
// expired. Every run is checked afterwards: no issued token in any output or any file, no
// private directory left.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/entratest"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/internal/testpeer/nugetfeed"
	"github.com/patinject/patinject/source/adopat/adotest"
)

const entraApp = "6a0c1f2e-0000-4000-a000-0000000000e1"

type entraWorld struct {
	t                    *testing.T
	bin                  string
	ca                   *entratest.CA
	e                    *entratest.Server
	gh                   *entratest.GitHub
	ap                   *entratest.AzurePipelines
	k8s                  *entratest.Issuer
	imds                 *entratest.IMDS
	apps                 *entratest.AppService
	conn                 string
	tokenFile            string
	home, tmp, work      string
	bearerGit, helperGit *gitserver.Server
	api                  string
	// What the post step of the last injectStep gets besides the job's environment (Azure's
	// task variable with the state key), and the job's temporary directory it cleans.
	postEnv  []string
	stepRoot string
	mapped   []string // secret variables an Azure Pipelines step maps into its environment
	via      string   // the way to the token for injectStep, when not the platform's own

	mu   sync.Mutex
	seen []seenToken // what the resource servers were handed, in order
}

type seenToken struct {
	token, scheme string
	at            time.Time
	ok            bool
}

func newEntraWorld(t *testing.T) *entraWorld {
	t.Helper()
	w := &entraWorld{t: t, bin: testpeer.Command(t, "patinject"), home: t.TempDir(), tmp: t.TempDir(), work: t.TempDir()}
	testpeer.Command(t, "git")
	w.ca = entratest.NewCA(t)
	w.e = entratest.Start(t, w.ca, entratest.Options{TokenLifetime: 20 * time.Second})
	w.gh = entratest.StartGitHub(t, w.ca, "contoso/app", "refs/heads/main")
	w.ap = entratest.StartAzurePipelines(t, w.ca, "contoso", "web")
	w.k8s = entratest.StartIssuer(t, w.ca)
	w.conn = "0d9e8f7a-0000-4000-a000-00000000c0aa"
	w.e.AddApp(entratest.App{ClientID: entraApp, Federated: []entratest.FederatedCredential{
		{Issuer: w.gh.URL, Subject: "repo:contoso/app:ref:refs/heads/main"},
		{Issuer: w.ap.URL, Subject: w.ap.AddServiceConnection(w.conn, "ado-wif")},
		{Issuer: w.k8s.URL, Subject: "system:serviceaccount:ci:runner"},
	}})
	w.e.AddManagedIdentity("3f3f3f3f-0000-4000-a000-0000000000a1", true)
	w.imds = entratest.StartIMDS(t, w.e)
	w.apps = entratest.StartAppService(t, w.e)
	w.tokenFile = filepath.Join(t.TempDir(), "federated-token")
	if err := os.WriteFile(w.tokenFile, []byte(w.k8s.Token("system:serviceaccount:ci:runner", "api://AzureADTokenExchange", time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	w.bearerGit = gitserver.StartGated(t, w.gate(false))
	w.helperGit = gitserver.StartGated(t, w.gate(true))
	api := httptest.NewServer(w.gate(false)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte("projects-ok\n"))
	})))
	t.Cleanup(api.Close)
	w.api = api.URL + "/contoso/_apis/projects"
	if err := os.WriteFile(filepath.Join(w.home, ".gitconfig"), []byte("[user]\n\tname = CI\n\temail = ci@example.invalid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// gate lets through "Bearer T" for an unexpired Azure DevOps token T of the stand-in, and, with
// basic, also Basic auth whose password is such a token (what git sends from a credential
// helper: Azure DevOps takes an Entra token as the password, as Microsoft documents for git).
func (w *entraWorld) gate(basic bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			var tok, scheme string
			if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
				tok, scheme = h[7:], "bearer"
			} else if _, p, ok := r.BasicAuth(); ok && basic {
				tok, scheme = p, "basic"
			}
			ok := false
			if tok != "" {
				g, valid := w.e.Valid(tok)
				ok = valid && g.Resource == entratest.AzureDevOps
			}
			if h != "" {
				w.mu.Lock()
				w.seen = append(w.seen, seenToken{token: tok, scheme: scheme, at: time.Now(), ok: ok})
				w.mu.Unlock()
			}
			if !ok {
				if basic {
					rw.Header().Add("WWW-Authenticate", `Basic realm="entra"`)
				}
				rw.Header().Add("WWW-Authenticate", "Bearer")
				http.Error(rw, "TF400813: not authorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}
}

func (w *entraWorld) seenTokens() []seenToken {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seenToken(nil), w.seen...)
}

// env is a job's environment: the machine's PATH, an isolated HOME and TMPDIR, the test CA,
// the stand-in authority, and extra.
func (w *entraWorld) env(extra map[string]string) []string {
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": w.home, "TMPDIR": w.tmp, "SSL_CERT_FILE": w.ca.File,
		"AZURE_AUTHORITY_HOST": w.e.URL, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
		"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "LANG": "C",
	}
	for k, v := range extra {
		env[k] = v
	}
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return kv
}

// in makes t, a subtest, the test that w's helpers log to and fail, until t ends: a failure
// then reports under the subtest it belongs to, with the commands that led to it.
func (w *entraWorld) in(t *testing.T) {
	parent := w.t
	w.t = t
	t.Cleanup(func() { w.t = parent })
}

// exec runs a program in dir and returns its exit code and combined output.
func (w *entraWorld) exec(env []string, dir string, args ...string) (int, string) {
	w.t.Helper()
	c := exec.Command(args[0], args[1:]...)
	c.Env, c.Dir = env, dir
	out, err := c.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("%s: %v", args[0], err)
	}
	w.t.Logf("%s: exit %d\n%s", strings.Join(args, " "), code, w.redact(string(out)))
	return code, string(out)
}

func (w *entraWorld) redact(s string) string {
	for _, tok := range w.e.Issued() {
		s = strings.ReplaceAll(s, tok, "[ISSUED TOKEN]")
	}
	return s
}

// withoutMaskCommands drops the lines by which `inject` tells the CI platform what to mask and
// which secret variables to set: the one place a value must be written (the runner reads them
// and prints neither).
func withoutMaskCommands(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		secretVar := strings.HasPrefix(l, "##vso[task.setvariable ") && strings.Contains(strings.SplitN(l, "]", 2)[0], ";issecret=true;")
		if !strings.HasPrefix(l, "::add-mask::") && !strings.HasPrefix(l, "##vso[task.setsecret]") && !secretVar {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// checkClean fails when an issued token is in any of outputs (outside mask commands) or in any file under HOME, TMPDIR
// or the work directory, or when a private directory is left in TMPDIR.
func (w *entraWorld) checkClean(outputs ...string) {
	w.t.Helper()
	issued := w.e.Issued()
	for i, out := range outputs {
		out = withoutMaskCommands(out)
		for _, tok := range issued {
			if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-40:]) {
				w.t.Errorf("output %d holds an issued token", i)
			}
		}
	}
	entries, _ := os.ReadDir(w.tmp)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "patinject-") {
			w.t.Errorf("left behind in TMPDIR: %s", en.Name())
		}
	}
	for _, root := range []string{w.home, w.tmp, w.work} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, tok := range issued {
				if bytes.Contains(b, []byte(tok)) {
					w.t.Errorf("%s holds an issued token", path)
				}
			}
			return nil
		})
	}
}

// vias are the ways to a token this test world offers, with the environment of each.
func (w *entraWorld) vias() map[string]struct {
	ref string
	env map[string]string
} {
	tenant := w.e.Tenant
	ref := func(q string) string { return "entra://" + tenant + "?client_id=" + entraApp + q }
	return map[string]struct {
		ref string
		env map[string]string
	}{
		"github":          {ref(""), w.gh.Env()},
		"azure-pipelines": {ref("&service_connection=" + w.conn), w.ap.Env()},
		"file":            {ref("&via=file"), map[string]string{"AZURE_FEDERATED_TOKEN_FILE": w.tokenFile}},
		"managed-identity IMDS": {"entra:?via=managed-identity", map[string]string{
			"HTTP_PROXY": w.imds.URL, "http_proxy": w.imds.URL}},
		"managed-identity App Service": {"entra:?via=managed-identity", w.apps.Env()},
	}
}

const cloneAndPush = `set -e
git clone -q "$REPO" app
cd app
echo "$1" >> README
git commit -qam "$1"
git push -q origin HEAD:main
curl -fsS -H "Authorization: $AUTH" "$API"
`

// Under run, for each way to a token: git clone and push with AUTHORIZATION: bearer, and a REST
// call with the Bearer header from --authorization-env.
func TestEntraRun(t *testing.T) {
	testpeer.Command(t, "curl")
	w := newEntraWorld(t)
	for name, v := range w.vias() {
		t.Run(name, func(t *testing.T) {
			w.in(t)
			before := len(w.seenTokens())
			dir, _ := os.MkdirTemp(w.work, "run-")
			env := w.env(merge(v.env, map[string]string{"REPO": w.bearerGit.Repo, "API": w.api}))
			code, out := w.exec(env, dir, w.bin, "run", "--token", v.ref, "--git", w.bearerGit.URL,
				"--authorization-env", "AUTH", "--", "sh", "-c", cloneAndPush, "sh", name)
			if code != 0 || !strings.Contains(out, "projects-ok") {
				t.Fatalf("exit %d", code)
			}
			seen := w.seenTokens()[before:]
			if len(seen) == 0 {
				t.Fatal("the servers saw no credential")
			}
			for _, s := range seen {
				if s.scheme != "bearer" || !s.ok {
					t.Errorf("a request carried %q (valid %v), want only valid Bearer tokens", s.scheme, s.ok)
				}
			}
			w.checkClean(out)
		})
	}
	// Without patinject the same job fails.
	code, _ := w.exec(w.env(map[string]string{"REPO": w.bearerGit.Repo, "API": w.api}), t.TempDir(), "sh", "-c", cloneAndPush, "sh", "without")
	if code == 0 {
		t.Fatal("the job succeeded without a token")
	}
}

// The --token of `inject` on GitHub Actions and Azure Pipelines: in a later step git clones and
// pushes with the bearer header, curl calls the REST API with the Bearer header of
// --authorization-env (on Azure Pipelines a secret variable, mapped into the step as the agent
// requires), npm installs and NuGet.exe restores; `cleanup` in the post step leaves nothing.
func TestEntraInject(t *testing.T) {
	testpeer.Command(t, "curl")
	w := newEntraWorld(t)
	w.e.SetTokenLifetime(time.Hour)
	f := w.startFeeds(t)
	for _, run := range []struct{ platform, via string }{
		{"github", ""}, {"azure", ""},
		{"github", "file"}, {"github", "managed-identity IMDS"},
		{"azure", "file"}, {"azure", "managed-identity App Service"},
	} {
		platform := run.platform
		t.Run(platform+"/"+cmp.Or(run.via, "own identity"), func(t *testing.T) {
			w.in(t)
			w.mapped, w.via = []string{"AUTH"}, run.via
			step, out := w.injectStep(platform, "--git", w.bearerGit.URL, "--authorization-env", "AUTH",
				"--npm", f.registry, "--nuget", f.nuget)
			for k, v := range merge(f.env, map[string]string{"API": w.api}) {
				step = append(step, k+"="+v)
			}
			before := len(w.seenTokens())
			dir := w.consumer(t)
			code, gout := w.exec(step, dir, "sh", "-c", `set -e
(git clone -q "$REPO" app && cd app && echo x >> README && git commit -qam x && git push -q origin HEAD:main)
rm -rf app
curl -fsS -H "Authorization: $AUTH" "$API"
`+feedsJob)
			if code != 0 || !strings.Contains(gout, "projects-ok") {
				t.Fatalf("the later step: exit %d", code)
			}
			for _, s := range w.seenTokens()[before:] {
				if !s.ok {
					t.Errorf("a request carried a token that was not taken (%q)", s.scheme)
				}
			}
			cout := w.cleanupStep(step)
			w.checkClean(out, gout, cout)
		})
	}
}

// injectStep runs `patinject inject --token REF TOOLS...` as the step of a job on platform and
// returns the environment of a later step (the job's, plus what inject handed on) and inject's
// output. REPO is the repository under the --git URL.
func (w *entraWorld) injectStep(platform string, tools ...string) ([]string, string) {
	w.t.Helper()
	var ref string
	job := map[string]string{"REPO": ""}
	root := w.t.TempDir()
	switch platform {
	case "github":
		ref = "entra://" + w.e.Tenant + "?client_id=" + entraApp
		job = merge(w.gh.Env(), map[string]string{"RUNNER_TEMP": root, "GITHUB_REPOSITORY": "contoso/app", "GITHUB_RUN_ID": "7"})
		for _, f := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
			p := filepath.Join(root, strings.ToLower(f))
			os.WriteFile(p, nil, 0o600)
			job[f] = p
		}
	case "azure":
		ref = "entra://" + w.e.Tenant + "?client_id=" + entraApp + "&service_connection=" + w.conn
		job = merge(w.ap.Env(), map[string]string{"AGENT_TEMPDIRECTORY": root})
	}
	if w.via != "" {
		// Another way to the token than the platform's own (a runner on AKS, on an Azure VM).
		v := w.vias()[w.via]
		ref, job = v.ref, merge(job, v.env)
	}
	for i := 0; i+1 < len(tools); i++ {
		if tools[i] == "--git" {
			job["REPO"] = strings.TrimSuffix(tools[i+1], "/") + "/repo.git"
		}
	}
	args := append([]string{w.bin, "inject", "--token", ref}, tools...)
	w.postEnv, w.stepRoot = nil, root
	code, out := w.exec(w.env(job), w.work, args...)
	if code != 0 {
		w.t.Fatalf("inject: exit %d", code)
	}
	later := merge(job, map[string]string{"PATH": os.Getenv("PATH")})
	switch platform {
	case "github":
		b, _ := os.ReadFile(job["GITHUB_ENV"])
		for k, v := range parseGitHubEnv(string(b)) {
			later[k] = v
		}
		// The runner puts each line of GITHUB_PATH first on the later steps' PATH.
		b, _ = os.ReadFile(job["GITHUB_PATH"])
		for _, dir := range strings.Fields(string(b)) {
			later["PATH"] = dir + ":" + later["PATH"]
		}
		b, _ = os.ReadFile(job["GITHUB_STATE"])
		st := parseGitHubEnv(string(b))
		if st["state"] != "" {
			later["STATE_state"] = st["state"]
		}
		for k, v := range st {
			if k != "state" {
				w.postEnv = append(w.postEnv, "STATE_"+k+"="+v) // only the action's post step sees these
			}
		}
	case "azure":
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			l := sc.Text()
			if dir, ok := strings.CutPrefix(l, "##vso[task.prependpath]"); ok {
				later["PATH"] = dir + ":" + later["PATH"]
			}
			if rest, ok := strings.CutPrefix(l, "##vso[task.settaskvariable variable=PATINJECT_STATE_KEY;issecret=true;]"); ok {
				w.postEnv = append(w.postEnv, "VSTS_TASKVARIABLE_PATINJECT_STATE_KEY="+rest)
			}
			rest, ok := strings.CutPrefix(l, "##vso[task.setvariable variable=")
			if !ok {
				continue
			}
			head, data, _ := strings.Cut(rest, "]")
			name, props, _ := strings.Cut(head, ";")
			if (!strings.Contains(props, "issecret=true") || slices.Contains(w.mapped, name)) && !strings.Contains(props, "isoutput=true") {
				later[name] = data // secret variables do not reach a script unless mapped
			}
		}
	}
	return w.env(later), out
}

// cleanupStep runs `patinject cleanup` as the post step of the last injectStep and checks that
// it removed the private directory from the job's temporary directory.
func (w *entraWorld) cleanupStep(env []string) string {
	w.t.Helper()
	code, out := w.exec(append(append([]string(nil), env...), w.postEnv...), w.work, w.bin, "cleanup")
	if code != 0 {
		w.t.Errorf("cleanup: exit %d", code)
	}
	entries, _ := os.ReadDir(w.stepRoot)
	for _, en := range entries {
		if en.IsDir() && strings.HasPrefix(en.Name(), "patinject-") {
			w.t.Errorf("cleanup left %s in the job's temporary directory", en.Name())
		}
	}
	return out
}

// parseGitHubEnv reads NAME=VALUE and NAME<<DELIM lines of a GitHub environment file.
func parseGitHubEnv(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if name, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			out[k] = v
		}
	}
	return out
}

// A job longer than the token's lifetime (20 s): git keeps working through the credential
// helper after the first token expired, under run (the helper asks the running patinject) and
// after inject (the helper exchanges again from the job's GitHub identity).
func TestEntraRefreshLongJob(t *testing.T) {
	t.Parallel() // mostly sleeping through token lifetimes, in a world of its own
	w := newEntraWorld(t)
	longJob := `set -e
git clone -q "$REPO" app
cd app
sleep 24
echo later >> README
git commit -qam later
git push -q origin HEAD:main
`
	check := w.checkRefreshed
	t.Run("run", func(t *testing.T) {
		w.in(t)
		before := len(w.seenTokens())
		dir, _ := os.MkdirTemp(w.work, "long-")
		env := w.env(merge(w.gh.Env(), map[string]string{"REPO": w.helperGit.Repo, "GITURL": w.helperGit.URL}))
		// Last, the job prints what the helper hands out now: a token refreshed after the run
		// began, which run's redactor learns before the helper hands it to git.
		printFresh := "\nprintf 'url=%s\\n\\n' \"$GITURL\" | git credential fill\n"
		code, out := w.exec(env, dir, w.bin, "run", "--token", "entra://"+w.e.Tenant+"?client_id="+entraApp,
			"--git", w.helperGit.URL, "--git-credential-helper", "--", "sh", "-c", longJob+printFresh)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		check(t, before)
		if !strings.Contains(out, "password=***") {
			t.Errorf("the job's git credential fill did not print a redacted password:\n%s", out)
		}
		w.checkClean(out)
	})
	for _, platform := range []string{"github", "azure"} {
		t.Run("inject-"+platform, func(t *testing.T) {
			w.in(t)
			before := len(w.seenTokens())
			step, out := w.injectStep(platform, "--git", w.helperGit.URL, "--git-credential-helper")
			// A step between inject and this one pointed the authority elsewhere (GITHUB_ENV,
			// task.setvariable): the helper still exchanges where inject did, and the job's ID
			// token goes nowhere else.
			step = append(step, "AZURE_AUTHORITY_HOST=https://127.0.0.1:9/", "AZURE_CLIENT_ID=00000000-0000-0000-0000-0000000000ff")
			dir, _ := os.MkdirTemp(w.work, "long-inject-")
			code, gout := w.exec(step, dir, "sh", "-c", longJob)
			if code != 0 {
				t.Fatalf("the later step: exit %d", code)
			}
			check(t, before)
			cout := w.cleanupStep(step)
			w.checkClean(out, gout, cout)
		})
	}
}

// A NuGet restore after the token expired: NuGet meets a 401 with the token its configuration
// holds, asks the authentication plugin --nuget installed (NuGet's cross-platform plugin
// protocol, run by the real NuGet.exe) and gets a fresh token, under run (from the running
// patinject) and after inject on GitHub and Azure Pipelines (exchanged again from the job's
// identity). The feed takes only an unexpired token; the first restore uses the first one.
func TestEntraNuGetRefresh(t *testing.T) {
	t.Parallel() // mostly sleeping through token lifetimes, in a world of its own
	w := newEntraWorld(t)
	mono := testpeer.Command(t, "mono")
	exe := testpeer.Env(t, "PATINJECT_TEST_NUGET")
	feed := nugetfeed.StartGated(t, w.gate(true), nugetfeed.Package{ID: "Entra.Demo", Version: "1.0.0"})
	os.MkdirAll(filepath.Join(w.home, ".config", "NuGet"), 0o755)
	os.WriteFile(filepath.Join(w.home, ".config", "NuGet", "NuGet.Config"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /></packageSources></configuration>
`), 0o600)
	job := `set -e
# Where dotnet 6.13+ looks for plugins: an executable named nuget-plugin-* on PATH.
test -x "$(command -v nuget-plugin-patinject)"
restore() { "$MONO" "$NUGET" restore packages.config -PackagesDirectory out -NoCache -NonInteractive -ConfigFile "$PATINJECT_NUGET_CONFIG"; }
restore
test -f out/Entra.Demo.1.0.0/Entra.Demo.1.0.0.nupkg
rm -rf out
sleep 24
# The control: without the plugin, NuGet has only the expired token.
if (unset NUGET_NETFX_PLUGIN_PATHS; restore); then echo "CONTROL: restored without the plugin"; exit 3; fi
rm -rf out
# Bad input after inject: the step lacks the job's identity (the variable is not mapped); the
# plugin says why, and NuGet fails.
if [ -n "$IDENTITY_VAR" ]; then
  if (unset "$IDENTITY_VAR"; restore) > no-identity.log 2>&1; then echo "restored without the identity"; exit 4; fi
  cat no-identity.log
  grep -q "patinject: nuget-plugin: a fresh token for entra://" no-identity.log
  rm -rf out
fi
restore
test -f out/Entra.Demo.1.0.0/Entra.Demo.1.0.0.nupkg
`
	project := func(t *testing.T) string {
		dir, _ := os.MkdirTemp(w.work, "nuget-")
		os.WriteFile(filepath.Join(dir, "packages.config"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<packages><package id="Entra.Demo" version="1.0.0" targetFramework="net48" /></packages>
`), 0o644)
		return dir
	}
	tools := map[string]string{"MONO": mono, "NUGET": exe, "IDENTITY_VAR": ""}
	t.Run("run", func(t *testing.T) {
		w.in(t)
		before := len(w.seenTokens())
		env := w.env(merge(w.gh.Env(), tools))
		code, out := w.exec(env, project(t), w.bin, "run", "--token", "entra://"+w.e.Tenant+"?client_id="+entraApp,
			"--nuget", feed.URL, "--", "sh", "-c", job)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		w.checkRefreshed(t, before)
		w.checkClean(out)
	})
	for _, platform := range []string{"github", "azure"} {
		t.Run("inject-"+platform, func(t *testing.T) {
			w.in(t)
			before := len(w.seenTokens())
			step, out := w.injectStep(platform, "--nuget", feed.URL)
			identity := map[string]string{"github": "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "azure": "SYSTEM_ACCESSTOKEN"}[platform]
			for k, v := range merge(tools, map[string]string{"IDENTITY_VAR": identity}) {
				step = append(step, k+"="+v)
			}
			code, nout := w.exec(step, project(t), "sh", "-c", job)
			if code != 0 {
				t.Fatalf("the later step: exit %d", code)
			}
			w.checkRefreshed(t, before)
			cout := w.cleanupStep(step)
			w.checkClean(out, nout, cout)
		})
	}
	// NuGet's cache of the plugin's claims went with the private directory: none is left in
	// HOME, where NuGet keeps it by default.
	filepath.WalkDir(w.home, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.EqualFold(d.Name(), "plugins-cache") {
			t.Errorf("NuGet's plugin cache is left in HOME: %s", path)
		}
		return nil
	})
}

// checkRefreshed fails t unless, among the requests the servers saw since before, one carried
// a token other than the first, accepted, after the first had expired.
func (w *entraWorld) checkRefreshed(t *testing.T, before int) {
	t.Helper()
	seen := w.seenTokens()[before:]
	var first string
	var firstAt time.Time
	refreshed := false
	for _, s := range seen {
		if !s.ok {
			continue
		}
		if first == "" {
			first, firstAt = s.token, s.at
		} else if s.token != first && s.at.Sub(firstAt) > 20*time.Second {
			refreshed = true
			if _, valid := w.e.Valid(first); valid {
				t.Errorf("the first token is still valid when the new one is used")
			}
		}
	}
	if !refreshed {
		t.Errorf("no refreshed token reached the server after the first expired (%d requests)", len(seen))
	}
}

// Bad input: each a clear error naming the failing step, exit 125, nothing left behind, no
// token in any output.
func TestEntraBadInput(t *testing.T) {
	w := newEntraWorld(t)
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte(w.k8s.Token("system:serviceaccount:ci:intruder", "api://AzureADTokenExchange", time.Hour)), 0o600)
	expired := filepath.Join(t.TempDir(), "expired")
	os.WriteFile(expired, []byte(w.k8s.Token("system:serviceaccount:ci:runner", "api://AzureADTokenExchange", -time.Minute)), 0o600)
	noPermission := map[string]string{"GITHUB_ACTIONS": "true"}
	tenant := w.e.Tenant
	for _, tc := range []struct {
		name, ref string
		env       map[string]string
		want      []string
	}{
		{"no federated credential for the subject", "entra://" + tenant + "?client_id=" + entraApp + "&via=file&token_file=" + other, nil,
			[]string{"exchanging it at", "AADSTS700213", "system:serviceaccount:ci:intruder", "Federated credentials"}},
		{"wrong tenant", "entra://00000000-1111-2222-3333-444444444444?client_id=" + entraApp, w.gh.Env(),
			[]string{"AADSTS90002", "tenant 00000000-1111-2222-3333-444444444444 not found"}},
		{"expired assertion", "entra://" + tenant + "?client_id=" + entraApp + "&via=file&token_file=" + expired, nil,
			[]string{"AADSTS700024"}},
		{"managed identity endpoint down", "entra:?via=managed-identity", map[string]string{"HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"},
			[]string{"asking the managed identity endpoint"}},
		{"OIDC request without id-token: write", "entra://" + tenant + "?client_id=" + entraApp + "&via=github", noPermission,
			[]string{"getting the assertion (via github)", "id-token: write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.in(t)
			code, out := w.exec(w.env(tc.env), w.work, w.bin, "run", "--token", tc.ref, "--git", w.bearerGit.URL,
				"--authorization-env", "AUTH", "--", "sh", "-c", "echo the command ran")
			if code != 125 || strings.Contains(out, "the command ran") {
				t.Fatalf("exit %d, want 125 before the command", code)
			}
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("the error lacks %q", s)
				}
			}
			w.checkClean(out)
		})
	}
	if n := len(w.e.Issued()); n != 0 {
		t.Errorf("%d tokens were issued for bad input", n)
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// entraFeeds are an npm registry that takes an Entra token as a bearer token (_authToken, as
// Microsoft documents for Azure Artifacts; the registry is the real verdaccio behind a gate that
// checks the token and then logs in to verdaccio), holding entra-demo, and a NuGet v3 feed that
// takes it as the Basic password, holding Entra.Demo.
type entraFeeds struct {
	registry, nuget string
	env             map[string]string // what the job script feedsJob needs
}

func (w *entraWorld) startFeeds(t *testing.T) entraFeeds {
	t.Helper()
	testpeer.Command(t, "npm")
	mono := testpeer.Command(t, "mono")
	exe := testpeer.Env(t, "PATINJECT_TEST_NUGET")
	const pw = "verdaccio-password-0123456789"
	upstream := startVerdaccio(t, "ci", pw)
	target, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(target)
	reg := httptest.NewServer(w.gate(false)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.SetBasicAuth("ci", pw) // the gate let an Entra token through: the feed's own login
		proxy.ServeHTTP(rw, r)
	})))
	t.Cleanup(reg.Close)
	f := entraFeeds{registry: reg.URL + "/"}
	f.nuget = nugetfeed.StartGated(t, w.gate(true), nugetfeed.Package{ID: "Entra.Demo", Version: "1.0.0"}).URL
	os.MkdirAll(filepath.Join(w.home, ".config", "NuGet"), 0o755)
	os.WriteFile(filepath.Join(w.home, ".config", "NuGet", "NuGet.Config"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /></packageSources></configuration>
`), 0o600)
	f.env = map[string]string{"MONO": mono, "NUGET": exe, "REGISTRY": f.registry,
		"npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false"}

	pkg := filepath.Join(w.work, "pkg")
	os.MkdirAll(pkg, 0o755)
	os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"entra-demo","version":"1.0.0","license":"MIT"}`), 0o644)
	os.WriteFile(filepath.Join(pkg, "index.js"), []byte("module.exports = 42;\n"), 0o644)
	// Published straight to verdaccio with its own login: the setting up, not the test.
	npmrc := filepath.Join(t.TempDir(), "npmrc")
	os.WriteFile(npmrc, []byte(strings.TrimPrefix(upstream, "http:")+":_auth="+base64.StdEncoding.EncodeToString([]byte("ci:"+pw))+"\n"), 0o600)
	// Outside the GitHub job's environment: npm 11 publish, seeing ACTIONS_ID_TOKEN_REQUEST_URL,
	// asks for an OIDC token for trusted publishing and retries for a minute against the
	// stand-in, whose test CA node does not trust.
	if code, _ := w.exec(w.env(merge(f.env, map[string]string{"NPM_CONFIG_USERCONFIG": npmrc})), w.work, "npm", "publish", pkg, "--registry", upstream); code != 0 {
		t.Fatalf("npm publish: exit %d", code)
	}
	// Without patinject the job fails.
	if code, _ := w.exec(w.env(merge(w.gh.Env(), f.env)), w.consumer(t), "sh", "-c", feedsJob); code == 0 {
		t.Fatal("the feeds job succeeded without a token")
	}
	return f
}

// consumer is a fresh directory with an npm package.json and a NuGet packages.config.
func (w *entraWorld) consumer(t *testing.T) string {
	dir, _ := os.MkdirTemp(w.work, "consumer-")
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"consumer","version":"1.0.0","private":true}`), 0o644)
	os.WriteFile(filepath.Join(dir, "packages.config"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<packages><package id="Entra.Demo" version="1.0.0" targetFramework="net48" /></packages>
`), 0o644)
	return dir
}

// feedsJob installs entra-demo with npm and restores Entra.Demo with NuGet.exe, in a consumer
// directory; the NuGet.Config is patinject's when it wrote one.
const feedsJob = `set -e
npm install --registry "$REGISTRY" --cache "$PWD/.npm-cache" entra-demo
test -f node_modules/entra-demo/index.js
cfg=
if [ -n "$PATINJECT_NUGET_CONFIG" ]; then cfg="-ConfigFile $PATINJECT_NUGET_CONFIG"; fi
"$MONO" "$NUGET" restore packages.config -PackagesDirectory out -NoCache -NonInteractive $cfg
test -f out/Entra.Demo.1.0.0/Entra.Demo.1.0.0.nupkg
`

// Feeds under run, for each way to a token: npm installs from the registry and NuGet.exe
// restores from the feed, each with the Entra token in the form it takes.
func TestEntraFeeds(t *testing.T) {
	w := newEntraWorld(t)
	// npm takes seconds to start on a busy machine: these tests are not about expiry.
	w.e.SetTokenLifetime(time.Hour)
	f := w.startFeeds(t)
	for name, v := range w.vias() {
		t.Run(name, func(t *testing.T) {
			w.in(t)
			env := w.env(merge(v.env, f.env))
			code, out := w.exec(env, w.consumer(t), w.bin, "run", "--token", v.ref, "--npm", f.registry, "--nuget", f.nuget,
				"--", "sh", "-c", feedsJob)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			w.checkClean(out)
		})
	}
}

// The same reference serves --ado-access-token: resolved through the entra source, then refused
// by the PAT minting for what it is (an application's token; Azure DevOps lets only users mint
// PATs), with the advice to use the Entra token directly. Nothing is minted or left.
func TestEntraAsAdoAccessToken(t *testing.T) {
	w := newEntraWorld(t)
	ado := adotest.NewServer(t)
	ref := "entra://" + w.e.Tenant + "?client_id=" + entraApp + "&via=file"
	code, out := w.exec(w.env(map[string]string{"AZURE_FEDERATED_TOKEN_FILE": w.tokenFile}), w.work, w.bin, "run",
		"--token", "ado-pat://contoso?scope=vso.code", "--ado-url", ado.URL, "--ado-access-token", ref, "--", "sh", "-c", "echo ran")
	if code != 125 || strings.Contains(out, "ran\n") {
		t.Fatalf("exit %d, want 125", code)
	}
	if !strings.Contains(out, "application's") || !strings.Contains(out, "Entra token directly") {
		t.Errorf("the refusal does not say why")
	}
	if len(w.e.Issued()) == 0 {
		t.Error("the entra reference was not resolved")
	}
	w.checkClean(out)
}

// With a user's token, from the Azure CLI (via=cli), the same reference mints and revokes a PAT.
func TestEntraCLIMintsPATs(t *testing.T) {
	w := newEntraWorld(t)
	ado := adotest.NewServer(t)
	bin := t.TempDir()
	// az account get-access-token -o json --resource R [--tenant T]: the signed-in user's token.
	az := "#!/bin/sh\n[ \"$1 $2 $3 $4\" = 'account get-access-token -o json' ] || exit 2\n" +
		"printf '{\"accessToken\": \"%s\", \"expires_on\": %s, \"tokenType\": \"Bearer\"}\\n' '" + ado.AccessToken + "' \"$(($(date +%s) + 3600))\"\n"
	if err := os.WriteFile(filepath.Join(bin, "az"), []byte(az), 0o755); err != nil {
		t.Fatal(err)
	}
	env := w.env(map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH")})
	code, out := w.exec(env, w.work, w.bin, "run", "--token", "ado-pat://contoso?scope=vso.code", "--token-env", "PAT",
		"--ado-url", ado.URL, "--ado-access-token", "entra:?via=cli", "--", "sh", "-c", `test -n "$PAT" && echo minted`)
	if code != 0 || !strings.Contains(out, "minted") {
		t.Fatalf("exit %d", code)
	}
	w.checkClean(out)
	for _, p := range ado.PATs() {
		if !p.Revoked {
			t.Errorf("PAT %s left active", p.AuthorizationID)
		}
	}
	if len(ado.PATs()) != 1 {
		t.Errorf("%d PATs minted, want 1", len(ado.PATs()))
	}
}

// A user's Entra token from az outlives nothing: it may expire while the job runs. The access
// token that minted the PAT is asked for again when it is about to expire (an entra:// reference
// gives a fresh one each time), so the revocation at the end of a job longer than the token
// still goes through. The fake service takes a user token only until its exp.
func TestEntraCLIAccessTokenRefreshedForTheRevocation(t *testing.T) {
	w := newEntraWorld(t)
	ado := adotest.NewServer(t)
	ado.AcceptTokens(func(tok string) bool {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return false
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		var c struct {
			Exp int64  `json:"exp"`
			UPN string `json:"upn"`
		}
		if err != nil || json.Unmarshal(b, &c) != nil {
			return false
		}
		return c.UPN == "dev@contoso.example" && time.Now().Unix() < c.Exp
	})
	bin := t.TempDir()
	// The first az call gives a token that expires in 8 seconds; every later one a fresh hour.
	short, long := time.Now().Add(8*time.Second), time.Now().Add(time.Hour)
	for name, exp := range map[string]time.Time{"first": short, "later": long} {
		out := fmt.Sprintf(`{"accessToken": %q, "expires_on": %d, "tokenType": "Bearer"}`+"\n", adotest.UserToken("dev@contoso.example", exp), exp.Unix())
		if err := os.WriteFile(filepath.Join(bin, name+".json"), []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	az := "#!/bin/sh\n[ \"$1 $2 $3 $4\" = 'account get-access-token -o json' ] || exit 2\n" +
		"d=$(dirname \"$0\"); if [ -e \"$d/first.json\" ]; then cat \"$d/first.json\"; rm \"$d/first.json\"; else cat \"$d/later.json\"; fi\n"
	if err := os.WriteFile(filepath.Join(bin, "az"), []byte(az), 0o755); err != nil {
		t.Fatal(err)
	}
	env := w.env(map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH")})
	code, out := w.exec(env, w.work, w.bin, "run", "--token", "ado-pat://contoso?scope=vso.code", "--token-env", "PAT",
		"--ado-url", ado.URL, "--ado-access-token", "entra:?via=cli", "--", "sh", "-c", `test -n "$PAT" && sleep 10 && echo done`)
	if code != 0 || !strings.Contains(out, "done") {
		t.Fatalf("exit %d", code)
	}
	if len(ado.PATs()) != 1 {
		t.Fatalf("%d PATs minted, want 1", len(ado.PATs()))
	}
	if p := ado.PATs()[0]; !p.Revoked {
		t.Errorf("PAT %s left active after the access token that minted it expired", p.AuthorizationID)
	}
	if !strings.Contains(out, "revoked PAT") {
		t.Errorf("no revocation said")
	}
	w.checkClean(out)
}
