package cmd

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/entratest"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/internal/testpeer/nugetfeed"
)

const actEntraWorkflow = `name: entra
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          token: entra://TENANT?client_id=APP
          git: GIT_URL
          git-credential-helper: true
          nuget: FEED_URL
      - name: a job longer than the token's life
        run: |
          git clone -q GIT_URLrepo.git app
          cd app
          sleep 24
          echo later >> README
          git -c user.name=ci -c user.email=ci@example.invalid commit -qam later
          git push -q origin HEAD:main
          echo "PUSHED-OK"
      - name: NuGet after the token expired, through the plugin
        run: |
          test -x "$(command -v nuget-plugin-patinject)"
          printf '<packages><package id="Entra.Demo" version="1.0.0" targetFramework="net48" /></packages>\n' > packages.config
          "$MONO" "$NUGET" restore packages.config -PackagesDirectory out -NoCache -NonInteractive -ConfigFile "$PATINJECT_NUGET_CONFIG"
          test -f out/Entra.Demo.1.0.0/Entra.Demo.1.0.0.nupkg && echo "RESTORED-OK"
`

// TestActEntra runs the action in nektos/act with an entra:// reference: the job's GitHub OIDC
// token (from a stand-in of the runner's ID token service, handed to the job as act would not)
// is exchanged at the Entra stand-in for a 20-second Azure DevOps token; a later step clones,
// outlives that token, and pushes through the credential helper, which exchanges again; the
// post step removes what the main step wrote. NuGet.exe, after the token expired, gets a fresh
// one from the plugin that the action put on NUGET_NETFX_PLUGIN_PATHS (and on PATH through
// GITHUB_PATH). No token reaches the log.
func TestActEntra(t *testing.T) {
	t.Parallel() // mostly sleeping through a token's lifetime, with a HOME of its own
	ca := entratest.NewCA(t)
	e := entratest.Start(t, ca, entratest.Options{TokenLifetime: 20 * time.Second})
	gh := entratest.StartGitHub(t, ca, "contoso/app", "refs/heads/main")
	const app = "6a0c1f2e-0000-4000-a000-0000000000e1"
	e.AddApp(entratest.App{ClientID: app, Federated: []entratest.FederatedCredential{{Issuer: gh.URL, Subject: "repo:contoso/app:ref:refs/heads/main"}}})
	var mu sync.Mutex
	accepted, restored := map[string]bool{}, map[string]bool{}
	repos := gitserver.StartGated(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, tok, ok := r.BasicAuth()
			if g, valid := e.Valid(tok); !ok || !valid || g.Resource != entratest.AzureDevOps {
				w.Header().Set("WWW-Authenticate", `Basic realm="azure-repos"`)
				http.Error(w, "TF400813", http.StatusUnauthorized)
				return
			}
			mu.Lock()
			accepted[tok] = true
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	mono := testpeer.Command(t, "mono")
	nuget := testpeer.Env(t, "PATINJECT_TEST_NUGET")
	feed := nugetfeed.StartGated(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, tok, ok := r.BasicAuth(); ok {
				if g, valid := e.Valid(tok); valid && g.Resource == entratest.AzureDevOps {
					mu.Lock()
					restored[tok] = true
					mu.Unlock()
					next.ServeHTTP(w, r)
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="azure-artifacts"`)
			http.Error(w, "TF400813", http.StatusUnauthorized)
		})
	}, nugetfeed.Package{ID: "Entra.Demo", Version: "1.0.0"})
	workflow := strings.NewReplacer("TENANT", e.Tenant, "APP", app, "GIT_URL", repos.URL, "FEED_URL", feed.URL).Replace(actEntraWorkflow)
	var args []string
	for k, v := range map[string]string{
		"MONO": mono, "NUGET": nuget,
		"ACTIONS_ID_TOKEN_REQUEST_URL": gh.RequestURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": gh.RequestToken,
		"AZURE_AUTHORITY_HOST": e.URL, "SSL_CERT_FILE": ca.File,
	} {
		args = append(args, "--env", k+"="+v)
	}
	mask := func(s string) string {
		for _, tok := range e.Issued() {
			s = strings.ReplaceAll(s, tok, "<ENTRA TOKEN>")
		}
		return strings.ReplaceAll(s, gh.RequestToken, "<REQUEST TOKEN>")
	}
	out, home, err := runAct(t, workflow, actOptions{args: args, mask: mask})
	if err != nil {
		t.Fatalf("act: %v", err)
	}
	if !strings.Contains(out, "PUSHED-OK") {
		t.Fatalf("the later step did not push")
	}
	if n := len(accepted); n < 2 {
		t.Errorf("the git server took %d distinct tokens, want the first and a refreshed one", n)
	}
	if !strings.Contains(out, "RESTORED-OK") || len(restored) == 0 {
		t.Errorf("NuGet did not restore after the token expired")
	}
	for _, tok := range e.Issued() {
		if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-40:]) {
			t.Errorf("act's output shows an issued token")
		}
	}
	if strings.Contains(out, gh.RequestToken) {
		t.Errorf("act's output shows the OIDC request token")
	}
	left, _ := filepath.Glob(filepath.Join(home, ".cache", "act", "*", "tmp", "patinject*"))
	if len(left) > 0 {
		t.Errorf("left behind in RUNNER_TEMP after the post step: %v", left)
	}
}
