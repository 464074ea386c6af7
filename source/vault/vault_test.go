package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/patinject/patinject/cienv"
	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/internal/testpeer/vaultserver"
	"github.com/patinject/patinject/resolve"
)

// Against a real Vault dev server (PATINJECT_TEST_VAULT, built by scripts/peers/vault.sh).

func TestReadKV(t *testing.T) {
	f := setup(t)
	src := f.source(t, map[string]string{"VAULT_TOKEN": f.srv.RootToken}, Login{}, nil)
	tests := []struct {
		name, ref, want string
	}{
		{"kv2 field", "vault://secret/ci/ado#pat", adoPAT},
		{"kv2 other field", "vault://secret/ci/ado#user", adoUser},
		{"kv2 version", "vault://secret/ci/ado?version=1#pat", adoPATv1},
		{"kv2 one key without field", "vault://secret/ci/one", onlyToken},
		{"kv2 JSON value byte-exact", "vault://secret/ci/shapes#json", jsonValue},
		{"kv2 PEM value byte-exact", "vault://secret/ci/shapes#pem", pemValue},
		{"kv2 number", "vault://secret/ci/shapes#num", "42"},
		{"kv2 bool", "vault://secret/ci/shapes#flag", "true"},
		{"kv2 map as JSON", "vault://secret/ci/shapes#obj", `{"n":1.5,"x":"<y>"}`},
		{"kv1 field", "vault://kv1/ci/ado#pat", kv1PAT},
		{"kv1 one key without field", "vault://kv1/ci/ado", kv1PAT},
		{"leading slash", "vault:///secret/ci/ado#pat", adoPAT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := src.Resolve(context.Background(), mustRef(t, tt.ref))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Value.Reveal(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if res.Undo != nil {
				t.Errorf("a KV read returned an undo (%v)", res.Action)
			}
		})
	}
}

func TestTokenFromFile(t *testing.T) {
	f := setup(t)
	home := t.TempDir()
	if err := writeFile0600(home+"/.vault-token", f.readToken+"\n"); err != nil {
		t.Fatal(err)
	}
	src := f.source(t, map[string]string{"HOME": home}, Login{}, nil)
	res, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/ado#pat"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Value.Reveal(); got != adoPAT {
		t.Errorf("got %q, want %q", got, adoPAT)
	}
}

func TestErrors(t *testing.T) {
	f := setup(t)
	read := map[string]string{"VAULT_TOKEN": f.readToken}
	root := map[string]string{"VAULT_TOKEN": f.srv.RootToken}
	tests := []struct {
		name  string
		env   map[string]string
		login Login
		ref   string
		is    error
		want  []string // in the message
	}{
		{"kv2 not found", root, Login{}, "vault://secret/ci/nope#pat", ErrNotFound,
			[]string{`vault: no secret at secret/ci/nope (KV v2 mount "secret")`}},
		{"kv2 version not found", root, Login{}, "vault://secret/ci/ado?version=9#pat", ErrNotFound,
			[]string{`no secret at secret/ci/ado version 9`}},
		{"kv1 not found", root, Login{}, "vault://kv1/ci/nope#pat", ErrNotFound,
			[]string{`vault: no secret at kv1/ci/nope (KV v1 mount "kv1")`}},
		{"missing field", root, Login{}, "vault://secret/ci/ado#pwd", ErrNoField,
			[]string{`vault: secret/ci/ado has no field "pwd" (fields: pat, user)`}},
		{"several fields, none named", root, Login{}, "vault://secret/ci/ado", ErrNoField,
			[]string{`secret/ci/ado has 2 fields (pat, user): name one with #FIELD`}},
		{"version on kv1", root, Login{}, "vault://kv1/ci/ado?version=2#pat", ErrKVVersion,
			[]string{`vault: ?version=2 needs a KV v2 mount; kv1/ci/ado is on KV v1 mount "kv1"`}},
		{"permission denied", read, Login{}, "vault://secret/other/x#k", ErrPermissionDenied,
			[]string{`vault: read secret/data/other/x: permission denied (the token's policies lack "read" on secret/data/other/x)`}},
		{"no mount", root, Login{}, "vault://nomount/x#k", ErrPermissionDenied,
			[]string{`vault: read nomount/x: permission denied (no secrets engine is mounted there`}},
		{"never a write to KV", root, Login{}, "vault://secret/ci/ado?pat=x#pat", nil,
			[]string{`secret/ci/ado is on KV v2 mount "secret": a KV read takes no parameter but ?version=N`}},
		{"no token", map[string]string{}, Login{}, "vault://secret/ci/ado#pat", nil,
			[]string{`vault: no token: set VAULT_TOKEN, run ` + "`vault login`"}},
		{"bad token", map[string]string{"VAULT_TOKEN": "not-a-token-0123"}, Login{}, "vault://secret/ci/ado#pat", ErrPermissionDenied,
			[]string{"permission denied"}},
		{"approle bad secret id", nil, Login{Method: MethodAppRole, RoleID: value(f.roleID), SecretID: value("wrong-secret-id-0123")}, "vault://secret/ci/ado#pat", ErrLogin,
			[]string{"vault: log in with approle at auth/approle: login failed: invalid role or secret ID (HTTP 400); check --vault-role-id and --vault-secret-id"}},
		{"approle wrong mount", nil, Login{Method: MethodAppRole, Path: "ci-approle", RoleID: value(f.roleID), SecretID: value(f.secretID)}, "vault://secret/ci/ado#pat", ErrLogin,
			[]string{"vault: log in with approle at auth/ci-approle: login failed"}},
		{"jwt wrong audience", nil, Login{Method: MethodJWT, Role: "ci", JWT: value(f.jwtFor("https://elsewhere.test"))}, "vault://secret/ci/ado#pat", ErrLogin,
			[]string{"vault: log in with jwt at auth/jwt: login failed:", "aud", "bound_audiences"}},
		{"bad version", root, Login{}, "vault://secret/ci/ado?version=x#pat", nil,
			[]string{"?version=x is not a version number"}},
	}
	secrets := []string{adoPAT, adoPATv1, adoUser, f.readToken, f.srv.RootToken, f.secretID, "forbidden-value-0123", kv1PAT}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := &cleanup.Registry{}
			src := f.source(t, tt.env, tt.login, reg)
			_, err := src.Resolve(context.Background(), mustRef(t, tt.ref))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not contain %q", msg, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", msg, tt.is)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error %q carries a secret", msg)
				}
			}
			if reg.Len() != 0 {
				t.Errorf("left behind: %v", reg.Actions())
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	src := sourceAt(t, "http://127.0.0.1:1", map[string]string{"VAULT_TOKEN": "whatever-0123456"}, Login{}, nil)
	_, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/ado#pat"))
	want := "vault: cannot reach http://127.0.0.1:1 (VAULT_ADDR): connection refused"
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestSealed(t *testing.T) {
	t.Parallel()
	srv := vaultserver.Start(t)
	if err := srv.Client(t).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	for _, login := range []Login{{}, {Method: MethodAppRole, RoleID: value("r"), SecretID: value("s")}} {
		src := sourceAt(t, srv.Addr, map[string]string{"VAULT_TOKEN": srv.RootToken}, login, nil)
		_, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/ado#pat"))
		want := "vault: sealed at " + srv.Addr + ": unseal it"
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrSealed) {
			t.Errorf("%s: got %v, want %q", login.method(), err, want)
		}
	}
}

