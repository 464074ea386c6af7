package cmd_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/source/adopat/adotest"
)

// runMain runs patinject in-process and returns its exit code, stdout and stderr. The tests
// that use it do not run in parallel: urfave/cli writes package-level flags (help, version)
// on every run, which the race detector reports.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cmd.Main(append([]string{"patinject"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// entraFile writes the fake's access token where --ado-access-token file:PATH finds it.
func entraFile(t *testing.T, srv *adotest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "entra")
	if err := os.WriteFile(p, []byte(srv.AccessToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertOneMintOneRevoke checks that the server saw exactly one create and one revoke of it,
// and that nothing is left alive.
func assertOneMintOneRevoke(t *testing.T, srv *adotest.Server) adotest.PAT {
	t.Helper()
	pats := srv.PATs()
	if srv.Creates() != 1 || len(pats) != 1 {
		t.Fatalf("creates: got %d, want 1", srv.Creates())
	}
	if got := srv.Requests(adotest.OpCreate); got != 1 {
		t.Errorf("create requests: got %d, want 1", got)
	}
	if got := srv.Requests(adotest.OpRevoke); got != 1 || pats[0].Revokes != 1 {
		t.Errorf("revoke requests %d, revokes of the PAT %d: want 1 and 1", got, pats[0].Revokes)
	}
	if live := srv.Live(); len(live) != 0 {
		t.Errorf("left alive: %+v", live)
	}
	return pats[0]
}

// run mints a PAT, hands it to CMD, redacts it, and revokes it however CMD ends.
func TestAdoPatRun(t *testing.T) {
	curl, _ := exec.LookPath("curl")
	tests := []struct {
		name     string
		script   string
		wantCode int
	}{
		{name: "exit 0", script: `echo "token=$T"; printf %s "$T" > "$OUT/seen"; exit 0`, wantCode: 0},
		{name: "exit 7", script: `echo "token=$T"; echo "err=$T" >&2; printf %s "$T" > "$OUT/seen"; exit 7`, wantCode: 7},
		{name: "killed by SIGTERM", script: `echo "token=$T"; printf %s "$T" > "$OUT/seen"; kill -TERM $$; sleep 5`, wantCode: 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := adotest.NewServer(t)
			out := t.TempDir()
			script := "OUT=" + out + "; "
			if curl != "" {
				// The PAT opens a REST call while CMD runs (Basic, empty user name).
				script += `curl -sf -o /dev/null -u ":$T" "` + srv.URL + `/contoso/_apis/git/repositories?api-version=7.1" && echo rest-ok; `
			}
			code, stdout, stderr := runMain(t, "run", "--debug",
				"--token", "ado-pat://contoso?scope=vso.code&ttl=10m",
				"--token-env", "T",
				"--ado-url", srv.URL,
				"--ado-access-token", "file:"+entraFile(t, srv),
				"--", "sh", "-c", script+tt.script)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			p := assertOneMintOneRevoke(t, srv)
			seen, err := os.ReadFile(filepath.Join(out, "seen"))
			if err != nil || string(seen) != p.Token {
				t.Errorf("CMD did not get the minted PAT (%v)", err)
			}
			if !strings.Contains(stdout, "token=***") {
				t.Errorf("stdout %q: want the token redacted", stdout)
			}
			if curl != "" && !strings.Contains(stdout, "rest-ok") {
				t.Errorf("the minted PAT did not open the REST call: stdout %q", stdout)
			}
			// Not even with --debug, which logs the minting and the revocation.
			for _, s := range []string{stdout, stderr} {
				if strings.Contains(s, p.Token) || strings.Contains(s, srv.AccessToken) {
					t.Errorf("a secret was printed: %q", s)
				}
			}
			if !strings.Contains(stderr, "minted PAT") || !strings.Contains(stderr, p.AuthorizationID) {
				t.Errorf("--debug did not log the minting by id: %s", stderr)
			}
			if tt.wantCode == 7 && !strings.Contains(stderr, "err=***") {
				t.Errorf("stderr %q: want the token redacted", stderr)
			}
			if !strings.HasPrefix(p.DisplayName, "patinject ") || p.Scope != "vso.code" {
				t.Errorf("display name %q, scope %q", p.DisplayName, p.Scope)
			}
		})
	}
	if curl == "" {
		t.Log("LOUD: curl is not on PATH; the REST call with the minted PAT was not made here")
	}
}

// A revocation that fails is reported with the id and the command that revokes by hand; it
// fails the run only with --strict-cleanup.
func TestAdoPatRevokeFailure(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			srv := adotest.NewServer(t)
			srv.Fault(adotest.OpRevoke, adotest.Fault{Status: 403})
			args := []string{"run", "--token", "ado-pat://contoso?scope=vso.packaging", "--token-env", "T",
				"--ado-url", srv.URL, "--ado-access-token", "file:" + entraFile(t, srv)}
			if strict {
				args = append(args, "--strict-cleanup")
			}
			code, _, stderr := runMain(t, append(args, "--", "true")...)
			want := 0
			if strict {
				want = 123
			}
			if code != want {
				t.Errorf("exit %d, want %d; stderr: %s", code, want, stderr)
			}
			p := srv.PATs()[0]
			for _, s := range []string{"could not undo ado-pat " + p.AuthorizationID, "HTTP 403", "az rest --method delete --resource 499b84ac-1321-427f-aa17-267ca6975798", "authorizationId=" + p.AuthorizationID} {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.Contains(stderr, p.Token) {
				t.Errorf("the token was printed")
			}
		})
	}
}

