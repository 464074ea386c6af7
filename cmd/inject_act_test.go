package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// azureReposGate stands in front of the test git server as Azure Repos would: a request passes
// with Basic auth whose password is a live PAT of the fake Azure DevOps, else 401.
type azureReposGate struct {
	ado  *adotest.Server
	next http.Handler

	mu     sync.Mutex
	passed int
	tokens map[string]bool
}

func (g *azureReposGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, password, ok := r.BasicAuth()
	live := false
	if ok {
		for _, p := range g.ado.Live() {
			live = live || p.Token == password
		}
	}
	if !live {
		w.Header().Set("WWW-Authenticate", `Basic realm="azure-repos"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	g.mu.Lock()
	g.passed++
	g.tokens[password] = true
	g.mu.Unlock()
	g.next.ServeHTTP(w, r)
}

const actWorkflow = `name: e2e
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      ENTRA_TOKEN: ${{ secrets.ENTRA_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        id: pat
        with:
          token: ado-pat://contoso?scope=vso.code&ttl=1h
          ado-url: ADO_URL
          ado-access-token: env:ENTRA_TOKEN
          git: GIT_URL
          token-env: ADO_PAT
      - name: clone with the injected credential
        run: |
          git clone GIT_URLrepo.git work
          test -f work/README && echo "CLONED-OK"
      - name: print the token
        run: |
          echo "the token is $ADO_PAT"
          printf 'length %s\n' "${#ADO_PAT}"
      - name: outputs
        run: echo "authorization id ${{ steps.pat.outputs.authorization-id }}, expires ${{ steps.pat.outputs.expiry }}"
      - name: a hostile later step tries to steer the post step through GITHUB_ENV
        run: |
          echo "PATINJECT_ADO_ACCESS_TOKEN=env:HOSTILE" >> "$GITHUB_ENV"
          echo "PATINJECT_TRUST_UNVERIFIED_STATE=true" >> "$GITHUB_ENV"
          echo "PATINJECT_ORPHANS=true" >> "$GITHUB_ENV"
          echo "HTTP_PROXY=http://127.0.0.1:9/" >> "$GITHUB_ENV"
`

// TestActEndToEnd runs the action in nektos/act, a GitHub Actions runner emulation, on the
// host: a workflow whose action mints a PAT from the fake Azure DevOps, whose later steps clone
// with it from a git server that takes only live PATs and print it (masked), and whose post step
// revokes it.
func TestActEndToEnd(t *testing.T) {
	ado := adotest.NewServer(t)
	repos := gitserver.Start(t, "", "")
	target, _ := url.Parse(repos.URL)
	gate := &azureReposGate{ado: ado, next: httputil.NewSingleHostReverseProxy(target), tokens: map[string]bool{}}
	front := httptest.NewServer(gate)
	t.Cleanup(front.Close)
	gitURL := front.URL + "/"
	out, home, err := runActJob(t, strings.NewReplacer("ADO_URL", ado.URL, "GIT_URL", gitURL).Replace(actWorkflow), ado)
	if err != nil {
		t.Fatalf("act: %v", err)
	}

	pats := ado.PATs()
	if ado.Creates() != 1 || len(pats) != 1 {
		t.Fatalf("the fake Azure DevOps minted %d PATs, want 1", ado.Creates())
	}
	pat := pats[0]
	if got := ado.Revokes(pat.AuthorizationID); got != 1 {
		t.Errorf("the PAT was revoked %d times, want once (by the post step)", got)
	}
	if n := ado.Requests(adotest.OpRevoke); n != 1 {
		t.Errorf("%d revoke requests, want 1", n)
	}
	if len(ado.Live()) != 0 {
		t.Errorf("a PAT is still live after the job")
	}
	if !strings.Contains(out, "CLONED-OK") || !gate.tokens[pat.Token] {
		t.Errorf("the clone did not authenticate with the minted PAT (gate passed %d requests)", gate.passed)
	}
	if !strings.Contains(out, "the token is ***") || !strings.Contains(out, "length 52") {
		t.Errorf("the token was not printed masked (or not handed on)")
	}
	if !strings.Contains(out, "authorization id "+pat.AuthorizationID) {
		t.Errorf("the authorization-id output does not reach later steps")
	}
	for _, form := range []string{pat.Token, b64std(pat.Token), b64std(":" + pat.Token), b64std("patinject:" + pat.Token), ado.AccessToken} {
		if strings.Contains(out, form) {
			t.Errorf("act's output shows a secret form %q...", form[:8])
		}
	}
	left, _ := filepath.Glob(filepath.Join(home, ".cache", "act", "*", "tmp", "patinject*"))
	if len(left) > 0 {
		t.Errorf("left behind in RUNNER_TEMP after the post step: %v", left)
	}
	for _, want := range []string{"(found on PATH)", "patinject: handed on", "ignoring HTTP_PROXY, PATINJECT_ADO_ACCESS_TOKEN, PATINJECT_ORPHANS, PATINJECT_TRUST_UNVERIFIED_STATE"} {
		if !strings.Contains(out, want) {
			t.Errorf("act's output lacks %q", want)
		}
	}
}

// runActJob runs workflow in nektos/act, on the host, with the action of this tree (action.yml,
// action/*.js) and patinject built from this tree first on PATH, and the fake Azure DevOps's
// user token as the secret ENTRA_TOKEN. It returns act's output and the HOME it ran in (act keeps
// its workspaces and RUNNER_TEMP under it).
func runActJob(t *testing.T, workflow string, ado *adotest.Server) (out, home string, err error) {
	t.Helper()
	return runAct(t, workflow, actOptions{
		args: []string{"-s", "ENTRA_TOKEN"}, env: []string{"ENTRA_TOKEN=" + ado.AccessToken},
		mask: func(s string) string { return maskFor(s, ado) },
	})
}

// actOptions are what a workflow run adds to act's command line and environment, and how its
// output is made fit for the test log.
type actOptions struct {
	args, env []string
	mask      func(string) string
}

func runAct(t *testing.T, workflow string, o actOptions) (out, home string, err error) {
	t.Helper()
	act := testpeer.Env(t, "PATINJECT_TEST_ACT")
	git := testpeer.Command(t, "git")
	node := testpeer.Command(t, "node")
	goBin := testpeer.Command(t, "go")

	bin := t.TempDir()
	// With the lifecycle tests' hook (source/adopat/testhook.go), which release builds lack.
	build := exec.Command(goBin, "build", "-tags", "patinject_testhooks", "-o", filepath.Join(bin, "patinject"), "./cmd/patinject")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := t.TempDir()
	files := map[string]string{".github/workflows/e2e.yml": workflow}
	for _, f := range []string{"action.yml", "action/lib.js", "action/main.js", "action/post.js", "action/release.js", "tasks/patinject/launch.js"} {
		files[f] = readText(t, filepath.Join("..", f))
	}
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home = t.TempDir()
	gitEnv := []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid"}
	for _, args := range [][]string{{"init", "-q", "--initial-branch=main"}, {"add", "."}, {"commit", "-q", "-m", "e2e"}} {
		c := exec.Command(git, args...)
		c.Dir, c.Env = work, gitEnv
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, act, append([]string{"push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server"}, o.args...)...)
	c.Dir = work
	path := strings.Join([]string{bin, filepath.Dir(git), filepath.Dir(node), "/usr/bin", "/bin"}, string(os.PathListSeparator))
	c.Env = append([]string{"HOME=" + home, "PATH=" + path, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}, o.env...)
	c.WaitDelay = 10 * time.Second
	outb, err := c.CombinedOutput()
	out = string(outb)
	t.Logf("act output:\n%s", o.mask(out))
	return out, home, err
}

// The runner loses the main step's patinject right after it minted (a SIGKILL between the
// create and the journal's id line, by the test hook): the main step fails, and the post step,
// finding no state, takes the PAT back through the journal in RUNNER_TEMP, by its name tag.
const actKilledWorkflow = `name: killed
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      ENTRA_TOKEN: ${{ secrets.ENTRA_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        env:
          PATINJECT_TEST_KILL_AFTER_CREATE: "1"
        with:
          token: ado-pat://contoso?scope=vso.code&ttl=1h
          ado-url: ADO_URL
          ado-access-token: env:ENTRA_TOKEN
          token-env: ADO_PAT
`

func TestActPostStepRevokesWhenMainDied(t *testing.T) {
	ado := adotest.NewServer(t)
	out, home, err := runActJob(t, strings.NewReplacer("ADO_URL", ado.URL).Replace(actKilledWorkflow), ado)
	if err == nil {
		t.Errorf("act succeeded, but the main step's patinject was killed")
	}
	if ado.Creates() != 1 {
		t.Fatalf("the fake Azure DevOps minted %d PATs, want 1", ado.Creates())
	}
	if n := len(ado.Live()); n != 0 {
		t.Errorf("%d PATs live after the post step", n)
	}
	for _, want := range []string{"taking back what a patinject that died", "found by its name", ": verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("act's output lacks %q", want)
		}
	}
	if strings.Contains(out, ado.PATs()[0].Token) || strings.Contains(out, ado.AccessToken) {
		t.Errorf("act's output shows a secret")
	}
	left, _ := filepath.Glob(filepath.Join(home, ".cache", "act", "*", "tmp", "patinject-journal-*"))
	if len(left) > 0 {
		t.Errorf("journals left in RUNNER_TEMP after the post step: %v", left)
	}
}

// maskFor keeps the PAT out of the test's own log.
func maskFor(s string, ado *adotest.Server) string {
	for _, p := range ado.PATs() {
		s = strings.ReplaceAll(s, p.Token, "<PAT>")
	}
	return strings.ReplaceAll(s, ado.AccessToken, "<ENTRA>")
}