func TestAppRoleLoginRevokedAtEnd(t *testing.T) {
	f := setup(t)
	reg := &cleanup.Registry{}
	src := f.source(t, nil, Login{Method: MethodAppRole, RoleID: value(f.roleID), SecretID: value(f.secretID)}, reg)
	res, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/ado#pat"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Value.Reveal(); got != adoPAT {
		t.Errorf("got %q, want %q", got, adoPAT)
	}
	acts := reg.Actions()
	if len(acts) != 1 || acts[0].Kind != KindToken {
		t.Fatalf("registry holds %v, want one %s", acts, KindToken)
	}
	acc := acts[0].ID
	if acts[0].Params["addr"] != f.srv.Addr || acts[0].Expiry.IsZero() || acts[0].Manual != "vault token revoke -accessor "+acc {
		t.Errorf("action %+v", acts[0])
	}
	if !f.accessorExists(t, acc) {
		t.Fatal("the login token is not alive after login")
	}
	if err := reg.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if f.accessorExists(t, acc) {
		t.Error("the login token is still alive after the run")
	}
}

func TestJWTLogin(t *testing.T) {
	f := setup(t)
	t.Run("given JWT", func(t *testing.T) {
		t.Parallel()
		reg := &cleanup.Registry{}
		src := f.source(t, nil, Login{Method: MethodJWT, Role: "ci", JWT: value(f.jwtFor(jwtAud))}, reg)
		checkLoginRead(t, f, src, reg)
	})
	t.Run("GitHub Actions ID token", func(t *testing.T) {
		t.Parallel()
		gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer runtime-token-0123" || r.URL.Query().Get("api-version") != "2.0" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			writeJSON(w, map[string]string{"value": f.jwtFor(r.URL.Query().Get("audience"))})
		}))
		defer gh.Close()
		env := envconfig.MapLookuper(map[string]string{
			"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?api-version=2.0",
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-token-0123",
		})
		reg := &cleanup.Registry{}
		src := f.source(t, nil, Login{Method: MethodJWT, Role: "ci", JWT: cienv.IDToken(env, cienv.IDTokenOptions{Audience: jwtAud})}, reg)
		checkLoginRead(t, f, src, reg)
	})
}

