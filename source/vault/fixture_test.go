package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/internal/testpeer/vaultserver"
	"github.com/patinject/patinject/secret"
)

func TestMain(m *testing.M) {
	code := m.Run()
	vaultserver.StopShared()
	os.Exit(code)
}

// Values of the fixture. They are test data, but the tests treat them as secrets: no error may
// carry one.
const (
	adoPAT    = "pat-v2-0123456789abcdef"
	adoPATv1  = "pat-v1-old-0123456789"
	adoUser   = "ci-bot"
	onlyToken = "only-token-0123456789"
	jsonValue = "{\"a\": 1,\n  \"b\": [true, null]}"
	pemValue  = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\nAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n"
	kv1PAT    = "kv1-pat-0123456789abcd"
	jwtIssuer = "https://ci.example.test"
	jwtAud    = "https://vault.example.test/patinject"
)

// fixture is the shared dev server, set up once: KV v2 at secret/, KV v1 at kv1/, PKI at pki/
// issuing leased certificates, AppRole and JWT logins bound to policies.
type fixture struct {
	srv    *vaultserver.Server
	key    *ecdsa.PrivateKey // signs the JWTs that auth/jwt trusts
	roleID string
	// secretID of the AppRole roles: "ci" (policy ci-read, may not revoke leases alone),
	// "ci-admin" (ci-read plus lease and accessor revocation)
	secretID, adminSecretID, adminRoleID string
	cleanupRoleID, cleanupSecretID       string // role "ci-cleanup", used by one test only
	readToken                            string // a token with policy ci-read
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  string
)

const ciReadPolicy = `
path "secret/data/ci/*" { capabilities = ["read"] }
path "kv1/ci/*" { capabilities = ["read"] }
path "pki/issue/ci" { capabilities = ["update"] }
`

const ciAdminPolicy = `
path "sys/leases/revoke" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }
`

func setup(t testing.TB) *fixture {
	t.Helper()
	srv := vaultserver.Shared(t)
	fixOnce.Do(func() {
		f := &fixture{srv: srv}
		defer func() {
			if r := recover(); r != nil {
				fixErr = "fixture: " + r.(string)
				return
			}
			fix = f
		}()
		c := srv.Client(t)
		ctx := context.Background()
		must := func(_ any, err error) {
			if err != nil {
				panic(err.Error())
			}
		}
		w := func(path string, data map[string]any) *api.Secret {
			s, err := c.Logical().WriteWithContext(ctx, path, data)
			must(nil, err)
			return s
		}
		must(c.KVv2("secret").Put(ctx, "ci/ado", map[string]any{"pat": adoPATv1, "user": adoUser}))
		must(c.KVv2("secret").Put(ctx, "ci/ado", map[string]any{"pat": adoPAT, "user": adoUser}))
		must(c.KVv2("secret").Put(ctx, "ci/one", map[string]any{"token": onlyToken}))
		must(c.KVv2("secret").Put(ctx, "ci/shapes", map[string]any{
			"json": jsonValue, "pem": pemValue, "num": json.Number("42"), "flag": true,
			"obj": map[string]any{"x": "<y>", "n": json.Number("1.50")},
		}))
		must(c.KVv2("secret").Put(ctx, "other/x", map[string]any{"k": "forbidden-value-0123"}))
		must(nil, c.Sys().MountWithContext(ctx, "kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}))
		must(nil, c.KVv1("kv1").Put(ctx, "ci/ado", map[string]any{"pat": kv1PAT}))

		must(nil, c.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "24h"}}))
		w("pki/root/generate/internal", map[string]any{"common_name": "patinject test CA", "ttl": "24h"})
		for _, role := range []string{"ci", "ci-nofield"} {
			w("pki/roles/"+role, map[string]any{"allow_any_name": true, "generate_lease": true, "ttl": "1h", "key_type": "ec", "key_bits": 256})
		}

		must(nil, c.Sys().PutPolicyWithContext(ctx, "ci-read", ciReadPolicy))
		must(nil, c.Sys().PutPolicyWithContext(ctx, "ci-admin", ciAdminPolicy))
		tok := w("auth/token/create", map[string]any{"policies": []string{"ci-read"}, "ttl": "1h"})
		f.readToken = tok.Auth.ClientToken

		must(nil, c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}))
		w("auth/approle/role/ci", map[string]any{"token_policies": []string{"ci-read"}, "token_ttl": "10m"})
		w("auth/approle/role/ci-admin", map[string]any{"token_policies": []string{"ci-read", "ci-admin"}, "token_ttl": "10m"})
		f.roleID = read(c, "auth/approle/role/ci/role-id")["role_id"].(string)
		f.secretID = w("auth/approle/role/ci/secret-id", nil).Data["secret_id"].(string)
		f.adminRoleID = read(c, "auth/approle/role/ci-admin/role-id")["role_id"].(string)
		f.adminSecretID = w("auth/approle/role/ci-admin/secret-id", nil).Data["secret_id"].(string)
		w("auth/approle/role/ci-cleanup", map[string]any{"token_policies": []string{"ci-read", "ci-admin"}, "token_ttl": "10m"})
		f.cleanupRoleID = read(c, "auth/approle/role/ci-cleanup/role-id")["role_id"].(string)
		f.cleanupSecretID = w("auth/approle/role/ci-cleanup/secret-id", nil).Data["secret_id"].(string)

		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(nil, err)
		f.key = key
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		must(nil, err)
		pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		must(nil, c.Sys().EnableAuthWithOptionsWithContext(ctx, "jwt", &api.EnableAuthOptions{Type: "jwt"}))
		w("auth/jwt/config", map[string]any{"jwt_validation_pubkeys": []string{pub}, "bound_issuer": jwtIssuer})
		w("auth/jwt/role/ci", map[string]any{
			"role_type": "jwt", "bound_audiences": []string{jwtAud}, "user_claim": "sub",
			"bound_claims":   map[string]any{"repository": "contoso/app"},
			"token_policies": []string{"ci-read"}, "token_ttl": "10m",
		})
	})
	if fix == nil {
		t.Fatalf("setting up the vault fixture failed: %s", fixErr)
	}
	return fix
}

