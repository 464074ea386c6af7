package azuredevops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/cmd/vault-plugin-secrets-azuredevops/azuredevops"
	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/entratest"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// world is a real Vault server with the engine mounted at azuredevops/, the Entra stand-in and
// the Azure DevOps fake.
type world struct {
	v                    *vaultProc
	ca                   *entratest.CA
	entra                *entratest.Server
	ado                  *adotest.Server
	clientID             string
	rt                   string
	pluginDir, patinject string
	minted               int // PATs the load minted
}

const userScope = entratest.AzureDevOps + "/.default offline_access"

func newWorld(t *testing.T, file bool) *world {
	t.Helper()
	testpeer.Env(t, "PATINJECT_TEST_VAULT")
	w := &world{clientID: "7e57c11e-0000-4000-8000-0000000000c1"}
	w.pluginDir, w.patinject = binaries(t)
	w.ca = entratest.NewCA(t)
	w.entra = entratest.Start(t, w.ca, entratest.Options{})
	w.entra.AddApp(entratest.App{ClientID: w.clientID})
	w.ado = adotest.NewServer(t)
	w.ado.AcceptTokens(func(tok string) bool {
		g, ok := w.entra.Valid(tok)
		return ok && g.Resource == entratest.AzureDevOps
	})
	if file {
		w.v = startFile(t, w.pluginDir, w.ca.File)
		w.v.registerPlugin(t, w.pluginDir)
	} else {
		w.v = startDev(t, w.pluginDir, w.ca.File)
	}
	w.mount(t, "azuredevops")
	w.rt = w.entra.NewRefreshToken(w.clientID, userScope, time.Hour)
	w.configure(t, "azuredevops", "refresh_token", w.rt)
	return w
}

func (w *world) mount(t *testing.T, path string) {
	t.Helper()
	w.v.mustVault(t, "", "secrets", "enable", "-path="+path, pluginName)
}

// configure writes the mount's config; the secret goes through stdin (field=-), never argv.
func (w *world) configure(t *testing.T, mount, secretField, secretValue string, clientID ...string) {
	t.Helper()
	id := w.clientID
	if len(clientID) > 0 {
		id = clientID[0]
	}
	w.v.mustVault(t, secretValue, "write", mount+"/config", "tenant_id="+w.entra.Tenant, "client_id="+id,
		"authority_host="+w.entra.URL, "ado_url="+w.ado.URL, secretField+"=-")
}

// eventually polls cond for up to limit (Vault revokes asynchronously).
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not the case after %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func revoked(ado *adotest.Server, id string) func() bool {
	return func() bool { p, ok := ado.Get(id); return ok && p.Revoked }
}

func TestVaultDevServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	audit := filepath.Join(t.TempDir(), "audit.log")
	w.v.mustVault(t, "", "audit", "enable", "file", "file_path="+audit)
	w.v.mustVault(t, "", "write", "azuredevops/roles/ci-read", "organization=contoso", "scopes=vso.code", "ttl=10m", "max_ttl=30m")

	t.Run("config read shows no secret", func(t *testing.T) {
		out := w.v.mustVault(t, "", "read", "-format=json", "azuredevops/config")
		if strings.Contains(out, w.rt) || strings.Contains(out, `"refresh_token"`) || !strings.Contains(out, `"credential": "delegated"`) {
			t.Errorf("config read: %s", out)
		}
	})

	t.Run("vault read mints, vault lease revoke revokes", func(t *testing.T) {
		s := w.v.readJSON(t, "azuredevops/creds/ci-read")
		id := s.str("authorization_id")
		if s.str("token_type") != "pat" || s.LeaseDuration != 600 || !s.Renewable || s.LeaseID == "" {
			t.Fatalf("creds: type %q lease %d renewable %v", s.str("token_type"), s.LeaseDuration, s.Renewable)
		}
		if got := azuredevops.RESTStatus(t, w.ado, "contoso", s.str("token")); got != http.StatusOK {
			t.Fatalf("REST call with the PAT: got %d, want 200", got)
		}
		w.v.mustVault(t, "", "lease", "revoke", s.LeaseID)
		eventually(t, 30*time.Second, "PAT revoked after vault lease revoke", revoked(w.ado, id))
		if got := azuredevops.RESTStatus(t, w.ado, "contoso", s.str("token")); got != http.StatusUnauthorized {
			t.Errorf("REST call with the revoked PAT: got %d, want 401", got)
		}
		if n := w.ado.Revokes(id); n != 1 {
			t.Errorf("revoked %d times, want 1", n)
		}
	})

	t.Run("renew up to max_ttl and no further, expiry revokes", func(t *testing.T) {
		w.v.mustVault(t, "", "write", "azuredevops/roles/short", "organization=contoso", "scopes=vso.code", "ttl=4s", "max_ttl=8s")
		s := w.v.readJSON(t, "azuredevops/creds/short")
		id := s.str("authorization_id")
		first, _ := w.ado.Get(id)
		var r cliSecret
		out := w.v.mustVault(t, "", "lease", "renew", "-format=json", "-increment=1h", s.LeaseID)
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.LeaseDuration > 8 || r.LeaseDuration < 4 {
			t.Errorf("renew -increment=1h of a 4s/8s lease: lease_duration %d, want capped at what is left of max_ttl (4..8)", r.LeaseDuration)
		}
		lookup, err := w.v.client(t).Sys().Lookup(s.LeaseID)
		if err != nil {
			t.Fatal(err)
		}
		issue, _ := time.Parse(time.RFC3339Nano, lookup.Data["issue_time"].(string))
		expire, _ := time.Parse(time.RFC3339Nano, lookup.Data["expire_time"].(string))
		if expire.After(issue.Add(8*time.Second + time.Second)) {
			t.Errorf("lease expires at %v, past issue %v + max_ttl 8s", expire, issue)
		}
		after, _ := w.ado.Get(id)
		if !after.ValidTo.After(first.ValidTo) || after.ValidTo.After(issue.Add(8*time.Second+5*time.Minute+2*time.Second)) {
			t.Errorf("PAT validTo %v after renew (was %v): want moved with the lease, within max_ttl plus the grace", after.ValidTo, first.ValidTo)
		}
		// The lease ends at max_ttl: Vault revokes it, and the PAT with it.
		eventually(t, 60*time.Second, "PAT revoked when its lease expired", revoked(w.ado, id))
		if _, errOut, code := w.v.vault(t, "", "lease", "renew", s.LeaseID); code == 0 {
			t.Error("an expired lease was renewed")
		} else {
			t.Logf("renew after max_ttl: %s", strings.TrimSpace(errOut))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			name  string
			args  []string
			setup func()
			want  string
		}{
			{"unknown scope in a role", []string{"write", "azuredevops/roles/bad", "organization=contoso", "scopes=vso.code,vso.codez"}, nil, `unknown scope "vso.codez": did you mean vso.code`},
			{"ttl above max_ttl", []string{"write", "azuredevops/roles/bad", "organization=contoso", "scopes=vso.code", "ttl=2h", "max_ttl=1h"}, nil, "above max_ttl"},
			{"ttl above the organisation's maximum", []string{"read", "azuredevops/creds/long"}, func() {
				w.ado.SetMaxLifetime(30 * time.Minute)
				w.v.mustVault(t, "", "write", "azuredevops/roles/long", "organization=contoso", "scopes=vso.code", "ttl=1h", "max_ttl=2h")
			}, "patLifespanPolicyViolation"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if tc.setup != nil {
					tc.setup()
				}
				_, errOut, code := w.v.vault(t, "", tc.args...)
				if code == 0 || !strings.Contains(errOut, tc.want) {
					t.Errorf("vault %s: exit %d, stderr %q; want a refusal saying %q", strings.Join(tc.args, " "), code, errOut, tc.want)
				}
			})
		}
		w.ado.SetMaxLifetime(0)

		t.Run("expired refresh token", func(t *testing.T) {
			w.mount(t, "azuredevops-expired")
			w.configure(t, "azuredevops-expired", "refresh_token", w.entra.NewRefreshToken(w.clientID, userScope, -time.Minute))
			w.v.mustVault(t, "", "write", "azuredevops-expired/roles/r", "organization=contoso", "scopes=vso.code")
			_, errOut, code := w.v.vault(t, "", "read", "azuredevops-expired/creds/r")
			if code == 0 || !strings.Contains(errOut, "AADSTS70008") || !strings.Contains(errOut, "write the new refresh_token to config") {
				t.Errorf("read with an expired refresh token: exit %d, %q", code, errOut)
			}
		})

		t.Run("pat role on an application config", func(t *testing.T) {
			const app = "7e57c11e-0000-4000-8000-0000000000c2"
			secret := "app-secret-" + randHex(8)
			w.entra.AddApp(entratest.App{ClientID: app, Secret: secret})
			w.mount(t, "azuredevops-app")
			w.configure(t, "azuredevops-app", "client_secret", secret, app)
			_, errOut, code := w.v.vault(t, "", "write", "azuredevops-app/roles/p", "organization=contoso", "scopes=vso.code")
			if code == 0 || !strings.Contains(errOut, "credential_type=pat needs a delegated config") {
				t.Errorf("pat role on an application config: exit %d, %q", code, errOut)
			}
			w.v.mustVault(t, "", "write", "azuredevops-app/roles/bearer", "credential_type=entra_token")
			s := w.v.readJSON(t, "azuredevops-app/creds/bearer")
			if g, ok := w.entra.Valid(s.str("token")); !ok || g.ClientID != app || s.str("token_type") != "bearer" || s.Renewable {
				t.Errorf("entra_token creds: grant %+v ok %v type %q renewable %v", g, ok, s.str("token_type"), s.Renewable)
			}
		})
	})

	t.Run("load: 200 reads from 20 clients", func(t *testing.T) { loadTest(t, w) })

	t.Run("tidy revokes a tagged PAT that no lease holds", func(t *testing.T) {
		s := w.v.readJSON(t, "azuredevops/creds/ci-read")
		tag, _, _ := strings.Cut(s.str("display_name"), " ")
		const lost, foreign = "66666666-6666-4666-8666-666666666666", "77777777-7777-4777-8777-777777777777"
		for id, name := range map[string]string{lost: tag + " ci-read lost answer", foreign: "vault-0000000000 someone else's"} {
			w.ado.Seed(adotest.PAT{Org: "contoso", AuthorizationID: id, DisplayName: name, Scope: "vso.code", Token: "seeded" + id[:8],
				ValidFrom: time.Now().Add(-time.Hour), ValidTo: time.Now().Add(time.Hour), TargetAccounts: []string{}})
		}
		out := w.v.mustVault(t, "", "write", "-format=json", "-f", "azuredevops/tidy")
		if !strings.Contains(out, `"untracked": 1`) {
			t.Errorf("tidy answered %s", out)
		}
		if p, _ := w.ado.Get(lost); !p.Revoked {
			t.Error("tidy left the engine's untracked PAT live")
		}
		if p, _ := w.ado.Get(foreign); p.Revoked {
			t.Error("tidy revoked another engine's PAT")
		}
		if p, _ := w.ado.Get(s.str("authorization_id")); p.Revoked {
			t.Error("tidy revoked a PAT whose lease lives")
		}
		w.v.mustVault(t, "", "lease", "revoke", s.LeaseID)
		eventually(t, 30*time.Second, "PAT revoked", revoked(w.ado, s.str("authorization_id")))
	})

	t.Run("patinject run clones with a leased PAT", func(t *testing.T) { patinjectRun(t, w) })
	t.Run("patinject run renews the lease of a job longer than its ttl", func(t *testing.T) { patinjectRunRenews(t, w) })
	t.Run("patinject inject and cleanup", func(t *testing.T) { patinjectInject(t, w) })

	t.Run("rotate-root", func(t *testing.T) {
		before := len(w.entra.Requests())
		out := w.v.mustVault(t, "", "write", "-format=json", "-f", "azuredevops/rotate-root")
		if strings.Contains(out, "refresh_token\"") || !strings.Contains(out, "refresh_token_rotated_at") {
			t.Errorf("rotate-root answered %s", out)
		}
		if n := len(w.entra.Requests()); n != before+1 {
			t.Errorf("rotate-root made %d token requests, want 1", n-before)
		}
	})

	// Last: the audit log holds every request and response above, with no token in clear.
	t.Run("audit log", func(t *testing.T) {
		b, err := os.ReadFile(audit)
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		var secrets []string
		secrets = append(secrets, w.rt)
		secrets = append(secrets, w.entra.Issued()...)
		for _, p := range w.ado.PATs() {
			secrets = append(secrets, p.Token)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Fatalf("the audit log holds a token in clear (%d bytes of log)", len(log))
			}
		}
		creds := 0
		for _, line := range strings.Split(log, "\n") {
			var e struct {
				Type     string
				Request  struct{ Path string }
				Response struct {
					Data map[string]any
				}
			}
			if json.Unmarshal([]byte(line), &e) != nil || e.Type != "response" || !strings.HasPrefix(e.Request.Path, "azuredevops/creds/") {
				continue
			}
			if tok, ok := e.Response.Data["token"].(string); ok {
				if !strings.HasPrefix(tok, "hmac-sha256:") {
					t.Fatalf("audit: creds token not HMACed")
				}
				creds++
			}
		}
		if creds <= w.minted {
			t.Errorf("audit: %d creds responses with a token, want the %d of the load and more", creds, w.minted)
		}
		t.Logf("audit log: %d bytes, %d creds responses, every token HMACed; %d secrets looked for", len(log), creds, len(secrets))
	})
}