// A refusal by Azure DevOps leaves nothing behind and exits 125 before CMD starts.
func TestAdoPatMintRefused(t *testing.T) {
	srv := adotest.NewServer(t)
	srv.SetMaxLifetime(time.Hour)
	code, stdout, stderr := runMain(t, "run", "--token", "ado-pat://contoso?scope=vso.code&ttl=8h", "--token-env", "T",
		"--ado-url", srv.URL, "--ado-access-token", "file:"+entraFile(t, srv), "--", "sh", "-c", "echo ran")
	if code != 125 || strings.Contains(stdout, "ran") {
		t.Fatalf("exit %d, stdout %q: want 125 and CMD not run", code, stdout)
	}
	if !strings.Contains(stderr, "patLifespanPolicyViolation") || !strings.Contains(stderr, "lower ttl=") {
		t.Errorf("stderr: %s", stderr)
	}
	if srv.Creates() != 0 {
		t.Errorf("a refused create left %d PATs", srv.Creates())
	}
}

// inject mints and records the revocation; cleanup revokes, with the id and expiry from the
// state file, which never holds the token.
func TestAdoPatInjectThenCleanup(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the key of --platform local goes there
	srv := adotest.NewServer(t)
	dir := t.TempDir()
	state, dotenv := filepath.Join(dir, "state.json"), filepath.Join(dir, "job.env")
	entra := "file:" + entraFile(t, srv)
	code, _, stderr := runMain(t, "inject", "--platform", "local", "--dotenv", dotenv, "--state", state,
		"--token", "ado-pat://contoso?scope=vso.code&ttl=30m", "--token-env", "T",
		"--ado-url", srv.URL, "--ado-access-token", entra)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, stderr)
	}
	pats := srv.PATs()
	if len(pats) != 1 || pats[0].Revokes != 0 {
		t.Fatalf("after inject: %+v", pats)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(pats[0].Token)) || !bytes.Contains(b, []byte(pats[0].AuthorizationID)) {
		t.Errorf("the state file holds the token, or not the authorization id:\n%s", b)
	}
	// cleanup gets the access token afresh, the same way: here from the same file, and sends it
	// only to the service its own flags name.
	code, _, stderr = runMain(t, "cleanup", "--platform", "local", "--state", state, "--ado-access-token", entra)
	if code != 0 || !strings.Contains(stderr, "cleanup sends credentials only where its own flags, environment or defaults say") || !strings.Contains(stderr, srv.URL) {
		t.Fatalf("cleanup without --ado-url: exit %d, want 0 and a warning that names the difference: %s", code, stderr)
	}
	if got := srv.Requests(adotest.OpRevoke); got != 0 {
		t.Fatalf("cleanup followed the state file's service: %d revoke requests", got)
	}
	code, _, stderr = runMain(t, "cleanup", "--platform", "local", "--state", state, "--ado-access-token", entra, "--ado-url", srv.URL)
	if code != 0 {
		t.Fatalf("cleanup: exit %d: %s", code, stderr)
	}
	assertOneMintOneRevoke(t, srv)
	// Again: idempotent, nothing more is revoked.
	if code, _, stderr = runMain(t, "cleanup", "--platform", "local", "--state", state, "--ado-access-token", entra, "--ado-url", srv.URL); code != 0 {
		t.Errorf("second cleanup: exit %d: %s", code, stderr)
	}
	if got := srv.Requests(adotest.OpRevoke); got != 1 {
		t.Errorf("revoke requests after a second cleanup: %d, want 1", got)
	}
}

