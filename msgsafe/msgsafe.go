// Package msgsafe keeps what patinject prints about itself (errors, warnings, the debug log)
// from carrying a secret or a command: a URL is shown without its user information, query and
// fragment; a value typed where a reference belongs is named by its flag, never repeated; every
// message goes through a Filter that replaces the known secrets (and the credentials the sources
// logged in with) by ***, and turns control characters, which could move the cursor, rewrite
// the line or open a CI logging command, into visible escapes.
package msgsafe

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// URL shows u without what may be secret in it: user information, query and fragment. A string
// that does not parse as a URL with a scheme and host is not shown at all.
func URL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Scheme == "" || p.Host == "" || p.Opaque != "" {
		return "(a URL that does not parse)"
	}
	host := p.Host
	if strings.ContainsAny(host, "@") {
		return "(a URL that does not parse)"
	}
	return p.Scheme + "://" + host + p.EscapedPath()
}

// Controls turns every control character of s (C0, DEL, C1, and the bidirectional overrides
// that reorder what a terminal shows) into a visible \x.. or \u.... escape, and invalid UTF-8
// into \x.. too. Line breaks included: a message is one line.
func Controls(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r == '\t' {
		return false
	}
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}

// Commands defuses the CI logging commands that a server's text could smuggle into a line:
// GitHub's "::name" (read at a line start, so one at any place after a break is defused too)
// and Azure Pipelines' "##vso[" and "##[" anywhere.
func Commands(s string) string {
	s = strings.ReplaceAll(s, "##vso[", "##vso␣[")
	s = strings.ReplaceAll(s, "##[", "##␣[")
	// The runner trims every Unicode space before it looks (.NET TrimStart), not only ' ' and '\t'.
	if strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "::") {
		s = "␣" + s
	}
	return s
}

// credentialLike matches what a server's text may reflect of a request that carried a
// credential: an Authorization scheme and its value, a JWT, a URL's user information or query.
var credentialLike = regexp.MustCompile(`(?i)\b(bearer|basic|token|negotiate)\s+[A-Za-z0-9._~+/=-]{8,}` +
	`|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*` +
	`|\b[a-z][a-z0-9+.-]*://[^\s"'<>]+`)

// ServerText is a server's message made fit to print: one line, control characters escaped,
// anything that looks like a reflected credential (an Authorization value, a JWT) replaced by
// ***, URLs shown without user information or query, cut at max bytes.
func ServerText(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = credentialLike.ReplaceAllStringFunc(s, func(m string) string {
		if i := strings.Index(m, "://"); i > 0 && !strings.HasPrefix(strings.ToLower(m), "eyj") {
			return URL(m)
		}
		if f := strings.Fields(m); len(f) == 2 {
			return f[0] + " ***"
		}
		return "***"
	})
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return Controls(s)
}

// ServerMessage is the message of a server's error body, fit to print: the "message" of a JSON
// error (Azure DevOps, the CI platforms' token services), else the first line of the text; ""
// for an HTML page (a sign-in page says nothing useful). See ServerText.
func ServerMessage(body []byte, max int) string {
	var e struct {
		Message string `json:"message"`
	}
	s := string(body)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		s = e.Message
	} else if strings.Contains(strings.ToLower(s), "<html") {
		return ""
	}
	return FirstLine(s, max)
}

// FirstLine is the first line of s, fit to print (see ServerText).
func FirstLine(s string, max int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return ServerText(s, max)
}