// loadTest reads creds 200 times from 20 clients twice: unhindered, then with Azure DevOps
// throttling 30 of the creates and asking to come back later than the engine waits, so that
// those reads fail with the 429 passed on.
func loadTest(t *testing.T, w *world) {
	w.v.mustVault(t, "", "write", "azuredevops/roles/load", "organization=contoso", "scopes=vso.code", "ttl=10m")
	t.Run("unhindered", func(t *testing.T) { w.minted += loadRound(t, w, 0) })
	t.Run("throttled", func(t *testing.T) { w.minted += loadRound(t, w, 30) })
}

func loadRound(t *testing.T, w *world, throttle int) int {
	createsBefore := w.ado.Creates()
	if throttle > 0 {
		w.ado.Fault(adotest.OpCreate, adotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "60", Times: throttle})
	}
	const clients, each = 20, 10
	type result struct {
		lease, id string
		status    int
		err       error
		took      time.Duration
	}
	results := make([]result, clients*each)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			cl := w.v.client(t)
			for i := range each {
				t0 := time.Now()
				s, err := cl.Logical().ReadWithContext(context.Background(), "azuredevops/creds/load")
				r := result{err: err, took: time.Since(t0)}
				if err == nil && s != nil {
					r.id, _ = s.Data["authorization_id"].(string)
					r.lease = s.LeaseID
				}
				var re *api.ResponseError
				if errors.As(err, &re) {
					r.status = re.StatusCode
				}
				results[c*each+i] = r
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok, throttled := 0, 0
	var lat []time.Duration
	for _, r := range results {
		lat = append(lat, r.took)
		switch {
		case r.err == nil && r.lease != "" && r.id != "":
			ok++
		case r.status == http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("a read neither succeeded nor failed with 429: status %d: %v", r.status, r.err)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if throttled != throttle || ok+throttled != clients*each {
		t.Errorf("%d succeeded, %d throttled, of %d; want %d throttled", ok, throttled, clients*each, throttle)
	}
	if n := w.ado.Creates() - createsBefore; n != ok {
		t.Errorf("%d PATs created for %d successful reads", n, ok)
	}

	// Revoke every lease, 20 at a time; every PAT goes with its lease.
	revStart := time.Now()
	leases := make(chan result)
	var rw sync.WaitGroup
	for range clients {
		rw.Go(func() {
			cl := w.v.client(t)
			for r := range leases {
				if err := cl.Sys().RevokeWithContext(context.Background(), r.lease); err != nil {
					t.Errorf("revoke %s: %v", r.lease, err)
				}
			}
		})
	}
	for _, r := range results {
		if r.lease != "" {
			leases <- r
		}
	}
	close(leases)
	rw.Wait()
	for _, r := range results {
		if r.id != "" {
			eventually(t, 60*time.Second, "PAT "+r.id+" revoked with its lease", revoked(w.ado, r.id))
			if n := w.ado.Revokes(r.id); n != 1 {
				t.Errorf("PAT %s revoked %d times", r.id, n)
			}
		}
	}
	revElapsed := time.Since(revStart)
	for _, p := range w.ado.Live() {
		if strings.Contains(p.DisplayName, " load ") {
			t.Errorf("PAT %s of the load still live", p.AuthorizationID)
		}
	}
	t.Logf("LOAD: %d reads from %d clients in %s (%.0f reads/s): %d minted, %d throttled (429 passed on), 0 other; latency p50 %s p95 %s max %s; %d leases revoked and every PAT with them in %s",
		clients*each, clients, elapsed.Round(time.Millisecond), float64(clients*each)/elapsed.Seconds(), ok, throttled,
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		ok, revElapsed.Round(time.Millisecond))
	return ok
}

// gitServer serves a repository to Basic credentials whose password is a live PAT of contoso.
func gitServer(t *testing.T, w *world) *gitserver.Server {
	return gitserver.StartGated(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if _, pass, ok := r.BasicAuth(); ok {
				for _, p := range w.ado.Live() {
					if p.Token == pass && p.Org == "contoso" {
						next.ServeHTTP(rw, r)
						return
					}
				}
			}
			rw.Header().Set("WWW-Authenticate", `Basic realm="contoso"`)
			http.Error(rw, "a live PAT of contoso is required", http.StatusUnauthorized)
		})
	})
}

