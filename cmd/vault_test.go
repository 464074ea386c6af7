package cmd_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/internal/testpeer/vaultserver"
)

// End to end against a real Vault dev server: patinject logs in with AppRole, reads a KV secret
// and a leased certificate, hands them to the command, redacts them, and at the end revokes the
// lease and the token it logged in with.

const vaultPAT = "vault-pat-0123456789abcdef"

type vaultFixture struct {
	srv              *vaultserver.Server
	roleID, secretID string
}

func startVault(t *testing.T) vaultFixture {
	t.Helper()
	srv := vaultserver.Start(t)
	c, err := srv.RootClient()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := seedVault(c)
	if err != nil {
		t.Fatal(err)
	}
	return vaultFixture{srv: srv, roleID: seed.roleID, secretID: seed.secretID}
}

type vaultSeed struct{ roleID, secretID, readToken string }

// seedVault sets up what the tests and stories read: KV v2 secret/ci/ado, KV v1 kv1/ci/ado, PKI
// issuing leased certificates at pki/issue/ci, AppRole role ci, and a token of policy ci.
func seedVault(c *api.Client) (vaultSeed, error) {
	ctx := context.Background()
	var seed vaultSeed
	steps := []func() error{
		func() error {
			_, err := c.KVv2("secret").Put(ctx, "ci/ado", map[string]any{"pat": vaultPAT + "-v1", "user": "ci-bot"})
			return err
		},
		func() error {
			_, err := c.KVv2("secret").Put(ctx, "ci/ado", map[string]any{"pat": vaultPAT, "user": "ci-bot"})
			return err
		},
		func() error {
			_, err := c.KVv2("secret").Put(ctx, "other/x", map[string]any{"k": "not-for-ci-0123456789"})
			return err
		},
		func() error {
			return c.Sys().MountWithContext(ctx, "kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}})
		},
		func() error { return c.KVv1("kv1").Put(ctx, "ci/ado", map[string]any{"pat": vaultPAT + "-kv1"}) },
		func() error {
			return c.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "24h"}})
		},
		func() error {
			_, err := c.Logical().Write("pki/root/generate/internal", map[string]any{"common_name": "patinject test CA", "ttl": "24h"})
			return err
		},
		func() error {
			_, err := c.Logical().Write("pki/roles/ci", map[string]any{"allow_any_name": true, "generate_lease": true, "ttl": "1h", "key_type": "ec", "key_bits": 256})
			return err
		},
		func() error {
			return c.Sys().PutPolicyWithContext(ctx, "ci", `
path "secret/data/ci/*" { capabilities = ["read"] }
path "kv1/ci/*" { capabilities = ["read"] }
path "pki/issue/ci" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }
`)
		},
		func() error {
			return c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"})
		},
		func() error {
			_, err := c.Logical().Write("auth/approle/role/ci", map[string]any{"token_policies": []string{"ci"}, "token_ttl": "10m"})
			return err
		},
		func() error {
			s, err := c.Logical().Read("auth/approle/role/ci/role-id")
			if err == nil {
				seed.roleID = s.Data["role_id"].(string)
			}
			return err
		},
		func() error {
			s, err := c.Logical().Write("auth/approle/role/ci/secret-id", nil)
			if err == nil {
				seed.secretID = s.Data["secret_id"].(string)
			}
			return err
		},
		func() error {
			s, err := c.Logical().Write("auth/token/create", map[string]any{"policies": []string{"ci"}, "ttl": "1h"})
			if err == nil {
				seed.readToken = s.Auth.ClientToken
			}
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return vaultSeed{}, err
		}
	}
	return seed, nil
}

