package inject

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patinject/patinject/secret"
)

// Git: the token goes to git the way the Azure Pipelines agent's checkout sends it, as
//
//	http.<prefix>.extraheader = AUTHORIZATION: basic base64(user:token)
//	http.<prefix>.extraheader = AUTHORIZATION: bearer TOKEN            (an Entra token)
//
// scoped to each --git prefix, which git matches as it matches every http.<url>.* key: scheme and
// host exactly (port included), the path as a prefix on a '/' boundary. Nothing goes on argv, in
// the repository's .git/config or in ~/.gitconfig: the pairs reach git through
// GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n (git 2.31+), appended after the pairs the
// environment already has.
//
//   - run (ModeRun), git 2.31+: the header value itself is GIT_CONFIG_VALUE_n; nothing on disk.
//   - inject (ModeCI), or git before 2.31: the pairs go into a 0600 include file in the private
//     directory, and only include.path=<file> goes into the environment (GIT_CONFIG_COUNT, or
//     GIT_CONFIG_PARAMETERS before 2.31), so no variable handed to later CI steps holds a secret.
//
// With GitCredentialHelper, patinject answers git's credential protocol instead (see
// GitCredential), so that git asks for the token on each 401 rather than sending a fixed header.

// gitHelperPasswordEnv holds the token for the credential helper in ModeRun.
const gitHelperPasswordEnv = "PATINJECT_GIT_PASSWORD"

// gitPair is one git configuration entry: section.subsection.name = value.
type gitPair struct {
	section, subsection, name string
	value                     secret.Value
	secret                    bool
}

func (p gitPair) key() string {
	if p.subsection == "" {
		return p.section + "." + p.name
	}
	return p.section + "." + p.subsection + "." + p.name
}

// Git is the --git tool.
var Git = Tool{
	Flag:    "git",
	Usage:   "git authenticates with the token for every URL under this `PREFIX`",
	Summary: "git credentials for",
	Scopes:  []string{"vso.code"},
	Check:   checkURL("--git"),
	Plan:    gitPlan,
}

// GitCredentialHelper is the --git-credential-helper switch: git asks patinject for the token
// (a credential helper scoped to each --git prefix) instead of being sent a fixed header, so a
// long job can be handed a fresh token.
var GitCredentialHelper = Tool{
	Flag:   "git-credential-helper",
	Usage:  "git asks patinject for the token on each 401 (a credential helper) instead of sending a fixed header",
	Switch: true,
}

func gitPlan(c Config) (Plan, error) {
	var prefixes []string
	for _, raw := range c.values("git") {
		u, err := httpURL("--git", raw)
		if err != nil {
			return Plan{}, err
		}
		prefixes = append(prefixes, u.String())
	}

	var p Plan
	var pairs []gitPair
	if c.on(GitCredentialHelper.Flag) {
		hp, err := gitHelperPlan(c, prefixes)
		if err != nil {
			return Plan{}, err
		}
		p.Add(hp.plan)
		pairs = hp.pairs
	} else {
		auth, masks := c.authorization("basic", "bearer")
		header := secret.NewValue("AUTHORIZATION: " + auth.Reveal())
		p.Masks = append(p.Masks, masks...)
		for _, prefix := range prefixes {
			// git sets the header for the whole session, chosen by the URL it was given: after a
			// redirect of its first request (followRedirects=initial, git's default) every later
			// request, the POST that carries the pack included, goes to the new URL with the
			// header, whatever host that is. Not following redirects under the prefix keeps the
			// credential for PREFIX inside PREFIX; a server that redirects needs the URL it
			// redirects to, or --git-credential-helper, which git asks afresh for each URL.
			pairs = append(pairs,
				gitPair{section: "http", subsection: prefix, name: "extraheader", value: header, secret: true},
				gitPair{section: "http", subsection: prefix, name: "followRedirects", value: secret.NewValue("false")},
			)
		}
	}

	modern := gitAtLeast(c.GitVersion, 2, 31)
	if c.Mode == ModeCI || !modern {
		file := filepath.Join(c.Dir, "gitconfig")
		p.Files = append(p.Files, File{Path: file, Content: secret.NewValue(gitConfigFile(pairs)), Secret: anySecret(pairs)})
		include := gitPair{section: "include", name: "path", value: secret.NewValue(file)}
		if !modern {
			// GIT_CONFIG_PARAMETERS is what `git -c` passes to its subprocesses; git reads it
			// since long before 2.31, in the 'key=value' form that old versions parse.
			p.Env = append(p.Env, EnvVar{Name: "GIT_CONFIG_PARAMETERS", Value: secret.NewValue(sqQuote(include.key() + "=" + file)), Append: " "})
			return p, nil
		}
		pairs = []gitPair{include}
	}
	env, err := gitConfigEnv(c, pairs)
	if err != nil {
		return Plan{}, err
	}
	p.Env = append(p.Env, env...)
	return p, nil
}

