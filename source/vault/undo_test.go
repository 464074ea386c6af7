package vault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/resolve"
)

// What `inject` then `cleanup` do: resolve and record, exit without revoking; later, undo the
// recorded actions with a fresh login.
func TestUndoerAfterInject(t *testing.T) {
	f := setup(t)
	pki := "vault://pki/issue/ci?common_name=inject.example.com#certificate"
	inject := func(t *testing.T, login Login) []cleanup.Action {
		reg := &cleanup.Registry{}
		src := f.source(t, nil, login, reg)
		r := resolve.Resolver{Sources: map[string]resolve.Source{"vault": src}, Registry: reg}
		if _, err := r.Resolve(context.Background(), []resolve.Request{{Name: "CERT", Ref: mustRef(t, pki)}}); err != nil {
			t.Fatal(err)
		}
		acts := reg.Actions()
		if len(acts) != 2 || acts[0].Kind != KindToken || acts[1].Kind != KindLease {
			t.Fatalf("recorded %+v", acts)
		}
		return acts
	}
	// cleanup runs the recorded actions as `patinject cleanup` does: last recorded first.
	cleanupRun := func(t *testing.T, login Login, acts []cleanup.Action) error {
		// cleanup's Vault is its own VAULT_ADDR (here the Config), never the state's.
		u := &Undoer{Login: login, Env: func(k string) (string, bool) { return "", false }, Config: configAt(f.srv.Addr)}
		reg := &cleanup.Registry{}
		for _, a := range acts {
			reg.Add(a, func(ctx context.Context) error { return u.Undo(ctx, a) })
		}
		return reg.Run(context.Background(), nil)
	}

	t.Run("allowed to revoke", func(t *testing.T) {
		login := Login{Method: MethodAppRole, RoleID: value(f.cleanupRoleID), SecretID: value(f.cleanupSecretID)}
		acts := inject(t, login)
		if !f.leaseExists(t, acts[1].ID) || !f.accessorExists(t, acts[0].ID) {
			t.Fatal("inject left no live lease and token for the later steps")
		}
		if err := cleanupRun(t, login, acts); err != nil {
			t.Fatal(err)
		}
		if f.leaseExists(t, acts[1].ID) || f.accessorExists(t, acts[0].ID) {
			t.Error("lease or token alive after cleanup")
		}
		if n := f.liveTokensOfRole(t, "ci-cleanup"); n != 0 {
			t.Errorf("%d tokens of role ci-cleanup alive after cleanup; cleanup must revoke its own", n)
		}
		if err := cleanupRun(t, login, acts); err != nil {
			t.Errorf("cleanup twice: %v", err)
		}
	})
	t.Run("not allowed: reported by lease id and accessor", func(t *testing.T) {
		login := Login{Method: MethodAppRole, RoleID: value(f.roleID), SecretID: value(f.secretID)}
		acts := inject(t, login)
		err := cleanupRun(t, login, acts)
		var fails []*cleanup.Failure
		for _, e := range unjoinAll(err) {
			var f *cleanup.Failure
			if errors.As(e, &f) {
				fails = append(fails, f)
			}
		}
		if len(fails) != 2 {
			t.Fatalf("got %v, want two failures", err)
		}
		msg := err.Error()
		for _, w := range []string{
			"could not undo vault-lease " + acts[1].ID,
			`permission denied (the token's policies lack "update" on sys/leases/revoke)`,
			"nor its login token (accessor " + acts[0].ID + ")",
			"undo it by hand: vault lease revoke " + acts[1].ID,
			"undo it by hand: vault token revoke -accessor " + acts[0].ID,
		} {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q\ndoes not contain %q", msg, w)
			}
		}
		// What a person would do: revoke the token by its accessor.
		if _, err := f.srv.Client(t).Logical().Write("auth/token/revoke-accessor", map[string]any{"accessor": acts[0].ID}); err != nil {
			t.Fatal(err)
		}
	})
}

func unjoinAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// liveTokensOfRole counts the live tokens that AppRole issued for role.
func (f *fixture) liveTokensOfRole(t testing.TB, role string) int {
	t.Helper()
	c := f.srv.Client(t)
	s, err := c.Logical().List("auth/token/accessors")
	if err != nil || s == nil {
		t.Fatalf("listing accessors: %v", err)
	}
	n := 0
	for _, k := range s.Data["keys"].([]any) {
		info, err := c.Logical().Write("auth/token/lookup-accessor", map[string]any{"accessor": k})
		if err != nil || info == nil {
			continue
		}
		if meta, ok := info.Data["meta"].(map[string]any); ok && meta["role_name"] == role {
			n++
		}
	}
	return n
}

// TestUndoerRefusesTheStatesAddress is issue 9, item 2: a state that names another Vault gets
// no credential sent there; the refusal names both addresses.
func TestUndoerRefusesTheStatesAddress(t *testing.T) {
	t.Parallel()
	var got []string
	var mu sync.Mutex
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Vault-Token")+r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer evil.Close()
	u := &Undoer{
		Login: Login{Method: "token"},
		Env: func(k string) (string, bool) {
			return map[string]string{"VAULT_TOKEN": "hvs.users-token"}[k], k == "VAULT_TOKEN"
		},
		Config: configAt("http://127.0.0.1:1"),
	}
	for _, kind := range []string{KindToken, KindLease} {
		err := u.Undo(context.Background(), cleanup.Action{Kind: kind, ID: "x", Params: map[string]string{"addr": evil.URL}})
		if err == nil || !strings.Contains(err.Error(), evil.URL) || !strings.Contains(err.Error(), "http://127.0.0.1:1") || !strings.Contains(err.Error(), "VAULT_ADDR") {
			t.Errorf("%s: got %v, want a refusal naming both addresses", kind, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the state's Vault received requests: %v", got)
	}
}
