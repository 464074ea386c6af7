package inject

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/patinject/patinject/internal/platform"
	"github.com/patinject/patinject/secret"
)

// netrc and curl: a netrc file cannot refer to a variable, so in both modes the token is in a
// 0600 file in the private directory, and two plain variables point at what was written:
//
//   - NETRC names the netrc file: `machine HOST login USER password TOKEN` for each --netrc
//     host, then the lines of the user's own netrc (NETRC's file, else ~/.netrc), so that their
//     other machines keep working. libcurl reads NETRC from 8.16.0 (git over HTTP and curl then
//     find it by themselves), Go's cmd/go reads it too; curl before 8.16 (Debian 12 ships 7.88)
//     needs `curl --netrc-file "$NETRC"`. HOME is not changed to reach older clients: it would
//     hide every other configuration of the user's.
//   - PATINJECT_CURL_CONFIG names a curl config file holding
//     `header = "Authorization: Basic base64(user:token)"`, for `curl -K "$PATINJECT_CURL_CONFIG"`.
//     Unlike netrc, curl sends a configured header to every URL of that command, so it is opt-in
//     per command and CURL_HOME is deliberately not set: a .curlrc there would send the header
//     to every host any curl of the job talks to.
//
// libcurl matches a netrc machine by host name only, whatever the port and scheme.

// CurlConfigEnv names the curl config file with the Authorization header.
const CurlConfigEnv = "PATINJECT_CURL_CONFIG"

// Netrc is the --netrc tool.
var Netrc = Tool{
	Flag:    "netrc",
	Usage:   "a netrc entry for `HOST` (curl and other libcurl clients)",
	Summary: "netrc entry for",
	Check: func(v string) error {
		_, err := netrcHost(v)
		return err
	},
	Plan: netrcPlan,
}

func netrcPlan(c Config) (Plan, error) {
	user := c.username()
	pw := netrcToken(c.Token.Reveal())
	var b strings.Builder
	b.WriteString("# written by patinject for one run; removed when it ends\n")
	for _, raw := range c.values("netrc") {
		host, err := netrcHost(raw)
		if err != nil {
			return Plan{}, err
		}
		fmt.Fprintf(&b, "machine %s login %s password %s\n", host, netrcToken(user), pw)
	}
	own, err := c.usersNetrc()
	if err != nil {
		return Plan{}, err
	}
	if own != "" {
		// Ours first: libcurl takes the first machine that matches, and a `default` entry
		// of the user's must stay last.
		b.WriteString("\n" + own)
		if !strings.HasSuffix(own, "\n") {
			b.WriteString("\n")
		}
	}

	auth, masks := c.authorization("Basic", "Bearer")
	netrcFile := filepath.Join(c.Dir, "netrc")
	curlFile := filepath.Join(c.Dir, "curlrc")
	curlrc := "# written by patinject for one run; removed when it ends\n" +
		`header = "Authorization: ` + auth.Reveal() + `"` + "\n"
	p := Plan{
		Files: []File{
			{Path: netrcFile, Content: secret.NewValue(b.String()), Secret: true},
			{Path: curlFile, Content: secret.NewValue(curlrc), Secret: true},
		},
		Env: []EnvVar{
			{Name: "NETRC", Value: secret.NewValue(netrcFile)},
			{Name: CurlConfigEnv, Value: secret.NewValue(curlFile)},
		},
		Masks: masks,
	}
	if pw != c.Token.Reveal() {
		p.Masks = append(p.Masks, secret.NewValue(pw))
	}
	return p, nil
}

// netrcHost takes a host name, or the host of a URL.
func netrcHost(raw string) (string, error) {
	host := raw
	if strings.Contains(raw, "://") {
		u, err := httpURL("--netrc", raw)
		if err != nil {
			return "", err
		}
		host = u.Hostname()
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n/\"\\@") {
		return "", fmt.Errorf("--netrc: want a host name such as dev.azure.com (the value given is not repeated here: it may hold a secret)")
	}
	return strings.ToLower(host), nil
}

// netrcToken writes a netrc token, quoted when it holds blanks, quotes or backslashes (the
// quoted form is read by curl 7.84 and later).
func netrcToken(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + `"`
}

// usersNetrc is the content of the netrc file the user's clients read now, "" when none.
func (c Config) usersNetrc() (string, error) {
	content, err := c.userFile(platform.NetrcFiles(c.goos(), c.Lookup), "NETRC")
	if err != nil {
		return "", fmt.Errorf("--netrc: reading your netrc to keep its entries: %w", err)
	}
	return content, nil
}
