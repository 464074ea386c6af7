package inject

import (
	"encoding/base64"
	"sort"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

// planView is a plan in a form that tests compare: secret variables are shown as "secret:VALUE",
// files by their base name.
type planView struct {
	Env   map[string]string
	Files map[string]string
	Masks []string
}

func viewOf(p Plan) planView {
	v := planView{Env: map[string]string{}, Files: map[string]string{}}
	for _, e := range p.Env {
		val := e.Value.Reveal()
		if e.Secret {
			val = "secret:" + val
		}
		if e.Append != "" {
			val = "append(" + e.Append + "):" + val
		}
		v.Env[e.Name] = val
	}
	for _, f := range p.Files {
		name := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
		content := f.Content.Reveal()
		if f.Secret {
			content = "secret:" + content
		}
		v.Files[name] = content
	}
	for _, m := range p.Masks {
		v.Masks = append(v.Masks, m.Reveal())
	}
	sort.Strings(v.Masks)
	return v
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func sorted(s ...string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func checkView(t *testing.T, got, want planView) {
	t.Helper()
	for k, w := range want.Env {
		if g, ok := got.Env[k]; !ok || g != w {
			t.Errorf("env %s: got %q, want %q", k, g, w)
		}
	}
	for k, g := range got.Env {
		if _, ok := want.Env[k]; !ok {
			t.Errorf("env %s=%q not expected", k, g)
		}
	}
	for k, w := range want.Files {
		if g, ok := got.Files[k]; !ok || g != w {
			t.Errorf("file %s:\ngot  %q\nwant %q", k, g, w)
		}
	}
	for k := range got.Files {
		if _, ok := want.Files[k]; !ok {
			t.Errorf("file %s not expected", k)
		}
	}
	if want.Masks != nil && strings.Join(got.Masks, "\n") != strings.Join(sorted(want.Masks...), "\n") {
		t.Errorf("masks: got %q, want %q", got.Masks, sorted(want.Masks...))
	}
}

const testToken = "pat-0123456789abcdef"

func TestBuildNeedsToken(t *testing.T) {
	t.Parallel()
	if _, err := Build(Config{Values: map[string][]string{"git": {"https://example.com/"}}}); err == nil {
		t.Fatal("got no error for --git without --token")
	}
	p, err := Build(Config{})
	if err != nil || len(p.Env)+len(p.Files)+len(p.Masks) != 0 {
		t.Fatalf("got %+v, %v; want an empty plan", p, err)
	}
}

func TestBuildAll(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	c := Config{
		Token: secret.NewValue(testToken), Username: "ci",
		Values: map[string][]string{
			"git": {"https://git.example.com/"}, "nuget": {"feed=https://nuget.example.com/v3/index.json"},
			"npm": {"https://npm.example.com/"}, "netrc": {"api.example.com"},
			"token-env": {"AZURE_DEVOPS_EXT_PAT"}, "authorization-env": {"PATINJECT_AUTHORIZATION"},
		},
		Dir: "/priv", WorkDir: home, Lookup: envOf(map[string]string{"HOME": home}),
	}
	p, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	v := viewOf(p)
	for _, name := range []string{"GIT_CONFIG_COUNT", "NuGetPackageSourceCredentials_feed", "NPM_CONFIG_USERCONFIG", "NETRC", "AZURE_DEVOPS_EXT_PAT", "PATINJECT_AUTHORIZATION"} {
		if _, ok := v.Env[name]; !ok {
			t.Errorf("no %s in the plan", name)
		}
	}
	for _, e := range p.Env {
		if !e.Secret && strings.Contains(e.Value.Reveal(), testToken) {
			t.Errorf("%s holds the token but is not secret", e.Name)
		}
	}
	for _, f := range p.Files {
		if !strings.HasPrefix(f.Path, "/priv/") {
			t.Errorf("file %s is outside the private directory", f.Path)
		}
		if !f.Secret && strings.Contains(f.Content.Reveal(), testToken) {
			t.Errorf("file %s holds the token but is not secret", f.Path)
		}
	}
}

func TestHTTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "as is", in: "https://dev.azure.com/contoso/", want: "https://dev.azure.com/contoso/"},
		{name: "case and default port", in: "HTTPS://Dev.Azure.COM:443/Contoso", want: "https://dev.azure.com/Contoso"},
		{name: "other port kept", in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080/"},
		{name: "http default port", in: "http://h:80/a", want: "http://h/a"},
		{name: "user", in: "https://me:hunter2@example.com/", err: "must not hold a user"},
		{name: "scheme", in: "ssh://example.com/", err: "not an http or https URL"},
		{name: "query", in: "https://example.com/?a=b", err: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := httpURL("--git", tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one saying %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