// patinjectCmd runs patinject with the Vault of w, a home of its own and git isolated.
func patinjectCmd(t *testing.T, w *world, home string, args ...string) *exec.Cmd {
	cmd := exec.Command(w.patinject, args...)
	cmd.Env = append(w.v.cliEnv(home), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	cmd.Dir = home
	return cmd
}

func leasesUnder(t *testing.T, w *world, prefix string) []string {
	t.Helper()
	s, err := w.v.client(t).Logical().ListWithContext(context.Background(), "sys/leases/lookup/"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return nil
	}
	keys, _ := s.Data["keys"].([]any)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprint(k))
	}
	return out
}

func patinjectRun(t *testing.T, w *world) {
	git := gitServer(t, w)
	home := t.TempDir()
	creates := w.ado.Creates()
	cmd := patinjectCmd(t, w, home, "run", "--token", "vault://azuredevops/creds/ci-read#token", "--git", git.URL,
		"--", "git", "clone", "-q", git.Repo, filepath.Join(home, "clone"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("patinject run: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(home, "clone", "README")); err != nil {
		t.Fatalf("no clone: %v\n%s", err, out)
	}
	pats := w.ado.PATs()
	if w.ado.Creates() != creates+1 {
		t.Fatalf("%d PATs minted for one run", w.ado.Creates()-creates)
	}
	last := pats[len(pats)-1]
	if !last.Revoked {
		t.Error("the PAT is live after the run")
	}
	if strings.Contains(string(out), last.Token) {
		t.Error("patinject's output holds the PAT")
	}
	authorized := 0
	for _, r := range git.Log.Requests() {
		if strings.HasPrefix(strings.ToLower(r.Authorization), "basic ") {
			authorized++
		}
	}
	if authorized == 0 {
		t.Error("git never presented the PAT")
	}
	if l := leasesUnder(t, w, "azuredevops/creds/ci-read/"); len(l) != 0 {
		t.Errorf("leases left after the run: %v", l)
	}
}

// patinjectRunRenews: a job that outlives the lease (a 6-second role): patinject renews the
// lease while the command runs (sys/leases/renew, which the engine answers by extending the
// PAT), so the PAT Vault would have revoked at the lease's end still serves git 12 seconds in;
// at the end the lease and the PAT are gone.
func patinjectRunRenews(t *testing.T, w *world) {
	w.v.mustVault(t, "", "write", "azuredevops/roles/ci-short", "organization=contoso", "scopes=vso.code", "ttl=6s", "max_ttl=10m")
	git := gitServer(t, w)
	home := t.TempDir()
	cmd := patinjectCmd(t, w, home, "run", "--debug", "--token", "vault://azuredevops/creds/ci-short#token", "--git", git.URL,
		"--", "sh", "-c", `git clone -q "$0" clone && sleep 12 && git ls-remote "$0" >/dev/null && echo LATER-OK`, git.Repo)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "LATER-OK") {
		t.Fatalf("patinject run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "vault: lease renewed") {
		t.Errorf("--debug does not show a renewal:\n%s", out)
	}
	last := w.ado.PATs()[len(w.ado.PATs())-1]
	if strings.Contains(string(out), last.Token) {
		t.Error("patinject's output holds the PAT")
	}
	eventually(t, 30*time.Second, "PAT revoked after the run", revoked(w.ado, last.AuthorizationID))
	if l := leasesUnder(t, w, "azuredevops/creds/ci-short/"); len(l) != 0 {
		t.Errorf("leases left after the run: %v", l)
	}
}

func patinjectInject(t *testing.T, w *world) {
	git := gitServer(t, w)
	home := t.TempDir()
	creates := w.ado.Creates()
	dotenv := filepath.Join(home, "ci.env")
	out, err := patinjectCmd(t, w, home, "inject", "--platform", "local", "--dotenv", dotenv,
		"--token", "vault://azuredevops/creds/ci-read#token", "--git", git.URL).CombinedOutput()
	if err != nil {
		t.Fatalf("patinject inject: %v\n%s", err, out)
	}
	if w.ado.Creates() != creates+1 || len(leasesUnder(t, w, "azuredevops/creds/ci-read/")) != 1 {
		t.Fatalf("inject: %d PATs minted, leases %v", w.ado.Creates()-creates, leasesUnder(t, w, "azuredevops/creds/ci-read/"))
	}
	// A later step of the job: git with what inject handed over.
	step := exec.Command("sh", "-c", `set -a; . "$1"; set +a; git clone -q "$2" "$3"`, "sh", dotenv, git.Repo, filepath.Join(home, "clone"))
	step.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}
	if o, err := step.CombinedOutput(); err != nil {
		t.Fatalf("the later step's git clone: %v\n%s", err, o)
	}
	pats := w.ado.PATs()
	last := pats[len(pats)-1]
	if last.Revoked {
		t.Fatal("the PAT was revoked before cleanup")
	}
	out, err = patinjectCmd(t, w, home, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("patinject cleanup: %v\n%s", err, out)
	}
	eventually(t, 30*time.Second, "PAT revoked by cleanup through its lease", revoked(w.ado, last.AuthorizationID))
	if l := leasesUnder(t, w, "azuredevops/creds/ci-read/"); len(l) != 0 {
		t.Errorf("leases left after cleanup: %v", l)
	}
	if _, err := os.Stat(dotenv); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cleanup left the dotenv file: %v", err)
	}
}

