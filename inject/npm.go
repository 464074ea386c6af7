package inject

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/secret"
)

// npm: a user config in the private directory, named by NPM_CONFIG_USERCONFIG, holding the lines
// of the user's own (the file NPM_CONFIG_USERCONFIG named before, else ~/.npmrc) verbatim, then
// the lines Azure Artifacts documents for each --npm registry:
//
//	//host[:port]/path/:username=USER
//	//host[:port]/path/:_password=base64(token)
//	//host[:port]/path/:email=...
//
// or, for an Entra token (TokenKind Bearer), the form Microsoft documents for one,
//
//	//host[:port]/path/:_authToken=TOKEN
//
// for an Azure Artifacts feed (…/_packaging/FEED/npm/registry/) both the /npm/registry/ and the
// /npm/ prefixes. npm sends them only to URLs under that prefix. The registry setting itself is
// left alone: the project's .npmrc or --registry chooses it.
//
//   - run (ModeRun): `_password=${PATINJECT_NPM_PASSWORD}`, which npm expands from the
//     environment, so the file holds no secret; the variable does.
//   - inject (ModeCI): base64(token) inline in the file (0600), so that only the plain pointer
//     variable must reach the later steps.
//
// A line of the user's file that sets _authToken, _auth, username or _password for one of these
// prefixes is dropped from the copy: npm prefers _authToken over a password, and the user asked
// for the token to be used.

// NpmPasswordEnv holds base64(token) (the token itself for a bearer token) in ModeRun.
const NpmPasswordEnv = "PATINJECT_NPM_PASSWORD"

const npmEmail = "npm requires email to be set but doesn't use the value"

// Npm is the --npm tool.
var Npm = Tool{
	Flag:    "npm",
	Usage:   "npm registry `URL`",
	Summary: "npm registry",
	Scopes:  []string{"vso.packaging"},
	Check: func(v string) error {
		_, err := npmPrefixes(v)
		return err
	},
	Plan: npmPlan,
}

func npmPlan(c Config) (Plan, error) {
	var prefixes []string
	seen := map[string]bool{}
	for _, raw := range c.values("npm") {
		ps, err := npmPrefixes(raw)
		if err != nil {
			return Plan{}, err
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				prefixes = append(prefixes, p)
			}
		}
	}

	own, err := c.usersNpmrc()
	if err != nil {
		return Plan{}, err
	}
	var b strings.Builder
	for _, line := range splitLines(own) {
		if key := npmrcKey(line); key != "" && npmAuthKeyFor(key, seen) {
			b.WriteString("; patinject: dropped your " + key + " for this run\n")
			continue
		}
		b.WriteString(line + "\n")
	}

	pw := secret.NewValue(base64.StdEncoding.EncodeToString([]byte(c.Token.Reveal())))
	if c.TokenKind == Bearer {
		pw = c.Token // npm sends _authToken as "Authorization: Bearer"
	}
	p := Plan{Masks: []secret.Value{pw}}
	inFile := pw.Reveal()
	if c.Mode == ModeRun {
		inFile = "${" + NpmPasswordEnv + "}"
		p.Env = append(p.Env, EnvVar{Name: NpmPasswordEnv, Value: pw, Secret: true})
	}
	b.WriteString("; begin auth written by patinject for one run; removed when it ends\n")
	user := npmrcEscape(c.username())
	for _, prefix := range prefixes {
		if c.TokenKind == Bearer {
			b.WriteString(prefix + ":_authToken=" + inFile + "\n")
			continue
		}
		b.WriteString(prefix + ":username=" + user + "\n")
		b.WriteString(prefix + ":_password=" + inFile + "\n")
		b.WriteString(prefix + ":email=" + npmEmail + "\n")
	}
	b.WriteString("; end auth\n")

	file := filepath.Join(c.Dir, "npmrc")
	p.Files = append(p.Files, File{Path: file, Content: secret.NewValue(b.String()), Secret: c.Mode != ModeRun})
	p.Env = append(p.Env, EnvVar{Name: "NPM_CONFIG_USERCONFIG", Value: secret.NewValue(file)})
	if _, ok := c.lookup("npm_config_userconfig"); ok {
		// npm reads npm_config_* in any case; with both set, which wins depends on their order.
		p.Env = append(p.Env, EnvVar{Name: "npm_config_userconfig", Value: secret.NewValue(file)})
	}
	return p, nil
}

// npmPrefixes returns the "//host[:port]/path/" keys npm matches a registry URL by (its "nerf
// dart"), with the /npm/ sibling of an Azure Artifacts /npm/registry/ URL.
func npmPrefixes(raw string) ([]string, error) {
	u, err := httpURL("--npm", raw)
	if err != nil {
		return nil, err
	}
	path := u.EscapedPath()
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	out := []string{"//" + u.Host + path}
	if strings.Contains(path, "/_packaging/") && strings.HasSuffix(path, "/npm/registry/") {
		out = append(out, "//"+u.Host+strings.TrimSuffix(path, "registry/"))
	}
	return out, nil
}

// usersNpmrc is the user config npm reads now, "" when there is none.
func (c Config) usersNpmrc() (string, error) {
	content, err := c.userFile([]string{platform.NpmUserConfig(c.goos(), c.Lookup)}, "NPM_CONFIG_USERCONFIG", "npm_config_userconfig")
	if err != nil {
		return "", fmt.Errorf("--npm: reading your npm user config to keep its lines: %w", err)
	}
	return content, nil
}

// npmrcKey is the key of an ini "key = value" line, "" for comments, sections and blanks.
func npmrcKey(line string) string {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == ';' || t[0] == '#' || t[0] == '[' {
		return ""
	}
	k, _, ok := strings.Cut(t, "=")
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(k), `"'`)
}

// npmAuthKeyFor reports whether key sets a credential for one of the prefixes.
func npmAuthKeyFor(key string, prefixes map[string]bool) bool {
	i := strings.LastIndex(key, ":")
	if i < 0 || !prefixes[key[:i]] {
		return false
	}
	switch key[i+1:] {
	case "_authToken", "_auth", "username", "_password":
		return true
	}
	return false
}

// npmrcEscape escapes what npm's ini parser would take as the start of a comment.
func npmrcEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, "#", `\#`).Replace(s)
}

// splitLines splits text at "\n" (a "\r" before it stays with the line); a last line without
// one is kept.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