// vaultEnv sets the environment patinject runs in: the Vault address, no token (it logs in), the
// AppRole credentials as variables, and a HOME of its own.
func (f vaultFixture) vaultEnv(t *testing.T) {
	t.Setenv("VAULT_ADDR", f.srv.Addr)
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("VAULT_NAMESPACE", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("ROLE_ID", f.roleID)
	t.Setenv("SECRET_ID", f.secretID)
}

func (f vaultFixture) liveLeases(t *testing.T) []string {
	t.Helper()
	c, err := f.srv.RootClient()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := liveLeases(c, "pki/issue/ci/")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f vaultFixture) liveLogins(t *testing.T) int {
	t.Helper()
	c, err := f.srv.RootClient()
	if err != nil {
		t.Fatal(err)
	}
	n, err := liveLogins(c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// liveLeases lists the live leases under prefix.
func liveLeases(c *api.Client, prefix string) ([]string, error) {
	s, err := c.Logical().List("sys/leases/lookup/" + prefix)
	if err != nil || s == nil {
		return nil, err
	}
	var ids []string
	keys, _ := s.Data["keys"].([]any)
	for _, k := range keys {
		ids = append(ids, k.(string))
	}
	return ids, nil
}

// liveLogins counts the live tokens that AppRole issued.
func liveLogins(c *api.Client) (int, error) {
	s, err := c.Logical().List("auth/token/accessors")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range s.Data["keys"].([]any) {
		info, err := c.Logical().Write("auth/token/lookup-accessor", map[string]any{"accessor": k})
		if err == nil && info != nil && info.Data["path"] == "auth/approle/login" {
			n++
		}
	}
	return n, nil
}

var vaultLogin = []string{"--vault-auth", "approle", "--vault-role-id", "env:ROLE_ID", "--vault-secret-id", "env:SECRET_ID"}

func TestRunWithVault(t *testing.T) {
	f := startVault(t)
	f.vaultEnv(t)
	dir := t.TempDir()
	cert := "vault://pki/issue/ci?common_name=build.example.com"
	args := append([]string{"patinject", "run"}, vaultLogin...)
	args = append(args,
		"--secret", "PAT=vault://secret/ci/ado#pat",
		"--secret", "CERT="+cert+"#certificate",
		"--secret", "KEY="+cert+"#private_key",
		"--", "sh", "-c", `printf %s "$PAT" > pat.out; printf %s "$KEY" > key.out; echo "pat=$PAT"; printf '%s\n' "$CERT" | head -n 2; echo "done"`)
	var out, errb bytes.Buffer
	chdir(t, dir)
	code := cmd.Main(args, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "pat.out")); string(got) != vaultPAT {
		t.Errorf("CMD got PAT %q, want %q", got, vaultPAT)
	}
	key, _ := os.ReadFile(filepath.Join(dir, "key.out"))
	if !strings.HasPrefix(string(key), "-----BEGIN EC PRIVATE KEY-----") {
		t.Errorf("CMD got no private key: %.30q", key)
	}
	// Each line of a multi-line value is redacted, the PEM armour included.
	want := "pat=***\n***\n***\ndone\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	for _, s := range []string{vaultPAT, f.secretID, string(key)} {
		if strings.Contains(out.String()+errb.String(), s) {
			t.Errorf("a secret reached patinject's output:\n%s%s", out.String(), errb.String())
		}
	}
	if left := f.liveLeases(t); len(left) != 0 {
		t.Errorf("leases alive after the run: %v", left)
	}
	if n := f.liveLogins(t); n != 0 {
		t.Errorf("%d login tokens alive after the run", n)
	}
}

func TestRunWithVaultFailsLeavingNothing(t *testing.T) {
	f := startVault(t)
	f.vaultEnv(t)
	chdir(t, t.TempDir())
	args := append([]string{"patinject", "run"}, vaultLogin...)
	args = append(args,
		"--secret", "CERT=vault://pki/issue/ci?common_name=build.example.com#certificate",
		"--secret", "PAT=vault://secret/ci/ado#pwd",
		"--", "sh", "-c", "echo should not run")
	var out, errb bytes.Buffer
	code := cmd.Main(args, strings.NewReader(""), &out, &errb)
	want := `patinject: --secret PAT (vault://secret/ci/ado#pwd): vault: secret/ci/ado has no field "pwd" (fields: pat, user)`
	if code != 125 || !strings.Contains(errb.String(), want) || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 125 and %q", code, out.String(), errb.String(), want)
	}
	if strings.Contains(errb.String(), vaultPAT) {
		t.Errorf("the error carries a value: %s", errb.String())
	}
	if left := f.liveLeases(t); len(left) != 0 {
		t.Errorf("leases alive after the failure: %v", left)
	}
	if n := f.liveLogins(t); n != 0 {
		t.Errorf("%d login tokens alive after the failure", n)
	}
}

// inject leaves the lease and its login token alive for the later steps of the job; cleanup logs
// in again with the same flags and revokes both, and its own token.
func TestInjectThenCleanupWithVault(t *testing.T) {
	f := startVault(t)
	f.vaultEnv(t)
	dir := t.TempDir()
	chdir(t, dir)
	state, dotenv := filepath.Join(dir, "state.json"), filepath.Join(dir, "ci.env")
	args := append([]string{"patinject", "inject", "--platform", "local", "--dotenv", dotenv, "--state", state}, vaultLogin...)
	args = append(args, "--secret", "CERT=vault://pki/issue/ci?common_name=build.example.com#certificate")
	var out, errb bytes.Buffer
	if code := cmd.Main(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("inject: exit %d\n%s%s", code, out.String(), errb.String())
	}
	st, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"kind": "vault-token"`, `"kind": "vault-lease"`, `"manual": "vault lease revoke pki/issue/ci/`} {
		if !strings.Contains(strings.ReplaceAll(string(st), `":"`, `": "`), w) {
			t.Errorf("state file lacks %s:\n%s", w, st)
		}
	}
	if len(f.liveLeases(t)) != 1 || f.liveLogins(t) != 1 {
		t.Fatalf("after inject: %d leases, %d login tokens alive; want 1 and 1 for the later steps", len(f.liveLeases(t)), f.liveLogins(t))
	}

	args = append([]string{"patinject", "cleanup", "--platform", "local", "--state", state}, vaultLogin...)
	out.Reset()
	errb.Reset()
	if code := cmd.Main(args, strings.NewReader(""), &out, &errb); code != 0 || strings.Contains(errb.String(), "warning") {
		t.Fatalf("cleanup: exit %d\n%s%s", code, out.String(), errb.String())
	}
	// One line per credential taken back, each checked against Vault.
	for _, w := range []string{"patinject: revoked Vault lease pki/issue/ci/", "patinject: revoked the Vault token with accessor "} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("cleanup did not say %q:\n%s", w, errb.String())
		}
	}
	if left := f.liveLeases(t); len(left) != 0 {
		t.Errorf("leases alive after cleanup: %v", left)
	}
	if n := f.liveLogins(t); n != 0 {
		t.Errorf("%d login tokens alive after cleanup (inject's and cleanup's own must be revoked)", n)
	}
}

func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}
