package secret

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Ref is a parsed reference such as env:NAME, file:PATH, vault://PATH?K=V#FIELD or
// ado-pat://ORG?scope=S. A reference names where a secret lives; it is never a secret itself, so
// it may appear in logs and errors. (A literal from an --env-file is not a Ref.)
type Ref struct {
	Raw      string
	Scheme   string     // "env", "file", "vault", "ado-pat", ...
	Opaque   string     // for env: and file:, everything after the colon
	Host     string     // for scheme://HOST/PATH forms, the first segment (vault mount, ADO org)
	Path     string     // for scheme:// forms, everything between "//" and "?" or "#"
	Query    url.Values // parameters after "?"
	Fragment string     // after "#": a field name
}

// String returns the reference for messages: as written, but for the user information of a
// scheme:// form ("vault://admin:pw@host/..." is a value typed in the wrong place, not a
// reference), shown as ***.
func (r Ref) String() string {
	rest, ok := strings.CutPrefix(r.Raw, r.Scheme+"://")
	if !ok || r.Scheme == "" {
		return r.Raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return r.Scheme + "://***" + rest[at:]
	}
	return r.Raw
}

// Scheme returns the scheme of s and whether s has the form of a reference at all
// (letters, digits, "+", "-" and "." before a colon). It does not say whether the scheme is known.
func Scheme(s string) (string, bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", false
	}
	for j, c := range s[:i] {
		switch {
		case c >= 'a' && c <= 'z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", false
		}
	}
	return s[:i], true
}

// ErrNotRef is the error for a string that has no reference form. It is fixed text, so that a
// secret typed where a reference belongs is never repeated back.
var ErrNotRef = errors.New("not a reference (want env:NAME, file:PATH, vault://PATH#FIELD or ado-pat://ORG?scope=...)")

// ParseRef parses s. Errors never repeat s, which may be a secret typed in the wrong place; the
// caller names the flag or variable it came from.
func ParseRef(s string) (Ref, error) {
	scheme, ok := Scheme(s)
	if !ok {
		return Ref{}, ErrNotRef
	}
	r := Ref{Raw: s, Scheme: scheme}
	rest := s[len(scheme)+1:]
	if !strings.HasPrefix(rest, "//") {
		if rest == "" {
			return Ref{}, fmt.Errorf("the reference is empty after %q", scheme+":")
		}
		r.Opaque = rest
		return r, nil
	}
	rest = rest[2:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		frag, err := url.PathUnescape(rest[i+1:])
		if err != nil {
			return Ref{}, fmt.Errorf("%s:// reference: bad %%-escape in the field after '#' (the value is not repeated: it may be a secret)", scheme)
		}
		r.Fragment = frag
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return Ref{}, fmt.Errorf("%s:// reference: bad parameters after '?' (a bad %%-escape?; the value is not repeated: it may be a secret)", scheme)
		}
		r.Query = q
		rest = rest[:i]
	}
	r.Path = strings.Trim(rest, "/")
	if r.Path == "" {
		return Ref{}, fmt.Errorf("%s:// reference: no path after %q", scheme, scheme+"://")
	}
	r.Host, _, _ = strings.Cut(r.Path, "/")
	if r.Query == nil {
		r.Query = url.Values{}
	}
	return r, nil
}