// The access token comes from az when no --ado-access-token is given.
func TestAdoPatAccessTokenFromAz(t *testing.T) {
	srv := adotest.NewServer(t)
	bin := t.TempDir()
	az := "#!/bin/sh\n[ \"$1 $2\" = 'account get-access-token' ] || exit 2\nprintf '%s\\n' '" + srv.AccessToken + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "az"), []byte(az), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	code, _, stderr := runMain(t, "run", "--token", "ado-pat://contoso?scope=vso.code", "--token-env", "T", "--ado-url", srv.URL, "--", "true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	assertOneMintOneRevoke(t, srv)
}

// pats list / get / revoke show metadata only.
func TestPatsCommand(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the key of --platform local goes there
	srv := adotest.NewServer(t)
	entra := "file:" + entraFile(t, srv)
	state := filepath.Join(t.TempDir(), "s")
	code, _, stderr := runMain(t, "inject", "--platform", "local", "--dotenv", filepath.Join(t.TempDir(), "e"), "--state", state,
		"--token", "ado-pat://contoso?scope=vso.code&name=diag", "--token-env", "T", "--ado-url", srv.URL, "--ado-access-token", entra)
	if code != 0 {
		t.Fatalf("inject: %d %s", code, stderr)
	}
	// inject's private directory lives until cleanup, as in a CI job.
	t.Cleanup(func() {
		runMain(t, "cleanup", "--platform", "local", "--state", state, "--ado-url", srv.URL, "--ado-access-token", entra)
	})
	p := srv.PATs()[0]
	code, stdout, stderr := runMain(t, "pats", "list", "--ado-url", srv.URL, "--ado-access-token", entra, "contoso")
	if code != 0 || !strings.Contains(stdout, p.AuthorizationID) || !strings.Contains(stdout, "diag ") || strings.Contains(stdout, p.Token) {
		t.Errorf("pats list: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runMain(t, "pats", "get", "--ado-url", srv.URL, "--ado-access-token", entra, "contoso", p.AuthorizationID)
	if code != 0 || !strings.Contains(stdout, "scope: vso.code") || strings.Contains(stdout, p.Token) {
		t.Errorf("pats get: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runMain(t, "pats", "revoke", "--ado-url", srv.URL, "--ado-access-token", entra, "contoso", p.AuthorizationID)
	if code != 0 || srv.Revokes(p.AuthorizationID) != 1 {
		t.Errorf("pats revoke: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runMain(t, "pats", "scopes")
	if code != 0 || !strings.Contains(stdout, "vso.packaging_write") {
		t.Errorf("pats scopes: %d\n%s", code, stdout)
	}
}

// The testscript stories get a fake token service each: its URL in $ADO_URL; access tokens: a
// user's it accepts in $ENTRA_TOKEN, a service principal's in $SP_TOKEN, an expired one in
// $EXPIRED_TOKEN, one it does not know in $OTHER_TOKEN; and the adopat command to set faults and
// count what the fake saw.
func init() {
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		srv := adotest.Start()
		env.Defer(srv.Close)
		env.Values[adotestKey{}] = srv
		env.Setenv("ADO_URL", srv.URL)
		env.Setenv("ENTRA_TOKEN", srv.AccessToken)
		env.Setenv("SP_TOKEN", adotest.AppToken(time.Now().Add(time.Hour)))
		env.Setenv("EXPIRED_TOKEN", adotest.UserToken("dev@contoso.example", time.Now().Add(-time.Hour)))
		env.Setenv("OTHER_TOKEN", adotest.UserToken("someone@fabrikam.example", time.Now().Add(time.Hour)))
		return nil
	})
	scriptCmds["adopat"] = adopatCmd
}

type adotestKey struct{}

// adopatCmd: adopat fault OP [status=N] [retry-after=S] [error=CODE] [times=N]
//
//	adopat policy max-lifetime=DURATION | no-full-scope
//	adopat count creates|revokes|live N
//	adopat seed ID NAME     a live PAT of the user's in contoso, made by hand (not by patinject)
//	adopat alive ID         the PAT ID is live (! adopat alive: it was revoked)
func adopatCmd(ts *testscript.TestScript, neg bool, args []string) {
	srv, _ := ts.Value(adotestKey{}).(*adotest.Server)
	if srv == nil || len(args) < 2 {
		ts.Fatalf("usage: adopat fault OP k=v... | adopat policy ... | adopat count creates|revokes|live N")
	}
	switch args[0] {
	case "fault":
		f := adotest.Fault{}
		for _, kv := range args[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "status":
				f.Status, _ = strconv.Atoi(v)
			case "retry-after":
				f.RetryAfter = v
			case "error":
				f.TokenError = v
			case "times":
				f.Times, _ = strconv.Atoi(v)
			case "ignore":
				f.Ignore = v == "true"
			default:
				ts.Fatalf("adopat fault: unknown %s", k)
			}
		}
		srv.Fault(adotest.Op(args[1]), f)
	case "policy":
		for _, kv := range args[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "max-lifetime":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				srv.SetMaxLifetime(d)
			case "no-full-scope":
				srv.ForbidFullScope()
			default:
				ts.Fatalf("adopat policy: unknown %s", k)
			}
		}
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: adopat count creates|revokes|live N")
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		var got int
		switch args[1] {
		case "creates":
			got = srv.Creates()
		case "revokes":
			for _, p := range srv.PATs() {
				got += p.Revokes
			}
		case "live":
			got = len(srv.Live())
		default:
			ts.Fatalf("adopat count: unknown %s", args[1])
		}
		if (got == want) == neg {
			ts.Fatalf("adopat %s: got %d, want %d", args[1], got, want)
		}
	case "seed":
		if len(args) != 3 {
			ts.Fatalf("usage: adopat seed ID NAME")
		}
		now := time.Now()
		srv.Seed(adotest.PAT{Org: "contoso", AuthorizationID: args[1], DisplayName: args[2], Scope: "vso.code",
			Token: "seeded-" + args[1], ValidFrom: now.Add(-time.Hour), ValidTo: now.Add(24 * time.Hour)})
	case "alive":
		p, ok := srv.Get(args[1])
		if !ok {
			ts.Fatalf("adopat alive: no PAT %s", args[1])
		}
		if alive := !p.Revoked; alive == neg {
			ts.Fatalf("adopat alive %s: revoked=%v", args[1], p.Revoked)
		}
	case "scopes":
		// adopat scopes 'S1 S2': the scope of the PAT minted last, as the service saw it.
		pats := srv.PATs()
		if len(pats) == 0 {
			ts.Fatalf("adopat scopes: nothing was minted")
		}
		if got := pats[len(pats)-1].Scope; (got == args[1]) == neg {
			ts.Fatalf("adopat scopes: the last PAT has scope %q, want %q", got, args[1])
		}
	default:
		ts.Fatalf("adopat: unknown subcommand %s", args[0])
	}
}

// A PAT that has expired by the time cleanup runs is not revoked: there is nothing left to undo.
func TestAdoPatCleanupSkipsExpired(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the key of --platform local goes there
	srv := adotest.NewServer(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	entra := "file:" + entraFile(t, srv)
	code, _, stderr := runMain(t, "inject", "--platform", "local", "--dotenv", filepath.Join(dir, "job.env"), "--state", state,
		"--token", "ado-pat://contoso?scope=vso.code&ttl=1s", "--token-env", "T", "--ado-url", srv.URL, "--ado-access-token", entra)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, stderr)
	}
	p := srv.PATs()[0]
	for time.Now().Before(p.ValidTo.Add(50 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	code, _, stderr = runMain(t, "cleanup", "--platform", "local", "--state", state, "--ado-url", srv.URL, "--ado-access-token", entra, "--debug")
	if code != 0 {
		t.Fatalf("cleanup: exit %d: %s", code, stderr)
	}
	if got := srv.Requests(adotest.OpRevoke); got != 0 {
		t.Errorf("an expired PAT was revoked (%d requests)", got)
	}
	if !strings.Contains(stderr, "already expired") {
		t.Errorf("cleanup did not say why it skipped the PAT: %s", stderr)
	}
}

// A job longer than the PAT's ttl= under run: patinject extends the same PAT before it expires
// (the lifecycle API's update), so the value CMD was handed still opens the REST API after the
// first validTo, and the PAT is revoked at the end even though that first validTo has passed.
// When the extension is refused, the run warns with the reason, and the PAT expires.
func TestAdoPatRunExtendsAPATThatOutlivesItsTTL(t *testing.T) {
	testpeer.Command(t, "curl")
	const job = `curl -sf -o /dev/null -u ":$T" "$API" && echo first-ok
sleep 14
curl -sf -o /dev/null -u ":$T" "$API" && echo later-ok`
	t.Run("extended", func(t *testing.T) {
		srv := adotest.NewServer(t)
		t.Setenv("API", srv.URL+"/contoso/_apis/projects?api-version=7.1")
		code, stdout, stderr := runMain(t, "run", "--debug",
			"--token", "ado-pat://contoso?scope=vso.project&ttl=8s", "--token-env", "T",
			"--ado-url", srv.URL, "--ado-access-token", "file:"+entraFile(t, srv),
			"--", "sh", "-c", job)
		if code != 0 || !strings.Contains(stdout, "first-ok") || !strings.Contains(stdout, "later-ok") {
			t.Fatalf("exit %d; stdout %q; stderr %s", code, stdout, stderr)
		}
		if n := srv.Requests(adotest.OpUpdate); n < 2 {
			t.Errorf("%d updates, want the PAT extended at least twice in 14 s of an 8 s ttl", n)
		}
		p := assertOneMintOneRevoke(t, srv)
		if !strings.Contains(stderr, "extended") || strings.Contains(stderr, p.Token) {
			t.Errorf("--debug does not say the PAT was extended, or shows it: %s", stderr)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := adotest.NewServer(t)
		srv.Fault(adotest.OpUpdate, adotest.Fault{TokenError: "patLifespanPolicyViolation", Times: 100})
		t.Setenv("API", srv.URL+"/contoso/_apis/projects?api-version=7.1")
		code, stdout, stderr := runMain(t, "run",
			"--token", "ado-pat://contoso?scope=vso.project&ttl=8s", "--token-env", "T",
			"--ado-url", srv.URL, "--ado-access-token", "file:"+entraFile(t, srv),
			"--", "sh", "-c", job)
		if code == 0 || !strings.Contains(stdout, "first-ok") || strings.Contains(stdout, "later-ok") {
			t.Fatalf("exit %d; stdout %q: want the later call refused with the PAT expired", code, stdout)
		}
		if !strings.Contains(stderr, "could not be extended") || !strings.Contains(stderr, "--token (ado-pat://contoso") {
			t.Errorf("no warning naming the PAT and the failure: %s", stderr)
		}
		if srv.Creates() != 1 || len(srv.Live()) != 0 {
			t.Errorf("creates %d, live %d", srv.Creates(), len(srv.Live()))
		}
	})
}