// TestVaultRestart: a server on file storage restarts; config and roles are still there, and a
// lease taken before the restart is revoked after it, with its PAT.
func TestVaultRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true)
	w.v.mustVault(t, "", "write", "azuredevops/roles/ci-read", "organization=contoso", "scopes=vso.code", "ttl=10m")
	s := w.v.readJSON(t, "azuredevops/creds/ci-read")
	id := s.str("authorization_id")

	w.v.restart(t)

	conf := w.v.readJSON(t, "azuredevops/config")
	if conf.str("tenant_id") != w.entra.Tenant || conf.str("credential") != "delegated" {
		t.Errorf("config after restart: %v", conf.Data)
	}
	role := w.v.mustVault(t, "", "read", "-format=json", "azuredevops/roles/ci-read")
	if !strings.Contains(role, `"organization": "contoso"`) {
		t.Errorf("role after restart: %s", role)
	}
	if p, _ := w.ado.Get(id); p.Revoked {
		t.Fatal("the PAT was revoked by the restart")
	}
	w.v.mustVault(t, "", "lease", "revoke", s.LeaseID)
	eventually(t, 30*time.Second, "PAT of a lease from before the restart revoked", revoked(w.ado, id))
	// The rotated refresh token was stored: minting still works after the restart.
	s2 := w.v.readJSON(t, "azuredevops/creds/ci-read")
	if s2.str("authorization_id") == "" || s2.str("authorization_id") == id {
		t.Errorf("mint after restart: %v", s2.str("authorization_id"))
	}
	w.v.mustVault(t, "", "lease", "revoke", s2.LeaseID)
	eventually(t, 30*time.Second, "PAT revoked", revoked(w.ado, s2.str("authorization_id")))
}