func read(c *api.Client, path string) map[string]any {
	s, err := c.Logical().Read(path)
	if err != nil || s == nil {
		panic("read " + path + ": " + errString(err))
	}
	return s.Data
}

func errString(err error) string {
	if err == nil {
		return "no data"
	}
	return err.Error()
}

// source is a Source of the fixture's server with env as its whole environment (HOME an empty
// directory, so that no ~/.vault-token of the developer counts).
func (f *fixture) source(t testing.TB, env map[string]string, login Login, reg *cleanup.Registry) *Source {
	return sourceAt(t, f.srv.Addr, env, login, reg)
}

func sourceAt(t testing.TB, addr string, env map[string]string, login Login, reg *cleanup.Registry) *Source {
	e := map[string]string{"HOME": t.TempDir()}
	for k, v := range env {
		e[k] = v
	}
	return &Source{
		Login:    login,
		Registry: reg,
		Env:      func(k string) (string, bool) { v, ok := e[k]; return v, ok },
		Config:   configAt(addr),
	}
}

func configAt(addr string) func() *api.Config {
	return func() *api.Config {
		c := api.DefaultConfig()
		c.Address = addr
		c.MaxRetries = 0
		return c
	}
}

func value(s string) Credential {
	return func(context.Context) (secret.Value, error) { return secret.NewValue(s), nil }
}

func mustRef(t testing.TB, s string) secret.Ref {
	t.Helper()
	r, err := secret.ParseRef(s)
	if err != nil {
		t.Fatalf("ParseRef(%q): %v", s, err)
	}
	return r
}

// jwtFor signs an ID token like a CI platform's, for aud.
func (f *fixture) jwtFor(aud string) string {
	now := time.Now()
	claims := map[string]any{
		"iss": jwtIssuer, "sub": "repo:contoso/app:ref:refs/heads/main", "aud": aud,
		"repository": "contoso/app", "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	enc := base64.RawURLEncoding.EncodeToString
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "test"})
	body, _ := json.Marshal(claims)
	signing := enc(hdr) + "." + enc(body)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, f.key, h[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc(sig)
}

// leaseExists reports whether the server still knows the lease.
func (f *fixture) leaseExists(t testing.TB, id string) bool {
	t.Helper()
	_, err := f.srv.Client(t).Logical().Write("sys/leases/lookup", map[string]any{"lease_id": id})
	return err == nil
}

// accessorExists reports whether a token with the accessor is alive.
func (f *fixture) accessorExists(t testing.TB, acc string) bool {
	t.Helper()
	_, err := f.srv.Client(t).Logical().Write("auth/token/lookup-accessor", map[string]any{"accessor": acc})
	return err == nil
}
