package adopat_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/adopat"
	"github.com/patinject/patinject/source/adopat/adotest"
)

func mustRef(t *testing.T, s string) secret.Ref {
	t.Helper()
	r, err := secret.ParseRef(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return r
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref       string
		allowFull bool
		want      adopat.Spec
		wantErr   string
	}{
		{ref: "ado-pat://contoso?scope=vso.code", want: adopat.Spec{Org: "contoso", Scopes: []string{"vso.code"}, TTL: time.Hour}},
		{ref: "ado-pat://contoso?scope=vso.code+vso.packaging&ttl=10m&name=nightly", want: adopat.Spec{Org: "contoso", Scopes: []string{"vso.code", "vso.packaging"}, TTL: 10 * time.Minute, Name: "nightly"}},
		{ref: "ado-pat://contoso?scope=vso.code,vso.packaging_write,vso.code", want: adopat.Spec{Org: "contoso", Scopes: []string{"vso.code", "vso.packaging_write"}, TTL: time.Hour}},
		{ref: "ado-pat://contoso?scope=vso.code%20vso.build_execute", want: adopat.Spec{Org: "contoso", Scopes: []string{"vso.code", "vso.build_execute"}, TTL: time.Hour}},
		{ref: "ado-pat://contoso?scope=vso.code&scope=vso.wiki", want: adopat.Spec{Org: "contoso", Scopes: []string{"vso.code", "vso.wiki"}, TTL: time.Hour}},
		{ref: "ado-pat://contoso?scope=app_token", allowFull: true, want: adopat.Spec{Org: "contoso", Scopes: []string{"app_token"}, TTL: time.Hour}},

		{ref: "ado-pat://contoso", wantErr: "no scope"},
		{ref: "ado-pat://contoso?scope=", wantErr: "no scope"},
		{ref: "ado-pat://contoso?scope=vso.cod", wantErr: `unknown scope "vso.cod": did you mean vso.code`},
		{ref: "ado-pat://contoso?scope=vso.packging_write", wantErr: "did you mean vso.packaging_write"},
		{ref: "ado-pat://contoso?scope=code_write", wantErr: "did you mean vso.code_write"},
		{ref: "ado-pat://contoso?scope=VSO.CODE", wantErr: "lower case, did you mean vso.code"},
		{ref: "ado-pat://contoso?scope=zzzzzzzzzzzzzzzzzzz", wantErr: `unknown scope "zzzzzzzzzzzzzzzzzzz" (see patinject pats scopes`},
		{ref: "ado-pat://contoso?scope=app_token", wantErr: "--ado-allow-full-access"},
		{ref: "ado-pat://contoso?scope=app_token+vso.code", allowFull: true, wantErr: "give it alone"},
		{ref: "ado-pat://contoso?scope=user_impersonation", wantErr: "not a PAT scope"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=7d", wantErr: "no days"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=-5m", wantErr: "must be positive"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=0s", wantErr: "must be positive"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=9000h", wantErr: "a year at most"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=", wantErr: "ttl= is empty"},
		{ref: "ado-pat://contoso?scope=vso.code&ttl=1h&ttl=2h", wantErr: "give it once"},
		{ref: "ado-pat://contoso?scope=vso.code&name=", wantErr: "name= is empty"},
		{ref: "ado-pat://contoso?scope=vso.code&name=a%0Ab", wantErr: "control character"},
		{ref: "ado-pat://contoso?scope=vso.code&name=" + strings.Repeat("n", 201), wantErr: "at most 200"},
		{ref: "ado-pat://contoso?scopes=vso.code", wantErr: `unknown parameter "scopes" (did you mean scope=?)`},
		{ref: "ado-pat://contoso?scope=vso.code&expiry=1h", wantErr: "did you mean ttl=?"},
		{ref: "ado-pat://contoso/project?scope=vso.code", wantErr: "not to a project"},
		{ref: "ado-pat://dev.azure.com/contoso?scope=vso.code", wantErr: "is a host name"},
		{ref: "ado-pat://-contoso?scope=vso.code", wantErr: "not an Azure DevOps organisation name"},
		{ref: "ado-pat://contoso?scope=vso.code#token", wantErr: "no #FIELD"},
		{ref: "ado-pat:contoso", wantErr: "write ado-pat://ORG"},
	}
	for _, tt := range tests {
		got, err := adopat.ParseSpec(mustRef(t, tt.ref), tt.allowFull)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: got error %v, want %q", tt.ref, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.ref, err)
			continue
		}
		if got.Org != tt.want.Org || strings.Join(got.Scopes, " ") != strings.Join(tt.want.Scopes, " ") || got.TTL != tt.want.TTL || got.Name != tt.want.Name {
			t.Errorf("%s: got %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}

func TestSourceMintsAndRevokes(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	src := &adopat.Source{Client: newClient(srv), Purpose: func() string { return "contoso/app run 42" }}
	res, err := src.Resolve(context.Background(), mustRef(t, "ado-pat://contoso?scope=vso.code+vso.packaging&ttl=10m"))
	if err != nil {
		t.Fatal(err)
	}
	pats := srv.PATs()
	if len(pats) != 1 {
		t.Fatalf("got %d PATs, want 1", len(pats))
	}
	p := pats[0]
	if res.Value.Reveal() != p.Token {
		t.Errorf("the value is not the minted token")
	}
	if !strings.HasPrefix(p.DisplayName, "patinject contoso/app run 42 ") || len(p.DisplayName) != len("patinject contoso/app run 42 ")+8 {
		t.Errorf("display name %q: want the tool, repository and run, and a tag", p.DisplayName)
	}
	if p.Scope != "vso.code vso.packaging" || time.Until(p.ValidTo) > 10*time.Minute+time.Second || time.Until(p.ValidTo) < 9*time.Minute {
		t.Errorf("scope %q, validTo %v", p.Scope, p.ValidTo)
	}
	a := res.Action
	if a.Kind != "ado-pat" || a.ID != p.AuthorizationID || !a.Expiry.Equal(p.ValidTo) || a.Params["org"] != "contoso" || a.Params["ado-url"] != srv.URL {
		t.Errorf("action %+v", a)
	}
	if !strings.Contains(a.Manual, p.AuthorizationID) || !strings.Contains(a.Manual, "az rest --method delete") || !strings.Contains(a.Label, p.DisplayName) {
		t.Errorf("manual %q, label %q", a.Manual, a.Label)
	}
	for _, s := range []string{a.Manual, a.Label, a.String()} {
		if strings.Contains(s, p.Token) || strings.Contains(s, srv.AccessToken) {
			t.Errorf("the action's text holds a secret: %s", s)
		}
	}
	if err := res.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Revokes(p.AuthorizationID); n != 1 {
		t.Errorf("revokes %d, want 1", n)
	}
	checkExchanges(t, srv)
}

func TestSourceNamesAreUniqueAndKept(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	src := &adopat.Source{Client: newClient(srv)}
	for range 2 {
		if _, err := src.Resolve(context.Background(), mustRef(t, "ado-pat://contoso?scope=vso.code&name=nightly+restore")); err != nil {
			t.Fatal(err)
		}
	}
	pats := srv.PATs()
	if pats[0].DisplayName == pats[1].DisplayName || !strings.HasPrefix(pats[0].DisplayName, "nightly restore ") {
		t.Errorf("names %q and %q: want the given name and a tag that differs", pats[0].DisplayName, pats[1].DisplayName)
	}
}

// A reference that is wrong is refused before the access token is asked for and before any
// request.
func TestSourceValidatesFirst(t *testing.T) {
	t.Parallel()
	srv := adotest.NewServer(t)
	fetched := 0
	c := newClient(srv)
	c.Auth = &adopat.AccessToken{Fetch: func(context.Context) (secret.Value, error) {
		fetched++
		return secret.NewValue(srv.AccessToken), nil
	}}
	src := &adopat.Source{Client: c}
	for _, ref := range []string{"ado-pat://contoso?scope=app_token", "ado-pat://contoso?scope=vso.nope", "ado-pat://contoso?scope=vso.code&ttl=soon"} {
		if err := src.Check(mustRef(t, ref)); err == nil {
			t.Errorf("%s: Check passed", ref)
		}
		if _, err := src.Resolve(context.Background(), mustRef(t, ref)); err == nil {
			t.Errorf("%s: Resolve passed", ref)
		}
	}
	if fetched != 0 || len(srv.Exchanges()) != 0 {
		t.Errorf("token fetched %d times, %d requests sent", fetched, len(srv.Exchanges()))
	}
}

func TestAzCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := adotest.UserToken("dev@contoso.example", time.Now().Add(time.Hour))
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := filepath.Join(dir, "args")
	ok := write("az-ok", `echo "$@" > `+args+"\nprintf '%s\\n' '"+good+"'\n")
	fail := write("az-fail", "echo 'WARNING: something' >&2; echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1\n")
	empty := write("az-empty", "exit 0\n")

	v, err := adopat.AzCLI{Path: ok}.Token(context.Background())
	if err != nil || v.Reveal() != good {
		t.Fatalf("got %v", err)
	}
	b, _ := os.ReadFile(args)
	if got, want := strings.TrimSpace(string(b)), "account get-access-token --resource 499b84ac-1321-427f-aa17-267ca6975798 --query accessToken -o tsv"; got != want {
		t.Errorf("az called with %q, want %q", got, want)
	}
	_, err = adopat.AzCLI{Path: fail}.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ERROR: Please run 'az login'") || !strings.Contains(err.Error(), "service principals cannot mint PATs") {
		t.Errorf("got %v", err)
	}
	if _, err = (adopat.AzCLI{Path: empty}).Token(context.Background()); err == nil {
		t.Errorf("az printing nothing passed")
	}
}
