package inject

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/patinject/patinject/secret"
)

// TokenCache is the content of a helper's token file after inject (git's credential helper,
// NuGet's plugin): the token, then expiry=UNIX when known, then issued=UNIX when the helper
// itself wrote it (frontdoor reads it back to decide when to exchange again).
func TokenCache(token secret.Value, expiry, issued time.Time) secret.Value {
	s := token.Reveal() + "\n"
	if !expiry.IsZero() {
		s += "expiry=" + strconv.FormatInt(expiry.Unix(), 10) + "\n"
	}
	if !issued.IsZero() {
		s += "issued=" + strconv.FormatInt(issued.Unix(), 10) + "\n"
	}
	return secret.NewValue(s)
}

// GitCredential is patinject acting as git's credential helper (git-credential(1)): git runs
// `patinject git-credential ... get` with the request's attributes on stdin, and the helper
// answers with the username and the token for URLs under its prefixes. It reads the token when
// asked, from a variable or a file in the private directory (never argv), so a long job can be
// handed a fresh one. `store` and `erase` are ignored, as the protocol asks of a helper that
// does not keep credentials.
type GitCredential struct {
	Prefixes []string
	Username string
	Password func() (secret.Value, error)
	Expiry   time.Time // zero: not sent
	// Expires, when set, is asked after Password for the expiry of the token it gave (a
	// refreshed token's); it overrides Expiry.
	Expires func() time.Time
}

// Serve answers one invocation: action is the argument git gave ("get", "store", "erase").
func (g GitCredential) Serve(action string, in io.Reader, out io.Writer) error {
	attrs, err := readCredentialAttrs(in)
	if err != nil {
		return err
	}
	if action != "get" {
		return nil
	}
	if !g.matches(attrs) {
		return nil
	}
	pw, err := g.Password()
	if err != nil {
		return err
	}
	if pw.IsZero() {
		return fmt.Errorf("git-credential: the token is empty")
	}
	if strings.ContainsAny(pw.Reveal(), "\n\x00") {
		return fmt.Errorf("git-credential: the token holds a line break, which git's credential protocol cannot carry")
	}
	// A user name in the URL (Azure Repos clone URLs carry the organisation's) is kept: Azure
	// DevOps accepts any name with a PAT.
	user := attrs["username"]
	if user == "" {
		user = g.Username
	}
	var b strings.Builder
	b.WriteString("username=" + user + "\n")
	b.WriteString("password=" + pw.Reveal() + "\n")
	exp := g.Expiry
	if g.Expires != nil {
		exp = g.Expires()
	}
	if !exp.IsZero() {
		b.WriteString("password_expiry_utc=" + strconv.FormatInt(exp.Unix(), 10) + "\n")
	}
	_, err = io.WriteString(out, b.String())
	return err
}

// readCredentialAttrs reads key=value lines up to a blank line or the end of input.
func readCredentialAttrs(in io.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		attrs[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("git-credential: reading the request: %w", err)
	}
	// Drain what git may still write, so that it never sees a broken pipe.
	_, _ = io.Copy(io.Discard, in)
	return attrs, nil
}

// matches reports whether the request is under one of the prefixes: same scheme, same host and
// port, and, when git sends the path (credential.useHttpPath), the prefix's path on a '/'
// boundary. git already selects the helper by the same prefix; this is the second lock.
func (g GitCredential) matches(attrs map[string]string) bool {
	protocol, host, reqPath := attrs["protocol"], attrs["host"], attrs["path"]
	if u, ok := attrs["url"]; ok && (protocol == "" || host == "") {
		if pu, err := url.Parse(u); err == nil {
			protocol, host, reqPath = pu.Scheme, pu.Host, strings.TrimPrefix(pu.Path, "/")
		}
	}
	if protocol == "" || host == "" {
		return false
	}
	req, err := httpURL("git-credential", protocol+"://"+host+"/"+reqPath)
	if err != nil {
		return false
	}
	// Dot segments resolved ("contoso/../fabrikam" is "fabrikam", %2e%2e too): the prefix
	// test is on the path the request reaches.
	req.Path = path.Clean("/" + req.Path)
	for _, raw := range g.Prefixes {
		p, err := httpURL("--prefix", raw)
		if err != nil || p.Scheme != req.Scheme || p.Host != req.Host {
			continue
		}
		if _, has := attrs["path"]; !has {
			return true
		}
		if pathUnder(req.Path, p.Path) {
			return true
		}
	}
	return false
}

// pathUnder reports whether path is prefix or below it, matching on a '/' boundary as git's
// urlmatch does.
func pathUnder(path, prefix string) bool {
	p := strings.TrimSuffix(prefix, "/")
	return p == "" || path == p || path == prefix || strings.HasPrefix(path, p+"/")
}