// TestVaultPeriodicTidy: Vault calls the engine's periodic function (its rollback manager ticks
// once a minute), which tidies every tidy_interval: a PAT with the engine's tag that no lease holds
// is revoked without anyone asking.
func TestVaultPeriodicTidy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	w.v.mustVault(t, "", "write", "azuredevops/config", "tidy_interval=1s")
	w.v.mustVault(t, "", "write", "azuredevops/roles/ci-read", "organization=contoso", "scopes=vso.code")
	s := w.v.readJSON(t, "azuredevops/creds/ci-read")
	tag, _, _ := strings.Cut(s.str("display_name"), " ")
	const lost = "88888888-8888-4888-8888-888888888888"
	w.ado.Seed(adotest.PAT{Org: "contoso", AuthorizationID: lost, DisplayName: tag + " ci-read lost answer", Scope: "vso.code",
		Token: "seeded-lost", ValidFrom: time.Now().Add(-time.Hour), ValidTo: time.Now().Add(time.Hour), TargetAccounts: []string{}})
	eventually(t, 150*time.Second, "the periodic tidy revoked the untracked PAT", revoked(w.ado, lost))
	if p, _ := w.ado.Get(s.str("authorization_id")); p.Revoked {
		t.Error("the periodic tidy revoked a PAT whose lease lives")
	}
}