type gitHelper struct {
	plan  Plan
	pairs []gitPair
}

// gitHelperPlan makes patinject the only credential helper for each prefix: an empty helper
// value first resets the list the user's own config built (a stale credential in a store
// helper would otherwise answer first), then `patinject git-credential` with the prefix it
// serves. useHttpPath hands the helper the path too, so it can check the prefix itself.
func gitHelperPlan(c Config, prefixes []string) (gitHelper, error) {
	if c.Self == "" || !filepath.IsAbs(c.Self) {
		return gitHelper{}, fmt.Errorf("--git-credential-helper: the absolute path of the patinject executable is unknown, so git could not run it")
	}
	var h gitHelper
	var from []string
	refresh := len(c.GitHelperRefresh) > 0
	if c.Mode == ModeCI {
		file := filepath.Join(c.Dir, "git-credential-token")
		content := c.Token
		if refresh {
			content = TokenCache(c.Token, c.TokenExpiry, time.Time{}) // the helper's cache
		}
		h.plan.Files = append(h.plan.Files, File{Path: file, Content: content, Secret: true})
		from = []string{"--password-file", file}
	} else if !refresh {
		h.plan.Env = append(h.plan.Env, EnvVar{Name: gitHelperPasswordEnv, Value: c.Token, Secret: true})
		from = []string{"--password-env", gitHelperPasswordEnv}
	}
	from = append(from, c.GitHelperRefresh...)
	for _, prefix := range prefixes {
		args := []string{"git-credential", "--prefix", prefix, "--username", c.username()}
		args = append(args, from...)
		if !c.TokenExpiry.IsZero() && !refresh {
			args = append(args, "--expiry", strconv.FormatInt(c.TokenExpiry.Unix(), 10))
		}
		cmd := "!" + sqQuote(c.Self)
		for _, a := range args {
			cmd += " " + sqQuote(a)
		}
		h.pairs = append(h.pairs,
			gitPair{section: "credential", subsection: prefix, name: "helper", value: secret.NewValue("")},
			gitPair{section: "credential", subsection: prefix, name: "helper", value: secret.NewValue(cmd)},
			gitPair{section: "credential", subsection: prefix, name: "useHttpPath", value: secret.NewValue("true")},
		)
	}
	return h, nil
}

// gitConfigEnv appends pairs after the GIT_CONFIG_COUNT pairs the environment already has.
func gitConfigEnv(c Config, pairs []gitPair) ([]EnvVar, error) {
	n := 0
	if s, ok := c.lookup("GIT_CONFIG_COUNT"); ok && strings.TrimSpace(s) != "" {
		var err error
		n, err = strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--git: GIT_CONFIG_COUNT=%q in the environment is not a count, and git would refuse it too", s)
		}
	}
	var env []EnvVar
	for i, pair := range pairs {
		k := strconv.Itoa(n + i)
		env = append(env,
			EnvVar{Name: "GIT_CONFIG_KEY_" + k, Value: secret.NewValue(pair.key())},
			EnvVar{Name: "GIT_CONFIG_VALUE_" + k, Value: pair.value, Secret: pair.secret},
		)
	}
	env = append(env, EnvVar{Name: "GIT_CONFIG_COUNT", Value: secret.NewValue(strconv.Itoa(n + len(pairs)))})
	return env, nil
}

// gitConfigFile writes pairs in git's config file syntax, every value quoted.
func gitConfigFile(pairs []gitPair) string {
	var b strings.Builder
	b.WriteString("# written by patinject for one run; removed when it ends\n")
	last := ""
	for _, p := range pairs {
		head := "[" + p.section + "]"
		if p.subsection != "" {
			head = "[" + p.section + " " + gitQuote(p.subsection) + "]"
		}
		if head != last {
			b.WriteString(head + "\n")
			last = head
		}
		b.WriteString("\t" + p.name + " = " + gitQuote(p.value.Reveal()) + "\n")
	}
	return b.String()
}

// gitQuote quotes a value or subsection name for a git config file.
func gitQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

// sqQuote quotes s for a POSIX shell (and for GIT_CONFIG_PARAMETERS, which git parses the
// same way).
func sqQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func anySecret(pairs []gitPair) bool {
	for _, p := range pairs {
		if p.secret {
			return true
		}
	}
	return false
}

// gitAtLeast reports whether version ("2.39.5", "2.30.1.windows.1") is at least major.minor; an
// unknown version counts as recent.
func gitAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimSpace(version), ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}