func checkLoginRead(t *testing.T, f *fixture, src *Source, reg *cleanup.Registry) {
	t.Helper()
	res, err := src.Resolve(context.Background(), mustRef(t, "vault://secret/ci/one"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Value.Reveal(); got != onlyToken {
		t.Errorf("got %q, want %q", got, onlyToken)
	}
	acts := reg.Actions()
	if len(acts) != 1 || acts[0].Kind != KindToken || !f.accessorExists(t, acts[0].ID) {
		t.Fatalf("registry holds %v, want one live %s", acts, KindToken)
	}
	if err := reg.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if f.accessorExists(t, acts[0].ID) {
		t.Error("the login token is still alive after the run")
	}
}

func TestPKILease(t *testing.T) {
	f := setup(t)
	ref := "vault://pki/issue/ci?common_name=build.example.com#certificate"
	t.Run("revoked by its undo", func(t *testing.T) {
		t.Parallel()
		src := f.source(t, map[string]string{"VAULT_TOKEN": f.srv.RootToken}, Login{}, nil)
		res, err := src.Resolve(context.Background(), mustRef(t, ref))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Value.Reveal(), "-----BEGIN CERTIFICATE-----\n") {
			t.Errorf("not a certificate: %.40q", res.Value.Reveal())
		}
		act := res.Action
		if res.Undo == nil || act.Kind != KindLease || !strings.HasPrefix(act.ID, "pki/issue/ci/") || act.Expiry.IsZero() ||
			act.Manual != "vault lease revoke "+act.ID || act.Params["addr"] != f.srv.Addr {
			t.Fatalf("action %+v", act)
		}
		if !f.leaseExists(t, act.ID) {
			t.Fatal("lease not found after the read")
		}
		if err := res.Undo(context.Background()); err != nil {
			t.Fatal(err)
		}
		if f.leaseExists(t, act.ID) {
			t.Error("lease still alive after its undo")
		}
		if err := res.Undo(context.Background()); err != nil {
			t.Errorf("a second undo: %v", err)
		}
	})
	t.Run("login without revoke permission: the token takes it", func(t *testing.T) {
		t.Parallel()
		reg := &cleanup.Registry{}
		src := f.source(t, nil, Login{Method: MethodAppRole, RoleID: value(f.roleID), SecretID: value(f.secretID)}, reg)
		r := resolve.Resolver{Sources: map[string]resolve.Source{"vault": src}, Registry: reg}
		if _, err := r.Resolve(context.Background(), []resolve.Request{{Name: "CERT", Ref: mustRef(t, ref)}, {Name: "PAT", Ref: mustRef(t, "vault://secret/ci/ado#pat")}}); err != nil {
			t.Fatal(err)
		}
		acts := reg.Actions()
		if len(acts) != 2 || acts[0].Kind != KindToken || acts[1].Kind != KindLease || acts[1].Params["token_accessor"] != acts[0].ID {
			t.Fatalf("registry holds %+v, want the login token first, then the lease", acts)
		}
		if err := reg.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if f.accessorExists(t, acts[0].ID) {
			t.Error("login token still alive after the run")
		}
		// Vault revokes the leases of a revoked token lazily, soon after.
		if !eventually(func() bool { return !f.leaseExists(t, acts[1].ID) }) {
			t.Error("lease still alive after the run")
		}
	})
	t.Run("fields of one write come from one response", func(t *testing.T) {
		t.Parallel()
		reg := &cleanup.Registry{}
		src := f.source(t, map[string]string{"VAULT_TOKEN": f.srv.RootToken}, Login{}, reg)
		r := resolve.Resolver{Sources: map[string]resolve.Source{"vault": src}, Registry: reg}
		w := "vault://pki/issue/ci?common_name=pair.example.com"
		got, err := r.Resolve(context.Background(), []resolve.Request{
			{Name: "CERT", Ref: mustRef(t, w+"#certificate")}, {Name: "KEY", Ref: mustRef(t, w+"#private_key")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tls.X509KeyPair([]byte(got[0].Value.Reveal()), []byte(got[1].Value.Reveal())); err != nil {
			t.Errorf("certificate and key do not match: %v", err)
		}
		acts := reg.Actions()
		if len(acts) != 1 || acts[0].Kind != KindLease || got[0].Expiry.IsZero() || !got[0].Expiry.Equal(got[1].Expiry) {
			t.Fatalf("registry holds %+v, want one lease", acts)
		}
		if err := reg.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if f.leaseExists(t, acts[0].ID) {
			t.Error("lease alive after the run")
		}
	})
	t.Run("a missing field gives the lease back at once", func(t *testing.T) {
		t.Parallel()
		src := f.source(t, map[string]string{"VAULT_TOKEN": f.srv.RootToken}, Login{}, nil)
		_, err := src.Resolve(context.Background(), mustRef(t, "vault://pki/issue/ci-nofield?common_name=x.example.com#nope"))
		if err == nil || !errors.Is(err, ErrNoField) || !strings.Contains(err.Error(), `has no field "nope" (fields: `) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v", err)
		}
		if left := f.leases(t, "pki/issue/ci-nofield/"); len(left) != 0 {
			t.Errorf("leases left behind: %v", left)
		}
	})
}

// leases lists the ids of the live leases under prefix.
func (f *fixture) leases(t testing.TB, prefix string) map[string]bool {
	t.Helper()
	s, err := f.srv.Client(t).Logical().List("sys/leases/lookup/" + prefix)
	out := map[string]bool{}
	if err != nil || s == nil {
		return out
	}
	keys, _ := s.Data["keys"].([]any)
	for _, k := range keys {
		out[k.(string)] = true
	}
	return out
}
