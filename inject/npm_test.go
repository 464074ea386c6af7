package inject

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestNpmPlan(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	own := "registry=https://registry.npmjs.org/\n; a comment\n//npm.example.com/:_authToken=old-token\n//other.example/:_authToken=${OTHER}\nlast-line-without-newline=1"
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "custom-npmrc")
	if err := os.WriteFile(elsewhere, []byte("cache=/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := b64(testToken)
	ado := "https://pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/"
	lines := func(prefix, password string) string {
		return prefix + ":username=ci\n" + prefix + ":_password=" + password + "\n" + prefix + ":email=" + npmEmail + "\n"
	}
	const begin, end = "; begin auth written by patinject for one run; removed when it ends\n", "; end auth\n"
	kept := "registry=https://registry.npmjs.org/\n; a comment\n; patinject: dropped your //npm.example.com/:_authToken for this run\n//other.example/:_authToken=${OTHER}\nlast-line-without-newline=1\n"
	tests := []struct {
		name string
		c    Config
		want planView
	}{
		{
			name: "run: the file refers to a variable",
			c:    Config{Values: map[string][]string{"npm": {"https://npm.example.com"}}, Lookup: envOf(map[string]string{"HOME": home})},
			want: planView{
				Env: map[string]string{"NPM_CONFIG_USERCONFIG": "/priv/npmrc", NpmPasswordEnv: "secret:" + pw},
				Files: map[string]string{"npmrc": kept + begin +
					lines("//npm.example.com/", "${PATINJECT_NPM_PASSWORD}") + end},
				Masks: []string{pw},
			},
		},
		{
			name: "ci: Azure Artifacts, both prefixes, the password inline",
			c:    Config{Values: map[string][]string{"npm": {ado}}, Mode: ModeCI, Lookup: envOf(map[string]string{"HOME": home})},
			want: planView{
				Env: map[string]string{"NPM_CONFIG_USERCONFIG": "/priv/npmrc"},
				Files: map[string]string{"npmrc": "secret:" + strings.ReplaceAll(kept, "; patinject: dropped your //npm.example.com/:_authToken for this run\n", "//npm.example.com/:_authToken=old-token\n") + begin +
					lines("//pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/", pw) +
					lines("//pkgs.dev.azure.com/contoso/_packaging/feed/npm/", pw) + end},
				Masks: []string{pw},
			},
		},
		{
			name: "the user config the environment names, lower-case variable too",
			c: Config{Values: map[string][]string{"npm": {"http://127.0.0.1:4873/"}}, Lookup: envOf(map[string]string{
				"HOME": home, "npm_config_userconfig": elsewhere})},
			want: planView{
				Env: map[string]string{"NPM_CONFIG_USERCONFIG": "/priv/npmrc", "npm_config_userconfig": "/priv/npmrc", NpmPasswordEnv: "secret:" + pw},
				Files: map[string]string{"npmrc": "cache=/x\n" + begin +
					lines("//127.0.0.1:4873/", "${PATINJECT_NPM_PASSWORD}") + end},
			},
		},
		{
			name: "no user config",
			c:    Config{Values: map[string][]string{"npm": {"https://npm.example.com/a/b"}}},
			want: planView{
				Env:   map[string]string{"NPM_CONFIG_USERCONFIG": "/priv/npmrc", NpmPasswordEnv: "secret:" + pw},
				Files: map[string]string{"npmrc": begin + lines("//npm.example.com/a/b/", "${PATINJECT_NPM_PASSWORD}") + end},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.Token, c.Username, c.Dir = secret.NewValue(testToken), "ci", "/priv"
			p, err := npmPlan(c)
			if err != nil {
				t.Fatal(err)
			}
			checkView(t, viewOf(p), tt.want)
		})
	}
}
