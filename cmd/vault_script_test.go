package cmd_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/vaultserver"
)

// The stories testdata/script/vault_*.txtar each get a Vault dev server of their own, seeded by
// seedVault, and these variables: VAULT_ADDR, ROLE_ID, SECRET_ID (AppRole role "ci") and
// CI_VAULT_TOKEN (a token of policy "ci"). No VAULT_TOKEN is set: a story sets what its user has.
// Commands: `vaultleases PREFIX N` (N leases alive under PREFIX), `vaultlogins N` (N AppRole
// login tokens alive), `vaultvictim` (another application's token, made by root, and a PKI lease
// read with it: VICTIM_ACCESSOR, VICTIM_LEASE), `vaultlogin` (an AppRole login of role "ci", as
// patinject's own: LOGIN_ACCESSOR), `vaultaccessor ACCESSOR` (that token is alive).

type vaultKey struct{}

func init() {
	scriptSetups = append(scriptSetups, vaultScriptSetup)
	scriptCmds["vaultleases"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: vaultleases PREFIX N")
		}
		ids, err := liveLeases(vaultClient(ts), args[0])
		ts.Check(err)
		checkCount(ts, neg, "leases under "+args[0], len(ids), args[1])
	}
	scriptCmds["vaultvictim"] = vaultVictim
	scriptCmds["vaultlogin"] = vaultOwnLogin
	scriptCmds["vaultaccessor"] = vaultAccessor
	scriptCmds["vaultlogins"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: vaultlogins N")
		}
		n, err := liveLogins(vaultClient(ts))
		ts.Check(err)
		checkCount(ts, neg, "AppRole login tokens", n, args[0])
	}
}

func vaultVictim(ts *testscript.TestScript, neg bool, args []string) {
	c := vaultClient(ts)
	tok, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"ci"}, TTL: "1h"})
	ts.Check(err)
	vc, err := c.Clone()
	ts.Check(err)
	vc.SetToken(tok.Auth.ClientToken)
	sec, err := vc.Logical().Write("pki/issue/ci", map[string]any{"common_name": "victim.example.com"})
	ts.Check(err)
	ts.Setenv("VICTIM_ACCESSOR", tok.Auth.Accessor)
	ts.Setenv("VICTIM_LEASE", sec.LeaseID)
}

func vaultOwnLogin(ts *testscript.TestScript, neg bool, args []string) {
	c := vaultClient(ts)
	sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": ts.Getenv("ROLE_ID"), "secret_id": ts.Getenv("SECRET_ID")})
	ts.Check(err)
	ts.Setenv("LOGIN_ACCESSOR", sec.Auth.Accessor)
}

func vaultAccessor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: vaultaccessor ACCESSOR")
	}
	_, err := vaultClient(ts).Logical().Write("auth/token/lookup-accessor", map[string]any{"accessor": args[0]})
	if alive := err == nil; alive == neg {
		ts.Fatalf("the token with accessor %s: alive %v (%v)", args[0], alive, err)
	}
}

func vaultScriptSetup(env *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(env.WorkDir), "script-vault_") {
		return nil
	}
	bin := os.Getenv("PATINJECT_TEST_VAULT")
	if bin == "" {
		testpeer.MissingIn(env.T(), "PATINJECT_TEST_VAULT is not set (run scripts/test.sh, which installs the test peers)")
	}
	srv, err := vaultserver.New(bin)
	if err != nil {
		return err
	}
	env.Defer(srv.Stop)
	c, err := srv.RootClient()
	if err != nil {
		return err
	}
	seed, err := seedVault(c)
	if err != nil {
		return err
	}
	env.Values[vaultKey{}] = c
	env.Setenv("VAULT_ADDR", srv.Addr)
	env.Setenv("ROLE_ID", seed.roleID)
	env.Setenv("SECRET_ID", seed.secretID)
	env.Setenv("CI_VAULT_TOKEN", seed.readToken)
	return nil
}

func vaultClient(ts *testscript.TestScript) *api.Client {
	c, ok := ts.Value(vaultKey{}).(*api.Client)
	if !ok {
		ts.Fatalf("no Vault server: the story's name must start with vault_")
	}
	return c
}

func checkCount(ts *testscript.TestScript, neg bool, what string, got int, want string) {
	n, err := strconv.Atoi(want)
	ts.Check(err)
	if (got == n) == neg {
		ts.Fatalf("%d %s alive, want %s%d", got, what, map[bool]string{true: "not ", false: ""}[neg], n)
	}
}
