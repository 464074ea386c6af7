package inject

import (
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

// An Entra token (Kind Bearer) goes to git and REST clients as "Bearer", to NuGet and netrc as
// the Basic password, to npm as _authToken; no Basic form of it is made, and every derived form
// is masked.
func TestBearerKind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := Config{
		Token: secret.NewValue(testToken), TokenKind: Bearer, Username: "ci",
		Values: map[string][]string{
			"git": {"https://dev.azure.com/contoso/"}, "authorization-env": {"AUTH"},
			"netrc": {"dev.azure.com"}, "npm": {"https://pkgs.dev.azure.com/contoso/_packaging/f/npm/registry/"},
		},
		Dir: dir, Lookup: envOf(map[string]string{"HOME": dir}),
	}
	p, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	v := viewOf(p)
	if got := v.Env["GIT_CONFIG_VALUE_0"]; got != "secret:AUTHORIZATION: bearer "+testToken {
		t.Errorf("git: %q", got)
	}
	if got := v.Env["AUTH"]; got != "secret:Bearer "+testToken {
		t.Errorf("--authorization-env: %q", got)
	}
	if got := v.Env[NpmPasswordEnv]; got != "secret:"+testToken {
		t.Errorf("npm variable: %q", got)
	}
	var npmrc, curlrc, netrc string
	for _, f := range p.Files {
		switch {
		case strings.HasSuffix(f.Path, "npmrc"):
			npmrc = f.Content.Reveal()
		case strings.HasSuffix(f.Path, "curlrc"):
			curlrc = f.Content.Reveal()
		case strings.HasSuffix(f.Path, "netrc"):
			netrc = f.Content.Reveal()
		}
	}
	if !strings.Contains(npmrc, "//pkgs.dev.azure.com/contoso/_packaging/f/npm/registry/:_authToken=${"+NpmPasswordEnv+"}") || strings.Contains(npmrc, "_password") {
		t.Errorf("npmrc:\n%s", npmrc)
	}
	if !strings.Contains(curlrc, `header = "Authorization: Bearer `+testToken+`"`) {
		t.Errorf("curlrc:\n%s", curlrc)
	}
	if !strings.Contains(netrc, "machine dev.azure.com login ci password "+testToken) {
		t.Errorf("netrc:\n%s", netrc)
	}
	basic := b64("ci:" + testToken)
	for _, m := range p.Masks {
		if strings.Contains(m.Reveal(), basic) {
			t.Errorf("a Basic form was made: %q", m.Reveal())
		}
	}
	for _, want := range []string{"bearer " + testToken, "Bearer " + testToken, testToken} {
		found := false
		for _, m := range p.Masks {
			found = found || m.Reveal() == want
		}
		if !found {
			t.Errorf("not masked: %q", want)
		}
	}
}
