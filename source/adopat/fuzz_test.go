package adopat_test

import (
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
	"github.com/patinject/patinject/source/adopat"
)

// FuzzParseSpec: whatever the reference, ParseSpec does not panic, and what it accepts is
// within bounds: known scopes, app_token only when allowed, a positive ttl of at most a year.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"ado-pat://contoso?scope=vso.code",
		"ado-pat://contoso?scope=vso.code+vso.packaging&ttl=10m&name=nightly",
		"ado-pat://contoso?scope=app_token",
		"ado-pat://contoso?scope=vso.code,vso.cod&ttl=-1h",
		"ado-pat://dev.azure.com/contoso?scope=vso.code#x",
		"ado-pat://c?scope=%20&name=%0A",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowFull bool) {
		ref, err := secret.ParseRef(raw)
		if err != nil || ref.Scheme != adopat.Scheme {
			return
		}
		spec, err := adopat.ParseSpec(ref, allowFull)
		if err != nil {
			return
		}
		if spec.TTL <= 0 || spec.TTL > adopat.MaxTTL || spec.Org == "" || strings.ContainsAny(spec.Org, "/?#.") || len(spec.Scopes) == 0 {
			t.Fatalf("accepted out of bounds: %+v", spec)
		}
		for _, s := range spec.Scopes {
			if s == adopat.FullAccess {
				if !allowFull || len(spec.Scopes) != 1 {
					t.Fatalf("app_token accepted with allowFull=%v in %v", allowFull, spec.Scopes)
				}
				continue
			}
			if name, _ := adopat.ScopeDescription(s); name == "" {
				t.Fatalf("unknown scope %q accepted", s)
			}
		}
	})
}
