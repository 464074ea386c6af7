package cmd_test

import (
	"strings"
	"testing"

	"github.com/patinject/patinject/source/adopat/adotest"
)

// One Vault login per process: the Entra token that mints the PAT comes from Vault through the
// same login as the secrets (issue 13). An AppRole secret id good for one login proves it: a
// second login would be refused.
func TestOneVaultLoginServesSecretsAndTheAccessToken(t *testing.T) {
	f := startVault(t)
	f.vaultEnv(t)
	ado := adotest.NewServer(t)
	root, err := f.srv.RootClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.KVv2("secret").Put(t.Context(), "ci/entra", map[string]any{"token": ado.AccessToken}); err != nil {
		t.Fatal(err)
	}
	s, err := root.Logical().Write("auth/approle/role/ci/secret-id", map[string]any{"num_uses": 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ONE_USE_SECRET_ID", s.Data["secret_id"].(string))

	code, stdout, stderr := runMain(t, "run", "--vault-auth", "approle", "--vault-role-id", "env:ROLE_ID", "--vault-secret-id", "env:ONE_USE_SECRET_ID",
		"--ado-url", ado.URL, "--ado-access-token", "vault://secret/ci/entra#token",
		"--token", "ado-pat://contoso?scope=vso.code", "--token-env", "T",
		"--secret", "PAT=vault://secret/ci/ado#pat", "--", "sh", "-c", `test -n "$T" && test -n "$PAT" && echo both`)
	if code != 0 || strings.TrimSpace(stdout) != "both" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if n := strings.Count(stderr, "logged in to Vault"); n != 1 {
		t.Errorf("%d Vault logins, want 1:\n%s", n, stderr)
	}
	assertOneMintOneRevoke(t, ado)
	if n := f.liveLogins(t); n != 0 {
		t.Errorf("%d login tokens alive after the run", n)
	}
}
